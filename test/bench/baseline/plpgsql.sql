-- BASELINE, not part of ticketres: never installed by the extension.
--
-- test/bench/baseline/plpgsql.sql — what a team would write instead of the C
-- extension: the same contract (DESIGN §3) as careful PL/pgSQL, loaded by
-- test/bench/run.sh into its own database, schema "baseline", so that the
-- same pgbench scripts run against both (search_path decides which
-- tr_reserve they call). Competent on purpose: the same tables, indexes and
-- fillfactor as ticketres, every lookup by primary key or a unique index,
-- advisory locks taken sorted and only tried, set-based guarded updates,
-- idempotency with a waited-for key lock, lazy expiry, batched expiry that
-- commits (and so drops its locks) every 1,000 holds. What it does not have
-- is the C extension's saved plans, O(1) striped availability counter and
-- lock-manager calls without a function call per seat.
--
-- The service-style baseline (test/bench/sql/service_reserve.pgbench) uses
-- these tables too, plus baseline.reservation_seats.

CREATE SCHEMA baseline;
CREATE TYPE baseline.seat_status AS ENUM ('available', 'reserved', 'confirmed', 'blocked');
CREATE TYPE baseline.reservation_status AS ENUM ('pending', 'confirmed', 'cancelled', 'expired');

CREATE TABLE baseline.events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    hold_duration interval NOT NULL DEFAULT '15 minutes',
    max_seats_per_reservation int NOT NULL DEFAULT 10,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE baseline.seats (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id uuid NOT NULL REFERENCES baseline.events (id) ON DELETE CASCADE,
    label text COLLATE "C" NOT NULL,
    section text,
    row_label text,
    seat_number int,
    price bigint NOT NULL DEFAULT 0,
    status baseline.seat_status NOT NULL DEFAULT 'available',
    reservation_id uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, label),
    CHECK ((status IN ('reserved', 'confirmed')) = (reservation_id IS NOT NULL))
) WITH (fillfactor = 90);

CREATE TABLE baseline.reservations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id uuid NOT NULL REFERENCES baseline.events (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    seat_ids uuid[] NOT NULL,
    status baseline.reservation_status NOT NULL DEFAULT 'pending',
    idempotency_key text,
    total_amount bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    confirmed_at timestamptz,
    cancelled_at timestamptz,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX ON baseline.reservations (expires_at, id) WHERE status = 'pending';

-- only the service-style protocol writes these (a service's join table)
CREATE TABLE baseline.reservation_seats (
    reservation_id uuid NOT NULL REFERENCES baseline.reservations (id) ON DELETE CASCADE,
    seat_id uuid NOT NULL,
    PRIMARY KEY (reservation_id, seat_id)
);

CREATE FUNCTION baseline.tr_create_event(name text, starts_at timestamptz, ends_at timestamptz)
RETURNS baseline.events LANGUAGE sql VOLATILE AS $$
    INSERT INTO baseline.events (name, starts_at, ends_at) VALUES ($1, $2, $3) RETURNING *
$$;

CREATE FUNCTION baseline.tr_generate_seats(event_id uuid, section text, rows int,
    seats_per_row int, price bigint) RETURNS int LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int;
BEGIN
    INSERT INTO baseline.seats (event_id, label, section, row_label, seat_number, price)
    SELECT $1, $2 || '-' || r || '-' || s, $2, r::text, s, $5
      FROM generate_series(1, $3) AS r, generate_series(1, $4) AS s;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

-- exact availability the usual way: count (overdue holds are free too)
CREATE FUNCTION baseline.tr_available_count(event_id uuid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT (SELECT count(*) FROM baseline.seats s WHERE s.event_id = $1 AND s.status = 'available')
         + (SELECT coalesce(sum(cardinality(r.seat_ids)), 0) FROM baseline.reservations r
             WHERE r.status = 'pending' AND r.expires_at <= clock_timestamp() AND r.event_id = $1)
$$;

-- try the advisory lock of every seat, in the (sorted) order given
CREATE FUNCTION baseline._try_lock_seats(seat_ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    s uuid;
BEGIN
    FOREACH s IN ARRAY seat_ids LOOP
        IF NOT pg_try_advisory_xact_lock(hashtextextended(s::text, 0)) THEN
            RAISE EXCEPTION 'seat busy' USING ERRCODE = 'PT409',
                DETAIL = format('Seat %s is locked by a concurrent call.', s);
        END IF;
    END LOOP;
END
$$;

-- lazy expiry: expire overdue holds on these seats, give their seats back
CREATE FUNCTION baseline._expire_overdue(seat_ids uuid[], event_id uuid, now_ timestamptz)
RETURNS int LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    n int;
BEGIN
    WITH r AS (
        UPDATE baseline.reservations r SET status = 'expired'
         WHERE r.id IN (SELECT s.reservation_id FROM baseline.seats s
                         WHERE s.id = ANY ($1) AND s.event_id = $2 AND s.status = 'reserved')
           AND r.status = 'pending' AND r.expires_at <= $3
        RETURNING r.id, r.seat_ids),
    u AS (
        UPDATE baseline.seats s SET status = 'available', reservation_id = NULL, updated_at = $3
          FROM (SELECT r.id AS rid, unnest(r.seat_ids) AS sid FROM r) x
         WHERE s.id = x.sid AND s.reservation_id = x.rid AND s.status = 'reserved'
        RETURNING 1)
    SELECT count(*) INTO n FROM r;
    RETURN n;
END
$$;

CREATE FUNCTION baseline.tr_reserve(event_id uuid, user_id text, seat_ids uuid[],
    idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL)
RETURNS baseline.reservations LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    now_ timestamptz := clock_timestamp();
    ids uuid[];
    ev baseline.events;
    res baseline.reservations;
    rid uuid := gen_random_uuid();
    n int;
    total bigint;
    got int;
BEGIN
    IF event_id IS NULL OR user_id IS NULL OR seat_ids IS NULL OR cardinality(seat_ids) = 0 THEN
        RAISE EXCEPTION 'event_id, user_id and seat_ids must be given' USING ERRCODE = '22023';
    END IF;
    ids := ARRAY(SELECT DISTINCT x FROM unnest(seat_ids) AS x ORDER BY 1);
    IF cardinality(ids) <> cardinality(seat_ids) OR array_position(ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'seat_ids must be distinct and not null' USING ERRCODE = '22023';
    END IF;
    IF idempotency_key IS NOT NULL THEN
        -- concurrent retries with one key wait for each other
        PERFORM pg_advisory_xact_lock(hashtextextended(user_id || chr(1) || idempotency_key, 0));
        SELECT * INTO res FROM baseline.reservations r
         WHERE r.user_id = tr_reserve.user_id AND r.idempotency_key = tr_reserve.idempotency_key;
        IF FOUND THEN
            IF res.event_id <> tr_reserve.event_id OR res.seat_ids <> ids THEN
                RAISE EXCEPTION 'idempotency key reused' USING ERRCODE = 'PT422';
            END IF;
            IF res.status = 'pending' AND res.expires_at <= now_ THEN
                res.status := 'expired';
            END IF;
            RETURN res;
        END IF;
    END IF;
    SELECT * INTO ev FROM baseline.events e WHERE e.id = tr_reserve.event_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event not found' USING ERRCODE = 'PT404';
    END IF;
    IF now_ >= ev.starts_at THEN
        RAISE EXCEPTION 'booking closed' USING ERRCODE = 'PT409';
    END IF;
    IF cardinality(ids) > ev.max_seats_per_reservation THEN
        RAISE EXCEPTION 'too many seats' USING ERRCODE = 'PT422';
    END IF;
    PERFORM baseline._try_lock_seats(ids);

    -- the row guard
    WITH u AS (UPDATE baseline.seats s SET status = 'reserved', reservation_id = rid, updated_at = now_
                WHERE s.id = ANY (ids) AND s.event_id = tr_reserve.event_id AND s.status = 'available'
               RETURNING s.price)
    SELECT count(*), coalesce(sum(price), 0) INTO n, total FROM u;
    IF n < cardinality(ids) AND baseline._expire_overdue(ids, tr_reserve.event_id, now_) > 0 THEN
        WITH u AS (UPDATE baseline.seats s SET status = 'reserved', reservation_id = rid, updated_at = now_
                    WHERE s.id = ANY (ids) AND s.event_id = tr_reserve.event_id AND s.status = 'available'
                   RETURNING s.price)
        SELECT n + count(*), total + coalesce(sum(price), 0) INTO n, total FROM u;
    END IF;
    IF n < cardinality(ids) THEN
        SELECT count(*) INTO got FROM baseline.seats s
         WHERE s.id = ANY (ids) AND s.event_id = tr_reserve.event_id;
        IF got < cardinality(ids) THEN
            RAISE EXCEPTION 'seat not found' USING ERRCODE = 'PT404';
        END IF;
        RAISE EXCEPTION 'seat unavailable' USING ERRCODE = 'PT409';
    END IF;

    INSERT INTO baseline.reservations (id, event_id, user_id, seat_ids, idempotency_key,
                                       total_amount, expires_at, created_at)
    VALUES (rid, tr_reserve.event_id, tr_reserve.user_id, ids, tr_reserve.idempotency_key, total,
            now_ + coalesce(hold, ev.hold_duration), now_)
    RETURNING * INTO res;
    RETURN res;
END
$$;

-- confirm or cancel: the caller's pending hold, seat locks, guarded updates
CREATE FUNCTION baseline._move(reservation_id uuid, user_id text, confirm boolean)
RETURNS baseline.reservations LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    now_ timestamptz := clock_timestamp();
    res baseline.reservations;
    n int;
BEGIN
    SELECT * INTO res FROM baseline.reservations r WHERE r.id = _move.reservation_id;
    IF NOT FOUND OR res.user_id <> _move.user_id THEN
        RAISE EXCEPTION 'reservation not found' USING ERRCODE = 'PT404';
    END IF;
    IF res.status = 'pending' AND res.expires_at <= now_ THEN
        IF confirm THEN
            RAISE EXCEPTION 'hold expired' USING ERRCODE = 'PT410';
        END IF;
        RAISE EXCEPTION 'reservation not pending' USING ERRCODE = 'PT409';
    END IF;
    IF res.status <> 'pending' THEN
        RAISE EXCEPTION 'reservation not pending' USING ERRCODE = 'PT409';
    END IF;
    PERFORM baseline._try_lock_seats(res.seat_ids);
    IF confirm THEN
        UPDATE baseline.reservations r SET status = 'confirmed', confirmed_at = now_
         WHERE r.id = res.id AND r.status = 'pending' AND r.expires_at > now_ RETURNING * INTO res;
    ELSE
        UPDATE baseline.reservations r SET status = 'cancelled', cancelled_at = now_
         WHERE r.id = res.id AND r.status = 'pending' RETURNING * INTO res;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reservation not pending' USING ERRCODE = 'PT409';
    END IF;
    UPDATE baseline.seats s
       SET status = CASE WHEN confirm THEN 'confirmed'::baseline.seat_status ELSE 'available' END,
           reservation_id = CASE WHEN confirm THEN res.id END, updated_at = now_
     WHERE s.id = ANY (res.seat_ids) AND s.reservation_id = res.id AND s.status = 'reserved';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> cardinality(res.seat_ids) THEN
        RAISE EXCEPTION 'reservation % lost its seats', res.id USING ERRCODE = 'XX001';
    END IF;
    RETURN res;
END
$$;

CREATE FUNCTION baseline.tr_confirm(reservation_id uuid, user_id text)
RETURNS baseline.reservations LANGUAGE sql VOLATILE AS $$
    SELECT * FROM baseline._move($1, $2, true)
$$;

CREATE FUNCTION baseline.tr_cancel(reservation_id uuid, user_id text)
RETURNS baseline.reservations LANGUAGE sql VOLATILE AS $$
    SELECT * FROM baseline._move($1, $2, false)
$$;

-- expiry sweep: batches of 1,000 overdue holds, skipping holds whose seats
-- are busy; commits after each batch, which also drops the batch's locks
CREATE PROCEDURE baseline.tr_expire(INOUT expired int DEFAULT 0, max_rows int DEFAULT 10000)
LANGUAGE plpgsql AS $$
DECLARE
    now_ timestamptz := clock_timestamp();
    last_exp timestamptz := '-infinity';
    last_id uuid := '00000000-0000-0000-0000-000000000000';
    batch uuid[];
    r record;
    fetched int;
    ok boolean;
    s uuid;
BEGIN
    expired := 0;
    LOOP
        batch := '{}';
        fetched := 0;
        FOR r IN SELECT x.id, x.seat_ids, x.expires_at FROM baseline.reservations x
                  WHERE x.status = 'pending' AND x.expires_at <= now_
                    AND (x.expires_at, x.id) > (last_exp, last_id)
                  ORDER BY x.expires_at, x.id LIMIT least(1000, max_rows - expired) LOOP
            fetched := fetched + 1;
            last_exp := r.expires_at;
            last_id := r.id;
            ok := true;
            FOREACH s IN ARRAY r.seat_ids LOOP
                IF NOT pg_try_advisory_xact_lock(hashtextextended(s::text, 0)) THEN
                    ok := false;
                    EXIT;
                END IF;
            END LOOP;
            IF ok THEN
                batch := batch || r.id;
            END IF;
        END LOOP;
        WITH x AS (UPDATE baseline.reservations v SET status = 'expired'
                    WHERE v.id = ANY (batch) AND v.status = 'pending'
                   RETURNING v.id, v.seat_ids),
             u AS (UPDATE baseline.seats s SET status = 'available', reservation_id = NULL, updated_at = now_
                     FROM (SELECT x.id AS rid, unnest(x.seat_ids) AS sid FROM x) y
                    WHERE s.id = y.sid AND s.reservation_id = y.rid AND s.status = 'reserved'
                   RETURNING 1)
        SELECT expired + count(*) INTO expired FROM x;
        COMMIT;
        EXIT WHEN fetched < 1000 OR expired >= max_rows;
    END LOOP;
END
$$;

-- the invariants of DESIGN §2 on the baseline's tables (0 everywhere)
CREATE FUNCTION baseline.check_invariants()
RETURNS TABLE (invariant text, violations bigint) LANGUAGE sql STABLE AS $$
    SELECT 'reserved seat belongs to one pending reservation listing it', count(*)
      FROM baseline.seats s LEFT JOIN baseline.reservations r ON r.id = s.reservation_id
     WHERE s.status = 'reserved'
       AND (r.id IS NULL OR r.status <> 'pending' OR NOT s.id = ANY (r.seat_ids))
    UNION ALL
    SELECT 'confirmed seat belongs to one confirmed reservation listing it', count(*)
      FROM baseline.seats s LEFT JOIN baseline.reservations r ON r.id = s.reservation_id
     WHERE s.status = 'confirmed'
       AND (r.id IS NULL OR r.status <> 'confirmed' OR NOT s.id = ANY (r.seat_ids))
    UNION ALL
    SELECT 'pending or confirmed reservation owns all its seats', count(*)
      FROM baseline.reservations r CROSS JOIN LATERAL unnest(r.seat_ids) AS q(sid)
      LEFT JOIN baseline.seats s ON s.id = q.sid
     WHERE r.status IN ('pending', 'confirmed')
       AND (s.id IS NULL OR s.reservation_id IS DISTINCT FROM r.id)
    UNION ALL
    SELECT 'seat in at most one pending or confirmed reservation', count(*)
      FROM (SELECT q.sid FROM baseline.reservations r CROSS JOIN LATERAL unnest(r.seat_ids) AS q(sid)
             WHERE r.status IN ('pending', 'confirmed') GROUP BY q.sid HAVING count(*) > 1) d
    UNION ALL
    SELECT 'total_amount is the sum of seat prices', count(*)
      FROM baseline.reservations r
     WHERE r.total_amount <> (SELECT coalesce(sum(s.price), 0) FROM baseline.seats s
                               WHERE s.id = ANY (r.seat_ids))
$$;

------------------------------------------------------------------------------
-- General admission (DESIGN §8): areas with a capacity instead of seats.
--
-- An area's tickets left are kept in ticketres.ga_counts, 64 to 256 stripes
-- made with the area (the capacity spread evenly over them; numbered from 0)
-- plus overflow stripes (numbered from 256).
-- A buyer (tr_reserve_ga, src/ga.c) takes its quantity
--   1. from its backend's stripe, when nobody holds it and it has enough;
--   2. else from the next stripe nobody holds that has enough (after its
--      own, then before it);
--   3. else (lazy expiry first: the area's overdue holds give their tickets
--      back) by borrowing: it locks, one at a time and SKIP LOCKED, stripes
--      that still have tickets and takes from each until it has enough.
-- None of these waits for a lock.  When the stripes nobody holds are short,
-- the borrowing is rolled back (a subtransaction, so its row locks go too)
-- and what is committed decides (all stripes plus the overdue holds, as
-- tr_ga_available counts): below the quantity, the area is `sold out` now;
-- otherwise the missing tickets sit in stripes (or overdue holds) other calls
-- hold at this moment (they may commit or roll back), and the call retries
-- after a short random pause (never on a lock) for up to 10 seconds (a
-- prepared transaction may hold a stripe for longer) before it answers
-- `sold out` too.  So the last ticket sells, and a stripe never goes
-- below zero (CHECK), so no area sells one ticket over capacity.
------------------------------------------------------------------------------

-- C helpers (src/inventory.c)
CREATE OR REPLACE FUNCTION ticketres._ga_add(area_id uuid, delta bigint) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_ga_add_sql' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION ticketres._try_lock_ids(ids uuid[]) RETURNS boolean
    AS 'MODULE_PATHNAME', 'tr_try_lock_ids_sql' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION ticketres._new_reservation_id(event_id uuid) RETURNS uuid
    AS 'MODULE_PATHNAME', 'tr_new_reservation_id_sql' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION ticketres._expire_ids(ids uuid[], lazy boolean) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tr_expire_ids_sql' LANGUAGE C VOLATILE;

-- the row of an overdue pending hold, locked unless another transaction
-- has it (a sweep that expired it and has not committed yet)
CREATE OR REPLACE FUNCTION ticketres._lock_overdue(id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM ticketres.reservations x
     WHERE x.id = _lock_overdue.id AND x.status = 'pending' AND x.expires_at <= clock_timestamp()
       FOR UPDATE SKIP LOCKED;
    RETURN FOUND;
END
$$;

-- Lazy expiry: expire up to lim overdue holds (GA holds of area_id, or seat
-- holds of event_id when area_id is NULL) that nobody else is working on;
-- returns how many were expired
CREATE OR REPLACE FUNCTION ticketres._expire_overdue(event_id uuid, area_id uuid, lim int DEFAULT 100)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    ids uuid[] := '{}'::uuid[];
BEGIN
    -- in the order every mover takes them: the hold's seat (or id) locks,
    -- then its row; a hold another call has either is skipped, never waited
    -- for (a row lock without the seat locks would keep tr_expire, which has
    -- them, from expiring it)
    FOR r IN
        SELECT x.id, x.seat_ids FROM ticketres.reservations x
         WHERE x.ga_area_id = _expire_overdue.area_id AND x.status = 'pending'
           AND x.expires_at <= clock_timestamp() AND area_id IS NOT NULL
         LIMIT lim::bigint
    LOOP
        IF ticketres._try_lock_ids(ARRAY[r.id]) AND ticketres._lock_overdue(r.id) THEN
            ids := ids || r.id;
        END IF;
    END LOOP;
    FOR r IN
        SELECT x.id, x.seat_ids FROM ticketres.reservations x
         WHERE x.event_id = _expire_overdue.event_id AND x.status = 'pending'
           AND x.expires_at <= clock_timestamp() AND area_id IS NULL AND x.ga_area_id IS NULL
         LIMIT lim::bigint
    LOOP
        IF ticketres._try_lock_ids(r.seat_ids) AND ticketres._lock_overdue(r.id) THEN
            ids := ids || r.id;
        END IF;
    END LOOP;
    IF cardinality(ids) = 0 THEN
        RETURN 0::bigint;
    END IF;
    RETURN ticketres._expire_ids(ids, true);
END
$$;

-- Tickets of an area that can be reserved now: the stripes plus the
-- tickets of overdue holds (free: lazy expiry).  Exact, reads the area's
-- stripes and its overdue holds only.
CREATE OR REPLACE FUNCTION ticketres._ga_left(area_id uuid) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (SELECT coalesce(sum(c.available), 0) FROM ticketres.ga_counts c WHERE c.area_id = _ga_left.area_id)
         + (SELECT coalesce(sum(r.quantity), 0) FROM ticketres.reservations r
             WHERE r.ga_area_id = _ga_left.area_id AND r.status = 'pending'
               AND r.expires_at <= clock_timestamp())
$$;

-- Take quantity tickets from the area's stripes when tr_reserve_ga found
-- neither its own stripe nor a free one with enough (steps 3 and on of the
-- head of this file), never waiting on a lock; PT409 sold out when they are
-- not there
CREATE OR REPLACE FUNCTION ticketres._ga_take(area_id uuid, quantity int) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    need bigint;
    took bigint;
    s record;
    cur refcursor;
    committed bigint;
    attempt int := 0;
    started timestamptz;
BEGIN
    PERFORM ticketres._expire_overdue(NULL, area_id);
    started := clock_timestamp();
    LOOP
        BEGIN
            need := quantity::bigint;
            OPEN cur FOR SELECT x.stripe, x.available FROM ticketres.ga_counts x
                          WHERE x.area_id = _ga_take.area_id AND x.available > 0
                          ORDER BY x.available DESC, x.stripe FOR UPDATE SKIP LOCKED;
            LOOP
                FETCH cur INTO s;
                EXIT WHEN NOT FOUND;
                took := least(s.available, need);
                UPDATE ticketres.ga_counts c SET available = c.available - took
                 WHERE c.area_id = _ga_take.area_id AND c.stripe = s.stripe;
                need := need - took;
                EXIT WHEN need = 0;
            END LOOP;
            CLOSE cur;
            IF need = 0 THEN
                RETURN;
            END IF;
            -- short: undo the borrowing and its row locks
            RAISE EXCEPTION USING ERRCODE = 'TRGA1';
        EXCEPTION WHEN SQLSTATE 'TRGA1' THEN
            NULL;
        END;
        -- committed now: the stripes plus the overdue holds (some may be
        -- being expired by a concurrent call)
        committed := ticketres._ga_left(area_id);
        attempt := attempt + 1;
        IF committed < quantity OR clock_timestamp() > started + interval '10 seconds' THEN
            PERFORM ticketres._raise('sold out',
                format('%s tickets were asked for; %s left%s.', quantity, committed,
                       CASE WHEN committed >= quantity THEN ', but concurrent calls are taking them' ELSE '' END),
                'Ask for fewer tickets, or try again later: holds that end free their tickets.');
        END IF;
        PERFORM pg_sleep(random() * 0.001 * least(attempt, 10));
        PERFORM ticketres._expire_overdue(NULL, area_id);
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION ticketres._area_of(event_id uuid, area text) RETURNS ticketres.ga_areas
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a ticketres.ga_areas;
BEGIN
    IF event_id IS NULL THEN
        RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '22023';
    END IF;
    IF area IS NULL OR length(area) = 0 THEN
        RAISE EXCEPTION 'area must not be empty' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO a FROM ticketres.ga_areas x WHERE x.event_id = _area_of.event_id AND x.name = area;
    IF NOT FOUND THEN
        PERFORM ticketres._event_must_exist(event_id);
        PERFORM ticketres._raise('area not found',
            format('Event %s has no general admission area %L.', event_id, area));
    END IF;
    RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION tr_add_ga_area(event_id uuid, name text, capacity int, price bigint DEFAULT 0)
RETURNS ticketres.ga_areas
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a ticketres.ga_areas;
    n int;
BEGIN
    PERFORM ticketres._event_must_exist(event_id);
    PERFORM 1 FROM ticketres.events e WHERE e.id = tr_add_ga_area.event_id FOR KEY SHARE;
    IF name IS NULL OR length(name) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'name must be 1 to 100 characters' USING ERRCODE = '22023';
    END IF;
    IF capacity IS NULL OR capacity < 0 THEN
        RAISE EXCEPTION 'capacity must not be negative' USING ERRCODE = '22023';
    END IF;
    IF price IS NULL OR price NOT BETWEEN 0 AND 1000000000000 THEN
        RAISE EXCEPTION 'price must be between 0 and 1000000000000' USING ERRCODE = '22023';
    END IF;
    BEGIN
        -- the id ends with the event's bytes, like a reservation's (a scale-out
        -- router finds the area's shard from its id)
        INSERT INTO ticketres.ga_areas AS x (id, event_id, name, capacity, price)
        VALUES (ticketres._new_reservation_id(tr_add_ga_area.event_id), tr_add_ga_area.event_id,
                tr_add_ga_area.name, tr_add_ga_area.capacity, tr_add_ga_area.price)
        RETURNING x.* INTO a;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'area already exists' USING ERRCODE = '22023',
            DETAIL = format('Event %s already has an area named %L.', event_id, name),
            HINT = 'Area names are unique per event.';
    END;
    -- 64 stripes, up to 256 for large areas (64 tickets a stripe at least):
    -- each buyer holds its stripe's row until it commits, and 200 buyers
    -- on 64 stripes would find them all held; stripes >= 256 are overflow
    n := least(256, greatest(64, capacity / 64));
    INSERT INTO ticketres.ga_counts (area_id, stripe, available)
    SELECT a.id, s, capacity / n + (s < capacity % n)::int FROM generate_series(0, n - 1) AS s;
    RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION tr_update_ga_area(area_id uuid, capacity int DEFAULT NULL, price bigint DEFAULT NULL)
RETURNS ticketres.ga_areas
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a ticketres.ga_areas;
    total bigint;
    remaining bigint;
    n bigint;
BEGIN
    IF area_id IS NULL THEN
        RAISE EXCEPTION 'area_id must not be null' USING ERRCODE = '22023';
    END IF;
    IF capacity < 0 THEN
        RAISE EXCEPTION 'capacity must not be negative' USING ERRCODE = '22023';
    END IF;
    IF price NOT BETWEEN 0 AND 1000000000000 THEN
        RAISE EXCEPTION 'price must be between 0 and 1000000000000' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO a FROM ticketres.ga_areas x WHERE x.id = tr_update_ga_area.area_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM ticketres._raise('area not found', format('No general admission area has id %s.', area_id));
    END IF;
    IF capacity IS NOT NULL AND capacity <> a.capacity THEN
        -- an admin call may wait: every stripe, so the sum is exact; the
        -- overdue holds first give their tickets back
        PERFORM ticketres._expire_overdue(NULL, a.id, 10000);
        SELECT sum(c.available)::bigint INTO total FROM (SELECT x.available FROM ticketres.ga_counts x
                                                  WHERE x.area_id = a.id FOR UPDATE) c;
        remaining := total + capacity - a.capacity;
        SELECT count(*) INTO n FROM ticketres.ga_counts x WHERE x.area_id = a.id AND x.stripe < 256;
        IF remaining < 0 THEN
            PERFORM ticketres._raise('capacity below sold',
                format('Area %s has %s tickets held or sold; capacity %s is below that.',
                       a.id, a.capacity - total, capacity),
                'Release reservations first, or set a larger capacity.');
        END IF;
        UPDATE ticketres.ga_counts x
           SET available = CASE WHEN x.stripe < n THEN remaining / n + (x.stripe < remaining % n)::int ELSE 0 END
         WHERE x.area_id = a.id;
    END IF;
    UPDATE ticketres.ga_areas x SET capacity = coalesce(tr_update_ga_area.capacity, x.capacity),
           price = coalesce(tr_update_ga_area.price, x.price)
     WHERE x.id = a.id RETURNING x.* INTO a;
    RETURN a;
END
$$;

CREATE OR REPLACE FUNCTION tr_list_ga_areas(event_id uuid)
RETURNS SETOF ticketres.ga_area_availability
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ticketres._event_must_exist(tr_list_ga_areas.event_id);
    RETURN QUERY
    SELECT a.id, a.event_id, a.name, a.capacity, a.price, a.created_at, ticketres._ga_left(a.id)
      FROM ticketres.ga_areas a WHERE a.event_id = tr_list_ga_areas.event_id ORDER BY a.name;
END
$$;

CREATE OR REPLACE FUNCTION tr_ga_available(event_id uuid, area text) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ticketres._ga_left((ticketres._area_of(event_id, area)).id) $$;

-- the steps of tr_reserve with tickets of an area (src/ga.c): the area's
-- stripes in C, and _ga_take above when neither this backend's stripe nor
-- the first free one has enough
CREATE OR REPLACE FUNCTION tr_reserve_ga(event_id uuid, area text, quantity int, user_id text DEFAULT NULL,
    idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL)
RETURNS ticketres.reservations
    AS 'MODULE_PATHNAME', 'tr_reserve_ga'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION tr_add_ga_area(uuid, text, int, bigint) IS
$$Add a general admission area to an event (admin): capacity tickets at one price, no seats.
name is unique per event (1 to 100 characters); price in minor currency units. Errors: 22023 bad argument or existing name, PT404 event not found.$$;
COMMENT ON FUNCTION tr_update_ga_area(uuid, int, bigint) IS
$$Change the capacity or price of a general admission area (admin); NULL leaves it unchanged.
A new price applies to new holds only. Errors: 22023 bad argument, PT404 area not found, PT409 capacity below sold (below the tickets held and sold).$$;
COMMENT ON FUNCTION tr_list_ga_areas(uuid) IS
$$The general admission areas of an event, with the exact number of tickets available in each.
Errors: PT404 event not found.$$;
COMMENT ON FUNCTION tr_ga_available(uuid, text) IS
$$Exact number of tickets of a general admission area that can be reserved now.
Tickets of holds that have ended count as available. Constant time in the number of tickets. Errors: 22023 bad argument, PT404 event or area not found.$$;
COMMENT ON FUNCTION tr_reserve_ga(uuid, text, int, text, text, interval) IS
$$Hold quantity tickets of a general admission area, all or nothing.
Returns the pending reservation (no seats; ga_area_id and quantity set; total_amount = quantity x the area's price); confirm or cancel it like any reservation. Never waits on other buyers. The same idempotency_key with the same request returns the original reservation. Errors: 22023 bad argument, PT404 event or area not found, PT409 sold out (DETAIL: how many are left) / booking closed, PT422 too many seats / idempotency key reused, PT403 user mismatch.$$;

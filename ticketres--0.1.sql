-- ticketres 0.1 — install script.
-- Tables live in schema ticketres (private); the tr_* functions live in the
-- extension's schema (CREATE EXTENSION ticketres [SCHEMA api]).

\echo Use "CREATE EXTENSION ticketres" to load this file. \quit

CREATE SCHEMA ticketres;
COMMENT ON SCHEMA ticketres IS 'ticketres data: events, seats, reservations (use the tr_* functions, not the tables)';

CREATE TYPE ticketres.seat_status AS ENUM ('available', 'reserved', 'confirmed', 'blocked');
CREATE TYPE ticketres.reservation_status AS ENUM ('pending', 'confirmed', 'cancelled', 'expired');

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE ticketres.events (
    id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    name text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
    venue text CHECK (pg_catalog.length(venue) <= 200),
    description text CHECK (pg_catalog.length(description) <= 10000),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    hold_duration interval NOT NULL DEFAULT '15 minutes'
        CHECK (hold_duration BETWEEN '1 second' AND '1 day'),
    max_seats_per_reservation int NOT NULL DEFAULT 10
        CHECK (max_seats_per_reservation BETWEEN 1 AND 1000),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK (ends_at > starts_at)
);

-- Seat status changes touch status, reservation_id and updated_at only, none
-- of them indexed, and fillfactor leaves room on the page: the updates are HOT.
CREATE TABLE ticketres.seats (
    id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    event_id uuid NOT NULL REFERENCES ticketres.events (id) ON DELETE CASCADE,
    label text COLLATE "C" NOT NULL CHECK (pg_catalog.length(label) BETWEEN 1 AND 100),
    section text CHECK (pg_catalog.length(section) <= 100),
    row_label text CHECK (pg_catalog.length(row_label) <= 100),
    seat_number int,
    price bigint NOT NULL DEFAULT 0 CHECK (price BETWEEN 0 AND 1000000000000),
    status ticketres.seat_status NOT NULL DEFAULT 'available',
    reservation_id uuid,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (event_id, label),
    -- a seat points at a reservation exactly when it is reserved or confirmed
    CHECK ((status IN ('reserved', 'confirmed')) = (reservation_id IS NOT NULL))
) WITH (fillfactor = 90);

CREATE TABLE ticketres.reservations (
    id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    event_id uuid NOT NULL REFERENCES ticketres.events (id) ON DELETE CASCADE,
    user_id text NOT NULL CHECK (pg_catalog.length(user_id) BETWEEN 1 AND 200),
    seat_ids uuid[] NOT NULL
        CHECK (pg_catalog.cardinality(seat_ids) BETWEEN 1 AND 1000
               AND pg_catalog.array_ndims(seat_ids) = 1),
    status ticketres.reservation_status NOT NULL DEFAULT 'pending',
    idempotency_key text CHECK (pg_catalog.octet_length(idempotency_key) BETWEEN 1 AND 200),
    total_amount bigint NOT NULL CHECK (total_amount >= 0),
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    confirmed_at timestamptz,
    cancelled_at timestamptz,
    UNIQUE (user_id, idempotency_key),
    CHECK (status <> 'confirmed' OR confirmed_at IS NOT NULL),
    CHECK (status <> 'cancelled' OR cancelled_at IS NOT NULL)
);
-- expiry sweeps and the overdue part of tr_available_count
CREATE INDEX reservations_pending_expiry_idx ON ticketres.reservations (expires_at, id)
    WHERE status = 'pending';

-- Exact availability without a hot row: per event, 64 stripes whose sum is
-- the number of available seats; each backend writes its own stripe.
CREATE TABLE ticketres.seat_counts (
    event_id uuid NOT NULL REFERENCES ticketres.events (id) ON DELETE CASCADE,
    stripe int NOT NULL CHECK (stripe >= 0 AND stripe < 64),
    available bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, stripe)
) WITH (fillfactor = 50);

COMMENT ON TABLE ticketres.events IS 'events on sale; change them through tr_create_event / tr_update_event / tr_delete_event';
COMMENT ON TABLE ticketres.seats IS 'seats of events and their state (available, reserved, confirmed, blocked)';
COMMENT ON TABLE ticketres.reservations IS 'holds and purchases; unique per (user_id, idempotency_key)';
COMMENT ON TABLE ticketres.seat_counts IS 'striped exact count of available seats per event (sum over stripes)';

-- pg_dump keeps the rows of extension tables only when they are registered
SELECT pg_catalog.pg_extension_config_dump('ticketres.events', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.seats', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.reservations', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.seat_counts', '');

------------------------------------------------------------------------------
-- Internal helpers (not for direct use)
------------------------------------------------------------------------------

CREATE FUNCTION ticketres._caller(user_id text) RETURNS text
    AS 'MODULE_PATHNAME', 'tr_caller_sql' LANGUAGE C STABLE;
CREATE FUNCTION ticketres._count_add(event_id uuid, delta bigint) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_count_add_sql' LANGUAGE C VOLATILE;

-- 22023 unless the event fields are acceptable
CREATE FUNCTION ticketres._check_event(name text, starts_at timestamptz, ends_at timestamptz,
    venue text, description text, hold_duration interval, max_seats_per_reservation int)
RETURNS void LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR length(name) = 0 OR length(name) > 200 THEN
        RAISE EXCEPTION 'name must be 1 to 200 characters' USING ERRCODE = '22023';
    END IF;
    IF starts_at IS NULL OR ends_at IS NULL THEN
        RAISE EXCEPTION 'starts_at and ends_at must not be null' USING ERRCODE = '22023';
    END IF;
    IF NOT isfinite(starts_at) OR NOT isfinite(ends_at) THEN
        RAISE EXCEPTION 'starts_at and ends_at must be finite' USING ERRCODE = '22023';
    END IF;
    IF ends_at <= starts_at THEN
        RAISE EXCEPTION 'ends_at must be after starts_at' USING ERRCODE = '22023';
    END IF;
    IF length(venue) > 200 THEN
        RAISE EXCEPTION 'venue must be at most 200 characters' USING ERRCODE = '22023';
    END IF;
    IF length(description) > 10000 THEN
        RAISE EXCEPTION 'description must be at most 10000 characters' USING ERRCODE = '22023';
    END IF;
    IF hold_duration IS NULL OR NOT hold_duration BETWEEN interval '1 second' AND interval '1 day'
       OR extract(month FROM hold_duration) <> 0 OR extract(year FROM hold_duration) <> 0 THEN
        RAISE EXCEPTION 'hold_duration must be between 1 second and 1 day' USING ERRCODE = '22023';
    END IF;
    IF max_seats_per_reservation IS NULL OR max_seats_per_reservation NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'max_seats_per_reservation must be between 1 and 1000' USING ERRCODE = '22023';
    END IF;
END
$$;

-- PT404 unless the event exists
CREATE FUNCTION ticketres._event_must_exist(event_id uuid) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF event_id IS NULL THEN
        RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ticketres.events e WHERE e.id = _event_must_exist.event_id) THEN
        RAISE EXCEPTION 'event not found' USING ERRCODE = 'PT404',
            DETAIL = format('No event has id %s.', event_id);
    END IF;
END
$$;

-- a reservation as its owner sees it: a pending hold past expires_at is expired
CREATE FUNCTION ticketres._effective(r ticketres.reservations) RETURNS ticketres.reservations
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.id, r.event_id, r.user_id, r.seat_ids,
           CASE WHEN r.status = 'pending' AND r.expires_at <= clock_timestamp()
                THEN 'expired'::ticketres.reservation_status ELSE r.status END,
           r.idempotency_key, r.total_amount, r.expires_at, r.created_at,
           r.confirmed_at, r.cancelled_at
$$;

------------------------------------------------------------------------------
-- Events
------------------------------------------------------------------------------

CREATE FUNCTION tr_create_event(name text, starts_at timestamptz, ends_at timestamptz,
    venue text DEFAULT NULL, description text DEFAULT NULL,
    hold_duration interval DEFAULT '15 minutes', max_seats_per_reservation int DEFAULT 10)
RETURNS ticketres.events
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ev ticketres.events;
BEGIN
    PERFORM ticketres._check_event(name, starts_at, ends_at, venue, description,
                                   hold_duration, max_seats_per_reservation);
    INSERT INTO ticketres.events AS e (name, venue, description, starts_at, ends_at,
                                       hold_duration, max_seats_per_reservation)
    VALUES (name, venue, description, starts_at, ends_at, hold_duration,
            max_seats_per_reservation)
    RETURNING e.* INTO ev;
    INSERT INTO ticketres.seat_counts (event_id, stripe)
    SELECT ev.id, s FROM generate_series(0, 63) AS s;
    RETURN ev;
END
$$;

CREATE FUNCTION tr_update_event(event_id uuid, name text DEFAULT NULL,
    starts_at timestamptz DEFAULT NULL, ends_at timestamptz DEFAULT NULL,
    venue text DEFAULT NULL, description text DEFAULT NULL,
    hold_duration interval DEFAULT NULL, max_seats_per_reservation int DEFAULT NULL)
RETURNS ticketres.events
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ev ticketres.events;
BEGIN
    IF event_id IS NULL THEN
        RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '22023';
    END IF;
    -- NO KEY UPDATE: does not wait for (or block) reservations, whose foreign
    -- key checks hold the event row FOR KEY SHARE
    SELECT * INTO ev FROM ticketres.events e WHERE e.id = tr_update_event.event_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event not found' USING ERRCODE = 'PT404',
            DETAIL = format('No event has id %s.', event_id);
    END IF;
    ev.name := coalesce(name, ev.name);
    ev.starts_at := coalesce(starts_at, ev.starts_at);
    ev.ends_at := coalesce(ends_at, ev.ends_at);
    ev.venue := coalesce(venue, ev.venue);
    ev.description := coalesce(description, ev.description);
    ev.hold_duration := coalesce(hold_duration, ev.hold_duration);
    ev.max_seats_per_reservation := coalesce(max_seats_per_reservation, ev.max_seats_per_reservation);
    PERFORM ticketres._check_event(ev.name, ev.starts_at, ev.ends_at, ev.venue, ev.description,
                                   ev.hold_duration, ev.max_seats_per_reservation);
    UPDATE ticketres.events e
       SET name = ev.name, starts_at = ev.starts_at, ends_at = ev.ends_at, venue = ev.venue,
           description = ev.description, hold_duration = ev.hold_duration,
           max_seats_per_reservation = ev.max_seats_per_reservation, updated_at = now()
     WHERE e.id = ev.id
    RETURNING e.* INTO ev;
    RETURN ev;
END
$$;

CREATE FUNCTION tr_delete_event(event_id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n_pending bigint;
    n_confirmed bigint;
BEGIN
    IF event_id IS NULL THEN
        RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '22023';
    END IF;
    -- FOR UPDATE waits out reservations being inserted (their foreign key
    -- check holds the event row) and keeps new ones out until we are done
    PERFORM 1 FROM ticketres.events e WHERE e.id = tr_delete_event.event_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event not found' USING ERRCODE = 'PT404',
            DETAIL = format('No event has id %s.', event_id);
    END IF;
    SELECT count(*) FILTER (WHERE r.status = 'pending' AND r.expires_at > clock_timestamp()),
           count(*) FILTER (WHERE r.status = 'confirmed')
      INTO n_pending, n_confirmed
      FROM ticketres.reservations r
     WHERE r.event_id = tr_delete_event.event_id AND r.status IN ('pending', 'confirmed');
    IF n_pending > 0 OR n_confirmed > 0 THEN
        RAISE EXCEPTION 'event has reservations' USING ERRCODE = 'PT409',
            DETAIL = format('Event %s has %s pending and %s confirmed reservations.',
                            event_id, n_pending, n_confirmed),
            HINT = 'Cancel or release them first, or wait for the holds to expire.';
    END IF;
    DELETE FROM ticketres.events e WHERE e.id = tr_delete_event.event_id;
END
$$;

CREATE FUNCTION tr_get_event(event_id uuid) RETURNS ticketres.events
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ev ticketres.events;
BEGIN
    IF event_id IS NULL THEN
        RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO ev FROM ticketres.events e WHERE e.id = tr_get_event.event_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'event not found' USING ERRCODE = 'PT404',
            DETAIL = format('No event has id %s.', event_id);
    END IF;
    RETURN ev;
END
$$;

CREATE FUNCTION tr_list_events(lim int DEFAULT 50, off int DEFAULT 0)
RETURNS SETOF ticketres.events
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF lim IS NULL OR lim NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'lim must be between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    IF off IS NULL OR off < 0 THEN
        RAISE EXCEPTION 'off must not be negative' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT * FROM ticketres.events e ORDER BY e.starts_at, e.id LIMIT lim OFFSET off;
END
$$;

------------------------------------------------------------------------------
-- Seats
------------------------------------------------------------------------------

CREATE FUNCTION tr_add_seats(event_id uuid, seats jsonb) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad record;
    n int;
BEGIN
    PERFORM ticketres._event_must_exist(event_id);
    IF seats IS NULL OR jsonb_typeof(seats) <> 'array' THEN
        RAISE EXCEPTION 'seats must be a JSON array' USING ERRCODE = '22023';
    END IF;
    n := jsonb_array_length(seats);
    IF n = 0 THEN
        RAISE EXCEPTION 'seats must not be empty' USING ERRCODE = '22023';
    ELSIF n > 100000 THEN
        RAISE EXCEPTION 'seats must not have more than 100000 elements' USING ERRCODE = '22023';
    END IF;
    -- the first element that is not a valid seat, with the reason
    SELECT i, why INTO bad FROM (
        SELECT i, CASE
            WHEN jsonb_typeof(s) <> 'object' THEN 'is not an object'
            WHEN EXISTS (SELECT 1 FROM jsonb_object_keys(s) k
                          WHERE k NOT IN ('label', 'section', 'row', 'number', 'price'))
                THEN 'has an unknown key (allowed: label, section, row, number, price)'
            WHEN jsonb_typeof(s -> 'label') IS DISTINCT FROM 'string'
                 OR length(s ->> 'label') NOT BETWEEN 1 AND 100
                THEN 'needs a label of 1 to 100 characters'
            WHEN jsonb_typeof(s -> 'section') NOT IN ('string', 'null')
                 OR length(s ->> 'section') > 100 THEN 'has a bad section'
            WHEN jsonb_typeof(s -> 'row') NOT IN ('string', 'number', 'null')
                 OR length(s ->> 'row') > 100 THEN 'has a bad row'
            WHEN jsonb_typeof(s -> 'number') NOT IN ('number', 'null')
                 OR (jsonb_typeof(s -> 'number') = 'number'
                     AND ((s ->> 'number')::numeric NOT BETWEEN -2147483648 AND 2147483647
                          OR (s ->> 'number')::numeric % 1 <> 0))
                THEN 'has a number that is not an integer'
            WHEN jsonb_typeof(s -> 'price') NOT IN ('number', 'null')
                 OR (jsonb_typeof(s -> 'price') = 'number'
                     AND ((s ->> 'price')::numeric NOT BETWEEN 0 AND 1000000000000
                          OR (s ->> 'price')::numeric % 1 <> 0))
                THEN 'needs a price that is a whole number from 0 to 1000000000000'
            END AS why
        FROM jsonb_array_elements(seats) WITH ORDINALITY AS a(s, i)) v
    WHERE why IS NOT NULL ORDER BY i LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'seats[%] %', bad.i - 1, bad.why USING ERRCODE = '22023';
    END IF;
    SELECT s ->> 'label' AS label INTO bad FROM jsonb_array_elements(seats) AS a(s)
     GROUP BY 1 HAVING count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'seats contains a duplicate label' USING ERRCODE = '22023',
            DETAIL = format('Label %L appears more than once.', bad.label);
    END IF;
    BEGIN
        INSERT INTO ticketres.seats (event_id, label, section, row_label, seat_number, price)
        SELECT tr_add_seats.event_id, s ->> 'label', s ->> 'section', s ->> 'row',
               (s ->> 'number')::int, coalesce((s ->> 'price')::bigint, 0)
          FROM jsonb_array_elements(seats) AS a(s);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'seat label already exists' USING ERRCODE = '22023',
            DETAIL = format('Event %s already has a seat with one of these labels.', event_id),
            HINT = 'Labels are unique per event.';
    END;
    PERFORM ticketres._count_add(event_id, n);
    RETURN n;
END
$$;

CREATE FUNCTION tr_generate_seats(event_id uuid, section text, rows int, seats_per_row int,
    price bigint) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
    prefix text;
BEGIN
    PERFORM ticketres._event_must_exist(event_id);
    IF section IS NULL OR length(section) NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'section must be 1 to 50 characters' USING ERRCODE = '22023';
    END IF;
    IF rows IS NULL OR rows NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION 'rows must be between 1 and 100000' USING ERRCODE = '22023';
    END IF;
    IF seats_per_row IS NULL OR seats_per_row NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION 'seats_per_row must be between 1 and 100000' USING ERRCODE = '22023';
    END IF;
    IF rows::bigint * seats_per_row > 5000000 THEN
        RAISE EXCEPTION 'rows * seats_per_row must be at most 5000000' USING ERRCODE = '22023';
    END IF;
    IF price IS NULL OR price NOT BETWEEN 0 AND 1000000000000 THEN
        RAISE EXCEPTION 'price must be between 0 and 1000000000000' USING ERRCODE = '22023';
    END IF;
    n := rows * seats_per_row;
    -- Seat ids are UUIDv7-shaped: this call's millisecond clock, version 7,
    -- 44 random bits, the variant, then the seat's number in the call as a
    -- 32-bit counter. The call's seats are consecutive in the primary key,
    -- so a million of them go into the index in order rather than at random
    -- places (random ids made generating 1,000,000 seats about 2x slower);
    -- their advisory lock keys (seat_lock_keys) stay distinct in the call.
    prefix := lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
              || '7' || substr(md5(random()::text), 1, 3)
              || substr('89ab', 1 + (random() * 3)::int, 1) || substr(md5(random()::text), 1, 7);
    BEGIN
        INSERT INTO ticketres.seats (id, event_id, label, section, row_label, seat_number, price)
        SELECT (prefix || lpad(to_hex((r - 1) * seats_per_row + s), 8, '0'))::uuid,
               tr_generate_seats.event_id, section || '-' || r || '-' || s, section, r::text, s,
               tr_generate_seats.price
          FROM generate_series(1, rows) AS r, generate_series(1, seats_per_row) AS s;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'seat label already exists' USING ERRCODE = '22023',
            DETAIL = format('Event %s already has seats labelled %L.', event_id, section || '-<row>-<number>'),
            HINT = 'Use another section name.';
    END;
    PERFORM ticketres._count_add(event_id, n);
    RETURN n;
END
$$;

CREATE FUNCTION tr_list_seats(event_id uuid, status text DEFAULT NULL)
RETURNS SETOF ticketres.seats
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ticketres._event_must_exist(event_id);
    IF status IS NOT NULL AND status NOT IN ('available', 'reserved', 'confirmed', 'blocked') THEN
        RAISE EXCEPTION 'status must be one of available, reserved, confirmed, blocked'
            USING ERRCODE = '22023';
    END IF;
    -- a seat held by an overdue hold is shown as what it is: available; the
    -- map never reveals reservation ids (it is public)
    RETURN QUERY
    SELECT * FROM (
        SELECT s.id, s.event_id, s.label, s.section, s.row_label, s.seat_number, s.price,
               CASE WHEN r.id IS NULL THEN s.status ELSE 'available' END AS status,
               NULL::uuid AS reservation_id,     -- whose hold it is is nobody else's business
               s.updated_at
          FROM ticketres.seats s
          LEFT JOIN ticketres.reservations r
            ON s.status = 'reserved' AND r.id = s.reservation_id
           AND r.status = 'pending' AND r.expires_at <= clock_timestamp()
         WHERE s.event_id = tr_list_seats.event_id) v
     WHERE tr_list_seats.status IS NULL OR v.status::text = tr_list_seats.status
     ORDER BY v.label;
END
$$;

CREATE FUNCTION tr_available_count(event_id uuid) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tr_available_count'
    LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

------------------------------------------------------------------------------
-- Reservations
------------------------------------------------------------------------------

CREATE FUNCTION tr_reserve(event_id uuid, user_id text DEFAULT NULL, seat_ids uuid[] DEFAULT NULL,
    idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL)
RETURNS ticketres.reservations
    AS 'MODULE_PATHNAME', 'tr_reserve'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION tr_confirm(reservation_id uuid, user_id text DEFAULT NULL)
RETURNS ticketres.reservations
    AS 'MODULE_PATHNAME', 'tr_confirm'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION tr_cancel(reservation_id uuid, user_id text DEFAULT NULL)
RETURNS ticketres.reservations
    AS 'MODULE_PATHNAME', 'tr_cancel'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

CREATE FUNCTION tr_get_reservation(reservation_id uuid, user_id text DEFAULT NULL)
RETURNS ticketres.reservations
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text;
    res ticketres.reservations;
BEGIN
    IF reservation_id IS NULL THEN
        RAISE EXCEPTION 'reservation_id must not be null' USING ERRCODE = '22023';
    END IF;
    who := ticketres._caller(user_id);
    SELECT (ticketres._effective(r)).* INTO res FROM ticketres.reservations r
     WHERE r.id = tr_get_reservation.reservation_id AND r.user_id = who;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reservation not found' USING ERRCODE = 'PT404',
            DETAIL = format('User "%s" has no reservation %s.', who, reservation_id);
    END IF;
    RETURN res;
END
$$;

CREATE FUNCTION tr_list_reservations(user_id text DEFAULT NULL, lim int DEFAULT 20, off int DEFAULT 0)
RETURNS SETOF ticketres.reservations
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := ticketres._caller(user_id);
BEGIN
    IF lim IS NULL OR lim NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'lim must be between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    IF off IS NULL OR off < 0 THEN
        RAISE EXCEPTION 'off must not be negative' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT (ticketres._effective(r)).* FROM ticketres.reservations r
     WHERE r.user_id = who ORDER BY r.created_at DESC, r.id LIMIT lim OFFSET off;
END
$$;

CREATE FUNCTION tr_expire(max_rows int DEFAULT 10000) RETURNS int
    AS 'MODULE_PATHNAME', 'tr_expire'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

------------------------------------------------------------------------------
-- Tools for operators and tests
------------------------------------------------------------------------------

CREATE FUNCTION ticketres.seat_lock_keys(seat_id uuid, OUT key1 int, OUT key2 int)
    AS 'MODULE_PATHNAME', 'tr_seat_lock_keys_sql'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- every invariant of DESIGN §2 as a count of violations (all must be 0);
-- scans everything: for tests and audits, not for the hot path
CREATE FUNCTION ticketres.check_invariants()
RETURNS TABLE (invariant text, violations bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'reserved seat belongs to one pending reservation listing it', count(*)
      FROM ticketres.seats s LEFT JOIN ticketres.reservations r ON r.id = s.reservation_id
     WHERE s.status = 'reserved'
       AND (r.id IS NULL OR r.status <> 'pending' OR r.event_id <> s.event_id
            OR NOT s.id = ANY (r.seat_ids))
    UNION ALL
    SELECT 'confirmed seat belongs to one confirmed reservation listing it', count(*)
      FROM ticketres.seats s LEFT JOIN ticketres.reservations r ON r.id = s.reservation_id
     WHERE s.status = 'confirmed'
       AND (r.id IS NULL OR r.status <> 'confirmed' OR r.event_id <> s.event_id
            OR NOT s.id = ANY (r.seat_ids))
    UNION ALL
    SELECT 'pending reservation holds all its seats', count(*)
      FROM ticketres.reservations r CROSS JOIN LATERAL unnest(r.seat_ids) AS q(sid)
      LEFT JOIN ticketres.seats s ON s.id = q.sid
     WHERE r.status = 'pending'
       AND (s.id IS NULL OR s.status <> 'reserved' OR s.reservation_id <> r.id)
    UNION ALL
    SELECT 'confirmed reservation owns all its seats', count(*)
      FROM ticketres.reservations r CROSS JOIN LATERAL unnest(r.seat_ids) AS q(sid)
      LEFT JOIN ticketres.seats s ON s.id = q.sid
     WHERE r.status = 'confirmed'
       AND (s.id IS NULL OR s.status <> 'confirmed' OR s.reservation_id <> r.id)
    UNION ALL
    SELECT 'seat in at most one pending or confirmed reservation', count(*)
      FROM (SELECT q.sid FROM ticketres.reservations r CROSS JOIN LATERAL unnest(r.seat_ids) AS q(sid)
             WHERE r.status IN ('pending', 'confirmed') GROUP BY q.sid HAVING count(*) > 1) d
    UNION ALL
    SELECT 'total_amount is the sum of seat prices', count(*)
      FROM ticketres.reservations r
     WHERE r.total_amount <> (SELECT coalesce(sum(s.price), 0) FROM ticketres.seats s
                               WHERE s.id = ANY (r.seat_ids))
    UNION ALL
    SELECT 'availability counter equals available seats', count(*)
      FROM ticketres.events e
     WHERE (SELECT coalesce(sum(c.available), 0) FROM ticketres.seat_counts c WHERE c.event_id = e.id)
        <> (SELECT count(*) FROM ticketres.seats s WHERE s.event_id = e.id AND s.status = 'available')
$$;

------------------------------------------------------------------------------
-- Web access through PostgREST
------------------------------------------------------------------------------

-- the functions each web role may execute, by signature; *_opt lists the
-- ones other parts of ticketres add (granted only when they exist)
CREATE FUNCTION ticketres._web_functions(tier text) RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE tier
    WHEN 'anon' THEN ARRAY['tr_get_event(uuid)', 'tr_list_events(int, int)',
        'tr_list_seats(uuid, text)', 'tr_available_count(uuid)']
    WHEN 'anon_opt' THEN ARRAY['tr_health()']
    WHEN 'authenticated' THEN ARRAY['tr_reserve(uuid, text, uuid[], text, interval)',
        'tr_confirm(uuid, text)', 'tr_cancel(uuid, text)', 'tr_get_reservation(uuid, text)',
        'tr_list_reservations(text, int, int)']
    WHEN 'authenticated_opt' THEN ARRAY[]::text[]
    WHEN 'admin' THEN ARRAY[
        'tr_create_event(text, timestamptz, timestamptz, text, text, interval, int)',
        'tr_update_event(uuid, text, timestamptz, timestamptz, text, text, interval, int)',
        'tr_delete_event(uuid)', 'tr_add_seats(uuid, jsonb)',
        'tr_generate_seats(uuid, text, int, int, bigint)', 'tr_expire(int)']
    WHEN 'admin_opt' THEN ARRAY['tr_metrics()', 'tr_schedule_expiry(text)',
        'tr_unschedule_expiry()', 'tr_block_seats(uuid, uuid[], text)',
        'tr_unblock_seats(uuid, uuid[], text)', 'tr_release_reservation(uuid, text)',
        'tr_extend_hold(uuid, interval, text)']
    END
$$;

-- the extension's schema (where the tr_* functions are) as a quoted identifier
CREATE FUNCTION ticketres._web_schema() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.extnamespace::regnamespace::text FROM pg_extension e WHERE e.extname = 'ticketres'
$$;

-- GRANT EXECUTE on the listed functions of the extension's schema to a role;
-- a missing function is an error unless optional
CREATE FUNCTION ticketres._grant_execute(role_name name, sigs text[], optional boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sig text;
    fn regprocedure;
BEGIN
    FOREACH sig IN ARRAY sigs LOOP
        fn := to_regprocedure(ticketres._web_schema() || '.' || sig);
        IF fn IS NULL AND NOT optional THEN
            RAISE EXCEPTION 'ticketres function %.% is missing', ticketres._web_schema(), sig;
        END IF;
        IF fn IS NOT NULL THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, role_name);
        END IF;
    END LOOP;
END
$$;

CREATE FUNCTION tr_grant_web_access(anon name, authenticated name, admin name) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r name;
    tiers text[];
    t text;
BEGIN
    IF anon IS NULL OR authenticated IS NULL OR admin IS NULL THEN
        RAISE EXCEPTION 'anon, authenticated and admin must not be null' USING ERRCODE = '22023';
    END IF;
    IF anon = authenticated OR anon = admin OR authenticated = admin THEN
        RAISE EXCEPTION 'anon, authenticated and admin must be three different roles'
            USING ERRCODE = '22023';
    END IF;
    FOREACH r IN ARRAY ARRAY[anon, authenticated, admin] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', r);
        ELSIF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r AND rolsuper) THEN
            RAISE EXCEPTION 'role "%" must not be a superuser', r USING ERRCODE = '22023',
                HINT = 'Web roles get only what tr_grant_web_access grants.';
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA %s TO %I', ticketres._web_schema(), r);
        tiers := CASE r WHEN anon THEN ARRAY['anon']
                        WHEN authenticated THEN ARRAY['anon', 'authenticated']
                        ELSE ARRAY['anon', 'authenticated', 'admin'] END;
        FOREACH t IN ARRAY tiers LOOP
            PERFORM ticketres._grant_execute(r, ticketres._web_functions(t), false);
            PERFORM ticketres._grant_execute(r, ticketres._web_functions(t || '_opt'), true);
        END LOOP;
    END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Documentation (PostgREST turns these into OpenAPI: summary line, then details)
------------------------------------------------------------------------------

COMMENT ON FUNCTION tr_create_event(text, timestamptz, timestamptz, text, text, interval, int) IS
$$Create an event.
Returns the new event. hold_duration (1 second to 1 day, default 15 minutes) is how long a hold lasts; max_seats_per_reservation (1 to 1000, default 10) caps one reservation. Errors: 22023 bad argument.$$;
COMMENT ON FUNCTION tr_update_event(uuid, text, timestamptz, timestamptz, text, text, interval, int) IS
$$Update an event.
Arguments left NULL keep their value. Errors: 22023 bad argument, PT404 event not found.$$;
COMMENT ON FUNCTION tr_delete_event(uuid) IS
$$Delete an event with its seats.
Refused (PT409 event has reservations) while it has pending or confirmed reservations. Errors: PT404 event not found.$$;
COMMENT ON FUNCTION tr_get_event(uuid) IS
$$Read one event.
Errors: PT404 event not found.$$;
COMMENT ON FUNCTION tr_list_events(int, int) IS
$$List events by start time.
lim 1 to 1000 (default 50), off from 0. Errors: 22023 bad argument.$$;
COMMENT ON FUNCTION tr_add_seats(uuid, jsonb) IS
$$Add seats to an event, all or nothing.
seats is a JSON array of {"label", "section", "row", "number", "price"}; label is required and unique per event, price is in minor currency units. Returns the number added. Errors: 22023 bad argument or existing label, PT404 event not found.$$;
COMMENT ON FUNCTION tr_generate_seats(uuid, text, int, int, bigint) IS
$$Generate a block of seats labelled section-row-number.
Adds rows * seats_per_row seats (at most 5,000,000) at one price. Returns the number added. Errors: 22023 bad argument or existing labels, PT404 event not found.$$;
COMMENT ON FUNCTION tr_list_seats(uuid, text) IS
$$The seat map of an event.
Optionally only seats of one status (available, reserved, confirmed, blocked). A seat whose hold has ended is shown as available; reservation_id is never shown. Errors: 22023 bad status, PT404 event not found.$$;
COMMENT ON FUNCTION tr_available_count(uuid) IS
$$Exact number of seats that can be reserved now.
Available seats plus seats of holds that have ended. Constant time in the number of seats. Errors: PT404 event not found.$$;
COMMENT ON FUNCTION tr_reserve(uuid, text, uuid[], text, interval) IS
$$Hold seats, all or nothing.
Returns the pending reservation; confirm it before expires_at. The same idempotency_key with the same request returns the original reservation. hold overrides the event's hold_duration (1 second to 1 day). Errors: 22023 bad argument, PT404 event or seat not found, PT409 seat unavailable / seat busy / booking closed, PT422 too many seats / idempotency key reused, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_confirm(uuid, text) IS
$$Confirm (buy) a pending reservation.
Errors: PT404 reservation not found, PT409 reservation not pending / seat busy, PT410 hold expired, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_cancel(uuid, text) IS
$$Cancel a pending reservation and give its seats back.
Errors: PT404 reservation not found, PT409 reservation not pending / seat busy, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_get_reservation(uuid, text) IS
$$Read one of the caller's reservations.
A pending hold past expires_at reads as expired. Errors: PT404 reservation not found, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_list_reservations(text, int, int) IS
$$List the caller's reservations, newest first.
lim 1 to 1000 (default 20), off from 0. Errors: 22023 bad argument, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_expire(int) IS
$$Expire overdue holds and free their seats.
Works in batches, skips holds whose seats another call is using, returns how many it expired. What pg_cron runs. Errors: 22023 bad max_rows.$$;
COMMENT ON FUNCTION tr_grant_web_access(name, name, name) IS
$$Set up the PostgREST roles: anonymous, authenticated user, admin.
Creates the roles that do not exist (NOLOGIN) and grants USAGE on the extension's schema and EXECUTE on functions only, never on tables. anon: tr_get_event, tr_list_events, tr_list_seats, tr_available_count, tr_health. authenticated: those plus tr_reserve, tr_confirm, tr_cancel, tr_get_reservation, tr_list_reservations (a JWT's "sub" is the user). admin: those plus event and seat management, tr_expire and the operations functions (tr_metrics, tr_schedule_expiry, ...) that are installed. Idempotent: run it again after adding functions. The authenticator role PostgREST logs in as is yours to create (LOGIN NOINHERIT) and must be granted the three roles. Errors: 22023 a role is NULL, repeated or a superuser.$$;
COMMENT ON FUNCTION ticketres.seat_lock_keys(uuid) IS
'advisory lock keys of a seat: pg_try_advisory_xact_lock(key1, key2) takes the lock ticketres takes';
COMMENT ON FUNCTION ticketres.check_invariants() IS
'every reservation invariant as a count of violations; all must be 0 (full scans)';

------------------------------------------------------------------------------
-- Privileges: everything that writes or reads user data is not for PUBLIC
------------------------------------------------------------------------------

REVOKE ALL ON ALL TABLES IN SCHEMA ticketres FROM PUBLIC;
REVOKE ALL ON FUNCTION ticketres._caller(text), ticketres._count_add(uuid, bigint),
    ticketres._check_event(text, timestamptz, timestamptz, text, text, interval, int),
    ticketres._event_must_exist(uuid), ticketres._effective(ticketres.reservations),
    ticketres._web_functions(text), ticketres._web_schema(),
    ticketres._grant_execute(name, text[], boolean),
    ticketres.check_invariants()
    FROM PUBLIC;
REVOKE ALL ON FUNCTION
    tr_create_event(text, timestamptz, timestamptz, text, text, interval, int),
    tr_update_event(uuid, text, timestamptz, timestamptz, text, text, interval, int),
    tr_delete_event(uuid),
    tr_add_seats(uuid, jsonb),
    tr_generate_seats(uuid, text, int, int, bigint),
    tr_reserve(uuid, text, uuid[], text, interval),
    tr_confirm(uuid, text),
    tr_cancel(uuid, text),
    tr_get_reservation(uuid, text),
    tr_list_reservations(text, int, int),
    tr_expire(int),
    tr_grant_web_access(name, name, name)
    FROM PUBLIC;

------------------------------------------------------------------------------
-- Operations: metrics, health, expiry with pg_cron, admin controls, audit
-- (doc/operations.md). Everything here is for operators: not for PUBLIC.
------------------------------------------------------------------------------

-- PostgREST 12 answers a function returning this domain with Content-Type text/plain
CREATE DOMAIN @extschema@."text/plain" AS text;

-- who did what to which seats or reservation, and why; rows are never changed
CREATE TABLE ticketres.audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    actor text NOT NULL,
    action text NOT NULL
        CHECK (action IN ('block_seats', 'unblock_seats', 'release_reservation', 'extend_hold')),
    event_id uuid,              -- no foreign keys: the record outlives what it names
    reservation_id uuid,
    seat_ids uuid[],
    reason text CHECK (pg_catalog.length(reason) <= 1000),
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON ticketres.audit_log (at);
COMMENT ON TABLE ticketres.audit_log IS 'every admin action: who (actor), when (at), what (action, ids, details), why (reason)';
SELECT pg_catalog.pg_extension_config_dump('ticketres.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.audit_log_id_seq', '');

CREATE FUNCTION ticketres._metrics_shared() RETURNS text
    AS 'MODULE_PATHNAME', 'tr_metrics_shared' LANGUAGE C VOLATILE;
CREATE FUNCTION ticketres._library(OUT version text, OUT preloaded boolean)
    AS 'MODULE_PATHNAME', 'tr_library_info' LANGUAGE C VOLATILE;
CREATE FUNCTION ticketres._log_event(action text, outcome text, event_id uuid,
    reservation_id uuid, user_id text, actor text, seats int, reason text) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_log_event_sql' LANGUAGE C VOLATILE;

-- the schema the tr_* functions live in
CREATE FUNCTION ticketres._extschema() RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'ticketres'
$$;

-- who is acting: the PostgREST JWT's sub if any, else the session user
CREATE FUNCTION ticketres._actor() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(nullif(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb ->> 'sub',
                    session_user::text)
$$;

-- record an admin action in the audit log and the event log
CREATE FUNCTION ticketres._audit(action text, outcome text, event_id uuid, reservation_id uuid,
    seat_ids uuid[], reason text, details jsonb, user_id text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := ticketres._actor();
BEGIN
    IF length(reason) > 1000 THEN
        RAISE EXCEPTION 'reason must be at most 1000 characters' USING ERRCODE = '22023';
    END IF;
    INSERT INTO ticketres.audit_log (actor, action, event_id, reservation_id, seat_ids, reason, details)
    VALUES (who, action, event_id, reservation_id, seat_ids, reason,
            details || jsonb_build_object('session_user', session_user::text));
    PERFORM ticketres._log_event(action, outcome, event_id, reservation_id, user_id, who,
                                 cardinality(seat_ids), reason);
END
$$;

-- The Redis keys of the seats (when ticketres.redis_url is set), all or nothing
-- in one round trip: PT409 seat busy, or PT503 under redis_on_error = deny
CREATE FUNCTION ticketres._redis_lock_seats(event_id uuid, seat_ids uuid[]) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_redis_lock_seats_sql'
    LANGUAGE C VOLATILE;

-- Try the advisory lock of every seat in ascending id order, as the C code
-- does (never wait): PT409 seat busy at the first one another call holds;
-- then the seats' Redis keys.
CREATE FUNCTION ticketres._try_lock_seats(event_id uuid, seat_ids uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s uuid;
BEGIN
    FOR s IN SELECT DISTINCT q.id FROM unnest(seat_ids) AS q(id) ORDER BY 1 LOOP
        IF NOT (SELECT pg_try_advisory_xact_lock(k.key1, k.key2) FROM ticketres.seat_lock_keys(s) AS k) THEN
            RAISE EXCEPTION 'seat busy' USING ERRCODE = 'PT409',
                DETAIL = format('Seat %s is locked by a concurrent call.', s),
                HINT = 'Retry shortly; nothing was changed.';
        END IF;
    END LOOP;
    PERFORM ticketres._redis_lock_seats(event_id, seat_ids);
END
$$;

-- 22023 unless seat_ids is a usable list; PT404 unless every seat is the event's
CREATE FUNCTION ticketres._check_event_seats(event_id uuid, seat_ids uuid[]) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    missing uuid[];
BEGIN
    PERFORM ticketres._event_must_exist(event_id);
    IF seat_ids IS NULL OR cardinality(seat_ids) = 0 THEN
        RAISE EXCEPTION 'seat_ids must not be empty' USING ERRCODE = '22023';
    ELSIF array_ndims(seat_ids) <> 1 OR array_position(seat_ids, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'seat_ids must be a list without nulls' USING ERRCODE = '22023';
    ELSIF cardinality(seat_ids) > 100000 THEN
        RAISE EXCEPTION 'seat_ids must not have more than 100000 elements' USING ERRCODE = '22023';
    ELSIF (SELECT count(DISTINCT q) FROM unnest(seat_ids) q) <> cardinality(seat_ids) THEN
        RAISE EXCEPTION 'seat_ids must not contain duplicates' USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(q.id ORDER BY q.id) INTO missing FROM unnest(seat_ids) AS q(id)
     WHERE NOT EXISTS (SELECT 1 FROM ticketres.seats s
                        WHERE s.id = q.id AND s.event_id = _check_event_seats.event_id);
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'seat not found' USING ERRCODE = 'PT404',
            DETAIL = format('Event %s has no seat %s.', event_id, array_to_string(missing, ', '));
    END IF;
END
$$;

-- block (available -> blocked) or unblock (blocked -> available) seats under
-- the seat locks; seats already in the target state are left as they are
CREATE FUNCTION ticketres._set_blocked(event_id uuid, seat_ids uuid[], reason text, block boolean)
RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    taken uuid[];
    n int;
    from_status ticketres.seat_status := CASE WHEN block THEN 'available' ELSE 'blocked' END;
    to_status ticketres.seat_status := CASE WHEN block THEN 'blocked' ELSE 'available' END;
BEGIN
    PERFORM ticketres._check_event_seats(event_id, seat_ids);
    PERFORM ticketres._try_lock_seats(event_id, seat_ids);
    SELECT array_agg(s.id ORDER BY s.id) INTO taken FROM ticketres.seats s
     WHERE s.id = ANY (seat_ids) AND s.status NOT IN ('available', 'blocked');
    IF taken IS NOT NULL AND block THEN
        RAISE EXCEPTION 'seat unavailable' USING ERRCODE = 'PT409',
            DETAIL = format('Seat %s is held or sold.', array_to_string(taken, ', ')),
            HINT = 'Release the reservation first (tr_release_reservation), or wait for the hold to end and tr_expire() to run; nothing was blocked.';
    END IF;
    UPDATE ticketres.seats s SET status = to_status, updated_at = clock_timestamp()
     WHERE s.id = ANY (seat_ids) AND s.event_id = _set_blocked.event_id AND s.status = from_status;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM ticketres._count_add(event_id, CASE WHEN block THEN -n ELSE n END);
    PERFORM ticketres._audit(CASE WHEN block THEN 'block_seats' ELSE 'unblock_seats' END,
                             CASE WHEN block THEN 'blocked' ELSE 'unblocked' END,
                             event_id, NULL, seat_ids, reason, jsonb_build_object('changed', n));
    RETURN n;
END
$$;

CREATE FUNCTION tr_block_seats(event_id uuid, seat_ids uuid[], reason text DEFAULT NULL)
RETURNS int
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ticketres._set_blocked(event_id, seat_ids, reason, true) $$;

CREATE FUNCTION tr_unblock_seats(event_id uuid, seat_ids uuid[], reason text DEFAULT NULL)
RETURNS int
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ticketres._set_blocked(event_id, seat_ids, reason, false) $$;

-- a reservation for an admin action: PT404 unless it exists, PT409 unless its
-- status is one of allowed
CREATE FUNCTION ticketres._admin_reservation(reservation_id uuid,
    allowed ticketres.reservation_status[]) RETURNS ticketres.reservations
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r ticketres.reservations;
BEGIN
    IF reservation_id IS NULL THEN
        RAISE EXCEPTION 'reservation_id must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO r FROM ticketres.reservations x WHERE x.id = _admin_reservation.reservation_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'reservation not found' USING ERRCODE = 'PT404',
            DETAIL = format('No reservation has id %s.', reservation_id);
    END IF;
    IF NOT r.status = ANY (allowed) THEN
        RAISE EXCEPTION 'reservation not pending' USING ERRCODE = 'PT409',
            DETAIL = format('Reservation %s is %s.', reservation_id, r.status),
            HINT = format('Only a reservation that is %s can be changed this way.',
                          array_to_string(allowed, ' or '));
    END IF;
    RETURN r;
END
$$;

CREATE FUNCTION tr_release_reservation(reservation_id uuid, reason text)
RETURNS ticketres.reservations
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r ticketres.reservations;
    res ticketres.reservations;
    n int;
BEGIN
    IF reason IS NULL OR length(btrim(reason)) = 0 THEN
        RAISE EXCEPTION 'reason must not be empty' USING ERRCODE = '22023';
    END IF;
    r := ticketres._admin_reservation(reservation_id, '{pending,confirmed}');
    PERFORM ticketres._try_lock_seats(r.event_id, r.seat_ids);
    UPDATE ticketres.reservations x SET status = 'cancelled', cancelled_at = clock_timestamp()
     WHERE x.id = r.id AND x.status = r.status RETURNING x.* INTO res;
    IF NOT FOUND THEN   -- moved between our read and our locks: report its state now
        r := ticketres._admin_reservation(reservation_id, ARRAY[r.status]);
        RAISE EXCEPTION 'seat busy' USING ERRCODE = 'PT409', HINT = 'Retry shortly.';
    END IF;
    UPDATE ticketres.seats s SET status = 'available', reservation_id = NULL,
           updated_at = clock_timestamp()
     WHERE s.id = ANY (r.seat_ids) AND s.reservation_id = r.id
       AND s.status = CASE r.status WHEN 'pending' THEN 'reserved' ELSE 'confirmed' END::ticketres.seat_status;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> cardinality(r.seat_ids) THEN
        RAISE EXCEPTION 'reservation % holds % seats but % are %', r.id, cardinality(r.seat_ids), n,
            r.status USING ERRCODE = 'XX001',
            HINT = 'Nothing was changed. Run ticketres.check_invariants().';
    END IF;
    PERFORM ticketres._count_add(r.event_id, n);
    PERFORM ticketres._audit('release_reservation', 'released', r.event_id, r.id, r.seat_ids, reason,
                             jsonb_build_object('previous_status', r.status, 'user_id', r.user_id,
                                                'total_amount', r.total_amount),
                             r.user_id);
    RETURN res;
END
$$;

CREATE FUNCTION tr_extend_hold(reservation_id uuid, extend_by interval, reason text DEFAULT NULL)
RETURNS ticketres.reservations
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_hold constant interval := '2 hours';    -- from created_at, per reservation
    r ticketres.reservations;
    res ticketres.reservations;
    new_expiry timestamptz;
BEGIN
    IF extend_by IS NULL OR extend_by <= interval '0'
       OR extract(month FROM extend_by) <> 0 OR extract(year FROM extend_by) <> 0 THEN
        RAISE EXCEPTION 'extend_by must be a positive interval of at most 2 hours' USING ERRCODE = '22023';
    END IF;
    r := ticketres._admin_reservation(reservation_id, '{pending}');
    IF r.expires_at <= clock_timestamp() THEN
        RAISE EXCEPTION 'hold expired' USING ERRCODE = 'PT410',
            DETAIL = format('The hold of reservation %s ended at %s.', r.id, r.expires_at),
            HINT = 'A hold that has ended cannot be extended; reserve the seats again.';
    END IF;
    new_expiry := r.expires_at + extend_by;
    IF new_expiry > r.created_at + max_hold THEN
        RAISE EXCEPTION 'hold would exceed 2 hours' USING ERRCODE = '22023',
            DETAIL = format('Reservation %s was made at %s; its hold may last until %s at most.',
                            r.id, r.created_at, r.created_at + max_hold);
    END IF;
    PERFORM ticketres._try_lock_seats(r.event_id, r.seat_ids);
    UPDATE ticketres.reservations x SET expires_at = new_expiry
     WHERE x.id = r.id AND x.status = 'pending' AND x.expires_at = r.expires_at
       AND x.expires_at > clock_timestamp()
    RETURNING x.* INTO res;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'seat busy' USING ERRCODE = 'PT409',
            DETAIL = format('Reservation %s changed while this call ran.', r.id),
            HINT = 'Retry shortly.';
    END IF;
    PERFORM ticketres._audit('extend_hold', 'extended', r.event_id, r.id, r.seat_ids, reason,
                             jsonb_build_object('old_expires_at', r.expires_at,
                                                'new_expires_at', new_expiry,
                                                'user_id', r.user_id),
                             r.user_id);
    RETURN res;
END
$$;

-- The pg_cron job: tr_expire() while the extension exists; once it has been
-- dropped, the job removes itself instead of failing every minute (and a run
-- that races DROP EXTENSION or a second run of the removed job does not fail).
CREATE FUNCTION ticketres._expiry_job_command() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('DO $ticketres$ BEGIN'
                  ' IF pg_catalog.to_regprocedure(%L) IS NOT NULL THEN PERFORM %I.tr_expire();'
                  ' ELSIF pg_catalog.to_regnamespace(''cron'') IS NOT NULL THEN'
                  '  PERFORM cron.unschedule(j.jobid) FROM cron.job j WHERE j.jobname = %L;'
                  ' END IF;'
                  ' EXCEPTION WHEN undefined_function OR undefined_table THEN NULL;'
                  ' END $ticketres$',
                  format('%I.tr_expire(integer)', ticketres._extschema()), ticketres._extschema(),
                  'ticketres-expire')
$$;

-- 55000 unless pg_cron can schedule jobs from this database
CREATE FUNCTION ticketres._cron_must_exist(schedule text DEFAULT '* * * * *') RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cron_db text := current_setting('cron.database_name', true);
BEGIN
    IF to_regprocedure('cron.schedule(text,text,text)') IS NOT NULL THEN
        RETURN;
    END IF;
    IF cron_db IS NOT NULL AND cron_db <> current_database() THEN
        RAISE EXCEPTION 'pg_cron runs in another database' USING ERRCODE = '55000',
            DETAIL = format('pg_cron is loaded with cron.database_name = %L; this database is %L.',
                            cron_db, current_database()),
            HINT = format('Connect to %s and run: SELECT cron.schedule_in_database(%L, %L, %L, %L);',
                          cron_db, 'ticketres-expire', schedule, ticketres._expiry_job_command(),
                          current_database());
    END IF;
    RAISE EXCEPTION 'pg_cron is not available' USING ERRCODE = '55000',
        DETAIL = 'The function cron.schedule does not exist in this database.',
        HINT = 'Install postgresql-15-cron, set shared_preload_libraries = ''pg_cron'' and cron.database_name to this database, restart, then CREATE EXTENSION pg_cron.';
END
$$;

CREATE FUNCTION tr_schedule_expiry(schedule text DEFAULT '* * * * *') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    IF schedule IS NULL OR length(btrim(schedule)) = 0 THEN
        RAISE EXCEPTION 'schedule must not be empty' USING ERRCODE = '22023';
    END IF;
    PERFORM ticketres._cron_must_exist(schedule);
    -- pg_cron upserts by (job name, user): calling again updates the one job
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job
        USING 'ticketres-expire', schedule, ticketres._expiry_job_command();
    RETURN job;
END
$$;

CREATE FUNCTION tr_unschedule_expiry() RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_job boolean;
BEGIN
    PERFORM ticketres._cron_must_exist();
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM cron.job WHERE jobname = $1 AND username = current_user)'
        INTO found_job USING 'ticketres-expire';
    IF found_job THEN
        EXECUTE 'SELECT cron.unschedule($1)' USING 'ticketres-expire';
    END IF;
    RETURN found_job;
END
$$;

-- the expiry job and its last run, or null fields without pg_cron here
CREATE FUNCTION ticketres._expiry_job_health() RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job jsonb;
    last_run jsonb;
BEGIN
    IF to_regclass('cron.job') IS NULL THEN
        RETURN jsonb_build_object('pg_cron', false, 'scheduled', NULL, 'last_run', NULL);
    END IF;
    EXECUTE 'SELECT to_jsonb(j) FROM (SELECT jobid, schedule, active, database, username'
            ' FROM cron.job WHERE jobname = $1 ORDER BY jobid LIMIT 1) j'
        INTO job USING 'ticketres-expire';
    IF job IS NOT NULL AND to_regclass('cron.job_run_details') IS NOT NULL THEN
        EXECUTE 'SELECT to_jsonb(d) FROM (SELECT status, start_time, end_time, return_message'
                ' FROM cron.job_run_details WHERE jobid = $1 ORDER BY runid DESC LIMIT 1) d'
            INTO last_run USING (job ->> 'jobid')::bigint;
    END IF;
    RETURN jsonb_build_object('pg_cron', true, 'scheduled', job IS NOT NULL, 'job', job,
                              'last_run', last_run);
END
$$;

-- Whether Redis answers PING at ticketres.redis_url (NULL when no URL is set)
CREATE FUNCTION ticketres.redis_ping() RETURNS boolean
    AS 'MODULE_PATHNAME', 'tr_redis_ping'
    LANGUAGE C VOLATILE;

-- The Redis key ticketres takes for a seat: <redis_key_prefix>:<event_id>:<seat_id>,
-- so that other services can lock the same seats
CREATE FUNCTION ticketres.redis_seat_key(event_id uuid, seat_id uuid) RETURNS text
    AS 'MODULE_PATHNAME', 'tr_redis_seat_key_sql'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ticketres.redis_seat_key(uuid, uuid) IS
'the Redis key ticketres locks a seat with when ticketres.redis_url is set: <redis_key_prefix>:<event_id>:<seat_id>';
COMMENT ON FUNCTION ticketres.redis_ping() IS
'whether Redis answers PING at ticketres.redis_url; NULL when no URL is set';

-- Redis as tr_health reports it; reachable is null when no URL is set
CREATE FUNCTION ticketres._redis_health() RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    configured boolean := coalesce(current_setting('ticketres.redis_url', true), '') <> '';
    reachable boolean;
BEGIN
    IF configured THEN
        BEGIN
            reachable := ticketres.redis_ping();
        EXCEPTION WHEN OTHERS THEN
            reachable := false;
        END;
    END IF;
    RETURN jsonb_build_object('configured', configured, 'reachable', reachable);
END
$$;

CREATE FUNCTION tr_health() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lib record := ticketres._library();
    redis jsonb := ticketres._redis_health();
    expiry jsonb := ticketres._expiry_job_health();
    overdue bigint;
BEGIN
    SELECT count(*) INTO overdue FROM ticketres.reservations r
     WHERE r.status = 'pending' AND r.expires_at <= clock_timestamp();
    RETURN jsonb_build_object(
        'status', CASE WHEN redis ->> 'reachable' = 'false' OR expiry ->> 'scheduled' = 'false'
                            OR expiry #>> '{last_run,status}' = 'failed'
                       THEN 'degraded' ELSE 'ok' END,
        'extension_version', (SELECT e.extversion FROM pg_extension e WHERE e.extname = 'ticketres'),
        'library_version', lib.version,
        'preloaded', lib.preloaded,
        'redis', redis,
        'expiry', expiry,
        'overdue_holds', overdue,
        'checked_at', clock_timestamp());
END
$$;

-- gauges from the tables, in exposition format; one pass over the seats of
-- the events that have not ended (the cost grows with their seat count)
CREATE FUNCTION ticketres._metrics_gauges() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH live AS (
        SELECT e.id FROM ticketres.events e WHERE e.ends_at > clock_timestamp()
    ), seats AS (
        SELECT s.event_id, s.status, count(*) AS n
          FROM ticketres.seats s JOIN live ON live.id = s.event_id GROUP BY 1, 2
    ), overdue AS (
        SELECT r.event_id, count(*) AS holds, sum(cardinality(r.seat_ids)) AS seats
          FROM ticketres.reservations r
         WHERE r.status = 'pending' AND r.expires_at <= clock_timestamp() GROUP BY 1
    )
    SELECT E'# HELP ticketres_reservations Reservations by status (pending includes overdue holds).\n'
        || E'# TYPE ticketres_reservations gauge\n'
        || (SELECT string_agg(format('ticketres_reservations{status="%s"} %s', st, coalesce(c.n, 0)),
                              E'\n' ORDER BY st) || E'\n'
              FROM unnest(enum_range(NULL::ticketres.reservation_status)) AS st
              LEFT JOIN (SELECT r.status, count(*) AS n FROM ticketres.reservations r GROUP BY 1) c
                ON c.status = st)
        || E'# HELP ticketres_overdue_holds Pending reservations past expires_at that tr_expire has not swept yet.\n'
        || E'# TYPE ticketres_overdue_holds gauge\n'
        || format(E'ticketres_overdue_holds %s\n', (SELECT coalesce(sum(o.holds), 0) FROM overdue o))
        || E'# HELP ticketres_seats Seats by status, per event that has not ended.\n'
        || E'# TYPE ticketres_seats gauge\n'
        || coalesce((SELECT string_agg(format('ticketres_seats{event="%s",status="%s"} %s',
                                              live.id, st, coalesce(c.n, 0)),
                                       E'\n' ORDER BY live.id, st) || E'\n'
                       FROM live CROSS JOIN unnest(enum_range(NULL::ticketres.seat_status)) AS st
                       LEFT JOIN seats c ON c.event_id = live.id AND c.status = st), '')
        || E'# HELP ticketres_seats_available What tr_available_count reports, per event that has not ended.\n'
        || E'# TYPE ticketres_seats_available gauge\n'
        || coalesce((SELECT string_agg(format('ticketres_seats_available{event="%s"} %s',
                                              live.id, a.n + coalesce(o.seats, 0)),
                                       E'\n' ORDER BY live.id) || E'\n'
                       FROM live
                       JOIN (SELECT c.event_id, sum(c.available) AS n FROM ticketres.seat_counts c
                              GROUP BY 1) a ON a.event_id = live.id
                       LEFT JOIN overdue o ON o.event_id = live.id), '')
$$;

CREATE FUNCTION tr_metrics() RETURNS @extschema@."text/plain"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ticketres._metrics_shared() || ticketres._metrics_gauges() $$;

COMMENT ON FUNCTION tr_block_seats(uuid, uuid[], text) IS
$$Block seats (admin): available seats become blocked, never sold and not counted as available.
Seats already blocked are left as they are; returns how many seats changed. Recorded in ticketres.audit_log with the reason. Errors: 22023 bad argument, PT404 event or seat not found, PT409 seat unavailable (held or sold) / seat busy.$$;
COMMENT ON FUNCTION tr_unblock_seats(uuid, uuid[], text) IS
$$Unblock seats (admin): blocked seats become available again.
Seats that are not blocked are left as they are; returns how many seats changed. Recorded in ticketres.audit_log. Errors: 22023 bad argument, PT404 event or seat not found, PT409 seat busy.$$;
COMMENT ON FUNCTION tr_release_reservation(uuid, text) IS
$$Release a reservation (admin), e.g. for a refund: pending or confirmed becomes cancelled and its seats available.
reason is required and recorded in ticketres.audit_log. Acts on any user's reservation. Errors: 22023 bad argument, PT404 reservation not found, PT409 reservation not pending (already cancelled or expired) / seat busy.$$;
COMMENT ON FUNCTION tr_extend_hold(uuid, interval, text) IS
$$Extend a pending hold (admin), e.g. while a payment is in progress.
The hold may last at most 2 hours from the reservation's created_at in total. Recorded in ticketres.audit_log. Errors: 22023 bad extend_by or beyond 2 hours, PT404 reservation not found, PT409 reservation not pending / seat busy, PT410 hold expired.$$;
COMMENT ON FUNCTION tr_schedule_expiry(text) IS
$$Schedule tr_expire() with pg_cron as the job 'ticketres-expire'.
schedule is a cron expression (default every minute). Calling it again updates the one job; returns its job id. Needs pg_cron in this database (cron.database_name); from another database use cron.schedule_in_database as the error's hint shows. Errors: 22023 bad schedule, 55000 pg_cron not available or runs in another database.$$;
COMMENT ON FUNCTION tr_unschedule_expiry() IS
$$Remove the pg_cron job 'ticketres-expire'.
Returns true when a job was removed, false when there was none. Errors: 55000 pg_cron not available or runs in another database.$$;
COMMENT ON FUNCTION tr_health() IS
$$Health of ticketres as JSON.
Fields: status (ok or degraded), extension_version, library_version, preloaded, redis {configured, reachable}, expiry {pg_cron, scheduled, job, last_run}, overdue_holds, checked_at.$$;
COMMENT ON FUNCTION tr_metrics() IS
$$Metrics in Prometheus text exposition format.
Counters (reservations by outcome, confirmations, cancellations, expirations, Redis locks, latency histograms) need ticketres in shared_preload_libraries; ticketres_preloaded says whether they are there. Gauges (reservations by status, overdue holds, seats by status per event) come from the tables.$$;

REVOKE ALL ON TABLE ticketres.audit_log FROM PUBLIC;
REVOKE ALL ON SEQUENCE ticketres.audit_log_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION ticketres._metrics_shared(), ticketres._library(),
    ticketres._log_event(text, text, uuid, uuid, text, text, int, text),
    ticketres._extschema(), ticketres._actor(),
    ticketres._audit(text, text, uuid, uuid, uuid[], text, jsonb, text),
    ticketres._try_lock_seats(uuid, uuid[]), ticketres._redis_lock_seats(uuid, uuid[]),
    ticketres._check_event_seats(uuid, uuid[]),
    ticketres._set_blocked(uuid, uuid[], text, boolean),
    ticketres._admin_reservation(uuid, ticketres.reservation_status[]),
    ticketres._expiry_job_command(), ticketres._cron_must_exist(text),
    ticketres._expiry_job_health(), ticketres._redis_health(), ticketres._metrics_gauges(),
    ticketres.redis_ping()
    FROM PUBLIC;
REVOKE ALL ON FUNCTION
    tr_block_seats(uuid, uuid[], text),
    tr_unblock_seats(uuid, uuid[], text),
    tr_release_reservation(uuid, text),
    tr_extend_hold(uuid, interval, text),
    tr_schedule_expiry(text),
    tr_unschedule_expiry(),
    tr_health(),
    tr_metrics()
    FROM PUBLIC;

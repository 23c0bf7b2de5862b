------------------------------------------------------------------------------
-- Internal helpers (not for direct use): identity, checks, locks, audit.
------------------------------------------------------------------------------

-- the column domains (00_schema.sql; a fresh install and an update both get
-- these comments from here)
COMMENT ON DOMAIN ticketres.seat_label IS 'seats.label: text of 1 to 100 characters';
COMMENT ON DOMAIN ticketres.place_name IS 'seats.section, seats.row_label: text of at most 100 characters';
COMMENT ON DOMAIN ticketres.price IS 'seats.price: minor currency units, 0 to 1,000,000,000,000';
COMMENT ON DOMAIN ticketres.user_ref IS 'reservations.user_id: text of 1 to 200 characters';
COMMENT ON DOMAIN ticketres.seat_id_list IS 'reservations.seat_ids: a one-dimensional uuid[] of at most 1,000 seats';
COMMENT ON DOMAIN ticketres.idempotency_key IS 'reservations.idempotency_key: text of 1 to 200 bytes';
COMMENT ON DOMAIN ticketres.amount IS 'reservations.total_amount: minor currency units, not negative';
COMMENT ON DOMAIN ticketres.ticket_quantity IS 'reservations.quantity: 1 to 1,000 seats or tickets';
COMMENT ON DOMAIN ticketres.stripe_no IS 'seat_counts.stripe: 0-63 made with the event, overflow stripes from 64';

-- Raise the catalogue's error for a message (src/errors.c pairs each message
-- with its SQLSTATE): the SQL functions name a reason, never a SQLSTATE
CREATE OR REPLACE FUNCTION ticketres._raise(message text, detail text DEFAULT NULL,
    hint text DEFAULT NULL) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_raise_sql' LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION ticketres._caller(user_id text) RETURNS text
    AS 'MODULE_PATHNAME', 'tr_caller_sql' LANGUAGE C STABLE;
CREATE OR REPLACE FUNCTION ticketres._count_add(event_id uuid, delta bigint) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_count_add_sql' LANGUAGE C VOLATILE;

-- 22023 unless the event fields are acceptable
CREATE OR REPLACE FUNCTION ticketres._check_event(name text, starts_at timestamptz, ends_at timestamptz,
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
CREATE OR REPLACE FUNCTION ticketres._event_must_exist(event_id uuid) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF event_id IS NULL THEN
        RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM ticketres.events e WHERE e.id = _event_must_exist.event_id) THEN
        PERFORM ticketres._raise('event not found',
            format('No event has id %s.', event_id));
    END IF;
END
$$;

-- PT404 unless the event exists; then its row is locked FOR KEY SHARE until
-- the transaction ends, so that tr_delete_event (FOR UPDATE of the row, then
-- the seats) cannot run between this check and the seats being added: what
-- the seats' foreign key check did once per seat, done once per call
CREATE OR REPLACE FUNCTION ticketres._event_for_seats(event_id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM 1 FROM ticketres.events e WHERE e.id = _event_for_seats.event_id FOR KEY SHARE;
    -- NULL, or no row (never was, or deleted before this statement): the error
    PERFORM ticketres._event_must_exist(event_id);
END
$$;

-- a reservation as its owner sees it: a pending hold past expires_at is
-- expired (fields set by name: a column added to the table changes nothing)
CREATE OR REPLACE FUNCTION ticketres._effective(r ticketres.reservations) RETURNS ticketres.reservations
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF r.status = 'pending' AND r.expires_at <= clock_timestamp() THEN
        r.status := 'expired';
    END IF;
    RETURN r;
END
$$;


CREATE OR REPLACE FUNCTION ticketres._metrics_shared() RETURNS text
    AS 'MODULE_PATHNAME', 'tr_metrics_shared' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION ticketres._library(OUT version text, OUT preloaded boolean)
    AS 'MODULE_PATHNAME', 'tr_library_info' LANGUAGE C VOLATILE;
CREATE OR REPLACE FUNCTION ticketres._log_event(action text, outcome text, event_id uuid,
    reservation_id uuid, user_id text, actor text, seats int, reason text) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_log_event_sql' LANGUAGE C VOLATILE;

-- the schema the tr_* functions live in
CREATE OR REPLACE FUNCTION ticketres._extschema() RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'ticketres'
$$;

-- who is acting: the PostgREST JWT's sub if any, else the session user
CREATE OR REPLACE FUNCTION ticketres._actor() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(nullif(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb ->> 'sub',
                    session_user::text)
$$;

-- record an admin action in the audit log and the event log
CREATE OR REPLACE FUNCTION ticketres._audit(action text, outcome text, event_id uuid, reservation_id uuid,
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
CREATE OR REPLACE FUNCTION ticketres._redis_lock_seats(event_id uuid, seat_ids uuid[]) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_redis_lock_seats_sql'
    LANGUAGE C VOLATILE;

-- The seat locks of the C calls (advisory in ascending id order, never
-- waiting, then the Redis keys): PT409 seat busy at the first one another
-- call holds.  At most 1000 seats, like every call (the lock budget).
CREATE OR REPLACE FUNCTION ticketres._try_lock_seats(event_id uuid, seat_ids uuid[]) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_try_lock_seats_sql'
    LANGUAGE C VOLATILE;

-- The event's lock, exclusively (tr_delete_event): waits for in-flight
-- reserves, and reserves are refused (seat busy) until the transaction ends
CREATE OR REPLACE FUNCTION ticketres._lock_event(event_id uuid) RETURNS void
    AS 'MODULE_PATHNAME', 'tr_lock_event_sql'
    LANGUAGE C VOLATILE;

-- 22023 unless seat_ids is a usable list; PT404 unless every seat is the event's
CREATE OR REPLACE FUNCTION ticketres._check_event_seats(event_id uuid, seat_ids uuid[]) RETURNS void
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
    ELSIF cardinality(seat_ids) > 1000 THEN
        RAISE EXCEPTION 'seat_ids must not have more than 1000 elements' USING ERRCODE = '22023';
    ELSIF (SELECT count(DISTINCT q) FROM unnest(seat_ids) q) <> cardinality(seat_ids) THEN
        RAISE EXCEPTION 'seat_ids must not contain duplicates' USING ERRCODE = '22023';
    END IF;
    SELECT array_agg(q.id ORDER BY q.id) INTO missing FROM unnest(seat_ids) AS q(id)
     WHERE NOT EXISTS (SELECT 1 FROM ticketres.seats s
                        WHERE s.id = q.id AND s.event_id = _check_event_seats.event_id);
    IF missing IS NOT NULL THEN
        PERFORM ticketres._raise('seat not found',
            format('Event %s has no seat %s.', event_id, array_to_string(missing, ', ')));
    END IF;
END
$$;

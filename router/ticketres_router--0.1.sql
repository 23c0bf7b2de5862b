-- ticketres_router 0.1 — the ticketres API on a router database, in front of
-- N shard databases that each run ticketres (and router/ticketres_shard.sql).
--
-- * Types: schema ticketres holds the same enums and row types as a shard
--   (events, seats, reservations, ga_areas, ga_area_availability), so every tr_* function returns the same
--   shape as on a shard; the router stores no events.
-- * Placement: an event's shard is chosen at tr_create_event from the last 4
--   bytes of the id the router generates (their value mod the number of
--   shards at that moment) and recorded in ticketres_router.placement, keyed
--   by those 4 bytes. A reservation id ends with its event's last 4 bytes, so
--   calls by reservation id find their shard the same way, with no broadcast.
--   Adding a shard changes where new events go, never where old ones are.
-- * Transport: PL/Proxy. The cluster is the SQL/MED server ticketres_shards
--   with 2^k partitions (PL/Proxy wants a power of two): partition i is
--   shard i mod N, so N need not be a power of two; RUN ON ALL runs once per
--   distinct shard (equal connect strings share one connection).
-- * Errors: PL/Proxy prefixes a shard's message ("fn(n): [db] REMOTE ERROR:")
--   and its detail and hint ("Remote detail: "); every tr_* function here
--   catches that and raises the shard's SQLSTATE, message, detail and hint.
-- * Identity: the JWT's "sub" (request.jwt.claims, set by PostgREST on the
--   router) is checked here exactly as a shard checks it, then passed to the
--   shard as user_id.

\echo Use "CREATE EXTENSION ticketres_router" to load this file. \quit

CREATE SCHEMA ticketres;
COMMENT ON SCHEMA ticketres IS 'ticketres row types (the data lives on the shards)';
CREATE TYPE ticketres.seat_status AS ENUM ('available', 'reserved', 'confirmed', 'blocked');
CREATE TYPE ticketres.reservation_status AS ENUM ('pending', 'confirmed', 'cancelled', 'expired');
CREATE TYPE ticketres.events AS (
    id uuid, name text, venue text, description text, starts_at timestamptz,
    ends_at timestamptz, hold_duration interval, max_seats_per_reservation int,
    created_at timestamptz, updated_at timestamptz, best_available boolean);
CREATE TYPE ticketres.seats AS (
    id uuid, event_id uuid, label text COLLATE "C", section text, row_label text,
    seat_number int, price bigint, status ticketres.seat_status, reservation_id uuid,
    updated_at timestamptz, rank int, best_available boolean, best_free boolean);
CREATE TYPE ticketres.reservations AS (
    id uuid, event_id uuid, user_id text, seat_ids uuid[],
    status ticketres.reservation_status, idempotency_key text, total_amount bigint,
    expires_at timestamptz, created_at timestamptz, confirmed_at timestamptz,
    cancelled_at timestamptz, ga_area_id uuid, quantity int);
CREATE TYPE ticketres.ga_areas AS (
    id uuid, event_id uuid, name text, capacity int, price bigint, created_at timestamptz);
CREATE TYPE ticketres.ga_area_availability AS (
    id uuid, event_id uuid, name text, capacity int, price bigint, created_at timestamptz,
    available bigint);
CREATE DOMAIN @extschema@."text/plain" AS text;

CREATE SCHEMA ticketres_router;
COMMENT ON SCHEMA ticketres_router IS 'ticketres router: shards, placement, PL/Proxy functions';

------------------------------------------------------------------------------
-- Shards and placement
------------------------------------------------------------------------------

CREATE TABLE ticketres_router.shards (
    shard int PRIMARY KEY CHECK (shard >= 0),
    conninfo text NOT NULL,
    accepts_new_events boolean NOT NULL DEFAULT true,
    added_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE ticketres_router.shards IS
'shard k and its libpq connect string (multi-host, target_session_attrs=read-write under HA)';

-- one row per event: its id's last 4 bytes (unique across the cluster) and
-- the shard it was created on. Rebuildable from the shards (rebuild_placement).
CREATE TABLE ticketres_router.placement (
    tail bigint PRIMARY KEY CHECK (tail BETWEEN 0 AND 4294967295),
    shard int NOT NULL REFERENCES ticketres_router.shards (shard),
    event_id uuid NOT NULL UNIQUE
);
COMMENT ON TABLE ticketres_router.placement IS
'where each event lives: keyed by the last 4 bytes of its id, which its reservation ids share';
SELECT pg_catalog.pg_extension_config_dump('ticketres_router.shards', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres_router.placement', '');

-- the last 4 bytes of a uuid as an unsigned number
CREATE FUNCTION ticketres_router.tail(id uuid) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ('x' || substr(id::text, 29, 8))::bit(32)::bigint $$;

-- the shard of an event id or a reservation id; an unknown id goes to shard
-- 0, which answers "not found" exactly as any shard would
CREATE FUNCTION ticketres_router.shard_of(id uuid) RETURNS int
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT p.shard FROM ticketres_router.placement p
                      WHERE p.tail = ticketres_router.tail(id)), 0)
$$;

-- (Re)build the PL/Proxy cluster from ticketres_router.shards: 2^k
-- partitions, partition i -> shard i mod N. Placement does not depend on it.
CREATE FUNCTION ticketres_router.apply_cluster() RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
    parts int := 1;
    opts text;
BEGIN
    SELECT count(*) INTO n FROM ticketres_router.shards;
    IF n = 0 THEN
        RAISE EXCEPTION 'no shards' USING ERRCODE = '22023',
            HINT = 'Add them with ticketres_router.add_shard(conninfo).';
    END IF;
    IF (SELECT max(shard) FROM ticketres_router.shards) <> n - 1 THEN
        RAISE EXCEPTION 'shards must be numbered 0 to %', n - 1 USING ERRCODE = '22023';
    END IF;
    WHILE parts < n LOOP
        parts := parts * 2;
    END LOOP;
    SELECT string_agg(format('p%s %L', i, s.conninfo), ', ' ORDER BY i) INTO opts
      FROM generate_series(0, parts - 1) AS i
      JOIN ticketres_router.shards s ON s.shard = i % n;
    DROP SERVER IF EXISTS ticketres_shards CASCADE;
    EXECUTE format('CREATE SERVER ticketres_shards FOREIGN DATA WRAPPER plproxy OPTIONS (%s)', opts);
    CREATE USER MAPPING FOR PUBLIC SERVER ticketres_shards;
    RETURN parts;
END
$$;

-- add shard N (the next number) and rebuild the cluster; returns N
CREATE FUNCTION ticketres_router.add_shard(conninfo text) RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k int;
BEGIN
    INSERT INTO ticketres_router.shards (shard, conninfo)
    SELECT coalesce(max(s.shard) + 1, 0), add_shard.conninfo FROM ticketres_router.shards s
    RETURNING shard INTO k;
    PERFORM ticketres_router.apply_cluster();
    RETURN k;
END
$$;

-- the shard a new event with this tail goes to: tail mod (number of shards
-- that accept new events), counted in shard order
CREATE FUNCTION ticketres_router.new_event_shard(tail bigint) RETURNS int
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.shard FROM ticketres_router.shards s WHERE s.accepts_new_events
     ORDER BY s.shard
    OFFSET tail % (SELECT count(*) FROM ticketres_router.shards t WHERE t.accepts_new_events)
     LIMIT 1
$$;

------------------------------------------------------------------------------
-- Errors and identity
------------------------------------------------------------------------------

-- raise a shard's error as the shard raised it: PL/Proxy's prefixes removed.
-- When the shard could not be reached or the connection broke (PL/Proxy's
-- own XX000 "PQconnectPoll: ..." / "PQconsumeInput: ..."), 08006 "shard
-- unavailable": the call may or may not have committed there.
CREATE FUNCTION ticketres_router.reraise(state text, msg text, detail text, hint text)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF state = 'XX000' AND msg ~ '^PL/Proxy function [^ ]+: \[[^]]*\] PQ' THEN
        RAISE EXCEPTION 'shard unavailable' USING ERRCODE = '08006', DETAIL = msg,
            HINT = 'Retry; after a lost connection a write may have been applied: read it back (tr_get_reservation) or repeat it with the same idempotency_key.';
    END IF;
    msg := regexp_replace(msg, '^[^\n]*?\(\d+\): \[[^]]*\] REMOTE [A-Z]+: ', '');
    detail := nullif(regexp_replace(coalesce(detail, ''), '^Remote detail: ', ''), '');
    hint := nullif(regexp_replace(coalesce(hint, ''), '^Remote hint: ', ''), '');
    IF detail IS NULL AND hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg;
    ELSIF hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg, DETAIL = detail;
    ELSIF detail IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg, HINT = hint;
    END IF;
    RAISE EXCEPTION USING ERRCODE = state, MESSAGE = msg, DETAIL = detail, HINT = hint;
END
$$;

-- the user_id to pass to a shard: the JWT's "sub" when the call carries JWT
-- claims (PostgREST), checked as the shards check it; otherwise user_id as
-- given (the shard checks it). A user_id the shard would reject as an
-- argument is passed on so that the shard's error comes first, as it does.
CREATE FUNCTION ticketres_router.caller(user_id text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    raw text := current_setting('request.jwt.claims', true);
    claims jsonb;
    sub text;
BEGIN
    IF raw IS NULL OR raw = '' THEN
        RETURN user_id;
    END IF;
    claims := raw::jsonb;
    IF jsonb_typeof(claims) <> 'object' OR claims = '{}' THEN
        RETURN user_id;
    END IF;
    IF user_id IS NOT NULL AND (user_id = '' OR octet_length(user_id) > 200) THEN
        RETURN user_id;
    END IF;
    IF jsonb_typeof(claims -> 'sub') = 'string' THEN
        sub := nullif(claims ->> 'sub', '');
    END IF;
    IF sub IS NULL THEN
        RAISE EXCEPTION 'user mismatch' USING ERRCODE = 'PT403',
            DETAIL = 'The JWT has no "sub" claim, so it names no user.',
            HINT = 'Issue tokens whose "sub" is the user id.';
    END IF;
    IF user_id IS NOT NULL AND user_id <> sub THEN
        RAISE EXCEPTION 'user mismatch' USING ERRCODE = 'PT403',
            DETAIL = format('user_id is "%s" but the JWT is for "%s".', user_id, sub),
            HINT = 'Omit user_id to act as the JWT''s user.';
    END IF;
    RETURN sub;
END
$$;

------------------------------------------------------------------------------
-- PL/Proxy functions: one shard (by id), or all of them
------------------------------------------------------------------------------

CREATE FUNCTION ticketres_router.px_create_event(shard int, id uuid, name text,
    starts_at timestamptz, ends_at timestamptz, venue text, description text,
    hold_duration interval, max_seats_per_reservation int)
RETURNS ticketres.events LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON shard;
    SELECT * FROM ticketres_shard.create_event(id, name, starts_at, ends_at, venue,
        description, hold_duration, max_seats_per_reservation);
$$;
CREATE FUNCTION ticketres_router.px_update_event(event_id uuid, name text, starts_at timestamptz,
    ends_at timestamptz, venue text, description text, hold_duration interval,
    max_seats_per_reservation int)
RETURNS ticketres.events LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.update_event(event_id, name, starts_at, ends_at, venue,
        description, hold_duration, max_seats_per_reservation);
$$;
CREATE FUNCTION ticketres_router.px_set_best_available(event_id uuid, enabled boolean)
RETURNS ticketres.events LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.set_best_available(event_id, enabled);
$$;
CREATE FUNCTION ticketres_router.px_delete_event(event_id uuid) RETURNS void LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT ticketres_shard.delete_event(event_id);
$$;
CREATE FUNCTION ticketres_router.px_get_event(event_id uuid) RETURNS ticketres.events
LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.get_event(event_id);
$$;
CREATE FUNCTION ticketres_router.px_list_events(lim int, off int) RETURNS SETOF ticketres.events
LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ALL;
    SELECT * FROM ticketres_shard.list_events(lim, off);
$$;
CREATE FUNCTION ticketres_router.px_add_seats(event_id uuid, seats jsonb) RETURNS int
LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT ticketres_shard.add_seats(event_id, seats);
$$;
CREATE FUNCTION ticketres_router.px_generate_seats(event_id uuid, section text, rows int,
    seats_per_row int, price bigint) RETURNS int LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT ticketres_shard.generate_seats(event_id, section, rows, seats_per_row, price);
$$;
CREATE FUNCTION ticketres_router.px_list_seats(event_id uuid, status text)
RETURNS SETOF ticketres.seats LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.list_seats(event_id, status);
$$;
CREATE FUNCTION ticketres_router.px_available_count(event_id uuid) RETURNS bigint
LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT ticketres_shard.available_count(event_id);
$$;
CREATE FUNCTION ticketres_router.px_reserve(event_id uuid, user_id text, seat_ids uuid[],
    idempotency_key text, hold interval) RETURNS ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.reserve(event_id, user_id, seat_ids, idempotency_key, hold);
$$;
CREATE FUNCTION ticketres_router.px_confirm(reservation_id uuid, user_id text)
RETURNS ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(reservation_id);
    SELECT * FROM ticketres_shard.confirm(reservation_id, user_id);
$$;
CREATE FUNCTION ticketres_router.px_cancel(reservation_id uuid, user_id text)
RETURNS ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(reservation_id);
    SELECT * FROM ticketres_shard.cancel(reservation_id, user_id);
$$;
CREATE FUNCTION ticketres_router.px_get_reservation(reservation_id uuid, user_id text)
RETURNS ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(reservation_id);
    SELECT * FROM ticketres_shard.get_reservation(reservation_id, user_id);
$$;
CREATE FUNCTION ticketres_router.px_list_reservations(user_id text, lim int, off int)
RETURNS SETOF ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ALL;
    SELECT * FROM ticketres_shard.list_reservations(user_id, lim, off);
$$;
CREATE FUNCTION ticketres_router.px_release_reservation(reservation_id uuid, reason text)
RETURNS ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(reservation_id);
    SELECT * FROM ticketres_shard.release_reservation(reservation_id, reason);
$$;
CREATE FUNCTION ticketres_router.px_extend_hold(reservation_id uuid, extend_by interval, reason text)
RETURNS ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(reservation_id);
    SELECT * FROM ticketres_shard.extend_hold(reservation_id, extend_by, reason);
$$;
CREATE FUNCTION ticketres_router.px_block_seats(event_id uuid, seat_ids uuid[], reason text, block boolean)
RETURNS int LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT CASE WHEN block THEN ticketres_shard.block_seats(event_id, seat_ids, reason)
                ELSE ticketres_shard.unblock_seats(event_id, seat_ids, reason) END;
$$;
-- general admission and best available: by event id, like tr_reserve
CREATE FUNCTION ticketres_router.px_add_ga_area(event_id uuid, name text, capacity int, price bigint)
RETURNS ticketres.ga_areas LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.add_ga_area(event_id, name, capacity, price);
$$;
CREATE FUNCTION ticketres_router.px_list_ga_areas(event_id uuid)
RETURNS SETOF ticketres.ga_area_availability LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.list_ga_areas(event_id);
$$;
CREATE FUNCTION ticketres_router.px_ga_available(event_id uuid, area text) RETURNS bigint
LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT ticketres_shard.ga_available(event_id, area);
$$;
CREATE FUNCTION ticketres_router.px_reserve_ga(event_id uuid, area text, quantity int, user_id text,
    idempotency_key text, hold interval) RETURNS ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.reserve_ga(event_id, area, quantity, user_id, idempotency_key, hold);
$$;
CREATE FUNCTION ticketres_router.px_reserve_best(event_id uuid, quantity int, user_id text,
    section text, max_price bigint, together boolean, idempotency_key text, hold interval)
RETURNS ticketres.reservations LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ticketres_router.shard_of(event_id);
    SELECT * FROM ticketres_shard.reserve_best(event_id, quantity, user_id, section, max_price,
        together, idempotency_key, hold);
$$;
-- an area id does not name its shard: every shard is asked, the one that has
-- the area updates it and returns it, the others return no row
CREATE FUNCTION ticketres_router.px_update_ga_area(area_id uuid, capacity int, price bigint)
RETURNS SETOF ticketres.ga_areas LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON ALL;
    SELECT * FROM ticketres_shard.update_ga_area(area_id, capacity, price);
$$;
-- per shard: shard k only (health, expiry, metrics ask each shard alone, so
-- that one shard down does not hide the others)
CREATE FUNCTION ticketres_router.px_expire(shard int, max_rows int) RETURNS int
LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON shard;
    SELECT ticketres_shard.expire(max_rows);
$$;
CREATE FUNCTION ticketres_router.px_health(shard int) RETURNS jsonb LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON shard;
    SELECT ticketres_shard.health();
$$;
CREATE FUNCTION ticketres_router.px_metrics(shard int) RETURNS text LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON shard;
    SELECT ticketres_shard.metrics();
$$;
CREATE FUNCTION ticketres_router.px_schedule_expiry(shard int, schedule text) RETURNS bigint
LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON shard;
    SELECT ticketres_shard.schedule_expiry(schedule);
$$;
CREATE FUNCTION ticketres_router.px_unschedule_expiry(shard int) RETURNS boolean
LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON shard;
    SELECT ticketres_shard.unschedule_expiry();
$$;
CREATE FUNCTION ticketres_router.px_event_ids(shard int) RETURNS SETOF uuid LANGUAGE plproxy AS $$
    CLUSTER 'ticketres_shards'; RUN ON shard;
    SELECT ticketres_shard.event_ids();
$$;

-- a new event: an id whose last 4 bytes no other event has (they name the
-- shard), created on the shard they map to, then recorded in placement
CREATE FUNCTION ticketres_router.create_event(name text, starts_at timestamptz,
    ends_at timestamptz, venue text, description text, hold_duration interval,
    max_seats_per_reservation int)
RETURNS ticketres.events
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    id uuid;
    shard int;
    ev ticketres.events;
BEGIN
    LOOP
        id := gen_random_uuid();
        EXIT WHEN NOT EXISTS (SELECT 1 FROM ticketres_router.placement p
                               WHERE p.tail = ticketres_router.tail(id));
    END LOOP;
    shard := ticketres_router.new_event_shard(ticketres_router.tail(id));
    ev := ticketres_router.px_create_event(shard, id, name, starts_at, ends_at, venue,
                                           description, hold_duration, max_seats_per_reservation);
    INSERT INTO ticketres_router.placement (tail, shard, event_id)
    VALUES (ticketres_router.tail(id), shard, id);
    RETURN ev;
END
$$;

-- tr_update_ga_area on every shard: no shard returned the area, so none
-- has it; the shard's error (catalogue SQLSTATE, message and detail)
CREATE FUNCTION ticketres_router.update_ga_area(area_id uuid, capacity int, price bigint)
RETURNS ticketres.ga_areas
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a ticketres.ga_areas;
BEGIN
    SELECT * INTO a FROM ticketres_router.px_update_ga_area($1, $2, $3) LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'area not found' USING ERRCODE = 'PT404',
            DETAIL = format('No general admission area has id %s.', $1);
    END IF;
    RETURN a;
END
$$;

------------------------------------------------------------------------------
-- The API: the extension's tr_* functions, same names, arguments, results
------------------------------------------------------------------------------

-- The tr_* functions call PL/Proxy functions and restore the shard's error:
-- one template, instantiated per function (name, arguments, result,
-- volatility, the body, the summary for COMMENT / OpenAPI).
DO $do$
DECLARE
    f record;
BEGIN
    FOR f IN SELECT * FROM (VALUES
        ('tr_create_event', 'name text, starts_at timestamptz, ends_at timestamptz, venue text DEFAULT NULL, description text DEFAULT NULL, hold_duration interval DEFAULT ''15 minutes'', max_seats_per_reservation int DEFAULT 10',
         'ticketres.events', 'VOLATILE',
         'RETURN ticketres_router.create_event(name, starts_at, ends_at, venue, description, hold_duration, max_seats_per_reservation);',
         'Create an event on the shard its new id maps to.'),
        ('tr_delete_event', 'event_id uuid', 'void', 'VOLATILE',
         'PERFORM ticketres_router.px_delete_event(event_id);
    DELETE FROM ticketres_router.placement p WHERE p.event_id = tr_delete_event.event_id;',
         'Delete an event with its seats (on its shard).'),
        -- every shard's first lim + off rows, merged in tr_list_events' order;
        -- a bad lim or off must reach the shards for their error (LIMIT 0
        -- would not even run the scan, OFFSET -1 would be the router's error)
        ('tr_list_events', 'lim int DEFAULT 50, off int DEFAULT 0', 'SETOF ticketres.events', 'STABLE',
         'RETURN QUERY SELECT * FROM ticketres_router.px_list_events(lim, off) e
     ORDER BY e.starts_at, e.id LIMIT CASE WHEN lim > 0 THEN lim END OFFSET greatest(off, 0);',
         'List events by start time, from every shard.'),
        ('tr_list_seats', 'event_id uuid, status text DEFAULT NULL', 'SETOF ticketres.seats', 'STABLE',
         'RETURN QUERY SELECT * FROM ticketres_router.px_list_seats(event_id, status) s ORDER BY s.label;',
         'The seat map of an event (from its shard).'),
        ('tr_list_reservations', 'user_id text DEFAULT NULL, lim int DEFAULT 20, off int DEFAULT 0',
         'SETOF ticketres.reservations', 'STABLE',
         'RETURN QUERY SELECT * FROM ticketres_router.px_list_reservations(ticketres_router.caller(user_id), lim, off) r
     ORDER BY r.created_at DESC, r.id LIMIT CASE WHEN lim > 0 THEN lim END OFFSET greatest(off, 0);',
         'List the caller''s reservations, newest first, from every shard.'),
        -- pg_cron's expiry job on every shard; the result is shard 0's job id
        ('tr_schedule_expiry', 'schedule text DEFAULT ''* * * * *''', 'bigint', 'VOLATILE',
         'RETURN (SELECT (array_agg(ticketres_router.px_schedule_expiry(s.shard, schedule) ORDER BY s.shard))[1]
               FROM ticketres_router.shards s);',
         'Schedule tr_expire() with pg_cron on every shard; returns shard 0''s job id.'),
        ('tr_unschedule_expiry', '', 'boolean', 'VOLATILE',
         'RETURN (SELECT bool_or(ticketres_router.px_unschedule_expiry(s.shard)) FROM ticketres_router.shards s);',
         'Remove the pg_cron expiry job of every shard; true when a shard had one.'),
        ('tr_update_event', 'event_id uuid, name text DEFAULT NULL, starts_at timestamptz DEFAULT NULL, ends_at timestamptz DEFAULT NULL, venue text DEFAULT NULL, description text DEFAULT NULL, hold_duration interval DEFAULT NULL, max_seats_per_reservation int DEFAULT NULL',
         'ticketres.events', 'VOLATILE',
         'RETURN ticketres_router.px_update_event(event_id, name, starts_at, ends_at, venue, description, hold_duration, max_seats_per_reservation);',
         'Update an event (on its shard).'),
        ('tr_set_best_available', 'event_id uuid, enabled boolean', 'ticketres.events', 'VOLATILE',
         'RETURN ticketres_router.px_set_best_available(event_id, enabled);',
         'Choose whether tr_reserve_best sells an event''s seats (on its shard).'),
        ('tr_get_event', 'event_id uuid', 'ticketres.events', 'STABLE',
         'RETURN ticketres_router.px_get_event(event_id);', 'Read one event (from its shard).'),
        ('tr_add_seats', 'event_id uuid, seats jsonb', 'int', 'VOLATILE',
         'RETURN ticketres_router.px_add_seats(event_id, seats);', 'Add seats to an event, all or nothing (on its shard).'),
        ('tr_generate_seats', 'event_id uuid, section text, rows int, seats_per_row int, price bigint', 'int', 'VOLATILE',
         'RETURN ticketres_router.px_generate_seats(event_id, section, rows, seats_per_row, price);',
         'Generate a block of seats labelled section-row-number (on the event''s shard).'),
        ('tr_available_count', 'event_id uuid', 'bigint', 'STABLE',
         'RETURN ticketres_router.px_available_count(event_id);', 'Exact number of seats that can be reserved now.'),
        ('tr_reserve', 'event_id uuid, user_id text DEFAULT NULL, seat_ids uuid[] DEFAULT NULL, idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL',
         'ticketres.reservations', 'VOLATILE',
         'RETURN ticketres_router.px_reserve(event_id, ticketres_router.caller(user_id), seat_ids, idempotency_key, hold);',
         'Hold seats, all or nothing (on the event''s shard).'),
        ('tr_confirm', 'reservation_id uuid, user_id text DEFAULT NULL', 'ticketres.reservations', 'VOLATILE',
         'RETURN ticketres_router.px_confirm(reservation_id, ticketres_router.caller(user_id));',
         'Confirm (buy) a pending reservation (on its shard, found from its id).'),
        ('tr_cancel', 'reservation_id uuid, user_id text DEFAULT NULL', 'ticketres.reservations', 'VOLATILE',
         'RETURN ticketres_router.px_cancel(reservation_id, ticketres_router.caller(user_id));',
         'Cancel a pending reservation and give its seats back.'),
        ('tr_get_reservation', 'reservation_id uuid, user_id text DEFAULT NULL', 'ticketres.reservations', 'STABLE',
         'RETURN ticketres_router.px_get_reservation(reservation_id, ticketres_router.caller(user_id));',
         'Read one of the caller''s reservations.'),
        ('tr_block_seats', 'event_id uuid, seat_ids uuid[], reason text DEFAULT NULL', 'int', 'VOLATILE',
         'RETURN ticketres_router.px_block_seats(event_id, seat_ids, reason, true);', 'Block seats (admin).'),
        ('tr_unblock_seats', 'event_id uuid, seat_ids uuid[], reason text DEFAULT NULL', 'int', 'VOLATILE',
         'RETURN ticketres_router.px_block_seats(event_id, seat_ids, reason, false);', 'Unblock seats (admin).'),
        ('tr_release_reservation', 'reservation_id uuid, reason text', 'ticketres.reservations', 'VOLATILE',
         'RETURN ticketres_router.px_release_reservation(reservation_id, reason);', 'Release a reservation (admin).'),
        ('tr_extend_hold', 'reservation_id uuid, extend_by interval, reason text DEFAULT NULL', 'ticketres.reservations', 'VOLATILE',
         'RETURN ticketres_router.px_extend_hold(reservation_id, extend_by, reason);', 'Extend a pending hold (admin).'),
        ('tr_add_ga_area', 'event_id uuid, name text, capacity int, price bigint DEFAULT 0', 'ticketres.ga_areas', 'VOLATILE',
         'RETURN ticketres_router.px_add_ga_area(event_id, name, capacity, price);',
         'Add a general admission area to an event (on its shard).'),
        ('tr_update_ga_area', 'area_id uuid, capacity int DEFAULT NULL, price bigint DEFAULT NULL', 'ticketres.ga_areas', 'VOLATILE',
         'RETURN ticketres_router.update_ga_area(area_id, capacity, price);',
         'Change a general admission area''s capacity or price (on the shard that has it).'),
        ('tr_list_ga_areas', 'event_id uuid', 'SETOF ticketres.ga_area_availability', 'STABLE',
         'RETURN QUERY SELECT * FROM ticketres_router.px_list_ga_areas(event_id) a ORDER BY a.name;',
         'The general admission areas of an event with their tickets available (from its shard).'),
        ('tr_ga_available', 'event_id uuid, area text', 'bigint', 'STABLE',
         'RETURN ticketres_router.px_ga_available(event_id, area);',
         'Exact number of tickets of a general admission area that can be reserved now.'),
        ('tr_reserve_ga', 'event_id uuid, area text, quantity int, user_id text DEFAULT NULL, idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL',
         'ticketres.reservations', 'VOLATILE',
         'RETURN ticketres_router.px_reserve_ga(event_id, area, quantity, ticketres_router.caller(user_id), idempotency_key, hold);',
         'Hold quantity tickets of a general admission area (on the event''s shard).'),
        ('tr_reserve_best', 'event_id uuid, quantity int, user_id text DEFAULT NULL, section text DEFAULT NULL, max_price bigint DEFAULT NULL, together boolean DEFAULT true, idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL',
         'ticketres.reservations', 'VOLATILE',
         'RETURN ticketres_router.px_reserve_best(event_id, quantity, ticketres_router.caller(user_id), section, max_price, together, idempotency_key, hold);',
         'Hold the best available seats, together by default (on the event''s shard).')
    ) AS t (name, args, result, volatility, body, summary)
    LOOP
        EXECUTE format($f$
CREATE FUNCTION @extschema@.%1$s(%2$s) RETURNS %3$s
LANGUAGE plpgsql %4$s SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    %5$s
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    PERFORM ticketres_router.reraise(st, msg, det, hnt);
END
$body$;
COMMENT ON FUNCTION @extschema@.%1$s IS %6$L;
$f$, f.name, f.args, f.result, f.volatility, f.body,
        f.summary || E'\nThrough the ticketres router: same arguments, result and errors as on a shard.');
    END LOOP;
END
$do$;

------------------------------------------------------------------------------
-- Per shard and for the cluster: expiry, health, metrics, the pg_cron job
------------------------------------------------------------------------------

-- tr_expire on every shard (max_rows per shard); a shard that fails is
-- reported with its error instead of hiding the others
CREATE FUNCTION ticketres_router.expire_by_shard(max_rows int DEFAULT 10000)
RETURNS TABLE (shard int, expired int, error text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    FOR shard IN SELECT s.shard FROM ticketres_router.shards s ORDER BY 1 LOOP
        BEGIN
            expired := ticketres_router.px_expire(shard, max_rows);
            error := NULL;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            IF st = '22023' THEN          -- a bad max_rows: the caller's error
                GET STACKED DIAGNOSTICS det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
                PERFORM ticketres_router.reraise(st, msg, det, hnt);
            END IF;
            expired := NULL;
            error := st || ': ' || msg;
        END;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE FUNCTION tr_expire(max_rows int DEFAULT 10000) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    total int := 0;
    r record;
BEGIN
    FOR r IN SELECT * FROM ticketres_router.expire_by_shard(max_rows) LOOP
        IF r.error IS NOT NULL THEN
            RAISE EXCEPTION 'shard % could not expire holds', r.shard USING ERRCODE = '08006',
                DETAIL = r.error, HINT = 'ticketres_router.expire_by_shard() shows every shard.';
        END IF;
        total := total + r.expired;
    END LOOP;
    RETURN total;
END
$$;

-- each shard's tr_health (plus its replication), or why it cannot answer
CREATE FUNCTION ticketres_router.health_by_shard()
RETURNS TABLE (shard int, health jsonb)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text; msg text;
BEGIN
    FOR shard IN SELECT s.shard FROM ticketres_router.shards s ORDER BY 1 LOOP
        BEGIN
            health := ticketres_router.px_health(shard);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            health := jsonb_build_object('status', 'unreachable', 'error', st || ': ' || msg);
        END;
        health := jsonb_build_object('shard', shard) || health;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE FUNCTION tr_health() RETURNS jsonb
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object(
        'status', CASE WHEN bool_and(h.health ->> 'status' = 'ok') THEN 'ok' ELSE 'degraded' END,
        'router', true,
        'router_version', (SELECT e.extversion FROM pg_extension e WHERE e.extname = 'ticketres_router'),
        'degraded_shards', coalesce(jsonb_agg(h.shard ORDER BY h.shard)
                                        FILTER (WHERE h.health ->> 'status' <> 'ok'), '[]'),
        'overdue_holds', sum((h.health ->> 'overdue_holds')::bigint),
        'shards', jsonb_agg(h.health ORDER BY h.shard),
        'checked_at', clock_timestamp())
      FROM ticketres_router.health_by_shard() h
$$;

-- every shard's exposition text, each sample labelled shard="k" and each
-- metric family kept together (Prometheus wants a family in one block)
CREATE FUNCTION tr_metrics() RETURNS @extschema@."text/plain"
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    out text;
BEGIN
    CREATE TEMP TABLE IF NOT EXISTS tr_router_metric_lines (
        shard int, n int, family text, header boolean, line text) ON COMMIT DROP;
    TRUNCATE tr_router_metric_lines;
    INSERT INTO tr_router_metric_lines
    SELECT s.shard, l.n,
           -- a sample belongs to the family of the last # HELP / # TYPE above it
           substring(max(CASE WHEN l.line ~ '^# (HELP|TYPE) ' THEN lpad(l.n::text, 9, '0') || split_part(l.line, ' ', 3) END)
                     OVER (PARTITION BY s.shard ORDER BY l.n) FROM 10),
           l.line LIKE '#%',
           CASE WHEN l.line LIKE '#%' THEN l.line
                WHEN l.line ~ '^[^ {]+\{' THEN regexp_replace(l.line, '\{', format('{shard="%s",', s.shard))
                ELSE regexp_replace(l.line, '^([^ ]+) ', format('\1{shard="%s"} ', s.shard)) END
      FROM ticketres_router.shards s
     CROSS JOIN LATERAL regexp_split_to_table(ticketres_router.px_metrics(s.shard), E'\n')
           WITH ORDINALITY AS l (line, n)
     WHERE l.line <> '';
    SELECT string_agg(line, E'\n' ORDER BY first_n, header DESC, shard, n) || E'\n' INTO out
      FROM (SELECT m.*, min(m.n) OVER (PARTITION BY m.family) AS first_n,
                   min(m.shard) OVER (PARTITION BY m.family, m.line) AS first_shard
              FROM tr_router_metric_lines m) x
     WHERE NOT header OR shard = first_shard;
    RETURN out;
END
$$;

-- placement from what the shards hold (after restoring the router from an
-- old backup, or to check it): returns the number of events placed
CREATE FUNCTION ticketres_router.rebuild_placement() RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    DELETE FROM ticketres_router.placement;
    INSERT INTO ticketres_router.placement (tail, shard, event_id)
    SELECT ticketres_router.tail(e.id), s.shard, e.id
      FROM ticketres_router.shards s
     CROSS JOIN LATERAL ticketres_router.px_event_ids(s.shard) AS e (id);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$$;

------------------------------------------------------------------------------
-- Web access (PostgREST), as tr_grant_web_access does on one database
------------------------------------------------------------------------------

CREATE FUNCTION tr_grant_web_access(anon name, authenticated name, admin name) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    api text := (SELECT e.extnamespace::regnamespace::text FROM pg_extension e
                  WHERE e.extname = 'ticketres_router');
    tier_anon text[] := ARRAY['tr_get_event(uuid)', 'tr_list_events(int, int)',
        'tr_list_seats(uuid, text)', 'tr_available_count(uuid)', 'tr_health()',
        'tr_list_ga_areas(uuid)', 'tr_ga_available(uuid, text)'];
    tier_auth text[] := ARRAY['tr_reserve(uuid, text, uuid[], text, interval)',
        'tr_confirm(uuid, text)', 'tr_cancel(uuid, text)', 'tr_get_reservation(uuid, text)',
        'tr_list_reservations(text, int, int)',
        'tr_reserve_ga(uuid, text, int, text, text, interval)',
        'tr_reserve_best(uuid, int, text, text, bigint, boolean, text, interval)'];
    tier_admin text[] := ARRAY[
        'tr_create_event(text, timestamptz, timestamptz, text, text, interval, int)',
        'tr_update_event(uuid, text, timestamptz, timestamptz, text, text, interval, int)',
        'tr_set_best_available(uuid, boolean)',
        'tr_delete_event(uuid)', 'tr_add_seats(uuid, jsonb)',
        'tr_generate_seats(uuid, text, int, int, bigint)', 'tr_expire(int)', 'tr_metrics()',
        'tr_schedule_expiry(text)', 'tr_unschedule_expiry()', 'tr_block_seats(uuid, uuid[], text)',
        'tr_unblock_seats(uuid, uuid[], text)', 'tr_release_reservation(uuid, text)',
        'tr_extend_hold(uuid, interval, text)',
        'tr_add_ga_area(uuid, text, int, bigint)', 'tr_update_ga_area(uuid, int, bigint)'];
    r name;
    sig text;
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
        EXECUTE format('GRANT USAGE ON SCHEMA %s TO %I', api, r);
        FOREACH sig IN ARRAY tier_anon
            || CASE WHEN r <> anon THEN tier_auth ELSE '{}' END
            || CASE WHEN r = admin THEN tier_admin ELSE '{}' END LOOP
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s.%s TO %I', api, sig, r);
        END LOOP;
    END LOOP;
END
$$;

COMMENT ON FUNCTION tr_expire(int) IS
$$Expire overdue holds on every shard (max_rows per shard); returns how many.
Errors: 22023 bad max_rows, 08006 a shard could not be reached (ticketres_router.expire_by_shard() shows which).$$;
COMMENT ON FUNCTION tr_health() IS
$$Health of the cluster as JSON.
Fields: status (ok or degraded), degraded_shards (their numbers), shards (each shard's tr_health with its node: primary, synchronous standbys), overdue_holds, checked_at.$$;
COMMENT ON FUNCTION tr_metrics() IS
$$Metrics of every shard in Prometheus text exposition format, each sample labelled shard="k".$$;
COMMENT ON FUNCTION tr_grant_web_access(name, name, name) IS
$$Create or update the PostgREST roles of the router: anon reads, authenticated buys, admin manages.$$;

-- as on a shard, PUBLIC may read events and seat maps and nothing else
DO $do$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_proc p
              WHERE p.pronamespace IN ('ticketres_router'::regnamespace, '@extschema@'::regnamespace)
                AND p.proname NOT IN ('tr_get_event', 'tr_list_events', 'tr_list_seats', 'tr_available_count',
                                      'tr_list_ga_areas', 'tr_ga_available')
                AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'
                              AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ticketres_router'))
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END
$do$;
REVOKE ALL ON SCHEMA ticketres_router FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA ticketres_router FROM PUBLIC;

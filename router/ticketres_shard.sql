-- ticketres_shard — what a ticketres_router calls on every shard.
-- Installed by test/scale/cluster.sh (or by hand) on each shard database,
-- after CREATE EXTENSION ticketres; @API@ is replaced with the schema the
-- shard's tr_* functions live in (psql -v cannot reach into function bodies).
-- The router's PL/Proxy functions call only ticketres_shard.*, so the router
-- does not care which schema the shard's API is in. Most functions pass the
-- call through unchanged (errors included); the others are what a router
-- needs that one database does not: create an event under an id the router
-- chose, list the first n rows for a merge, health with replication.
-- Only the connecting role (a superuser in the cluster scripts) may call them.

CREATE SCHEMA IF NOT EXISTS ticketres_shard;
REVOKE ALL ON SCHEMA ticketres_shard FROM PUBLIC;

-- tr_create_event, then the event (and every row pointing at it) moves to
-- the id the router generated: the router places events by their id's last
-- 4 bytes. The core's foreign keys to events(id) are not ON UPDATE CASCADE,
-- so the row is copied under the new id, its children repointed, the old row
-- deleted; the referencing tables are found in the catalog, not hard-coded.
CREATE OR REPLACE FUNCTION ticketres_shard.create_event(id uuid, name text,
    starts_at timestamptz, ends_at timestamptz, venue text, description text,
    hold_duration interval, max_seats_per_reservation int)
RETURNS ticketres.events
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ev ticketres.events;
    fk record;
BEGIN
    ev := @API@.tr_create_event(name, starts_at, ends_at, venue, description,
                                hold_duration, max_seats_per_reservation);
    INSERT INTO ticketres.events SELECT (jsonb_populate_record(ev, jsonb_build_object('id', create_event.id))).*;
    FOR fk IN
        SELECT c.conrelid::regclass AS tab, a.attname AS col
          FROM pg_constraint c
          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
         WHERE c.contype = 'f' AND c.confrelid = 'ticketres.events'::regclass
    LOOP
        EXECUTE format('UPDATE %s SET %I = $1 WHERE %I = $2', fk.tab, fk.col, fk.col)
            USING create_event.id, ev.id;
    END LOOP;
    DELETE FROM ticketres.events e WHERE e.id = ev.id;
    SELECT * INTO ev FROM ticketres.events e WHERE e.id = create_event.id;
    RETURN ev;
END
$$;

-- the first lim + off events in tr_list_events order (the router merges the
-- shards' and applies lim and off), after tr_list_events itself has checked
-- lim and off (same errors); pages of 1000, its largest lim
CREATE OR REPLACE FUNCTION ticketres_shard.list_events(lim int, off int)
RETURNS SETOF ticketres.events
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    want bigint := lim::bigint + off;
    got bigint := 0;
    n bigint;
BEGIN
    PERFORM count(*) FROM @API@.tr_list_events(lim, off);
    LOOP
        RETURN QUERY SELECT * FROM @API@.tr_list_events(least(1000, want - got)::int, got::int);
        GET DIAGNOSTICS n = ROW_COUNT;
        got := got + n;
        EXIT WHEN n < 1000 OR got >= want;
    END LOOP;
END
$$;

-- the first lim + off reservations of a user in tr_list_reservations order
CREATE OR REPLACE FUNCTION ticketres_shard.list_reservations(user_id text, lim int, off int)
RETURNS SETOF ticketres.reservations
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    want bigint := lim::bigint + off;
    got bigint := 0;
    n bigint;
BEGIN
    PERFORM count(*) FROM @API@.tr_list_reservations(user_id, lim, off);
    LOOP
        RETURN QUERY SELECT * FROM @API@.tr_list_reservations(user_id, least(1000, want - got)::int, got::int);
        GET DIAGNOSTICS n = ROW_COUNT;
        got := got + n;
        EXIT WHEN n < 1000 OR got >= want;
    END LOOP;
END
$$;

-- tr_health plus replication: a shard whose primary has no synchronous
-- standby streaming is degraded (a confirmed purchase lives on one node)
CREATE OR REPLACE FUNCTION ticketres_shard.health() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    h jsonb := @API@.tr_health();
    sync_standbys int;
BEGIN
    SELECT count(*) INTO sync_standbys FROM pg_stat_replication
     WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum');
    h := h || jsonb_build_object('node', jsonb_build_object(
        'primary', NOT pg_is_in_recovery(),
        'synchronous_standby_names', current_setting('synchronous_standby_names'),
        'sync_standbys', sync_standbys,
        'address', host(inet_server_addr()) || ':' || inet_server_port()));
    IF sync_standbys = 0 THEN
        h := jsonb_set(h, '{status}', '"degraded"');
    END IF;
    RETURN h;
END
$$;

-- pass-through: the shard's own function, the same arguments and errors
CREATE OR REPLACE FUNCTION ticketres_shard.update_event(event_id uuid, name text, starts_at timestamptz,
    ends_at timestamptz, venue text, description text, hold_duration interval, max_seats_per_reservation int)
RETURNS ticketres.events LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_update_event($1, $2, $3, $4, $5, $6, $7, $8) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.set_best_available(event_id uuid, enabled boolean)
RETURNS ticketres.events LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_set_best_available($1, $2) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.delete_event(event_id uuid) RETURNS void LANGUAGE sql AS
$$ SELECT @API@.tr_delete_event($1) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.get_event(event_id uuid) RETURNS ticketres.events LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_get_event($1) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.add_seats(event_id uuid, seats jsonb) RETURNS int LANGUAGE sql AS
$$ SELECT @API@.tr_add_seats($1, $2) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.generate_seats(event_id uuid, section text, rows int,
    seats_per_row int, price bigint) RETURNS int LANGUAGE sql AS
$$ SELECT @API@.tr_generate_seats($1, $2, $3, $4, $5) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.list_seats(event_id uuid, status text)
RETURNS SETOF ticketres.seats LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_list_seats($1, $2) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.available_count(event_id uuid) RETURNS bigint LANGUAGE sql AS
$$ SELECT @API@.tr_available_count($1) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.reserve(event_id uuid, user_id text, seat_ids uuid[],
    idempotency_key text, hold interval) RETURNS ticketres.reservations LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_reserve($1, $2, $3, $4, $5) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.confirm(reservation_id uuid, user_id text)
RETURNS ticketres.reservations LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_confirm($1, $2) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.cancel(reservation_id uuid, user_id text)
RETURNS ticketres.reservations LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_cancel($1, $2) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.get_reservation(reservation_id uuid, user_id text)
RETURNS ticketres.reservations LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_get_reservation($1, $2) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.expire(max_rows int) RETURNS int LANGUAGE sql AS
$$ SELECT @API@.tr_expire($1) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.metrics() RETURNS text LANGUAGE sql AS
$$ SELECT @API@.tr_metrics()::text $$;
CREATE OR REPLACE FUNCTION ticketres_shard.block_seats(event_id uuid, seat_ids uuid[], reason text)
RETURNS int LANGUAGE sql AS $$ SELECT @API@.tr_block_seats($1, $2, $3) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.unblock_seats(event_id uuid, seat_ids uuid[], reason text)
RETURNS int LANGUAGE sql AS $$ SELECT @API@.tr_unblock_seats($1, $2, $3) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.release_reservation(reservation_id uuid, reason text)
RETURNS ticketres.reservations LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_release_reservation($1, $2) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.extend_hold(reservation_id uuid, extend_by interval, reason text)
RETURNS ticketres.reservations LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_extend_hold($1, $2, $3) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.schedule_expiry(schedule text) RETURNS bigint LANGUAGE sql AS
$$ SELECT @API@.tr_schedule_expiry($1) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.unschedule_expiry() RETURNS boolean LANGUAGE sql AS
$$ SELECT @API@.tr_unschedule_expiry() $$;
CREATE OR REPLACE FUNCTION ticketres_shard.add_ga_area(event_id uuid, name text, capacity int, price bigint)
RETURNS ticketres.ga_areas LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_add_ga_area($1, $2, $3, $4) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.list_ga_areas(event_id uuid)
RETURNS SETOF ticketres.ga_area_availability LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_list_ga_areas($1) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.ga_available(event_id uuid, area text) RETURNS bigint LANGUAGE sql AS
$$ SELECT @API@.tr_ga_available($1, $2) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.reserve_ga(event_id uuid, area text, quantity int, user_id text,
    idempotency_key text, hold interval) RETURNS ticketres.reservations LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_reserve_ga($1, $2, $3, $4, $5, $6) $$;
CREATE OR REPLACE FUNCTION ticketres_shard.reserve_best(event_id uuid, quantity int, user_id text,
    section text, max_price bigint, together boolean, idempotency_key text, hold interval)
RETURNS ticketres.reservations LANGUAGE sql AS
$$ SELECT * FROM @API@.tr_reserve_best($1, $2, $3, $4, $5, $6, $7, $8) $$;
-- tr_update_ga_area, or no row when this shard has no such area: the router
-- runs it on every shard (an area id does not name its shard) and raises
-- "area not found" itself when no shard returned a row
CREATE OR REPLACE FUNCTION ticketres_shard.update_ga_area(area_id uuid, capacity int, price bigint)
RETURNS SETOF ticketres.ga_areas
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    msg text;
BEGIN
    RETURN QUERY SELECT * FROM @API@.tr_update_ga_area($1, $2, $3);
EXCEPTION WHEN SQLSTATE 'PT404' THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
    IF msg <> 'area not found' THEN
        RAISE;
    END IF;
END
$$;
-- the event ids this shard holds (to rebuild the router's placement table)
CREATE OR REPLACE FUNCTION ticketres_shard.event_ids() RETURNS SETOF uuid LANGUAGE sql STABLE AS
$$ SELECT e.id FROM ticketres.events e $$;

DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'ticketres_shard'::regnamespace LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END $$;

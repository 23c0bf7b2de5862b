------------------------------------------------------------------------------
-- Events: create, update, delete, read.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tr_create_event(name text, starts_at timestamptz, ends_at timestamptz,
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

CREATE OR REPLACE FUNCTION tr_update_event(event_id uuid, name text DEFAULT NULL,
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
        PERFORM ticketres._raise('event not found',
            format('No event has id %s.', event_id));
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

CREATE OR REPLACE FUNCTION tr_delete_event(event_id uuid) RETURNS void
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
    -- the event's lock first, as everywhere: waits out in-flight reserves
    -- and refuses new ones until we are done; then the row, which keeps
    -- seats from being added
    PERFORM ticketres._lock_event(event_id);
    PERFORM 1 FROM ticketres.events e WHERE e.id = tr_delete_event.event_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ticketres._raise('event not found',
            format('No event has id %s.', event_id));
    END IF;
    SELECT count(*) FILTER (WHERE r.status = 'pending' AND r.expires_at > clock_timestamp()),
           count(*) FILTER (WHERE r.status = 'confirmed')
      INTO n_pending, n_confirmed
      FROM ticketres.reservations r
     WHERE r.event_id = tr_delete_event.event_id AND r.status IN ('pending', 'confirmed');
    IF n_pending > 0 OR n_confirmed > 0 THEN
        PERFORM ticketres._raise('event has reservations',
            format('Event %s has %s pending and %s confirmed reservations.',
                            event_id, n_pending, n_confirmed),
            'Cancel or release them first, or wait for the holds to expire.');
    END IF;
    -- reservations and seats have no foreign key to cascade through; the
    -- row lock above waited for seats being added (FOR KEY SHARE) to commit,
    -- and this statement's snapshot sees them
    DELETE FROM ticketres.reservations r WHERE r.event_id = tr_delete_event.event_id;
    DELETE FROM ticketres.seats s WHERE s.event_id = tr_delete_event.event_id;
    DELETE FROM ticketres.events e WHERE e.id = tr_delete_event.event_id;
END
$$;

-- Whether tr_reserve_best sells the event's seats (0.2). The seats of such
-- an event are kept in the best-available indexes, so each status change
-- of one is a non-HOT update that also writes those indexes; an event that
-- sells by seat id and general admission only is cheaper to reserve, expire
-- and generate without them (doc/performance.md). Rewrites every seat row of
-- the event: an administrative change for before or after an on-sale, not
-- during one (reserves on the event meanwhile fail with PT409 seat busy).
CREATE OR REPLACE FUNCTION tr_set_best_available(event_id uuid, enabled boolean)
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
    IF enabled IS NULL THEN
        RAISE EXCEPTION 'enabled must not be null' USING ERRCODE = '22023';
    END IF;
    -- as tr_delete_event: the event's lock waits out in-flight reserves and
    -- refuses new ones; the row lock waits for seats being added
    PERFORM ticketres._lock_event(event_id);
    PERFORM 1 FROM ticketres.events e WHERE e.id = tr_set_best_available.event_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM ticketres._raise('event not found', format('No event has id %s.', event_id));
    END IF;
    UPDATE ticketres.seats s SET best_available = enabled
     WHERE s.event_id = tr_set_best_available.event_id AND s.best_available <> enabled;
    UPDATE ticketres.events e SET best_available = enabled, updated_at = now()
     WHERE e.id = tr_set_best_available.event_id
    RETURNING e.* INTO ev;
    RETURN ev;
END
$$;

CREATE OR REPLACE FUNCTION tr_get_event(event_id uuid) RETURNS ticketres.events
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
        PERFORM ticketres._raise('event not found',
            format('No event has id %s.', event_id));
    END IF;
    RETURN ev;
END
$$;

CREATE OR REPLACE FUNCTION tr_list_events(lim int DEFAULT 50, off int DEFAULT 0)
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

COMMENT ON FUNCTION tr_create_event(text, timestamptz, timestamptz, text, text, interval, int) IS
$$Create an event.
Returns the new event. hold_duration (1 second to 1 day, default 15 minutes) is how long a hold lasts; max_seats_per_reservation (1 to 1000, default 10) caps one reservation. Errors: 22023 bad argument.$$;
COMMENT ON FUNCTION tr_update_event(uuid, text, timestamptz, timestamptz, text, text, interval, int) IS
$$Update an event.
Arguments left NULL keep their value. Errors: 22023 bad argument, PT404 event not found.$$;
COMMENT ON FUNCTION tr_delete_event(uuid) IS
$$Delete an event with its seats.
Refused (PT409 event has reservations) while it has pending or confirmed reservations. Errors: PT404 event not found.$$;
COMMENT ON FUNCTION tr_set_best_available(uuid, boolean) IS
$$Choose whether tr_reserve_best sells an event's seats (default true for a new event).
Off, a reserve, cancel or expiry of one of its seats is a HOT update that writes no index; tr_reserve_best refuses the event (PT409 not enough seats). Rewrites every seat row of the event: do it before or after an on-sale. Errors: PT404 event not found.$$;
COMMENT ON FUNCTION tr_get_event(uuid) IS
$$Read one event.
Errors: PT404 event not found.$$;
COMMENT ON FUNCTION tr_list_events(int, int) IS
$$List events by start time.
lim 1 to 1000 (default 50), off from 0. Errors: 22023 bad argument.$$;

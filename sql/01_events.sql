-- Events: create, update, get, list, delete, and their argument errors.
-- Helpers used by every regress file: try() runs a statement and prints
-- "ok" or "SQLSTATE: message (detail)" with ids masked, so output is stable.
CREATE FUNCTION try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; det text;
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    det := regexp_replace(nullif(det, ''),
        '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<id>', 'g');
    det := regexp_replace(det, '\d{4}-\d\d-\d\d \d\d:\d\d:[0-9.]+[+-]\d\d', '<time>', 'g');
    RETURN st || ': ' || msg || coalesce(' (' || det || ')', '');
END $$;
CREATE FUNCTION ev(n text) RETURNS uuid LANGUAGE sql AS
    $$ SELECT id FROM ticketres.events WHERE name = n $$;
CREATE FUNCTION seat(e text, l text) RETURNS uuid LANGUAGE sql AS
    $$ SELECT s.id FROM ticketres.seats s WHERE s.event_id = ev(e) AND s.label = l $$;
CREATE FUNCTION seats(e text, VARIADIC l text[]) RETURNS uuid[] LANGUAGE sql AS
    $$ SELECT array_agg(seat(e, x)) FROM unnest(l) x $$;
CREATE FUNCTION violations() RETURNS bigint LANGUAGE sql AS
    $$ SELECT sum(violations) FROM ticketres.check_invariants() $$;

-- create
SELECT name, venue, hold_duration, max_seats_per_reservation
  FROM tr_create_event('Concert', '2099-06-01 20:00+00', '2099-06-01 23:00+00', 'Arena');
SELECT name, hold_duration, max_seats_per_reservation
  FROM tr_create_event(name => 'Play', starts_at => '2099-07-01 19:00+00',
                       ends_at => '2099-07-01 22:00+00', hold_duration => '5 minutes',
                       max_seats_per_reservation => 4);
SELECT count(*) AS counter_stripes FROM ticketres.seat_counts WHERE event_id = ev('Concert');

-- create: bad arguments are 22023 and create nothing
SELECT try($$SELECT tr_create_event(NULL, now(), now() + '1h')$$);
SELECT try($$SELECT tr_create_event('', now(), now() + '1h')$$);
SELECT try($$SELECT tr_create_event(repeat('x', 201), now(), now() + '1h')$$);
SELECT try($$SELECT tr_create_event('x', NULL, now())$$);
SELECT try($$SELECT tr_create_event('x', now(), now() - interval '1 hour')$$);
SELECT try($$SELECT tr_create_event('x', '-infinity', 'infinity')$$);
SELECT try($$SELECT tr_create_event('x', now(), now() + '1h', hold_duration => '0')$$);
SELECT try($$SELECT tr_create_event('x', now(), now() + '1h', hold_duration => '-5 minutes')$$);
SELECT try($$SELECT tr_create_event('x', now(), now() + '1h', hold_duration => '1 month')$$);
SELECT try($$SELECT tr_create_event('x', now(), now() + '1h', hold_duration => NULL)$$);
SELECT try($$SELECT tr_create_event('x', now(), now() + '1h', max_seats_per_reservation => 0)$$);
SELECT try($$SELECT tr_create_event('x', now(), now() + '1h', max_seats_per_reservation => 1001)$$);
SELECT count(*) AS events FROM ticketres.events;

-- update: NULL means unchanged
SELECT name, venue, description, max_seats_per_reservation
  FROM tr_update_event(ev('Play'), description => 'A new play', max_seats_per_reservation => 6);
SELECT name, venue, description FROM tr_update_event(ev('Play'));
SELECT try($$SELECT tr_update_event(gen_random_uuid(), name => 'y')$$);
SELECT try($$SELECT tr_update_event(NULL, name => 'y')$$);
SELECT try($$SELECT tr_update_event(ev('Play'), ends_at => '2000-01-01')$$);
SELECT try($$SELECT tr_update_event(ev('Play'), name => '')$$);

-- get and list
SELECT name FROM tr_get_event(ev('Concert'));
SELECT try($$SELECT tr_get_event(gen_random_uuid())$$);
SELECT try($$SELECT tr_get_event(NULL)$$);
SELECT name FROM tr_list_events();
SELECT name FROM tr_list_events(lim => 1, off => 1);
SELECT try($$SELECT tr_list_events(0)$$);
SELECT try($$SELECT tr_list_events(1001)$$);
SELECT try($$SELECT tr_list_events(10, -1)$$);
SELECT try($$SELECT tr_list_events(NULL)$$);

-- delete: an event without reservations goes, with its counters
SELECT id AS doomed FROM tr_create_event('Doomed', '2099-01-01', '2099-01-02') \gset
SELECT tr_delete_event(:'doomed');
SELECT count(*) AS left_over FROM ticketres.seat_counts WHERE event_id = :'doomed';
SELECT try(format('SELECT tr_delete_event(%L)', :'doomed'));
SELECT try($$SELECT tr_delete_event(NULL)$$);

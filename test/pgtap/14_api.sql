-- 14_api.sql — the SQL API of DESIGN §3 as clients see it: parameter names
-- and defaults (PostgREST maps JSON keys to them), result types, and
-- VOLATILE writes / STABLE reads (PostgREST runs the rest read-only).
BEGIN;
SELECT plan(50);

CREATE TEMP TABLE contract (fn text PRIMARY KEY, args text, result text, volatility text);
INSERT INTO contract VALUES
('tr_create_event', 'name text, starts_at timestamp with time zone, ends_at timestamp with time zone, venue text DEFAULT NULL::text, description text DEFAULT NULL::text, hold_duration interval DEFAULT ''00:15:00''::interval, max_seats_per_reservation integer DEFAULT 10', 'ticketres.events', 'volatile'),
('tr_update_event', 'event_id uuid, name text DEFAULT NULL::text, starts_at timestamp with time zone DEFAULT NULL::timestamp with time zone, ends_at timestamp with time zone DEFAULT NULL::timestamp with time zone, venue text DEFAULT NULL::text, description text DEFAULT NULL::text, hold_duration interval DEFAULT NULL::interval, max_seats_per_reservation integer DEFAULT NULL::integer', 'ticketres.events', 'volatile'),
('tr_delete_event', 'event_id uuid', 'void', 'volatile'),
('tr_get_event', 'event_id uuid', 'ticketres.events', 'stable'),
('tr_list_events', 'lim integer DEFAULT 50, off integer DEFAULT 0', 'SETOF ticketres.events', 'stable'),
('tr_add_seats', 'event_id uuid, seats jsonb', 'integer', 'volatile'),
('tr_generate_seats', 'event_id uuid, section text, rows integer, seats_per_row integer, price bigint', 'integer', 'volatile'),
('tr_list_seats', 'event_id uuid, status text DEFAULT NULL::text', 'SETOF ticketres.seats', 'stable'),
('tr_available_count', 'event_id uuid', 'bigint', 'stable'),
('tr_reserve', 'event_id uuid, user_id text DEFAULT NULL::text, seat_ids uuid[] DEFAULT NULL::uuid[], idempotency_key text DEFAULT NULL::text, hold interval DEFAULT NULL::interval', 'ticketres.reservations', 'volatile'),
('tr_confirm', 'reservation_id uuid, user_id text DEFAULT NULL::text', 'ticketres.reservations', 'volatile'),
('tr_cancel', 'reservation_id uuid, user_id text DEFAULT NULL::text', 'ticketres.reservations', 'volatile'),
('tr_get_reservation', 'reservation_id uuid, user_id text DEFAULT NULL::text', 'ticketres.reservations', 'stable'),
('tr_list_reservations', 'user_id text DEFAULT NULL::text, lim integer DEFAULT 20, off integer DEFAULT 0', 'SETOF ticketres.reservations', 'stable'),
('tr_expire', 'max_rows integer DEFAULT 10000', 'integer', 'volatile');

CREATE TEMP VIEW actual AS
SELECT p.proname::text AS fn, pg_catalog.pg_get_function_arguments(p.oid) AS args,
       pg_catalog.pg_get_function_result(p.oid) AS result,
       CASE p.provolatile WHEN 'v' THEN 'volatile' WHEN 's' THEN 'stable' ELSE 'immutable' END AS volatility
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'ticketres';

SELECT is((SELECT count(*) FROM actual a WHERE a.fn = c.fn), 1::bigint, c.fn || ' exists once (no overloads)')
  FROM contract c ORDER BY c.fn;
SELECT is(a.args, c.args, c.fn || ': parameter names, types and defaults as in the contract')
  FROM contract c LEFT JOIN actual a USING (fn) ORDER BY c.fn;
SELECT is(a.result || ' ' || a.volatility, c.result || ' ' || c.volatility, c.fn || ' returns ' || c.result || ', ' || c.volatility)
  FROM contract c LEFT JOIN actual a USING (fn) ORDER BY c.fn;

-- called the way PostgREST calls them: named arguments only
CREATE TEMP TABLE ev AS SELECT * FROM tr_create_event(name => 'api', starts_at => now() + interval '1 day',
    ends_at => now() + interval '2 days', max_seats_per_reservation => 2);
CREATE TEMP TABLE n AS SELECT tr_generate_seats(event_id => id, section => 'N', rows => 1, seats_per_row => 3, price => 250) FROM ev;
CREATE TEMP TABLE r AS SELECT res.* FROM ev, tr_reserve(event_id => ev.id, user_id => 'api-user',
    seat_ids => ARRAY(SELECT s.id FROM ticketres.seats s WHERE s.event_id = ev.id AND s.seat_number IN (1, 2)),
    idempotency_key => 'api-1', hold => interval '5 minutes') res;
SELECT is((SELECT status::text || ' ' || total_amount || ' ' || cardinality(seat_ids) FROM r), 'pending 500 2',
    'named call: tr_reserve holds two seats at their price');
SELECT ok((SELECT expires_at BETWEEN created_at + interval '5 minutes' - interval '1 second'
                                 AND created_at + interval '5 minutes' + interval '1 second' FROM r),
    'named call: hold => 5 minutes sets expires_at');
SELECT is((SELECT c.status::text FROM r, tr_confirm(reservation_id => r.id, user_id => 'api-user') c), 'confirmed',
    'named call: tr_confirm');
SELECT is((SELECT tr_available_count(event_id => id) FROM ev), 1::bigint, 'named call: tr_available_count');
SELECT is((SELECT count(*) FROM ev, tr_list_seats(event_id => ev.id, status => 'confirmed')), 2::bigint,
    'named call: tr_list_seats with a status');

SELECT * FROM finish();
ROLLBACK;

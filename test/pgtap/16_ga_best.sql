-- 16_ga_best.sql — general admission and best available (0.2): the
-- functions of DESIGN §8-§9 with their signatures, SECURITY DEFINER and
-- pinned search_path, privileges and web tiers, every new error of the
-- catalogue (SQLSTATE + message), and calls with an empty search_path.
BEGIN;
SELECT plan(68);

-- the schema
SELECT has_table('ticketres', 'ga_areas', 'table ticketres.ga_areas exists');
SELECT columns_are('ticketres', 'ga_areas', ARRAY['id', 'event_id', 'name', 'capacity', 'price', 'created_at'],
    'ga_areas has the contract''s columns');
SELECT col_is_unique('ticketres', 'ga_areas', ARRAY['event_id', 'name'], 'area names are unique per event');
SELECT fk_ok('ticketres', 'ga_areas', 'event_id', 'ticketres', 'events', 'id', 'ga_areas.event_id references events');
SELECT col_is_pk('ticketres', 'ga_counts', ARRAY['area_id', 'stripe'], 'ga_counts keyed by (area_id, stripe)');
SELECT col_type_is('ticketres', 'seats', 'rank', 'integer', 'seats.rank is int');
SELECT col_type_is('ticketres', 'reservations', 'ga_area_id', 'uuid', 'reservations.ga_area_id is uuid');
SELECT col_type_is('ticketres', 'reservations', 'quantity', 'ticketres.ticket_quantity', 'reservations.quantity is of domain ticketres.ticket_quantity');
SELECT domain_type_is('ticketres', 'ticket_quantity', 'integer', 'ticketres.ticket_quantity is an int');
SELECT has_index('ticketres', 'seats', 'seats_best_idx', ARRAY['event_id', 'rank', 'section', 'row_label', 'seat_number'],
    'available seats are found by rank');
SELECT has_index('ticketres', 'reservations', 'reservations_ga_pending_idx', ARRAY['ga_area_id', 'expires_at', 'id', 'quantity'],
    'overdue GA holds are found per area');
SELECT table_privs_are('ticketres', 'ga_areas', 'public', '{}', 'no privilege on ga_areas for PUBLIC');
SELECT table_privs_are('ticketres', 'ga_counts', 'public', '{}', 'no privilege on ga_counts for PUBLIC');

-- functions: definer, pinned search_path, privileges
SELECT is_definer('public', 'tr_add_ga_area', ARRAY['uuid', 'text', 'integer', 'bigint'], 'tr_add_ga_area is SECURITY DEFINER');
SELECT is_definer('public', 'tr_update_ga_area', ARRAY['uuid', 'integer', 'bigint'], 'tr_update_ga_area is SECURITY DEFINER');
SELECT is_definer('public', 'tr_list_ga_areas', ARRAY['uuid'], 'tr_list_ga_areas is SECURITY DEFINER');
SELECT is_definer('public', 'tr_ga_available', ARRAY['uuid', 'text'], 'tr_ga_available is SECURITY DEFINER');
SELECT is_definer('public', 'tr_reserve_ga', ARRAY['uuid', 'text', 'integer', 'text', 'text', 'interval'], 'tr_reserve_ga is SECURITY DEFINER');
SELECT is_definer('public', 'tr_reserve_best', ARRAY['uuid', 'integer', 'text', 'text', 'bigint', 'boolean', 'text', 'interval'], 'tr_reserve_best is SECURITY DEFINER');
SELECT function_privs_are('public', 'tr_add_ga_area', ARRAY['uuid', 'text', 'integer', 'bigint'], 'public', '{}', 'PUBLIC cannot execute tr_add_ga_area');
SELECT function_privs_are('public', 'tr_update_ga_area', ARRAY['uuid', 'integer', 'bigint'], 'public', '{}', 'PUBLIC cannot execute tr_update_ga_area');
SELECT function_privs_are('public', 'tr_reserve_ga', ARRAY['uuid', 'text', 'integer', 'text', 'text', 'interval'], 'public', '{}', 'PUBLIC cannot execute tr_reserve_ga');
SELECT function_privs_are('public', 'tr_reserve_best', ARRAY['uuid', 'integer', 'text', 'text', 'bigint', 'boolean', 'text', 'interval'], 'public', '{}', 'PUBLIC cannot execute tr_reserve_best');
SELECT function_privs_are('public', 'tr_list_ga_areas', ARRAY['uuid'], 'public', '{EXECUTE}', 'PUBLIC may execute tr_list_ga_areas (like the seat map)');
SELECT function_privs_are('public', 'tr_ga_available', ARRAY['uuid', 'text'], 'public', '{EXECUTE}', 'PUBLIC may execute tr_ga_available');
SELECT volatility_is('public', 'tr_reserve_ga', ARRAY['uuid', 'text', 'integer', 'text', 'text', 'interval'], 'volatile', 'tr_reserve_ga is VOLATILE');
SELECT volatility_is('public', 'tr_reserve_best', ARRAY['uuid', 'integer', 'text', 'text', 'bigint', 'boolean', 'text', 'interval'], 'volatile', 'tr_reserve_best is VOLATILE');
SELECT volatility_is('public', 'tr_ga_available', ARRAY['uuid', 'text'], 'stable', 'tr_ga_available is STABLE (read-only over HTTP)');
SELECT ok(ticketres._web_functions('anon') @> ARRAY['tr_list_ga_areas(uuid)', 'tr_ga_available(uuid, text)'],
    'anonymous web role: areas and their availability');
SELECT ok(ticketres._web_functions('authenticated') @> ARRAY['tr_reserve_ga(uuid, text, int, text, text, interval)',
    'tr_reserve_best(uuid, int, text, text, bigint, boolean, text, interval)'], 'buyers: tr_reserve_ga and tr_reserve_best');
SELECT ok(ticketres._web_functions('admin') @> ARRAY['tr_add_ga_area(uuid, text, int, bigint)',
    'tr_update_ga_area(uuid, int, bigint)'], 'admin: the areas');
SELECT ok(obj_description(p.oid, 'pg_proc') IS NOT NULL, p.proname || ' has a COMMENT (OpenAPI)')
  FROM pg_proc p WHERE p.proname IN ('tr_add_ga_area', 'tr_update_ga_area', 'tr_list_ga_areas', 'tr_ga_available',
                                     'tr_reserve_ga', 'tr_reserve_best')
 ORDER BY p.proname;

-- fixtures: an event with an area of 3 and a 2x4 seat block
CREATE TEMP TABLE fx AS
SELECT (tr_create_event('pgtap GA', now() + interval '1 day', now() + interval '2 days')).id AS ev;
SELECT lives_ok($$SELECT tr_add_ga_area((SELECT ev FROM fx), 'Lawn', 3, 1200)$$, 'tr_add_ga_area adds an area');
SELECT lives_ok($$SELECT tr_generate_seats((SELECT ev FROM fx), 'S', 2, 4, 100)$$, 'seats for best available');

-- the new errors of the catalogue
SELECT throws_ok($$SELECT tr_reserve_ga((SELECT ev FROM fx), 'Pit', 1, 'u1')$$, 'PT404', 'area not found', 'unknown area: PT404 area not found');
SELECT throws_ok($$SELECT tr_reserve_ga((SELECT ev FROM fx), 'Lawn', 4, 'u1')$$, 'PT409', 'sold out', 'more than left: PT409 sold out');
SELECT throws_ok($$SELECT tr_reserve_best((SELECT ev FROM fx), 5, 'u1')$$, 'PT409', 'not enough seats', 'no fitting block: PT409 not enough seats');
SELECT lives_ok($$SELECT tr_reserve_ga((SELECT ev FROM fx), 'Lawn', 2, 'u1')$$, 'two of three held');
SELECT throws_ok($$SELECT tr_update_ga_area((SELECT id FROM ticketres.ga_areas WHERE name = 'Lawn'), 1)$$,
    'PT409', 'capacity below sold', 'capacity under what is held: PT409 capacity below sold');
SELECT throws_ok($$SELECT tr_reserve_ga((SELECT ev FROM fx), 'Lawn', 2, 'u2', repeat('k', 201))$$, '22023', 'idempotency_key is too long',
    'a key over 200 bytes: 22023');
SELECT throws_ok($$SELECT tr_reserve_best((SELECT ev FROM fx), 2, 'u2', section => repeat('s', 101))$$, '22023',
    'section must be 1 to 100 characters', 'a section over 100 characters: 22023');
SELECT throws_ok($$SELECT tr_reserve_ga((SELECT ev FROM fx), 'Lawn', 1, 'u3', 'k1'); SELECT tr_reserve_best((SELECT ev FROM fx), 1, 'u3', idempotency_key => 'k1')$$,
    'PT422', 'idempotency key reused', 'a GA key reused for best available: PT422');

-- an empty search_path (as PostgREST may set it) changes nothing
SET LOCAL search_path = '';
CREATE TEMP TABLE es AS SELECT
    (public.tr_reserve_ga((SELECT ev FROM pg_temp.fx), 'Lawn', 1, 'u4')).quantity AS ga_qty,
    pg_catalog.cardinality((public.tr_reserve_best((SELECT ev FROM pg_temp.fx), 4, 'u5')).seat_ids) AS best_n,
    (SELECT pg_catalog.count(*) FROM public.tr_list_ga_areas((SELECT ev FROM pg_temp.fx))) AS areas;
ALTER TABLE es ADD COLUMN ga_left bigint;
UPDATE es SET ga_left = public.tr_ga_available((SELECT ev FROM pg_temp.fx), 'Lawn');
RESET search_path;
SELECT is((SELECT ga_qty FROM es)::int, 1, 'tr_reserve_ga works with an empty search_path');
SELECT is((SELECT ga_left FROM es), 0::bigint, 'tr_ga_available works with an empty search_path');
SELECT is((SELECT best_n FROM es), 4, 'tr_reserve_best works with an empty search_path');
SELECT is((SELECT areas FROM es), 1::bigint, 'tr_list_ga_areas works with an empty search_path');

-- tr_set_best_available: an event not sold by best available keeps its
-- seats out of the best-available indexes, and their updates are HOT
SELECT is_definer('public', 'tr_set_best_available', ARRAY['uuid', 'boolean'], 'tr_set_best_available is SECURITY DEFINER');
SELECT function_privs_are('public', 'tr_set_best_available', ARRAY['uuid', 'boolean'], 'public', '{}', 'PUBLIC cannot execute tr_set_best_available');
SELECT ok('tr_set_best_available(uuid, boolean)' = ANY (ticketres._web_functions('admin')), 'tr_set_best_available is in the admin tier');
SELECT throws_ok($$SELECT tr_set_best_available(NULL, false)$$, '22023', 'event_id must not be null', 'tr_set_best_available: NULL event: 22023');
SELECT throws_ok($$SELECT tr_set_best_available((SELECT ev FROM fx), NULL)$$, '22023', 'enabled must not be null', 'tr_set_best_available: NULL enabled: 22023');
SELECT throws_ok($$SELECT tr_set_best_available(gen_random_uuid(), false)$$, 'PT404', 'event not found', 'tr_set_best_available: unknown event: PT404');
CREATE TEMP TABLE fx2 AS
SELECT (tr_create_event('pgtap no best', now() + interval '1 day', now() + interval '2 days')).id AS ev;
SELECT is((SELECT best_available FROM ticketres.events WHERE id = (SELECT ev FROM fx2)), true, 'a new event is sold by best available');
SELECT is((tr_set_best_available((SELECT ev FROM fx2), false)).best_available, false, 'tr_set_best_available turns it off and returns the event');
SELECT lives_ok($$SELECT tr_generate_seats((SELECT ev FROM fx2), 'T', 2, 3, 100);
                 SELECT tr_add_seats((SELECT ev FROM fx2), '[{"label": "X1"}]')$$, 'seats added to it');
SELECT is((SELECT count(*) FROM ticketres.seats WHERE event_id = (SELECT ev FROM fx2) AND NOT best_available AND NOT best_free),
          7::bigint, 'its seats, generated or added, are not in the best-available indexes');
SELECT throws_ok($$SELECT tr_reserve_best((SELECT ev FROM fx2), 1, 'u6')$$, 'PT409', 'not enough seats',
    'tr_reserve_best refuses an event not sold by best available: PT409 not enough seats');
CREATE TEMP TABLE hot0 AS SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relid = 'ticketres.seats'::regclass;
SELECT lives_ok($$SELECT tr_reserve((SELECT ev FROM fx2), 'u6', ARRAY(SELECT id FROM ticketres.seats WHERE event_id = (SELECT ev FROM fx2) AND label LIKE 'T-1-%'))$$,
    'tr_reserve of three of its seats');
SELECT is((SELECT (x.n_tup_hot_upd - h.n_tup_hot_upd, x.n_tup_upd - h.n_tup_upd)::text
             FROM pg_stat_xact_user_tables x, hot0 h WHERE x.relid = 'ticketres.seats'::regclass),
          '(3,3)', 'the three seat updates of that reserve are HOT');
SELECT lives_ok($$SELECT tr_set_best_available((SELECT ev FROM fx2), true)$$, 'turned back on');
SELECT is((SELECT count(*) FILTER (WHERE best_free) || '/' || count(*) FILTER (WHERE best_available)
             FROM ticketres.seats WHERE event_id = (SELECT ev FROM fx2)),
          '4/7', 'every seat sold by best available again, the four available ones in its indexes');
SELECT is(cardinality((tr_reserve_best((SELECT ev FROM fx2), 2, 'u7')).seat_ids), 2, 'tr_reserve_best sells it again');
SELECT is((SELECT sum(violations) FROM ticketres.check_invariants()), 0::numeric, 'no invariant is violated');

SELECT * FROM finish();
ROLLBACK;

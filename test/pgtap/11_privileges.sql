-- 11_privileges.sql — who may call what. PUBLIC may read events, seats and
-- availability; it may not execute anything that writes, the user-data
-- reads, nor the internal ticketres._* helpers; no table is granted to it.
BEGIN;
SELECT plan(40);

-- writing functions and the user-data reads: not for PUBLIC
SELECT function_privs_are('public', 'tr_create_event', ARRAY['text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'text', 'interval', 'integer'], 'public', '{}', 'PUBLIC cannot execute tr_create_event');
SELECT function_privs_are('public', 'tr_update_event', ARRAY['uuid', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'text', 'interval', 'integer'], 'public', '{}', 'PUBLIC cannot execute tr_update_event');
SELECT function_privs_are('public', 'tr_delete_event', ARRAY['uuid'], 'public', '{}', 'PUBLIC cannot execute tr_delete_event');
SELECT function_privs_are('public', 'tr_add_seats', ARRAY['uuid', 'jsonb'], 'public', '{}', 'PUBLIC cannot execute tr_add_seats');
SELECT function_privs_are('public', 'tr_generate_seats', ARRAY['uuid', 'text', 'integer', 'integer', 'bigint'], 'public', '{}', 'PUBLIC cannot execute tr_generate_seats');
SELECT function_privs_are('public', 'tr_reserve', ARRAY['uuid', 'text', 'uuid[]', 'text', 'interval'], 'public', '{}', 'PUBLIC cannot execute tr_reserve');
SELECT function_privs_are('public', 'tr_confirm', ARRAY['uuid', 'text'], 'public', '{}', 'PUBLIC cannot execute tr_confirm');
SELECT function_privs_are('public', 'tr_cancel', ARRAY['uuid', 'text'], 'public', '{}', 'PUBLIC cannot execute tr_cancel');
SELECT function_privs_are('public', 'tr_expire', ARRAY['integer'], 'public', '{}', 'PUBLIC cannot execute tr_expire');
SELECT function_privs_are('public', 'tr_get_reservation', ARRAY['uuid', 'text'], 'public', '{}', 'PUBLIC cannot execute tr_get_reservation');
SELECT function_privs_are('public', 'tr_list_reservations', ARRAY['text', 'integer', 'integer'], 'public', '{}', 'PUBLIC cannot execute tr_list_reservations');

-- internal helpers: not for PUBLIC
SELECT function_privs_are('ticketres', '_caller', ARRAY['text'], 'public', '{}', 'PUBLIC cannot execute ticketres._caller');
SELECT function_privs_are('ticketres', '_count_add', ARRAY['uuid', 'bigint'], 'public', '{}', 'PUBLIC cannot execute ticketres._count_add');
SELECT function_privs_are('ticketres', '_check_event', ARRAY['text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'text', 'interval', 'integer'], 'public', '{}', 'PUBLIC cannot execute ticketres._check_event');
SELECT function_privs_are('ticketres', '_event_must_exist', ARRAY['uuid'], 'public', '{}', 'PUBLIC cannot execute ticketres._event_must_exist');
SELECT function_privs_are('ticketres', '_event_for_seats', ARRAY['uuid'], 'public', '{}', 'PUBLIC cannot execute ticketres._event_for_seats');
SELECT function_privs_are('ticketres', '_effective', ARRAY['ticketres.reservations'], 'public', '{}', 'PUBLIC cannot execute ticketres._effective');
SELECT function_privs_are('ticketres', 'check_invariants', '{}'::name[], 'public', '{}', 'PUBLIC cannot execute ticketres.check_invariants');

-- the public reads stay public (anonymous web role)
SELECT function_privs_are('public', 'tr_get_event', ARRAY['uuid'], 'public', '{EXECUTE}', 'PUBLIC may execute tr_get_event');
SELECT function_privs_are('public', 'tr_list_events', ARRAY['integer', 'integer'], 'public', '{EXECUTE}', 'PUBLIC may execute tr_list_events');
SELECT function_privs_are('public', 'tr_list_seats', ARRAY['uuid', 'text'], 'public', '{EXECUTE}', 'PUBLIC may execute tr_list_seats');
SELECT function_privs_are('public', 'tr_available_count', ARRAY['uuid'], 'public', '{EXECUTE}', 'PUBLIC may execute tr_available_count');

-- catch-alls that also cover functions later issues add
CREATE TEMP VIEW ext_funcs AS
SELECT p.oid, p.oid::regprocedure::text AS sig, p.proname, p.pronamespace, p.provolatile
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
       AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'ticketres';
SELECT is_empty($$SELECT sig FROM ext_funcs WHERE provolatile = 'v'
                    AND has_function_privilege('public', oid, 'EXECUTE')$$,
    'no VOLATILE (writing) function of the extension is executable by PUBLIC');
SELECT is_empty($$SELECT sig FROM ext_funcs WHERE pronamespace = 'ticketres'::regnamespace
                    AND proname LIKE '\_%' AND has_function_privilege('public', oid, 'EXECUTE')$$,
    'no internal ticketres._* helper is executable by PUBLIC');

-- tables: nothing for PUBLIC
SELECT table_privs_are('ticketres', 'events', 'public', '{}', 'no privilege on events for PUBLIC');
SELECT table_privs_are('ticketres', 'seats', 'public', '{}', 'no privilege on seats for PUBLIC');
SELECT table_privs_are('ticketres', 'reservations', 'public', '{}', 'no privilege on reservations for PUBLIC');
SELECT table_privs_are('ticketres', 'seat_counts', 'public', '{}', 'no privilege on seat_counts for PUBLIC');
SELECT is_empty($$SELECT c.relname FROM pg_catalog.pg_class c
                   WHERE c.relnamespace = 'ticketres'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'S')
                     AND (has_table_privilege('public', c.oid, 'SELECT')
                          OR has_table_privilege('public', c.oid, 'INSERT')
                          OR has_table_privilege('public', c.oid, 'UPDATE')
                          OR has_table_privilege('public', c.oid, 'DELETE'))$$,
    'no relation in schema ticketres is granted to PUBLIC');

-- the same, as a role that has only what PUBLIC has
CREATE TEMP TABLE fx AS
SELECT (tr_create_event('privs', now() + interval '1 day', now() + interval '2 days')).id AS ev;
CREATE TEMP TABLE fx_n AS SELECT tr_generate_seats(ev, 'P', 1, 3, 100) AS n FROM fx;
CREATE TEMP TABLE fs AS SELECT s.id FROM ticketres.seats s, fx WHERE s.event_id = fx.ev;
CREATE ROLE tr_tap_nobody NOLOGIN;
GRANT SELECT ON fx, fs TO tr_tap_nobody;
SET LOCAL ROLE tr_tap_nobody;
SELECT is((SELECT tr_available_count(ev) FROM fx), 3::bigint, 'a PUBLIC-only role reads availability');
SELECT is((SELECT (tr_get_event(ev)).name FROM fx), 'privs', 'a PUBLIC-only role reads an event');
SELECT is((SELECT count(*) FROM fx, tr_list_seats(fx.ev)), 3::bigint, 'a PUBLIC-only role reads the seat map');
SELECT throws_ok($$SELECT tr_reserve(ev, 'mallory', ARRAY(SELECT id FROM fs LIMIT 1)) FROM fx$$,
    '42501', NULL, 'a PUBLIC-only role cannot reserve');
SELECT throws_ok($$SELECT tr_expire(10)$$, '42501', NULL, 'a PUBLIC-only role cannot run expiry');
SELECT throws_ok($$SELECT tr_delete_event(ev) FROM fx$$, '42501', NULL, 'a PUBLIC-only role cannot delete an event');
SELECT throws_ok($$SELECT tr_list_reservations('alice')$$, '42501', NULL, 'a PUBLIC-only role cannot list reservations');
SELECT throws_ok($$SELECT ticketres._count_add(ev, 1000) FROM fx$$, '42501', NULL, 'a PUBLIC-only role cannot move the counter');
SELECT throws_ok($$SELECT count(*) FROM ticketres.seats$$, '42501', NULL, 'a PUBLIC-only role cannot read the seats table');
SELECT throws_ok($$UPDATE ticketres.seats SET status = 'available'$$, '42501', NULL, 'a PUBLIC-only role cannot write the seats table');
RESET ROLE;
SELECT is((SELECT count(*) FROM ticketres.reservations r, fx WHERE r.event_id = fx.ev), 0::bigint,
    'the refused calls left no reservation behind');

SELECT * FROM finish();
ROLLBACK;

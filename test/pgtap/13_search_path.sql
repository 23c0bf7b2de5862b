-- 13_search_path.sql — every public function is SECURITY DEFINER with a
-- pinned search_path, and works the same whatever search_path the caller
-- has: empty (as PostgREST may set it) or hostile (a schema that shadows
-- tables, functions and operators).
BEGIN;
SELECT plan(46);

SELECT is_definer('public', 'tr_create_event', ARRAY['text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'text', 'interval', 'integer'], 'tr_create_event is SECURITY DEFINER');
SELECT is_definer('public', 'tr_update_event', ARRAY['uuid', 'text', 'timestamp with time zone', 'timestamp with time zone', 'text', 'text', 'interval', 'integer'], 'tr_update_event is SECURITY DEFINER');
SELECT is_definer('public', 'tr_delete_event', ARRAY['uuid'], 'tr_delete_event is SECURITY DEFINER');
SELECT is_definer('public', 'tr_get_event', ARRAY['uuid'], 'tr_get_event is SECURITY DEFINER');
SELECT is_definer('public', 'tr_list_events', ARRAY['integer', 'integer'], 'tr_list_events is SECURITY DEFINER');
SELECT is_definer('public', 'tr_add_seats', ARRAY['uuid', 'jsonb'], 'tr_add_seats is SECURITY DEFINER');
SELECT is_definer('public', 'tr_generate_seats', ARRAY['uuid', 'text', 'integer', 'integer', 'bigint'], 'tr_generate_seats is SECURITY DEFINER');
SELECT is_definer('public', 'tr_list_seats', ARRAY['uuid', 'text'], 'tr_list_seats is SECURITY DEFINER');
SELECT is_definer('public', 'tr_available_count', ARRAY['uuid'], 'tr_available_count is SECURITY DEFINER');
SELECT is_definer('public', 'tr_reserve', ARRAY['uuid', 'text', 'uuid[]', 'text', 'interval'], 'tr_reserve is SECURITY DEFINER');
SELECT is_definer('public', 'tr_confirm', ARRAY['uuid', 'text'], 'tr_confirm is SECURITY DEFINER');
SELECT is_definer('public', 'tr_cancel', ARRAY['uuid', 'text'], 'tr_cancel is SECURITY DEFINER');
SELECT is_definer('public', 'tr_get_reservation', ARRAY['uuid', 'text'], 'tr_get_reservation is SECURITY DEFINER');
SELECT is_definer('public', 'tr_list_reservations', ARRAY['text', 'integer', 'integer'], 'tr_list_reservations is SECURITY DEFINER');
SELECT is_definer('public', 'tr_expire', ARRAY['integer'], 'tr_expire is SECURITY DEFINER');

-- catch-alls over the catalog, which also cover functions later issues add
CREATE TEMP VIEW ext_funcs AS
SELECT p.oid::regprocedure::text AS sig, p.proname, p.prosecdef, p.proconfig, p.oid
  FROM pg_catalog.pg_proc p
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
       AND d.deptype = 'e'
  JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'ticketres';
SELECT is_empty($$SELECT sig FROM ext_funcs WHERE proname LIKE 'tr\_%' AND NOT prosecdef$$,
    'every tr_* function of the extension is SECURITY DEFINER');
SELECT is_empty($$SELECT sig FROM ext_funcs WHERE prosecdef
                    AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (proconfig), false)$$,
    'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
SELECT is_empty($$SELECT sig FROM ext_funcs WHERE proname LIKE 'tr\_%'
                    AND coalesce(obj_description(oid, 'pg_proc'), '') = ''$$,
    'every tr_* function has a COMMENT (PostgREST''s OpenAPI)');

------------------------------------------------------------------------------
-- the whole lifecycle with an empty search_path, every name qualified
------------------------------------------------------------------------------
CREATE TEMP TABLE sp (k text PRIMARY KEY, v text);
SET LOCAL search_path = '';
INSERT INTO pg_temp.sp SELECT 'ev', e.id::text
  FROM public.tr_create_event('empty path', pg_catalog.now() + '1 day'::interval,
                              pg_catalog.now() + '2 days'::interval, 'hall') e;
INSERT INTO pg_temp.sp SELECT 'generated', public.tr_generate_seats(v::uuid, 'S', 2, 5, 700)::text
  FROM pg_temp.sp WHERE k = 'ev';
INSERT INTO pg_temp.sp SELECT 'added', public.tr_add_seats(v::uuid, '[{"label":"X-1","price":5},{"label":"X-2"}]')::text
  FROM pg_temp.sp WHERE k = 'ev';
INSERT INTO pg_temp.sp SELECT 'count0', public.tr_available_count(v::uuid)::text FROM pg_temp.sp WHERE k = 'ev';
INSERT INTO pg_temp.sp SELECT 'r1', r.id::text || ' ' || r.status::text || ' ' || r.total_amount::text
  FROM pg_temp.sp e, public.tr_reserve(e.v::uuid, 'sp-user',
       ARRAY(SELECT s.id FROM ticketres.seats s WHERE s.event_id = e.v::uuid AND s.label IN ('S-1-1', 'S-1-2')),
       'k1') r WHERE e.k = 'ev';
INSERT INTO pg_temp.sp SELECT 'replay', (r.id::text = pg_catalog.split_part(p.v, ' ', 1))::text
  FROM pg_temp.sp e, pg_temp.sp p, public.tr_reserve(e.v::uuid, 'sp-user',
       ARRAY(SELECT s.id FROM ticketres.seats s WHERE s.event_id = e.v::uuid AND s.label IN ('S-1-2', 'S-1-1')),
       'k1') r WHERE e.k = 'ev' AND p.k = 'r1';
INSERT INTO pg_temp.sp SELECT 'confirm', r.status::text
  FROM pg_temp.sp p, public.tr_confirm(pg_catalog.split_part(p.v, ' ', 1)::uuid, 'sp-user') r WHERE p.k = 'r1';
INSERT INTO pg_temp.sp SELECT 'r2', r.id::text
  FROM pg_temp.sp e, public.tr_reserve(e.v::uuid, 'sp-user',
       ARRAY(SELECT s.id FROM ticketres.seats s WHERE s.event_id = e.v::uuid AND s.label = 'X-1')) r WHERE e.k = 'ev';
INSERT INTO pg_temp.sp SELECT 'cancel', r.status::text
  FROM pg_temp.sp p, public.tr_cancel(p.v::uuid, 'sp-user') r WHERE p.k = 'r2';
INSERT INTO pg_temp.sp SELECT 'r3', r.id::text
  FROM pg_temp.sp e, public.tr_reserve(e.v::uuid, 'sp-user',
       ARRAY(SELECT s.id FROM ticketres.seats s WHERE s.event_id = e.v::uuid AND s.label = 'X-2'), NULL,
       '1 second'::interval) r WHERE e.k = 'ev';
UPDATE ticketres.reservations r SET expires_at = pg_catalog.now() - '1 minute'::interval
  FROM pg_temp.sp p WHERE p.k = 'r3' AND r.id = p.v::uuid;
INSERT INTO pg_temp.sp SELECT 'count_overdue', public.tr_available_count(v::uuid)::text FROM pg_temp.sp WHERE k = 'ev';
INSERT INTO pg_temp.sp SELECT 'expire', public.tr_expire(1000)::text;
INSERT INTO pg_temp.sp SELECT 'get', r.status::text
  FROM pg_temp.sp p, public.tr_get_reservation(p.v::uuid, 'sp-user') r WHERE p.k = 'r3';
INSERT INTO pg_temp.sp SELECT 'list', pg_catalog.string_agg(r.status::text, ',' ORDER BY r.status)
  FROM public.tr_list_reservations('sp-user') r;
INSERT INTO pg_temp.sp SELECT 'seats_confirmed', pg_catalog.string_agg(s.label, ',' ORDER BY s.label)
  FROM pg_temp.sp e, public.tr_list_seats(e.v::uuid, 'confirmed') s WHERE e.k = 'ev';
INSERT INTO pg_temp.sp SELECT 'update', u.name
  FROM pg_temp.sp e, public.tr_update_event(e.v::uuid, name => 'renamed') u WHERE e.k = 'ev';
INSERT INTO pg_temp.sp SELECT 'get_event', g.name || ' ' || g.venue
  FROM pg_temp.sp e, public.tr_get_event(e.v::uuid) g WHERE e.k = 'ev';
INSERT INTO pg_temp.sp SELECT 'listed', pg_catalog.count(*)::text
  FROM pg_temp.sp e, public.tr_list_events(1000) l WHERE e.k = 'ev' AND l.id = e.v::uuid;
INSERT INTO pg_temp.sp SELECT 'count1', public.tr_available_count(v::uuid)::text FROM pg_temp.sp WHERE k = 'ev';
INSERT INTO pg_temp.sp SELECT 'violations', pg_catalog.sum(violations)::text FROM ticketres.check_invariants();
DO $$
DECLARE st text; m text;
BEGIN
    PERFORM public.tr_reserve(e.v::uuid, 'other',
        ARRAY(SELECT s.id FROM ticketres.seats s WHERE s.event_id = e.v::uuid AND s.label = 'S-1-1'))
       FROM pg_temp.sp e WHERE e.k = 'ev';
    INSERT INTO pg_temp.sp VALUES ('error', 'none');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
    INSERT INTO pg_temp.sp VALUES ('error', st || ' ' || m);
END $$;
INSERT INTO pg_temp.sp SELECT 'ev_tmp', e.id::text
  FROM public.tr_create_event('to delete', pg_catalog.now() + '1 day'::interval, pg_catalog.now() + '2 days'::interval) e;
INSERT INTO pg_temp.sp SELECT 'delete', public.tr_delete_event(v::uuid)::text FROM pg_temp.sp WHERE k = 'ev_tmp';
SET LOCAL search_path = public;

CREATE FUNCTION pg_temp.v(key text) RETURNS text LANGUAGE sql AS $$ SELECT v FROM pg_temp.sp WHERE k = key $$;
SELECT isnt(pg_temp.v('ev'), NULL, 'empty search_path: tr_create_event');
SELECT is(pg_temp.v('generated'), '10', 'empty search_path: tr_generate_seats');
SELECT is(pg_temp.v('added'), '2', 'empty search_path: tr_add_seats');
SELECT is(pg_temp.v('count0'), '12', 'empty search_path: tr_available_count');
SELECT matches(pg_temp.v('r1'), ' pending 1400$', 'empty search_path: tr_reserve holds two seats at their price');
SELECT is(pg_temp.v('replay'), 'true', 'empty search_path: an idempotent replay returns the same reservation');
SELECT is(pg_temp.v('confirm'), 'confirmed', 'empty search_path: tr_confirm');
SELECT is(pg_temp.v('cancel'), 'cancelled', 'empty search_path: tr_cancel');
SELECT is(pg_temp.v('count_overdue'), '10', 'empty search_path: an overdue hold counts as available');
SELECT is(pg_temp.v('expire'), '1', 'empty search_path: tr_expire');
SELECT is(pg_temp.v('get'), 'expired', 'empty search_path: tr_get_reservation');
SELECT is(pg_temp.v('list'), 'confirmed,cancelled,expired', 'empty search_path: tr_list_reservations');
SELECT is(pg_temp.v('seats_confirmed'), 'S-1-1,S-1-2', 'empty search_path: tr_list_seats by status');
SELECT is(pg_temp.v('update'), 'renamed', 'empty search_path: tr_update_event');
SELECT is(pg_temp.v('get_event'), 'renamed hall', 'empty search_path: tr_get_event');
SELECT is(pg_temp.v('listed'), '1', 'empty search_path: tr_list_events');
SELECT is(pg_temp.v('count1'), '10', 'empty search_path: the count after confirm, cancel and expiry');
SELECT is(pg_temp.v('violations'), '0', 'empty search_path: ticketres.check_invariants finds nothing');
SELECT is(pg_temp.v('error'), 'PT409 seat unavailable', 'empty search_path: errors keep their SQLSTATE and message');
SELECT is(pg_temp.v('delete'), '', 'empty search_path: tr_delete_event');
SELECT is((SELECT count(*) FROM ticketres.events WHERE id = pg_temp.v('ev_tmp')::uuid), 0::bigint,
    'empty search_path: the event is gone');

------------------------------------------------------------------------------
-- a hostile search_path: shadowing tables, functions and operators
------------------------------------------------------------------------------
CREATE SCHEMA evil;
CREATE TABLE evil.seats (id uuid, status text);
CREATE TABLE evil.reservations (id uuid);
CREATE TABLE evil.seat_counts (available bigint);
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS $$ SELECT 'epoch'::timestamptz $$;
CREATE FUNCTION evil.gen_random_uuid() RETURNS uuid LANGUAGE sql AS $$ SELECT '00000000-0000-0000-0000-000000000000'::uuid $$;
CREATE FUNCTION evil.always(uuid, uuid) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR evil.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = evil.always);
CREATE FUNCTION evil.always_text(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.always_text);
CREATE TEMP TABLE ev AS SELECT (tr_create_event('hostile', now() + interval '1 day', now() + interval '2 days')).id;
CREATE TEMP TABLE n AS SELECT tr_generate_seats(id, 'H', 1, 4, 10) FROM ev;
CREATE TEMP TABLE hs AS SELECT ARRAY[s.id] AS ids FROM ticketres.seats s, ev
                       WHERE s.event_id = ev.id AND s.label = 'H-1-1';
-- from here on even this test's own "=" would be evil's: no WHERE below
SET LOCAL search_path = evil, pg_catalog, public;
CREATE TEMP TABLE hr AS SELECT r.* FROM ev, hs, tr_reserve(ev.id, 'eve', hs.ids, 'hk') r;
CREATE TEMP TABLE hc AS SELECT r.* FROM hr, tr_confirm(hr.id, 'eve') r;
CREATE TEMP TABLE hn AS SELECT tr_available_count(ev.id) AS n FROM ev;
CREATE TEMP TABLE hx AS SELECT count(*) AS n FROM tr_list_reservations('mallory');
SET LOCAL search_path = public;
SELECT isnt((SELECT id FROM hr), '00000000-0000-0000-0000-000000000000'::uuid,
    'hostile search_path: reservation ids do not come from a shadowing gen_random_uuid()');
SELECT ok((SELECT expires_at > now() FROM hr), 'hostile search_path: expires_at does not come from a shadowing now()');
SELECT is((SELECT status::text FROM hc), 'confirmed', 'hostile search_path: tr_confirm works');
SELECT is((SELECT n FROM hn), 3::bigint, 'hostile search_path: tr_available_count reads the real counters');
SELECT is((SELECT n FROM hx), 0::bigint, 'hostile search_path: a shadowing = does not show others'' reservations');
SELECT is((SELECT array_agg(status::text ORDER BY label) FROM ticketres.seats s, ev WHERE s.event_id = ev.id),
    ARRAY['confirmed', 'available', 'available', 'available'],
    'hostile search_path: exactly the one seat was sold');
SELECT is_empty($$SELECT * FROM ticketres.check_invariants() WHERE violations <> 0$$,
    'every invariant holds after the hostile run');

SELECT * FROM finish();
ROLLBACK;

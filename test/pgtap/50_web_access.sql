-- 50_web_access.sql — tr_grant_web_access: the PostgREST roles get USAGE on
-- the extension's schema and EXECUTE on functions per tier, never tables.
BEGIN;
SELECT plan(15);
SET LOCAL search_path = public;

SELECT is_definer('tr_grant_web_access', ARRAY['name', 'name', 'name'],
    'tr_grant_web_access is SECURITY DEFINER');
SELECT function_privs_are('tr_grant_web_access', ARRAY['name', 'name', 'name'], 'public', ARRAY[]::text[],
    'PUBLIC may not execute tr_grant_web_access');

SELECT throws_ok($$SELECT tr_grant_web_access(NULL, 'u', 'a')$$, '22023',
    'anon, authenticated and admin must not be null', 'a NULL role is 22023');
SELECT throws_ok($$SELECT tr_grant_web_access('same', 'same', 'a')$$, '22023',
    'anon, authenticated and admin must be three different roles', 'a repeated role is 22023');
SELECT throws_ok($$SELECT tr_grant_web_access(current_user, 'pgtap_u', 'pgtap_a')$$, '22023',
    NULL, 'a superuser as web role is 22023');

SELECT lives_ok($$SELECT tr_grant_web_access('pgtap_anon', 'pgtap_user', 'pgtap_admin')$$,
    'creates the missing roles and grants');
SELECT lives_ok($$SELECT tr_grant_web_access('pgtap_anon', 'pgtap_user', 'pgtap_admin')$$,
    'is idempotent');
SELECT ok(NOT rolcanlogin, 'role ' || rolname || ' is NOLOGIN')
  FROM pg_roles WHERE rolname = 'pgtap_anon';

SELECT ok(has_function_privilege('pgtap_anon', 'tr_get_event(uuid)', 'EXECUTE')
      AND NOT has_function_privilege('pgtap_anon', 'tr_reserve(uuid, text, uuid[], text, interval)', 'EXECUTE'),
    'anon reads events but may not reserve');
SELECT ok(has_function_privilege('pgtap_user', 'tr_reserve(uuid, text, uuid[], text, interval)', 'EXECUTE')
      AND has_function_privilege('pgtap_user', 'tr_list_seats(uuid, text)', 'EXECUTE')
      AND NOT has_function_privilege('pgtap_user', 'tr_create_event(text, timestamptz, timestamptz, text, text, interval, int)', 'EXECUTE'),
    'authenticated reserves and reads but may not manage events');
SELECT ok(has_function_privilege('pgtap_admin', 'tr_create_event(text, timestamptz, timestamptz, text, text, interval, int)', 'EXECUTE')
      AND has_function_privilege('pgtap_admin', 'tr_expire(int)', 'EXECUTE')
      AND has_function_privilege('pgtap_admin', 'tr_cancel(uuid, text)', 'EXECUTE'),
    'admin manages events and runs operations');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                  WHERE p.pronamespace = (SELECT extnamespace FROM pg_extension WHERE extname = 'ticketres')
                    AND p.proname LIKE 'tr\_%' AND p.proname <> 'tr_grant_web_access'
                    AND NOT has_function_privilege('pgtap_admin', p.oid, 'EXECUTE') ORDER BY 1),
    ARRAY[]::text[], 'admin may execute every tr_* function (a new one belongs in ticketres._web_functions)');
SELECT ok(NOT has_function_privilege('pgtap_admin', 'tr_grant_web_access(name, name, name)', 'EXECUTE'),
    'no web role may run tr_grant_web_access');
SELECT is((SELECT count(*) FROM pg_class c, unnest(ARRAY['pgtap_anon', 'pgtap_user', 'pgtap_admin']) r
            WHERE c.relnamespace = 'ticketres'::regnamespace AND c.relkind = 'r'
              AND has_table_privilege(r, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')),
    0::bigint, 'no table privileges for any web role');
SELECT ok(NOT has_schema_privilege('pgtap_user', 'ticketres', 'USAGE')
      AND has_schema_privilege('pgtap_user', (SELECT extnamespace FROM pg_extension WHERE extname = 'ticketres'), 'USAGE'),
    'USAGE on the extension schema only, not on schema ticketres');

SELECT * FROM finish();
ROLLBACK;

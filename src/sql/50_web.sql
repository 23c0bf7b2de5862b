------------------------------------------------------------------------------
-- Web access through PostgREST: the web roles and what each may execute.
------------------------------------------------------------------------------

-- the functions each web role may execute, by signature; *_opt lists the
-- ones other parts of ticketres add (granted only when they exist)
CREATE OR REPLACE FUNCTION ticketres._web_functions(tier text) RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE tier
    WHEN 'anon' THEN ARRAY['tr_get_event(uuid)', 'tr_list_events(int, int)',
        'tr_list_seats(uuid, text)', 'tr_available_count(uuid)',
        'tr_list_ga_areas(uuid)', 'tr_ga_available(uuid, text)']
    WHEN 'anon_opt' THEN ARRAY['tr_health()']
    WHEN 'authenticated' THEN ARRAY['tr_reserve(uuid, text, uuid[], text, interval)',
        'tr_confirm(uuid, text)', 'tr_cancel(uuid, text)', 'tr_get_reservation(uuid, text)',
        'tr_list_reservations(text, int, int)',
        'tr_reserve_ga(uuid, text, int, text, text, interval)',
        'tr_reserve_best(uuid, int, text, text, bigint, boolean, text, interval)']
    WHEN 'authenticated_opt' THEN ARRAY[]::text[]
    WHEN 'admin' THEN ARRAY[
        'tr_create_event(text, timestamptz, timestamptz, text, text, interval, int)',
        'tr_update_event(uuid, text, timestamptz, timestamptz, text, text, interval, int)',
        'tr_set_best_available(uuid, boolean)',
        'tr_delete_event(uuid)', 'tr_add_seats(uuid, jsonb)',
        'tr_generate_seats(uuid, text, int, int, bigint)', 'tr_expire(int)',
        'tr_add_ga_area(uuid, text, int, bigint)', 'tr_update_ga_area(uuid, int, bigint)']
    WHEN 'admin_opt' THEN ARRAY['tr_metrics()', 'tr_schedule_expiry(text)',
        'tr_unschedule_expiry()', 'tr_block_seats(uuid, uuid[], text)',
        'tr_unblock_seats(uuid, uuid[], text)', 'tr_release_reservation(uuid, text)',
        'tr_extend_hold(uuid, interval, text)']
    END
$$;

-- GRANT EXECUTE on the listed functions of the extension's schema to a role;
-- a missing function is an error unless optional
CREATE OR REPLACE FUNCTION ticketres._grant_execute(role_name name, sigs text[], optional boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sig text;
    fn regprocedure;
BEGIN
    FOREACH sig IN ARRAY sigs LOOP
        fn := to_regprocedure(quote_ident(ticketres._extschema()) || '.' || sig);
        IF fn IS NULL AND NOT optional THEN
            RAISE EXCEPTION 'ticketres function %.% is missing', ticketres._extschema(), sig;
        END IF;
        IF fn IS NOT NULL THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', fn, role_name);
        END IF;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION tr_grant_web_access(anon name, authenticated name, admin name) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r name;
    tiers text[];
    t text;
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
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', ticketres._extschema(), r);
        tiers := CASE r WHEN anon THEN ARRAY['anon']
                        WHEN authenticated THEN ARRAY['anon', 'authenticated']
                        ELSE ARRAY['anon', 'authenticated', 'admin'] END;
        FOREACH t IN ARRAY tiers LOOP
            PERFORM ticketres._grant_execute(r, ticketres._web_functions(t), false);
            PERFORM ticketres._grant_execute(r, ticketres._web_functions(t || '_opt'), true);
        END LOOP;
    END LOOP;
END
$$;


COMMENT ON FUNCTION tr_grant_web_access(name, name, name) IS
$$Set up the PostgREST roles: anonymous, authenticated user, admin.
Creates the roles that do not exist (NOLOGIN) and grants USAGE on the extension's schema and EXECUTE on functions only, never on tables. anon: tr_get_event, tr_list_events, tr_list_seats, tr_available_count, tr_health. authenticated: those plus tr_reserve, tr_confirm, tr_cancel, tr_get_reservation, tr_list_reservations (a JWT's "sub" is the user). admin: those plus event and seat management, tr_expire and the operations functions (tr_metrics, tr_schedule_expiry, ...) that are installed. Idempotent: run it again after adding functions. The authenticator role PostgREST logs in as is yours to create (LOGIN NOINHERIT) and must be granted the three roles. Errors: 22023 a role is NULL, repeated or a superuser.$$;

------------------------------------------------------------------------------
-- Operations: invariants, pg_cron expiry job, Redis tools, health, metrics.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION ticketres.seat_lock_keys(seat_id uuid, OUT key1 int, OUT key2 int)
    AS 'MODULE_PATHNAME', 'tr_seat_lock_keys_sql'
    LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- every invariant of DESIGN §2 as a count of violations (all must be 0);
-- scans everything: for tests and audits, not for the hot path
CREATE OR REPLACE FUNCTION ticketres.check_invariants()
RETURNS TABLE (invariant text, violations bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'reserved seat belongs to one pending reservation listing it', count(*)
      FROM ticketres.seats s LEFT JOIN ticketres.reservations r ON r.id = s.reservation_id
     WHERE s.status = 'reserved'
       AND (r.id IS NULL OR r.status <> 'pending' OR r.event_id <> s.event_id
            OR NOT s.id = ANY (r.seat_ids))
    UNION ALL
    SELECT 'confirmed seat belongs to one confirmed reservation listing it', count(*)
      FROM ticketres.seats s LEFT JOIN ticketres.reservations r ON r.id = s.reservation_id
     WHERE s.status = 'confirmed'
       AND (r.id IS NULL OR r.status <> 'confirmed' OR r.event_id <> s.event_id
            OR NOT s.id = ANY (r.seat_ids))
    UNION ALL
    SELECT 'pending reservation holds all its seats', count(*)
      FROM ticketres.reservations r CROSS JOIN LATERAL unnest(r.seat_ids) AS q(sid)
      LEFT JOIN ticketres.seats s ON s.id = q.sid
     WHERE r.status = 'pending'
       AND (s.id IS NULL OR s.status <> 'reserved' OR s.reservation_id <> r.id)
    UNION ALL
    SELECT 'confirmed reservation owns all its seats', count(*)
      FROM ticketres.reservations r CROSS JOIN LATERAL unnest(r.seat_ids) AS q(sid)
      LEFT JOIN ticketres.seats s ON s.id = q.sid
     WHERE r.status = 'confirmed'
       AND (s.id IS NULL OR s.status <> 'confirmed' OR s.reservation_id <> r.id)
    UNION ALL
    SELECT 'seat in at most one pending or confirmed reservation', count(*)
      FROM (SELECT q.sid FROM ticketres.reservations r CROSS JOIN LATERAL unnest(r.seat_ids) AS q(sid)
             WHERE r.status IN ('pending', 'confirmed') GROUP BY q.sid HAVING count(*) > 1) d
    UNION ALL
    SELECT 'total_amount is the sum of seat prices', count(*)
      FROM ticketres.reservations r
     WHERE r.ga_area_id IS NULL
       AND r.total_amount <> (SELECT coalesce(sum(s.price), 0) FROM ticketres.seats s
                               WHERE s.id = ANY (r.seat_ids))
    UNION ALL
    SELECT 'availability counter equals available seats', count(*)
      FROM ticketres.events e
     WHERE (SELECT coalesce(sum(c.available), 0) FROM ticketres.seat_counts c WHERE c.event_id = e.id)
        <> (SELECT count(*) FROM ticketres.seats s WHERE s.event_id = e.id AND s.status = 'available')
    UNION ALL
    SELECT 'reservation belongs to an existing event', count(*)
      FROM ticketres.reservations r
     WHERE NOT EXISTS (SELECT 1 FROM ticketres.events e WHERE e.id = r.event_id)
    UNION ALL
    SELECT 'seat belongs to an existing event', count(*)
      FROM ticketres.seats s
     WHERE NOT EXISTS (SELECT 1 FROM ticketres.events e WHERE e.id = s.event_id)
    UNION ALL
    -- 0.2: best available offers the seats of an event sold by it, no others
    SELECT 'seat is sold by best available exactly when its event is', count(*)
      FROM ticketres.seats s JOIN ticketres.events e ON e.id = s.event_id
     WHERE s.best_available <> e.best_available
    UNION ALL
    SELECT 'reservation quantity is its number of seats, or its GA tickets of an area of its event', count(*)
      FROM ticketres.reservations r
     WHERE (r.ga_area_id IS NULL AND r.quantity IS DISTINCT FROM cardinality(r.seat_ids))
        OR (r.ga_area_id IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM ticketres.ga_areas a WHERE a.id = r.ga_area_id AND a.event_id = r.event_id))
    UNION ALL
    -- invariant 5 (general admission)
    SELECT 'GA area: live tickets within capacity, tr_ga_available = capacity - live', count(*)
      FROM ticketres.ga_areas a
      CROSS JOIN LATERAL (SELECT coalesce(sum(r.quantity), 0) AS n FROM ticketres.reservations r
                           WHERE r.ga_area_id = a.id
                             AND (r.status = 'confirmed'
                                  OR (r.status = 'pending' AND r.expires_at > clock_timestamp()))) live
     WHERE live.n > a.capacity OR ticketres._ga_left(a.id) <> a.capacity - live.n
    UNION ALL
    SELECT 'GA counter equals capacity minus pending and confirmed tickets', count(*)
      FROM ticketres.ga_areas a
     WHERE (SELECT coalesce(sum(c.available), 0) FROM ticketres.ga_counts c WHERE c.area_id = a.id)
        <> a.capacity - (SELECT coalesce(sum(r.quantity), 0) FROM ticketres.reservations r
                          WHERE r.ga_area_id = a.id AND r.status IN ('pending', 'confirmed'))
$$;


-- The pg_cron job: tr_expire() while the extension exists; once it has been
-- dropped, the job removes itself instead of failing every minute (and a run
-- that races DROP EXTENSION or a second run of the removed job does not fail).
CREATE OR REPLACE FUNCTION ticketres._expiry_job_command() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('DO $ticketres$ BEGIN'
                  ' IF pg_catalog.to_regprocedure(%L) IS NOT NULL THEN PERFORM %I.tr_expire();'
                  ' ELSIF pg_catalog.to_regnamespace(''cron'') IS NOT NULL THEN'
                  '  PERFORM cron.unschedule(j.jobid) FROM cron.job j WHERE j.jobname = %L;'
                  ' END IF;'
                  ' EXCEPTION WHEN undefined_function OR undefined_table THEN NULL;'
                  ' END $ticketres$',
                  format('%I.tr_expire(integer)', ticketres._extschema()), ticketres._extschema(),
                  'ticketres-expire')
$$;

-- 55000 unless pg_cron can schedule jobs from this database
CREATE OR REPLACE FUNCTION ticketres._cron_must_exist(schedule text DEFAULT '* * * * *') RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cron_db text := current_setting('cron.database_name', true);
BEGIN
    IF to_regprocedure('cron.schedule(text,text,text)') IS NOT NULL THEN
        RETURN;
    END IF;
    IF cron_db IS NOT NULL AND cron_db <> current_database() THEN
        RAISE EXCEPTION 'pg_cron runs in another database' USING ERRCODE = '55000',
            DETAIL = format('pg_cron is loaded with cron.database_name = %L; this database is %L.',
                            cron_db, current_database()),
            HINT = format('Connect to %s and run: SELECT cron.schedule_in_database(%L, %L, %L, %L);',
                          cron_db, 'ticketres-expire', schedule, ticketres._expiry_job_command(),
                          current_database());
    END IF;
    RAISE EXCEPTION 'pg_cron is not available' USING ERRCODE = '55000',
        DETAIL = 'The function cron.schedule does not exist in this database.',
        HINT = 'Install postgresql-15-cron, set shared_preload_libraries = ''pg_cron'' and cron.database_name to this database, restart, then CREATE EXTENSION pg_cron.';
END
$$;

CREATE OR REPLACE FUNCTION tr_schedule_expiry(schedule text DEFAULT '* * * * *') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    IF schedule IS NULL OR length(btrim(schedule)) = 0 THEN
        RAISE EXCEPTION 'schedule must not be empty' USING ERRCODE = '22023';
    END IF;
    PERFORM ticketres._cron_must_exist(schedule);
    -- pg_cron upserts by (job name, user): calling again updates the one job
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job
        USING 'ticketres-expire', schedule, ticketres._expiry_job_command();
    RETURN job;
END
$$;

CREATE OR REPLACE FUNCTION tr_unschedule_expiry() RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found_job boolean;
BEGIN
    PERFORM ticketres._cron_must_exist();
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM cron.job WHERE jobname = $1 AND username = current_user)'
        INTO found_job USING 'ticketres-expire';
    IF found_job THEN
        EXECUTE 'SELECT cron.unschedule($1)' USING 'ticketres-expire';
    END IF;
    RETURN found_job;
END
$$;

-- the expiry job and its last run, or null fields without pg_cron here
CREATE OR REPLACE FUNCTION ticketres._expiry_job_health() RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job jsonb;
    last_run jsonb;
BEGIN
    IF to_regclass('cron.job') IS NULL THEN
        RETURN jsonb_build_object('pg_cron', false, 'scheduled', NULL, 'last_run', NULL);
    END IF;
    -- this database's job: pg_cron may also run jobs for other databases
    EXECUTE 'SELECT to_jsonb(j) FROM (SELECT jobid, schedule, active, database, username'
            ' FROM cron.job WHERE jobname = $1 AND database = current_database()'
            ' ORDER BY jobid LIMIT 1) j'
        INTO job USING 'ticketres-expire';
    IF job IS NOT NULL AND to_regclass('cron.job_run_details') IS NOT NULL THEN
        EXECUTE 'SELECT to_jsonb(d) FROM (SELECT status, start_time, end_time, return_message'
                ' FROM cron.job_run_details WHERE jobid = $1 ORDER BY runid DESC LIMIT 1) d'
            INTO last_run USING (job ->> 'jobid')::bigint;
    END IF;
    RETURN jsonb_build_object('pg_cron', true, 'scheduled', job IS NOT NULL, 'job', job,
                              'last_run', last_run);
END
$$;

-- Whether Redis answers PING at ticketres.redis_url (NULL when no URL is set)
CREATE OR REPLACE FUNCTION ticketres.redis_ping() RETURNS boolean
    AS 'MODULE_PATHNAME', 'tr_redis_ping'
    LANGUAGE C VOLATILE;

-- The Redis key ticketres takes for a seat: <redis_key_prefix>:<event_id>:<seat_id>,
-- so that other services can lock the same seats
CREATE OR REPLACE FUNCTION ticketres.redis_seat_key(event_id uuid, seat_id uuid) RETURNS text
    AS 'MODULE_PATHNAME', 'tr_redis_seat_key_sql'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ticketres.redis_seat_key(uuid, uuid) IS
'the Redis key ticketres locks a seat with when ticketres.redis_url is set: <redis_key_prefix>:<event_id>:<seat_id>';
COMMENT ON FUNCTION ticketres.redis_ping() IS
'whether Redis answers PING at ticketres.redis_url; NULL when no URL is set';

-- Redis as tr_health reports it; reachable is null when no URL is set
CREATE OR REPLACE FUNCTION ticketres._redis_health() RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    configured boolean := coalesce(current_setting('ticketres.redis_url', true), '') <> '';
    reachable boolean;
BEGIN
    IF configured THEN
        BEGIN
            reachable := ticketres.redis_ping();
        EXCEPTION WHEN OTHERS THEN
            reachable := false;
        END;
    END IF;
    RETURN jsonb_build_object('configured', configured, 'reachable', reachable);
END
$$;

CREATE OR REPLACE FUNCTION tr_health() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lib record := ticketres._library();
    redis jsonb := ticketres._redis_health();
    expiry jsonb := ticketres._expiry_job_health();
    overdue bigint;
BEGIN
    SELECT count(*) INTO overdue FROM ticketres.reservations r
     WHERE r.status = 'pending' AND r.expires_at <= clock_timestamp();
    RETURN jsonb_build_object(
        'status', CASE WHEN redis ->> 'reachable' = 'false' OR expiry ->> 'scheduled' = 'false'
                            OR expiry #>> '{last_run,status}' = 'failed'
                       THEN 'degraded' ELSE 'ok' END,
        'extension_version', (SELECT e.extversion FROM pg_extension e WHERE e.extname = 'ticketres'),
        'library_version', lib.version,
        'preloaded', lib.preloaded,
        'redis', redis,
        'expiry', expiry,
        'overdue_holds', overdue,
        'checked_at', clock_timestamp());
END
$$;

-- gauges from the tables, in exposition format; one pass over the seats of
-- the events that have not ended (the cost grows with their seat count)
CREATE OR REPLACE FUNCTION ticketres._metrics_gauges() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH live AS (
        SELECT e.id FROM ticketres.events e WHERE e.ends_at > clock_timestamp()
    ), seats AS (
        SELECT s.event_id, s.status, count(*) AS n
          FROM ticketres.seats s JOIN live ON live.id = s.event_id GROUP BY 1, 2
    ), overdue AS (
        SELECT r.event_id, count(*) AS holds, sum(cardinality(r.seat_ids)) AS seats
          FROM ticketres.reservations r
         WHERE r.status = 'pending' AND r.expires_at <= clock_timestamp() GROUP BY 1
    )
    SELECT E'# HELP ticketres_reservations Reservations by status (pending includes overdue holds).\n'
        || E'# TYPE ticketres_reservations gauge\n'
        || (SELECT string_agg(format('ticketres_reservations{status="%s"} %s', st, coalesce(c.n, 0)),
                              E'\n' ORDER BY st) || E'\n'
              FROM unnest(enum_range(NULL::ticketres.reservation_status)) AS st
              LEFT JOIN (SELECT r.status, count(*) AS n FROM ticketres.reservations r GROUP BY 1) c
                ON c.status = st)
        || E'# HELP ticketres_overdue_holds Pending reservations past expires_at that tr_expire has not swept yet.\n'
        || E'# TYPE ticketres_overdue_holds gauge\n'
        || format(E'ticketres_overdue_holds %s\n', (SELECT coalesce(sum(o.holds), 0) FROM overdue o))
        || E'# HELP ticketres_seats Seats by status, per event that has not ended.\n'
        || E'# TYPE ticketres_seats gauge\n'
        || coalesce((SELECT string_agg(format('ticketres_seats{event="%s",status="%s"} %s',
                                              live.id, st, coalesce(c.n, 0)),
                                       E'\n' ORDER BY live.id, st) || E'\n'
                       FROM live CROSS JOIN unnest(enum_range(NULL::ticketres.seat_status)) AS st
                       LEFT JOIN seats c ON c.event_id = live.id AND c.status = st), '')
        || E'# HELP ticketres_seats_available What tr_available_count reports, per event that has not ended.\n'
        || E'# TYPE ticketres_seats_available gauge\n'
        || coalesce((SELECT string_agg(format('ticketres_seats_available{event="%s"} %s',
                                              live.id, a.n + coalesce(o.seats, 0)),
                                       E'\n' ORDER BY live.id) || E'\n'
                       FROM live
                       JOIN (SELECT c.event_id, sum(c.available) AS n FROM ticketres.seat_counts c
                              GROUP BY 1) a ON a.event_id = live.id
                       LEFT JOIN overdue o ON o.event_id = live.id), '')
        || E'# HELP ticketres_ga_capacity Capacity of each general admission area, per event that has not ended.\n'
        || E'# TYPE ticketres_ga_capacity gauge\n'
        || coalesce((SELECT string_agg(format('ticketres_ga_capacity{event="%s",area="%s"} %s',
                                              a.event_id, a.id, a.capacity),
                                       E'\n' ORDER BY a.event_id, a.id) || E'\n'
                       FROM ticketres.ga_areas a JOIN live ON live.id = a.event_id), '')
        || E'# HELP ticketres_ga_available What tr_ga_available reports, per area of an event that has not ended.\n'
        || E'# TYPE ticketres_ga_available gauge\n'
        || coalesce((SELECT string_agg(format('ticketres_ga_available{event="%s",area="%s"} %s',
                                              a.event_id, a.id, ticketres._ga_left(a.id)),
                                       E'\n' ORDER BY a.event_id, a.id) || E'\n'
                       FROM ticketres.ga_areas a JOIN live ON live.id = a.event_id), '')
$$;

CREATE OR REPLACE FUNCTION tr_metrics() RETURNS @extschema@."text/plain"
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ticketres._metrics_shared() || ticketres._metrics_gauges() $$;

COMMENT ON FUNCTION ticketres.seat_lock_keys(uuid) IS
'advisory lock keys of a seat: pg_try_advisory_xact_lock(key1, key2) takes the lock ticketres takes';
COMMENT ON FUNCTION ticketres.check_invariants() IS
'every reservation invariant as a count of violations; all must be 0 (full scans)';

COMMENT ON FUNCTION tr_schedule_expiry(text) IS
$$Schedule tr_expire() with pg_cron as the job 'ticketres-expire'.
schedule is a cron expression (default every minute). Calling it again updates the one job; returns its job id. Needs pg_cron in this database (cron.database_name); from another database use cron.schedule_in_database as the error's hint shows. Errors: 22023 bad schedule, 55000 pg_cron not available or runs in another database.$$;
COMMENT ON FUNCTION tr_unschedule_expiry() IS
$$Remove the pg_cron job 'ticketres-expire'.
Returns true when a job was removed, false when there was none. Errors: 55000 pg_cron not available or runs in another database.$$;
COMMENT ON FUNCTION tr_health() IS
$$Health of ticketres as JSON.
Fields: status (ok or degraded), extension_version, library_version, preloaded, redis {configured, reachable}, expiry {pg_cron, scheduled, job, last_run}, overdue_holds, checked_at.$$;
COMMENT ON FUNCTION tr_metrics() IS
$$Metrics in Prometheus text exposition format.
Counters (reservations by outcome, confirmations, cancellations, expirations, Redis locks, latency histograms) need ticketres in shared_preload_libraries; ticketres_preloaded says whether they are there. Gauges (reservations by status, overdue holds, seats by status per event) come from the tables.$$;

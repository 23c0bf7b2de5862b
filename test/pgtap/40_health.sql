-- tr_health(): versions, preload, Redis, the expiry job (scheduled or not,
-- last run), overdue holds; tr_schedule_expiry / tr_unschedule_expiry are
-- idempotent and fail clearly without pg_cron. (pg_cron really running the
-- job: test/suites/40_cron.sh.)
BEGIN;
SET client_min_messages = warning;
SELECT plan(27);

SELECT is_definer(f) FROM unnest(ARRAY['tr_health', 'tr_metrics', 'tr_schedule_expiry', 'tr_unschedule_expiry']) AS f;
SELECT is(tr_health() ->> 'extension_version',
          (SELECT extversion FROM pg_extension WHERE extname = 'ticketres'), 'extension version');
SELECT is(tr_health() ->> 'library_version', '0.2', 'library version');
SELECT is(tr_health() -> 'preloaded', 'true'::jsonb, 'the test cluster preloads ticketres');
-- until the Redis module is merged the URL setting does not exist: not configured
SELECT is(tr_health() -> 'redis' -> 'configured',
          to_jsonb(coalesce(current_setting('ticketres.redis_url', true), '') <> ''), 'redis configured');
SELECT is(tr_health() -> 'redis' -> 'reachable', 'null'::jsonb, 'reachable is null when Redis is not configured');

-- Redis configured but not answering (a closed port): live once the Redis
-- module (ticketres.redis_ping, the ticketres.redis_url setting) is merged
CREATE FUNCTION pg_temp.health_with_redis_down() RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    h jsonb;
BEGIN
    PERFORM set_config('ticketres.redis_url', 'redis://127.0.0.1:1', true);
    h := tr_health();
    PERFORM set_config('ticketres.redis_url', '', true);
    RETURN h;
END
$$;
SELECT CASE WHEN to_regprocedure('ticketres.redis_ping()') IS NULL
            THEN skip('the Redis module is not in this build', 3)
            ELSE collect_tap(
                is(pg_temp.health_with_redis_down() #> '{redis,configured}', 'true'::jsonb, 'redis configured'),
                is(pg_temp.health_with_redis_down() #> '{redis,reachable}', 'false'::jsonb, 'a stopped Redis is unreachable'),
                is(pg_temp.health_with_redis_down() ->> 'status', 'degraded', 'and the status is degraded'))
       END;

-- overdue holds
SELECT id AS ev FROM tr_create_event('health test', now() + interval '1 day', now() + interval '2 days') \gset
SELECT tr_generate_seats(:'ev', 'H', 1, 2, 100) AS x \gset ignore_
SELECT (tr_health() ->> 'overdue_holds')::int AS overdue0 \gset
SELECT id AS r FROM tr_reserve(:'ev', 'h1', ARRAY(SELECT id FROM ticketres.seats WHERE event_id = :'ev')) \gset
UPDATE ticketres.reservations SET expires_at = clock_timestamp() - interval '1 second' WHERE id = :'r';
SELECT is((tr_health() ->> 'overdue_holds')::int, :overdue0 + 1, 'an overdue hold is counted');

-- with pg_cron in this database (cron.database_name of the test cluster)
CREATE EXTENSION IF NOT EXISTS pg_cron;
SELECT tr_unschedule_expiry() AS x \gset ignore_
SELECT is(tr_health() #> '{expiry,scheduled}', 'false'::jsonb, 'health shows an unscheduled job');
SELECT is(tr_health() ->> 'status', 'degraded', 'an unscheduled job makes the status degraded');
SELECT tr_schedule_expiry() AS job1 \gset
SELECT is(tr_schedule_expiry(), :job1::bigint, 'scheduling again returns the same job');
SELECT is((SELECT count(*) FROM cron.job WHERE jobname = 'ticketres-expire'), 1::bigint, 'one job, not two');
SELECT is(tr_schedule_expiry('*/2 * * * *'), :job1::bigint, 'a new schedule updates the job');
SELECT is((SELECT schedule FROM cron.job WHERE jobid = :job1), '*/2 * * * *', 'with the new schedule');
SELECT ok((SELECT command FROM cron.job WHERE jobid = :job1) ~ 'PERFORM public\.tr_expire\(\)', 'the job runs tr_expire');
SELECT is(tr_health() #> '{expiry,scheduled}', 'true'::jsonb, 'health shows the scheduled job');
SELECT is((tr_health() #>> '{expiry,job,jobid}')::bigint, :job1::bigint, 'with its id');
SELECT throws_ok('SELECT tr_schedule_expiry(''not a schedule'')', '22023', NULL, 'a bad schedule is refused');
SELECT is(tr_unschedule_expiry(), true, 'unschedule removes the job');
SELECT is(tr_unschedule_expiry(), false, 'unschedule again finds none');

-- without pg_cron
DROP EXTENSION pg_cron;
SELECT throws_ok('SELECT tr_schedule_expiry()', '55000', 'pg_cron is not available', 'no pg_cron: clear error');
SELECT is(tr_health() #> '{expiry,pg_cron}', 'false'::jsonb, 'health says pg_cron is missing');

SELECT * FROM finish();
ROLLBACK;

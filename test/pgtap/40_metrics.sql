-- tr_metrics(): Prometheus text exposition that parses, and counters that move
-- as operations happen (the test cluster preloads ticketres). Counters live
-- in shared memory, outside transactions: the test compares before/after.
BEGIN;
SELECT plan(26);

-- the value of one sample (name with labels exactly as exposed), 0 if absent
CREATE FUNCTION pg_temp.metric(sample text) RETURNS numeric LANGUAGE sql AS $$
    SELECT coalesce((SELECT split_part(l, ' ', 2)::numeric
                       FROM regexp_split_to_table(tr_metrics(), E'\n') AS l
                      WHERE split_part(l, ' ', 1) = sample), 0)
$$;
CREATE TEMP TABLE before AS
SELECT split_part(l, ' ', 1) AS sample, split_part(l, ' ', 2)::numeric AS v
  FROM regexp_split_to_table(tr_metrics(), E'\n') AS l WHERE l ~ '^ticketres_';
CREATE FUNCTION pg_temp.delta(sample text) RETURNS numeric LANGUAGE sql AS $$
    SELECT pg_temp.metric(sample) - coalesce((SELECT v FROM pg_temp.before b WHERE b.sample = delta.sample), 0)
$$;

-- format: every line is a comment or a sample; every family has HELP and TYPE
-- before its samples; the text ends with a newline
SELECT is((SELECT count(*) FROM regexp_split_to_table(rtrim(tr_metrics(), E'\n'), E'\n') AS l
            WHERE l !~ '^# (HELP|TYPE) ticketres_[a-z_]+ .+$'
              AND l !~ '^ticketres_[a-z_]+(\{[a-z_]+="[^"\\]*"(,[a-z_]+="[^"\\]*")*\})? -?[0-9]+(\.[0-9]+)?$'),
          0::bigint, 'every line is a HELP/TYPE comment or a sample');
SELECT ok(right(tr_metrics()::text, 1) = E'\n', 'the exposition ends with a newline');
SELECT is((SELECT count(*) FROM (
             SELECT DISTINCT regexp_replace(split_part(l, ' ', 1), '(_bucket|_sum|_count)?(\{.*)?$', '') AS fam
               FROM regexp_split_to_table(tr_metrics(), E'\n') AS l WHERE l ~ '^ticketres_') f
            WHERE NOT tr_metrics() ~ ('# HELP ' || f.fam || ' ') OR NOT tr_metrics() ~ ('# TYPE ' || f.fam || ' ')),
          0::bigint, 'every family has HELP and TYPE');
SELECT is((SELECT count(*) FROM (SELECT split_part(l, ' ', 3) AS fam
                                   FROM regexp_split_to_table(tr_metrics(), E'\n') AS l
                                  WHERE l ~ '^# TYPE ' GROUP BY 1 HAVING count(*) > 1) d),
          0::bigint, 'no family is declared twice');
SELECT ok(tr_metrics() ~ E'# TYPE ticketres_reserve_duration_seconds histogram\n', 'reserve latency is a histogram');
SELECT is(pg_temp.metric('ticketres_preloaded'), 1::numeric, 'the test cluster preloads ticketres');
SELECT is(pg_typeof(tr_metrics())::text, '"text/plain"', 'tr_metrics returns the text/plain domain (PostgREST)');

-- counters move
SELECT id AS ev FROM tr_create_event('metrics test', now() + interval '1 day', now() + interval '2 days') \gset
SELECT tr_generate_seats(:'ev', 'M', 1, 10, 100) AS x \gset ignore_
SELECT array_agg(id ORDER BY label) AS s FROM ticketres.seats WHERE event_id = :'ev' \gset

SELECT id AS r1 FROM tr_reserve(:'ev', 'm1', (:'s'::uuid[])[1:2], 'key-1') \gset
SELECT tr_reserve(:'ev', 'm1', (:'s'::uuid[])[1:2], 'key-1') AS x \gset ignore_
SELECT throws_ok(format('SELECT tr_reserve(%L, %L, %L)', :'ev', 'm2', (:'s'::uuid[])[2:3]), 'PT409', 'seat unavailable');
SELECT throws_ok(format('SELECT tr_reserve(%L, %L, %L)', :'ev', 'm2', '{}'), '22023');
SELECT is(pg_temp.delta('ticketres_reservations_total{outcome="created"}'), 1::numeric, 'created counts a new hold');
SELECT is(pg_temp.delta('ticketres_reservations_total{outcome="replay"}'), 1::numeric, 'replay counts an idempotent retry');
SELECT is(pg_temp.delta('ticketres_reservations_total{outcome="conflict"}'), 1::numeric, 'conflict counts an unavailable seat');
SELECT is(pg_temp.delta('ticketres_reservations_total{outcome="error"}'), 1::numeric, 'error counts a bad argument');
SELECT is(pg_temp.delta('ticketres_reserve_duration_seconds_count'), 4::numeric, 'every reserve call is timed');
SELECT is(pg_temp.delta('ticketres_reserve_duration_seconds_bucket{le="+Inf"}'), 4::numeric, '+Inf bucket is the count');
SELECT ok(pg_temp.metric('ticketres_reserve_duration_seconds_bucket{le="0.0005"}')
          <= pg_temp.metric('ticketres_reserve_duration_seconds_bucket{le="2.5"}'), 'buckets are cumulative');

SELECT tr_confirm(:'r1', 'm1') AS x \gset ignore_
SELECT is(pg_temp.delta('ticketres_confirmations_total'), 1::numeric, 'confirmations move');
SELECT id AS r2 FROM tr_reserve(:'ev', 'm3', (:'s'::uuid[])[3:3]) \gset
SELECT tr_cancel(:'r2', 'm3') AS x \gset ignore_
SELECT is(pg_temp.delta('ticketres_cancellations_total'), 1::numeric, 'cancellations move');

-- two holds that have ended: one swept by tr_expire, one taken over lazily
SELECT id AS r3 FROM tr_reserve(:'ev', 'm4', (:'s'::uuid[])[4:4]) \gset
SELECT id AS r4 FROM tr_reserve(:'ev', 'm5', (:'s'::uuid[])[5:5]) \gset
UPDATE ticketres.reservations SET expires_at = clock_timestamp() - interval '1 second' WHERE id IN (:'r3', :'r4');
SELECT tr_reserve(:'ev', 'm6', (:'s'::uuid[])[5:5]) AS x \gset ignore_
SELECT is(pg_temp.delta('ticketres_expirations_total{by="lazy"}'), 1::numeric, 'lazy expiry is counted');
SELECT cmp_ok(tr_expire(), '>=', 1, 'tr_expire sweeps the other');
SELECT cmp_ok(pg_temp.delta('ticketres_expirations_total{by="sweep"}'), '>=', 1::numeric, 'sweep expiry is counted');

-- gauges from the tables
SELECT tr_block_seats(:'ev', (:'s'::uuid[])[9:10]) AS x \gset ignore_
SELECT is(pg_temp.metric(format('ticketres_seats{event="%s",status="blocked"}', :'ev')), 2::numeric,
          'seats by status per event');
SELECT is(pg_temp.metric(format('ticketres_seats{event="%s",status="confirmed"}', :'ev')), 2::numeric,
          'confirmed seats per event');
SELECT is(pg_temp.metric(format('ticketres_seats_available{event="%s"}', :'ev')), tr_available_count(:'ev')::numeric,
          'available seats per event agree with tr_available_count');
SELECT is(pg_temp.metric('ticketres_reservations{status="pending"}'),
          (SELECT count(*)::numeric FROM ticketres.reservations WHERE status = 'pending'), 'reservations by status');
SELECT is(pg_temp.metric('ticketres_overdue_holds'),
          (SELECT count(*)::numeric FROM ticketres.reservations WHERE status = 'pending' AND expires_at <= clock_timestamp()),
          'overdue holds');

SELECT * FROM finish();
ROLLBACK;

-- Admin controls: block/unblock seats, release a reservation, extend a hold,
-- each with its audit row; privileges. (Seat-busy cases need a second
-- session: test/suites/42_expire.sh.)
BEGIN;
SELECT plan(53);

SELECT id AS ev FROM tr_create_event('admin test', now() + interval '1 day', now() + interval '2 days') \gset
SELECT id AS ev2 FROM tr_create_event('other', now() + interval '1 day', now() + interval '2 days') \gset
SELECT tr_generate_seats(:'ev', 'A', 1, 10, 100) AS n \gset
SELECT tr_generate_seats(:'ev2', 'B', 1, 1, 100) AS n \gset
SELECT array_agg(id ORDER BY label) AS s FROM ticketres.seats WHERE event_id = :'ev' \gset
SELECT id AS other_seat FROM ticketres.seats WHERE event_id = :'ev2' \gset

-- privileges and definer rights
SELECT is_definer(f) FROM unnest(ARRAY['tr_block_seats', 'tr_unblock_seats', 'tr_release_reservation',
                                       'tr_extend_hold']) AS f;
SELECT ok(NOT has_function_privilege('public', f, 'execute'), f || ' is not for PUBLIC')
  FROM unnest(ARRAY['tr_block_seats(uuid,uuid[],text)', 'tr_unblock_seats(uuid,uuid[],text)',
                    'tr_release_reservation(uuid,text)', 'tr_extend_hold(uuid,interval,text)',
                    'tr_schedule_expiry(text)', 'tr_unschedule_expiry()', 'tr_health()',
                    'tr_metrics()']) AS f;
SELECT ok(NOT has_table_privilege('public', 'ticketres.audit_log', 'select'), 'audit_log is not for PUBLIC');

-- block
SELECT is(tr_block_seats(:'ev', (:'s'::uuid[])[1:2], 'broken seats'), 2, 'block returns the seats blocked');
SELECT is(tr_available_count(:'ev'), 8::bigint, 'blocked seats are not counted as available');
SELECT is((SELECT count(*) FROM ticketres.seats WHERE id = ANY ((:'s'::uuid[])[1:2]) AND status = 'blocked'),
          2::bigint, 'the seats are blocked');
SELECT throws_ok(format('SELECT tr_reserve(%L, %L, %L)', :'ev', 'u1', (:'s'::uuid[])[1:1]),
                 'PT409', 'seat unavailable', 'a blocked seat is never sold');
SELECT is((SELECT row(actor, action, event_id, seat_ids, reason, details ->> 'changed')::text
             FROM ticketres.audit_log WHERE action = 'block_seats' ORDER BY id DESC LIMIT 1),
          row(session_user::text, 'block_seats', :'ev'::uuid, (:'s'::uuid[])[1:2], 'broken seats', '2')::text,
          'block is audited: who, what, which seats, why');
SELECT cmp_ok((SELECT at FROM ticketres.audit_log ORDER BY id DESC LIMIT 1), '<=', clock_timestamp(),
              'the audit row says when');
SELECT is(tr_block_seats(:'ev', (:'s'::uuid[])[1:3]), 1, 'blocking again changes only seats not yet blocked');
SELECT tr_unblock_seats(:'ev', (:'s'::uuid[])[3:3]) AS x \gset ignore_

SELECT id AS held FROM tr_reserve(:'ev', 'u1', (:'s'::uuid[])[4:4]) \gset
SELECT throws_ok(format('SELECT tr_block_seats(%L, %L)', :'ev', (:'s'::uuid[])[3:4]),
                 'PT409', 'seat unavailable', 'a held seat cannot be blocked');
SELECT is((SELECT status::text FROM ticketres.seats WHERE id = (:'s'::uuid[])[3]), 'available',
          'nothing was blocked (all or nothing)');
SELECT throws_ok(format('SELECT tr_block_seats(%L, ARRAY[%L]::uuid[])', :'ev', :'other_seat'),
                 'PT404', 'seat not found', 'a seat of another event is not found');
SELECT throws_ok(format('SELECT tr_block_seats(%L, %L)', gen_random_uuid(), (:'s'::uuid[])[3:3]),
                 'PT404', 'event not found', 'unknown event');
SELECT throws_ok(format('SELECT tr_block_seats(%L, %L)', :'ev', '{}'),
                 '22023', 'seat_ids must not be empty', 'empty seat list');
SELECT throws_ok(format('SELECT tr_block_seats(%L, %L)', :'ev', ARRAY[(:'s'::uuid[])[3], (:'s'::uuid[])[3]]),
                 '22023', 'seat_ids must not contain duplicates', 'duplicate seats');
SELECT throws_ok(format('SELECT tr_block_seats(%L, %L, repeat(''x'', 1001))', :'ev', (:'s'::uuid[])[3:3]),
                 '22023', 'reason must be at most 1000 characters', 'reason is bounded');

-- the JWT's sub is the actor behind PostgREST
SELECT set_config('request.jwt.claims', '{"sub": "admin-7", "role": "web_admin"}', true) AS x \gset ignore_
SELECT tr_block_seats(:'ev', (:'s'::uuid[])[5:5], 'jwt') AS x \gset ignore_
SELECT is((SELECT actor FROM ticketres.audit_log ORDER BY id DESC LIMIT 1), 'admin-7', 'the actor is the JWT sub');
SELECT set_config('request.jwt.claims', '', true) AS x \gset ignore_

-- unblock
SELECT is(tr_unblock_seats(:'ev', (:'s'::uuid[])[1:5], 'fixed'), 3, 'unblock returns the seats unblocked');
SELECT is(tr_available_count(:'ev'), 9::bigint, 'unblocked seats are available again');
SELECT is((SELECT count(*) FROM ticketres.audit_log WHERE action = 'unblock_seats' AND reason = 'fixed'),
          1::bigint, 'unblock is audited');
SELECT isnt((SELECT tr_reserve(:'ev', 'u2', (:'s'::uuid[])[1:1])), NULL, 'an unblocked seat can be sold');

-- release (refund)
SELECT id AS bought FROM tr_reserve(:'ev', 'u3', (:'s'::uuid[])[6:7]) \gset
SELECT tr_confirm(:'bought', 'u3') AS x \gset ignore_
SELECT is((tr_release_reservation(:'bought', 'refund #12')).status::text, 'cancelled',
          'a confirmed reservation can be released');
SELECT is((SELECT count(*) FROM ticketres.seats WHERE id = ANY ((:'s'::uuid[])[6:7]) AND status = 'available'
              AND reservation_id IS NULL), 2::bigint, 'its seats come back');
SELECT is((SELECT details ->> 'previous_status' FROM ticketres.audit_log
            WHERE action = 'release_reservation' AND reservation_id = :'bought'), 'confirmed',
          'release is audited with the previous status');
SELECT is((tr_release_reservation(:'held', 'customer called')).status::text, 'cancelled',
          'a pending reservation can be released');
SELECT is(tr_available_count(:'ev'), 9::bigint, 'the counter follows releases');
SELECT throws_ok(format('SELECT tr_release_reservation(%L, %L)', :'held', 'again'),
                 'PT409', 'reservation not pending', 'a cancelled reservation cannot be released');
SELECT throws_ok(format('SELECT tr_release_reservation(%L, NULL)', :'held'),
                 '22023', 'reason must not be empty', 'a release needs a reason');
SELECT throws_ok(format('SELECT tr_release_reservation(%L, %L)', gen_random_uuid(), 'x'),
                 'PT404', 'reservation not found', 'unknown reservation');

-- extend a hold
SELECT id AS hold, expires_at AS old_exp FROM tr_reserve(:'ev', 'u4', (:'s'::uuid[])[8:8]) \gset
SELECT is((tr_extend_hold(:'hold', '30 minutes', 'payment in progress')).expires_at,
          :'old_exp'::timestamptz + interval '30 minutes', 'extend moves expires_at');
SELECT is((SELECT (details ->> 'new_expires_at')::timestamptz FROM ticketres.audit_log
            WHERE action = 'extend_hold' AND reservation_id = :'hold'),
          :'old_exp'::timestamptz + interval '30 minutes', 'extend is audited');
SELECT throws_ok(format('SELECT tr_extend_hold(%L, %L)', :'hold', '2 hours'),
                 '22023', 'hold would exceed 2 hours', 'a hold lasts at most 2 hours in total');
SELECT throws_ok(format('SELECT tr_extend_hold(%L, %L)', :'hold', '-5 minutes'),
                 '22023', 'extend_by must be a positive interval of at most 2 hours', 'extend_by must be positive');
SELECT throws_ok(format('SELECT tr_extend_hold(%L, %L)', :'bought', '5 minutes'),
                 'PT409', 'reservation not pending', 'only a pending hold can be extended');
UPDATE ticketres.reservations SET expires_at = clock_timestamp() - interval '1 second' WHERE id = :'hold';
SELECT throws_ok(format('SELECT tr_extend_hold(%L, %L)', :'hold', '5 minutes'),
                 'PT410', 'hold expired', 'a hold that has ended cannot be extended');

SELECT is((SELECT count(*) FROM ticketres.check_invariants() WHERE violations > 0), 0::bigint,
          'invariants hold after the admin actions');
SELECT is((SELECT count(*) FROM pg_catalog.pg_extension e, unnest(e.extconfig) c
            WHERE e.extname = 'ticketres' AND c = 'ticketres.audit_log'::regclass), 1::bigint,
          'audit_log is dumped with the extension');
SELECT is((SELECT count(*) FROM pg_catalog.pg_extension e, unnest(e.extconfig) c
            WHERE e.extname = 'ticketres' AND c = 'ticketres.audit_log_id_seq'::regclass), 1::bigint,
          'its sequence too');

-- every name inside is qualified: the functions work with an empty search_path
SET LOCAL search_path = '';
SELECT public.tr_block_seats(:'ev', (:'s'::uuid[])[10:10], 'empty path') AS blocked,
       public.tr_unblock_seats(:'ev', (:'s'::uuid[])[10:10]) AS unblocked,
       public.tr_metrics()::text ~ 'ticketres_seats' AS metrics_ok,
       public.tr_health() ? 'overdue_holds' AS health_ok \gset empty_
SET LOCAL search_path = public;
SELECT is(:empty_blocked, 1, 'block with an empty search_path');
SELECT is(:empty_unblocked, 1, 'unblock with an empty search_path');
SELECT ok(:'empty_metrics_ok'::boolean, 'metrics with an empty search_path');
SELECT ok(:'empty_health_ok'::boolean, 'health with an empty search_path');

SELECT * FROM finish();
ROLLBACK;

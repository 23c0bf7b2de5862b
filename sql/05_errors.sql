-- Garbage in: every argument of the C entry points, never a crash, always
-- 22023 with a message naming the argument, and nothing half-done.
SELECT count(*) AS res_before FROM ticketres.reservations \gset
SELECT try($$SELECT tr_reserve(NULL, 'u', seats('Play', 'S-2'), 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), NULL, seats('Play', 'S-2'), 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), '', seats('Play', 'S-2'), 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), repeat('u', 201), seats('Play', 'S-2'), 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', NULL, 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', '{}', 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', ARRAY[NULL]::uuid[], 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', ARRAY[seat('Play', 'S-2'), NULL], 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', ARRAY[[seat('Play', 'S-2')], [seat('Play', 'S-3')]], 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', ARRAY[seat('Play', 'S-2'), seat('Play', 'S-2')], 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', (SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 100000)), 'k')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), '')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), repeat('k', 1048576))$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), 'k', '-1 minute')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), 'k', '0')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), 'k', '500 milliseconds')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), 'k', '25 hours')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), 'k', '1 year')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), 'k', '2 days -47 hours -59 minutes')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-2'), 'k', '178000000 years')$$);
SELECT try($$SELECT tr_confirm(NULL, 'u')$$);
SELECT try($$SELECT tr_confirm(gen_random_uuid(), NULL)$$);
SELECT try($$SELECT tr_cancel(NULL, NULL)$$);
SELECT try($$SELECT tr_cancel(gen_random_uuid(), repeat('u', 1000000))$$);
SELECT try($$SELECT tr_get_reservation(NULL, 'u')$$);
SELECT try($$SELECT tr_list_reservations(NULL)$$);
SELECT try($$SELECT ticketres.seat_lock_keys(NULL)$$);
SELECT count(*) = :res_before AS nothing_added FROM ticketres.reservations;

-- the lock keys are the ones pg_try_advisory_xact_lock takes
SELECT key1, key2 FROM ticketres.seat_lock_keys('00000001-0002-0003-0004-000000000005');

-- every error of the catalogue the core owns, as clients match them
SELECT DISTINCT split_part(r, ' (', 1) AS catalogue FROM (VALUES
    (try($$SELECT tr_reserve(gen_random_uuid(), 'u', seats('Play', 'S-2'))$$)),
    (try($$SELECT tr_reserve(ev('Play'), 'u', ARRAY[gen_random_uuid()])$$)),
    (try($$SELECT tr_confirm(gen_random_uuid(), 'u')$$)),
    (try($$SELECT tr_reserve(ev('Play'), 'u', seats('Play', 'S-1'))$$)),
    (try($$SELECT tr_reserve(ev('Started'), 'u', (SELECT array_agg(id) FROM ticketres.seats WHERE event_id = ev('Started')))$$)),
    (try($$SELECT tr_reserve(ev('Concert'), 'u', (SELECT array_agg(id) FROM (SELECT id FROM ticketres.seats WHERE event_id = ev('Concert') LIMIT 21) x))$$))
) v(r) ORDER BY 1;
SELECT violations();
SELECT invariant, violations FROM ticketres.check_invariants();

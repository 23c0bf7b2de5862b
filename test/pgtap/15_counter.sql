-- 15_counter.sql — the availability counter's stripes (0.2): a stripe is
-- claimed by its stripe lock (an advisory lock, one per stripe and event),
-- not by a row lock; a call holds one; a busy stripe is passed over; a
-- tr_expire sweep over more events than its lock budget holds no more stripe
-- locks than the budget (the rest goes to overflow stripes) and stays exact.
-- (The stripe locks a sweep holds cannot be counted here: this transaction
-- already holds those of the events it reserved in; the overflow stripes
-- show where the budget cut in.)
BEGIN;
SELECT plan(9);

CREATE FUNCTION pg_temp.stripe_locks() RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM pg_catalog.pg_locks
     WHERE locktype = 'advisory' AND objsubid = 4 AND pid = pg_catalog.pg_backend_pid() AND granted
$$;

CREATE TEMP TABLE ev AS SELECT * FROM tr_create_event('counter', now() + interval '1 day', now() + interval '2 days');
SELECT tr_generate_seats((SELECT id FROM ev), 'C', 1, 10, 100);
SELECT is(pg_temp.stripe_locks(), 1::bigint, 'adding seats holds one stripe lock (the stripe it wrote)');

SAVEPOINT one;
SELECT lives_ok($$SELECT tr_reserve((SELECT id FROM ev), 'counter-u',
    ARRAY(SELECT id FROM ticketres.seats WHERE event_id = (SELECT id FROM ev) AND seat_number = 1))$$,
    'a reserve moves the counter');
SELECT is(pg_temp.stripe_locks(), 1::bigint, 'the same transaction reuses its stripe lock');
SELECT is(tr_available_count((SELECT id FROM ev)), 9::bigint, 'the count is exact');
ROLLBACK TO SAVEPOINT one;
SELECT is(tr_available_count((SELECT id FROM ev)), 10::bigint, 'rolled back: the count is back');

-- a sweep over 12 events with a budget of 5: 5 stripe locks, 7 overflow stripes
SET LOCAL ticketres.expire_lock_budget = 5;
CREATE TEMP TABLE evs AS SELECT e.* FROM generate_series(1, 12) g,
    tr_create_event('sweep ' || g, now() + interval '1 day', now() + interval '2 days') e;
SELECT tr_generate_seats(id, 'S', 1, 2, 10) FROM evs;
CREATE TEMP TABLE holds AS SELECT r.id FROM evs,
    tr_reserve(evs.id, 'sweep-u', ARRAY(SELECT s.id FROM ticketres.seats s
                                         WHERE s.event_id = evs.id AND s.seat_number = 1)) r;
UPDATE ticketres.reservations SET expires_at = clock_timestamp() - interval '1 second'
 WHERE id IN (SELECT id FROM holds);
SELECT is(tr_expire(1000), 12, 'tr_expire expires the 12 overdue holds');
SELECT is((SELECT count(*) FROM ticketres.seat_counts c JOIN evs ON evs.id = c.event_id WHERE c.stripe >= 64),
    7::bigint, 'past the lock budget, the sweep''s deltas went into new overflow stripes');
SELECT is((SELECT sum(tr_available_count(id))::bigint FROM evs), 24::bigint, 'every event''s count is exact again');
SELECT is((SELECT coalesce(sum(violations), 0)::bigint FROM ticketres.check_invariants()), 0::bigint,
    'ticketres.check_invariants() finds no violation');

SELECT * FROM finish();
ROLLBACK;

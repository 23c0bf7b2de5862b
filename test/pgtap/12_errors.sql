-- 12_errors.sql — every error of the catalogue (DESIGN §4) the core owns,
-- SQLSTATE and message, with garbage arguments answered by 22023, and a
-- check that no failed call leaves anything half-done. ("seat busy" needs
-- a second session: test/suites/10_concurrency.sh tests it.)
BEGIN;
SELECT plan(129);

-- fixtures: event ev (max 3 seats per reservation) with seats A-1..A-8,
-- ev2 with B-1, G-1-1, G-1-2, ev_closed (already started) with C-1
CREATE TEMP TABLE fx (name text PRIMARY KEY, id uuid);
INSERT INTO fx SELECT 'ev', id FROM tr_create_event('errors', now() + interval '1 day',
    now() + interval '2 days', max_seats_per_reservation => 3);
INSERT INTO fx SELECT 'ev2', id FROM tr_create_event('other', now() + interval '1 day', now() + interval '2 days');
INSERT INTO fx SELECT 'ev_closed', id FROM tr_create_event('started', now() - interval '1 hour', now() + interval '2 hours');
CREATE FUNCTION pg_temp.id(n text) RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT id FROM pg_temp.fx WHERE name = n $$;
CREATE FUNCTION pg_temp.seat(l text) RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT id FROM ticketres.seats WHERE label = l AND event_id IN (SELECT id FROM pg_temp.fx) $$;
-- the error a statement raises, as {sqlstate, message, detail, hint}
CREATE FUNCTION pg_temp.err(q text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE s text; m text; d text; h text;
BEGIN
    EXECUTE q;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS s = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL,
        h = PG_EXCEPTION_HINT;
    RETURN ARRAY[s, m, d, h];
END $$;
CREATE TEMP TABLE n_added AS
SELECT tr_add_seats(pg_temp.id('ev'), (SELECT jsonb_agg(jsonb_build_object('label', 'A-' || i, 'price', i * 100))
                                        FROM generate_series(1, 8) i))
     + tr_add_seats(pg_temp.id('ev2'), '[{"label":"B-1","price":50}]')
     + tr_add_seats(pg_temp.id('ev_closed'), '[{"label":"C-1","price":50}]')
     + tr_generate_seats(pg_temp.id('ev2'), 'G', 1, 2, 10) AS n;

-- reservations in every state: A-1 alice pending (key ka), A-2 alice
-- confirmed, A-3 alice cancelled, A-4 alice expired, A-5 bob pending but
-- overdue, A-6 blocked by an admin; A-7 and A-8 free
INSERT INTO fx SELECT 'r_alice', id FROM tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-1')], 'ka');
INSERT INTO fx SELECT 'r_conf', id FROM tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-2')]);
INSERT INTO fx SELECT 'r_canc', id FROM tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-3')]);
INSERT INTO fx SELECT 'r_exp', id FROM tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-4')]);
CREATE TEMP TABLE moves AS
SELECT (tr_confirm(pg_temp.id('r_conf'), 'alice')).status AS s
UNION ALL SELECT (tr_cancel(pg_temp.id('r_canc'), 'alice')).status;
UPDATE ticketres.reservations SET expires_at = now() - interval '1 minute' WHERE id = pg_temp.id('r_exp');
CREATE TEMP TABLE expired AS SELECT tr_expire(100) AS n;
INSERT INTO fx SELECT 'r_over', id FROM tr_reserve(pg_temp.id('ev'), 'bob', ARRAY[pg_temp.seat('A-5')], 'kb');
UPDATE ticketres.reservations SET expires_at = now() - interval '1 minute' WHERE id = pg_temp.id('r_over');
UPDATE ticketres.seats SET status = 'blocked' WHERE id = pg_temp.seat('A-6');
DO $$ BEGIN PERFORM ticketres._count_add(pg_temp.id('ev'), -1); END $$;

SELECT is((SELECT array_agg(status::text ORDER BY label) FROM ticketres.seats WHERE event_id = pg_temp.id('ev')),
    ARRAY['reserved', 'confirmed', 'available', 'available', 'reserved', 'blocked', 'available', 'available'],
    'fixture: seats A-1..A-8 are in the intended states');
SELECT is((SELECT status::text FROM ticketres.reservations WHERE id = pg_temp.id('r_exp')), 'expired',
    'fixture: tr_expire expired the overdue hold');

-- what a failed call must leave untouched
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws(' | ',
        (SELECT count(*) FROM ticketres.reservations),
        (SELECT md5(string_agg(r::text, ',' ORDER BY r.id)) FROM ticketres.reservations r),
        (SELECT md5(string_agg(s::text, ',' ORDER BY s.id)) FROM ticketres.seats s),
        (SELECT sum(available) FROM ticketres.seat_counts),
        (SELECT sum(violations) FROM ticketres.check_invariants()))
$$;
CREATE TEMP TABLE before AS SELECT pg_temp.state() AS st, tr_available_count(pg_temp.id('ev')) AS avail;
SELECT is(tr_available_count(pg_temp.id('ev')), 5::bigint,
    'fixture: A-3, A-4, A-7, A-8 are available and the overdue A-5 counts as free');

------------------------------------------------------------------------------
-- 22023: garbage arguments
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tr_reserve(NULL, 'carol', ARRAY[pg_temp.seat('A-7')])$$,
    '22023', 'event_id must not be null', 'tr_reserve: NULL event_id');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), NULL, ARRAY[pg_temp.seat('A-7')])$$,
    '22023', 'user_id must not be null', 'tr_reserve: NULL user_id (no JWT)');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), '', ARRAY[pg_temp.seat('A-7')])$$,
    '22023', 'user_id must not be empty', 'tr_reserve: empty user_id');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), repeat('u', 201), ARRAY[pg_temp.seat('A-7')])$$,
    '22023', 'user_id is too long', 'tr_reserve: user_id over 200 bytes');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', NULL)$$,
    '22023', 'seat_ids must not be null', 'tr_reserve: NULL seat_ids');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', '{}')$$,
    '22023', 'seat_ids must not be empty', 'tr_reserve: empty seat_ids');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7'), NULL])$$,
    '22023', 'seat_ids must not contain nulls', 'tr_reserve: a NULL element in seat_ids');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[NULL]::uuid[])$$,
    '22023', 'seat_ids must not contain nulls', 'tr_reserve: seat_ids of only NULL');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol',
                    ARRAY[ARRAY[pg_temp.seat('A-7')], ARRAY[pg_temp.seat('A-8')]])$$,
    '22023', 'seat_ids must be a one-dimensional array', 'tr_reserve: 2-D seat_ids');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol',
                    ARRAY(SELECT gen_random_uuid() FROM generate_series(1, 100000)))$$,
    '22023', 'seat_ids must not have more than 1000 elements', 'tr_reserve: 100,000 seat ids');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7'), pg_temp.seat('A-7')])$$,
    '22023', 'seat_ids must not contain duplicates', 'tr_reserve: a seat listed twice');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7')], '')$$,
    '22023', 'idempotency_key must not be empty', 'tr_reserve: empty idempotency_key');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7')], repeat('k', 1048576))$$,
    '22023', 'idempotency_key is too long', 'tr_reserve: a 1 MB idempotency_key');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7')], repeat('k', 201))$$,
    '22023', 'idempotency_key is too long', 'tr_reserve: a 201-byte idempotency_key');
SELECT throws_ok(format($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7')], NULL, %L)$$, h),
    '22023', 'hold must be between 1 second and 1 day', 'tr_reserve: hold ' || h)
  FROM unnest(ARRAY['-1 second', '0', '999 milliseconds', '1 day 1 second', '25 hours', '-1 day',
                    '2 days', '1 month', '100000 years', '2147483647 days', '-178000000 years']) AS h;

SELECT throws_ok($$SELECT tr_confirm(NULL, 'alice')$$, '22023', 'reservation_id must not be null', 'tr_confirm: NULL reservation_id');
SELECT throws_ok($$SELECT tr_cancel(NULL, 'alice')$$, '22023', 'reservation_id must not be null', 'tr_cancel: NULL reservation_id');
SELECT throws_ok($$SELECT tr_confirm(pg_temp.id('r_alice'), NULL)$$, '22023', 'user_id must not be null', 'tr_confirm: NULL user_id');
SELECT throws_ok($$SELECT tr_cancel(pg_temp.id('r_alice'), '')$$, '22023', 'user_id must not be empty', 'tr_cancel: empty user_id');
SELECT throws_ok($$SELECT tr_expire(NULL)$$, '22023', 'max_rows must not be null', 'tr_expire: NULL max_rows');
SELECT throws_ok($$SELECT tr_expire(-1)$$, '22023', 'max_rows must be between 1 and 1000000', 'tr_expire: negative max_rows');
SELECT throws_ok($$SELECT tr_expire(0)$$, '22023', 'max_rows must be between 1 and 1000000', 'tr_expire: zero max_rows');
SELECT throws_ok($$SELECT tr_expire(2147483647)$$, '22023', 'max_rows must be between 1 and 1000000', 'tr_expire: absurd max_rows');
SELECT throws_ok($$SELECT tr_available_count(NULL)$$, '22023', 'event_id must not be null', 'tr_available_count: NULL event_id');
SELECT throws_ok($$SELECT tr_get_reservation(NULL, 'alice')$$, '22023', 'reservation_id must not be null', 'tr_get_reservation: NULL reservation_id');
SELECT throws_ok($$SELECT tr_get_reservation(pg_temp.id('r_alice'), NULL)$$, '22023', 'user_id must not be null', 'tr_get_reservation: NULL user_id');
SELECT throws_ok($$SELECT tr_list_reservations(NULL)$$, '22023', 'user_id must not be null', 'tr_list_reservations: NULL user_id');
SELECT throws_ok($$SELECT tr_list_reservations('alice', -1)$$, '22023', 'lim must be between 1 and 1000', 'tr_list_reservations: negative lim');
SELECT throws_ok($$SELECT tr_list_reservations('alice', 20, -1)$$, '22023', 'off must not be negative', 'tr_list_reservations: negative off');

SELECT throws_ok($$SELECT tr_create_event(NULL, now() + interval '1 day', now() + interval '2 days')$$,
    '22023', 'name must be 1 to 200 characters', 'tr_create_event: NULL name');
SELECT throws_ok($$SELECT tr_create_event(repeat('n', 201), now() + interval '1 day', now() + interval '2 days')$$,
    '22023', 'name must be 1 to 200 characters', 'tr_create_event: name too long');
SELECT throws_ok($$SELECT tr_create_event('x', NULL, now())$$,
    '22023', 'starts_at and ends_at must not be null', 'tr_create_event: NULL starts_at');
SELECT throws_ok($$SELECT tr_create_event('x', now(), 'infinity')$$,
    '22023', 'starts_at and ends_at must be finite', 'tr_create_event: infinite ends_at');
SELECT throws_ok($$SELECT tr_create_event('x', now() + interval '2 days', now() + interval '1 day')$$,
    '22023', 'ends_at must be after starts_at', 'tr_create_event: ends before it starts');
SELECT throws_ok($$SELECT tr_create_event('x', now() + interval '1 day', now() + interval '2 days', hold_duration => '0')$$,
    '22023', 'hold_duration must be between 1 second and 1 day', 'tr_create_event: zero hold_duration');
SELECT throws_ok($$SELECT tr_create_event('x', now() + interval '1 day', now() + interval '2 days', hold_duration => '1 month')$$,
    '22023', 'hold_duration must be between 1 second and 1 day', 'tr_create_event: hold_duration of a month');
SELECT throws_ok($$SELECT tr_create_event('x', now() + interval '1 day', now() + interval '2 days', max_seats_per_reservation => -1)$$,
    '22023', 'max_seats_per_reservation must be between 1 and 1000', 'tr_create_event: negative max_seats_per_reservation');
SELECT throws_ok($$SELECT tr_update_event(NULL, 'x')$$, '22023', 'event_id must not be null', 'tr_update_event: NULL event_id');
SELECT throws_ok($$SELECT tr_update_event(pg_temp.id('ev'), max_seats_per_reservation => 1001)$$,
    '22023', 'max_seats_per_reservation must be between 1 and 1000', 'tr_update_event: absurd max_seats_per_reservation');
SELECT throws_ok($$SELECT tr_delete_event(NULL)$$, '22023', 'event_id must not be null', 'tr_delete_event: NULL event_id');
SELECT throws_ok($$SELECT tr_get_event(NULL)$$, '22023', 'event_id must not be null', 'tr_get_event: NULL event_id');
SELECT throws_ok($$SELECT tr_list_events(0)$$, '22023', 'lim must be between 1 and 1000', 'tr_list_events: zero lim');
SELECT throws_ok($$SELECT tr_list_events(10, -5)$$, '22023', 'off must not be negative', 'tr_list_events: negative off');
SELECT throws_ok($$SELECT tr_add_seats(NULL, '[{"label":"Z"}]')$$, '22023', 'event_id must not be null', 'tr_add_seats: NULL event_id');
SELECT throws_ok($$SELECT tr_add_seats(pg_temp.id('ev'), NULL)$$, '22023', 'seats must be a JSON array', 'tr_add_seats: NULL seats');
SELECT throws_ok($$SELECT tr_add_seats(pg_temp.id('ev'), '{"label":"Z"}')$$, '22023', 'seats must be a JSON array', 'tr_add_seats: an object, not an array');
SELECT throws_ok($$SELECT tr_add_seats(pg_temp.id('ev'), '[]')$$, '22023', 'seats must not be empty', 'tr_add_seats: empty array');
SELECT throws_ok($$SELECT tr_add_seats(pg_temp.id('ev'), '[{"label":"Z-1"}, {"section":"Z"}]')$$,
    '22023', 'seats[1] needs a label of 1 to 100 characters', 'tr_add_seats: a seat without a label');
SELECT throws_ok($$SELECT tr_add_seats(pg_temp.id('ev'), '[{"label":"Z-1","price":-3}]')$$,
    '22023', 'seats[0] needs a price that is a whole number from 0 to 1000000000000', 'tr_add_seats: a negative price');
SELECT throws_ok($$SELECT tr_add_seats(pg_temp.id('ev'), '[{"label":"Z-1","colour":"red"}]')$$,
    '22023', 'seats[0] has an unknown key (allowed: label, section, row, number, price, rank)', 'tr_add_seats: an unknown key');
SELECT throws_ok($$SELECT tr_add_seats(pg_temp.id('ev'), '[{"label":"Z-1"},{"label":"Z-1"}]')$$,
    '22023', 'seats contains a duplicate label', 'tr_add_seats: a label twice in one call');
SELECT throws_ok($$SELECT tr_add_seats(pg_temp.id('ev'), '[{"label":"Z-1"},{"label":"A-1"}]')$$,
    '22023', 'seat label already exists', 'tr_add_seats: a label the event already has (all or nothing)');
SELECT throws_ok($$SELECT tr_generate_seats(pg_temp.id('ev'), 'G', -1, 10, 100)$$,
    '22023', 'rows must be between 1 and 100000', 'tr_generate_seats: negative rows');
SELECT throws_ok($$SELECT tr_generate_seats(pg_temp.id('ev'), 'G', 100000, 100000, 100)$$,
    '22023', 'rows * seats_per_row must be at most 5000000', 'tr_generate_seats: absurd size');
SELECT throws_ok($$SELECT tr_generate_seats(pg_temp.id('ev'), NULL, 1, 1, 100)$$,
    '22023', 'section must be 1 to 50 characters', 'tr_generate_seats: NULL section');
SELECT throws_ok($$SELECT tr_generate_seats(pg_temp.id('ev2'), 'G', 2, 2, 100)$$,
    '22023', 'seat label already exists', 'tr_generate_seats: labels the event already has');
SELECT throws_ok($$SELECT tr_list_seats(pg_temp.id('ev'), 'sold')$$,
    '22023', 'status must be one of available, reserved, confirmed, blocked', 'tr_list_seats: unknown status');

------------------------------------------------------------------------------
-- PT404: not found, including someone else's reservation
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tr_reserve(gen_random_uuid(), 'carol', ARRAY[pg_temp.seat('A-7')])$$,
    'PT404', 'event not found', 'tr_reserve: unknown event');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[gen_random_uuid()])$$,
    'PT404', 'seat not found', 'tr_reserve: unknown seat');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('B-1')])$$,
    'PT404', 'seat not found', 'tr_reserve: a seat of another event');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7'), gen_random_uuid()])$$,
    'PT404', 'seat not found', 'tr_reserve: one unknown seat among good ones');
SELECT ok((SELECT e[3] LIKE '%' || pg_temp.seat('B-1') || '%'
             FROM pg_temp.err($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('B-1')])$$) e),
    'seat not found: DETAIL names the seat');
SELECT throws_ok($$SELECT tr_confirm(gen_random_uuid(), 'alice')$$, 'PT404', 'reservation not found', 'tr_confirm: unknown reservation');
SELECT throws_ok($$SELECT tr_cancel(gen_random_uuid(), 'alice')$$, 'PT404', 'reservation not found', 'tr_cancel: unknown reservation');
SELECT throws_ok($$SELECT tr_confirm(pg_temp.id('r_alice'), 'bob')$$, 'PT404', 'reservation not found', 'tr_confirm: someone else''s reservation');
SELECT throws_ok($$SELECT tr_cancel(pg_temp.id('r_alice'), 'bob')$$, 'PT404', 'reservation not found', 'tr_cancel: someone else''s reservation');
SELECT throws_ok($$SELECT tr_get_reservation(pg_temp.id('r_alice'), 'bob')$$, 'PT404', 'reservation not found', 'tr_get_reservation: someone else''s reservation');
SELECT throws_ok($$SELECT tr_get_reservation(gen_random_uuid(), 'alice')$$, 'PT404', 'reservation not found', 'tr_get_reservation: unknown reservation');
SELECT is((SELECT count(*) FROM tr_list_reservations('bob') r WHERE r.user_id <> 'bob'), 0::bigint,
    'tr_list_reservations shows only the caller''s reservations');
SELECT throws_ok($$SELECT tr_available_count(gen_random_uuid())$$, 'PT404', 'event not found', 'tr_available_count: unknown event');
SELECT throws_ok($$SELECT tr_get_event(gen_random_uuid())$$, 'PT404', 'event not found', 'tr_get_event: unknown event');
SELECT throws_ok($$SELECT tr_update_event(gen_random_uuid(), 'x')$$, 'PT404', 'event not found', 'tr_update_event: unknown event');
SELECT throws_ok($$SELECT tr_delete_event(gen_random_uuid())$$, 'PT404', 'event not found', 'tr_delete_event: unknown event');
SELECT throws_ok($$SELECT tr_add_seats(gen_random_uuid(), '[{"label":"Z"}]')$$, 'PT404', 'event not found', 'tr_add_seats: unknown event');
SELECT throws_ok($$SELECT tr_generate_seats(gen_random_uuid(), 'G', 1, 1, 1)$$, 'PT404', 'event not found', 'tr_generate_seats: unknown event');
SELECT throws_ok($$SELECT tr_list_seats(gen_random_uuid())$$, 'PT404', 'event not found', 'tr_list_seats: unknown event');

------------------------------------------------------------------------------
-- PT409: conflicts
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-1')])$$,
    'PT409', 'seat unavailable', 'tr_reserve: a seat held by someone else');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-1')])$$,
    'PT409', 'seat unavailable', 'tr_reserve: a seat the caller already holds (no key)');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-2')])$$,
    'PT409', 'seat unavailable', 'tr_reserve: a sold seat');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-6')])$$,
    'PT409', 'seat unavailable', 'tr_reserve: a blocked seat');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7'), pg_temp.seat('A-8'), pg_temp.seat('A-1')])$$,
    'PT409', 'seat unavailable', 'tr_reserve: three seats, one taken');
SELECT is((SELECT e[1:2] || ARRAY[(e[3] LIKE '%' || pg_temp.seat('A-1') || '%')::text,
                                  (e[3] LIKE '%' || pg_temp.seat('A-7') || '%')::text, (e[4] IS NOT NULL)::text]
             FROM pg_temp.err($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY[pg_temp.seat('A-7'), pg_temp.seat('A-1')])$$) e),
    ARRAY['PT409', 'seat unavailable', 'true', 'false', 'true'],
    'seat unavailable: DETAIL names the taken seat only, with a HINT');
SELECT throws_ok($$SELECT tr_confirm(pg_temp.id('r_conf'), 'alice')$$, 'PT409', 'reservation not pending', 'tr_confirm: already confirmed');
SELECT throws_ok($$SELECT tr_cancel(pg_temp.id('r_conf'), 'alice')$$, 'PT409', 'reservation not pending', 'tr_cancel: a confirmed reservation cannot be cancelled');
SELECT throws_ok($$SELECT tr_cancel(pg_temp.id('r_canc'), 'alice')$$, 'PT409', 'reservation not pending', 'tr_cancel: already cancelled');
SELECT throws_ok($$SELECT tr_confirm(pg_temp.id('r_canc'), 'alice')$$, 'PT409', 'reservation not pending', 'tr_confirm: a cancelled reservation');
SELECT throws_ok($$SELECT tr_cancel(pg_temp.id('r_exp'), 'alice')$$, 'PT409', 'reservation not pending', 'tr_cancel: an expired reservation');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev_closed'), 'carol', ARRAY[pg_temp.seat('C-1')])$$,
    'PT409', 'booking closed', 'tr_reserve: the event has started');
SELECT throws_ok($$SELECT tr_delete_event(pg_temp.id('ev'))$$, 'PT409', 'event has reservations', 'tr_delete_event: refused while reservations exist');

------------------------------------------------------------------------------
-- PT410: the hold has ended
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tr_confirm(pg_temp.id('r_exp'), 'alice')$$, 'PT410', 'hold expired', 'tr_confirm: an expired reservation');
SELECT throws_ok($$SELECT tr_confirm(pg_temp.id('r_over'), 'bob')$$, 'PT410', 'hold expired', 'tr_confirm: a pending hold past expires_at');
SELECT is((SELECT status::text FROM tr_get_reservation(pg_temp.id('r_over'), 'bob')), 'expired',
    'a pending hold past expires_at reads as expired');

------------------------------------------------------------------------------
-- PT422: too many seats, idempotency key reused
------------------------------------------------------------------------------
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'carol', ARRAY(SELECT gen_random_uuid() FROM generate_series(1, 4)))$$,
    'PT422', 'too many seats', 'tr_reserve: more seats than the event allows');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-7')], 'ka')$$,
    'PT422', 'idempotency key reused', 'tr_reserve: same key, other seats');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-1'), pg_temp.seat('A-7')], 'ka')$$,
    'PT422', 'idempotency key reused', 'tr_reserve: same key, more seats');
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev2'), 'alice', ARRAY[pg_temp.seat('A-1')], 'ka')$$,
    'PT422', 'idempotency key reused', 'tr_reserve: same key, other event');
SELECT ok((SELECT e[3] LIKE '%' || pg_temp.id('r_alice') || '%'
             FROM pg_temp.err($$SELECT tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-7')], 'ka')$$) e),
    'idempotency key reused: DETAIL names the original reservation');
SELECT is((SELECT id FROM tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-1')], 'ka')), pg_temp.id('r_alice'),
    'same key, same request: the original reservation, no error');
SELECT is((SELECT id FROM tr_reserve(pg_temp.id('ev'), 'bob', ARRAY[pg_temp.seat('A-5')], 'kb')), pg_temp.id('r_over'),
    'a replay of an overdue hold returns it, without expiring or re-holding anything');

------------------------------------------------------------------------------
-- PT403: the JWT's user is not user_id
------------------------------------------------------------------------------
SELECT set_config('request.jwt.claims', '{"sub":"alice","role":"authenticated"}', true) IS NOT NULL AS jwt_on \gset
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'bob', ARRAY[pg_temp.seat('A-7')])$$,
    'PT403', 'user mismatch', 'tr_reserve: user_id is not the JWT user');
SELECT throws_ok($$SELECT tr_confirm(pg_temp.id('r_alice'), 'bob')$$, 'PT403', 'user mismatch', 'tr_confirm: user_id is not the JWT user');
SELECT throws_ok($$SELECT tr_cancel(pg_temp.id('r_alice'), 'bob')$$, 'PT403', 'user mismatch', 'tr_cancel: user_id is not the JWT user');
SELECT throws_ok($$SELECT tr_get_reservation(pg_temp.id('r_alice'), 'bob')$$, 'PT403', 'user mismatch', 'tr_get_reservation: user_id is not the JWT user');
SELECT throws_ok($$SELECT tr_list_reservations('bob')$$, 'PT403', 'user mismatch', 'tr_list_reservations: user_id is not the JWT user');
SELECT throws_ok($$SELECT tr_confirm(pg_temp.id('r_over'))$$, 'PT404', 'reservation not found', 'with a JWT, bob''s reservation is not found for alice');
SELECT is((SELECT id FROM tr_get_reservation(pg_temp.id('r_alice'))), pg_temp.id('r_alice'),
    'a NULL user_id acts as the JWT user');
SELECT set_config('request.jwt.claims', '{"role":"authenticated"}', true) IS NOT NULL AS jwt_nosub \gset
SELECT throws_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'alice', ARRAY[pg_temp.seat('A-7')])$$,
    'PT403', 'user mismatch', 'tr_reserve: a JWT without "sub" acts for no one');
SELECT set_config('request.jwt.claims', '', true) IS NOT NULL AS jwt_off \gset

------------------------------------------------------------------------------
-- nothing half-done
------------------------------------------------------------------------------
SELECT is(pg_temp.state(), (SELECT st FROM before),
    'the failed calls changed no reservation, seat or counter');
SELECT is(tr_available_count(pg_temp.id('ev')), (SELECT avail FROM before),
    'the available count is unchanged');
SELECT is_empty($$SELECT * FROM ticketres.check_invariants() WHERE violations <> 0$$,
    'every invariant holds after the failed calls');
SELECT is((SELECT cardinality(seat_ids) FROM tr_reserve(pg_temp.id('ev'), 'carol',
              ARRAY[pg_temp.seat('A-7'), pg_temp.seat('A-8')], 'kc')), 2,
    'the seats a failed multi-seat call touched are free, and its key was not consumed');
SELECT is(tr_available_count(pg_temp.id('ev')), (SELECT avail FROM before) - 2,
    'the count moves by the two seats reserved');

-- the bounds themselves are accepted
SELECT lives_ok($$SELECT tr_reserve(pg_temp.id('ev'), 'dave', ARRAY[pg_temp.seat('A-3')], repeat('k', 200), '1 second')$$,
    'a 200-byte key and a 1 second hold are accepted');
SELECT lives_ok($$SELECT tr_reserve(pg_temp.id('ev'), repeat('u', 200), ARRAY[pg_temp.seat('A-4')], NULL, '1 day')$$,
    'a 200-byte user_id and a 1 day hold are accepted');
SELECT lives_ok($$SELECT tr_expire(1000000)$$, 'max_rows 1000000 is accepted');
SELECT is_empty($$SELECT * FROM ticketres.check_invariants() WHERE violations <> 0$$,
    'every invariant holds at the end');

SELECT * FROM finish();
ROLLBACK;

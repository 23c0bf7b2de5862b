-- tr_reserve: holds, totals, all-or-nothing, idempotency, lazy expiry,
-- booking window, per-reservation limit.
SELECT id AS r1 FROM tr_reserve(ev('Play'), 'alice', seats('Play', 'S-1', 'S-3'), 'alice-1') \gset
SELECT user_id, status, total_amount, cardinality(seat_ids) AS n, idempotency_key,
       expires_at - created_at AS hold
  FROM ticketres.reservations WHERE id = :'r1';
SELECT label, status, reservation_id = :'r1' AS mine FROM ticketres.seats
 WHERE event_id = ev('Play') ORDER BY label;
SELECT tr_available_count(ev('Play'));

-- idempotent replay: same request, same reservation, nothing new
SELECT id = :'r1' AS same FROM tr_reserve(ev('Play'), 'alice', seats('Play', 'S-3', 'S-1'), 'alice-1');
SELECT count(*) AS reservations FROM ticketres.reservations;
-- the key belongs to alice: reused for another request is 422
SELECT try($$SELECT tr_reserve(ev('Play'), 'alice', seats('Play', 'S-2'), 'alice-1')$$);
SELECT try($$SELECT tr_reserve(ev('Concert'), 'alice', seats('Concert', 'A-1-1'), 'alice-1')$$);
-- bob may use the same key string for his own request
SELECT status FROM tr_reserve(ev('Play'), 'bob', seats('Play', 'S-2'), 'alice-1');

-- taken seats: 409 and nothing held
SELECT try($$SELECT tr_reserve(ev('Play'), 'carol', seats('Play', 'S-1'), 'c-1')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'carol', seats('Play', 'S-4', 'S-5', 'S-2'), 'c-2')$$);
SELECT label, status FROM ticketres.seats WHERE label IN ('S-4', 'S-5') AND event_id = ev('Play') ORDER BY 1;
SELECT count(*) AS carol FROM ticketres.reservations WHERE user_id = 'carol';

-- seats of another event or unknown seats: 404
SELECT try($$SELECT tr_reserve(ev('Play'), 'carol', seats('Concert', 'A-1-1'), 'c-3')$$);
SELECT try($$SELECT tr_reserve(ev('Play'), 'carol', ARRAY[gen_random_uuid()], 'c-3')$$);
SELECT try($$SELECT tr_reserve(gen_random_uuid(), 'carol', seats('Play', 'S-4'), 'c-3')$$);

-- the event's per-reservation limit (Play allows 6) is 422
SELECT try($$SELECT tr_reserve(ev('Concert'), 'dave', (SELECT array_agg(id) FROM ticketres.seats WHERE event_id = ev('Concert') AND label LIKE 'A-1-%' AND seat_number <= 11), 'd-1')$$);
SELECT try($$SELECT tr_update_event(ev('Concert'), max_seats_per_reservation => 20)$$);
SELECT status, cardinality(seat_ids), total_amount FROM tr_reserve(ev('Concert'), 'dave', (SELECT array_agg(id) FROM ticketres.seats WHERE event_id = ev('Concert') AND label LIKE 'A-1-%' AND seat_number <= 11), 'd-1');
SELECT tr_available_count(ev('Concert'));

-- no key: every call is a new request
SELECT status FROM tr_reserve(ev('Concert'), 'erin', seats('Concert', 'B-1-1'));
SELECT try($$SELECT tr_reserve(ev('Concert'), 'erin', seats('Concert', 'B-1-1'))$$);

-- booking window: no holds once the event has started
SELECT id AS past FROM tr_create_event('Started', now() - interval '1 hour', now() + interval '1 hour') \gset
SELECT tr_generate_seats(:'past', 'P', 1, 2, 100);
SELECT try(format('SELECT tr_reserve(%L, %L, ARRAY[%L::uuid], %L)', :'past', 'frank',
                  (SELECT id FROM ticketres.seats WHERE event_id = :'past' LIMIT 1), 'f-1'));

-- hold length: the event's, or the call's
SELECT expires_at - created_at AS hold FROM tr_reserve(ev('Concert'), 'gina', seats('Concert', 'B-1-2'), 'g-1', '90 seconds');

-- lazy expiry: a hold ends exactly at expires_at; its seats are free to the
-- next buyer at once, and the old reservation becomes expired in that call
SELECT id AS short FROM tr_reserve(ev('Concert'), 'hank', seats('Concert', 'B-1-3', 'B-1-4'), 'h-1', '1 second') \gset
SELECT try($$SELECT tr_reserve(ev('Concert'), 'ivy', seats('Concert', 'B-1-3'), 'i-1')$$);
SELECT tr_available_count(ev('Concert')) AS before_end;
SELECT pg_sleep(1.2);
SELECT tr_available_count(ev('Concert')) AS after_end;
SELECT status FROM tr_get_reservation(:'short', 'hank');
SELECT status FROM tr_list_seats(ev('Concert')) WHERE label = 'B-1-4';
SELECT status FROM tr_reserve(ev('Concert'), 'ivy', seats('Concert', 'B-1-3'), 'i-1');
SELECT status FROM ticketres.reservations WHERE id = :'short';
SELECT label, status FROM ticketres.seats WHERE event_id = ev('Concert') AND label IN ('B-1-3', 'B-1-4') ORDER BY 1;
SELECT tr_available_count(ev('Concert')) AS after_rebook;
SELECT violations();

-- Confirm, cancel, expiry, ownership, reads, and identity from a JWT.
SELECT id AS p1 FROM tr_reserve(ev('Play'), 'paul', seats('Play', 'S-4'), 'p-1') \gset
SELECT id AS p2 FROM tr_reserve(ev('Play'), 'paul', seats('Play', 'S-5'), 'p-2') \gset

-- someone else's reservation does not exist for you
SELECT try(format('SELECT tr_confirm(%L, %L)', :'p1', 'mallory'));
SELECT try(format('SELECT tr_cancel(%L, %L)', :'p1', 'mallory'));
SELECT try(format('SELECT tr_get_reservation(%L, %L)', :'p1', 'mallory'));
SELECT count(*) FROM tr_list_reservations('mallory');
SELECT try($$SELECT tr_confirm(gen_random_uuid(), 'paul')$$);

-- confirm: seats sold, nothing else moves
SELECT status, confirmed_at IS NOT NULL AS stamped FROM tr_confirm(:'p1', 'paul');
SELECT status FROM ticketres.seats WHERE id = seat('Play', 'S-4');
-- the public seat map shows the seat sold but not whose reservation it is
SELECT status, reservation_id FROM tr_list_seats(ev('Play')) WHERE label = 'S-4';
SELECT try(format('SELECT tr_confirm(%L, %L)', :'p1', 'paul'));
SELECT try(format('SELECT tr_cancel(%L, %L)', :'p1', 'paul'));
SELECT try($$SELECT tr_reserve(ev('Play'), 'quinn', seats('Play', 'S-4'), 'q-1')$$);

-- cancel: seats come back and can be bought by someone else
SELECT tr_available_count(ev('Play')) AS before_cancel;
SELECT status, cancelled_at IS NOT NULL AS stamped FROM tr_cancel(:'p2', 'paul');
SELECT tr_available_count(ev('Play')) AS after_cancel;
SELECT try(format('SELECT tr_cancel(%L, %L)', :'p2', 'paul'));
SELECT try(format('SELECT tr_confirm(%L, %L)', :'p2', 'paul'));
SELECT status FROM tr_reserve(ev('Play'), 'quinn', seats('Play', 'S-5'), 'q-2');

-- confirm after the hold ended: 410, and the seats are not sold
SELECT id AS late FROM tr_reserve(ev('Concert'), 'rita', seats('Concert', 'B-2-1'), 'r-1', '1 second') \gset
SELECT pg_sleep(1.2);
SELECT try(format('SELECT tr_confirm(%L, %L)', :'late', 'rita'));
-- an ended hold cannot be cancelled either, and a replay of its request shows it ended
SELECT try(format('SELECT tr_cancel(%L, %L)', :'late', 'rita'));
SELECT status FROM tr_reserve(ev('Concert'), 'rita', seats('Concert', 'B-2-1'), 'r-1', '1 second');
SELECT status FROM ticketres.seats WHERE id = seat('Concert', 'B-2-1');

-- tr_expire tidies overdue holds and gives their seats back
SELECT id AS e1 FROM tr_reserve(ev('Concert'), 'sam', seats('Concert', 'B-2-2', 'B-2-3'), 's-1', '1 second') \gset
SELECT pg_sleep(1.2);
SELECT tr_expire();
SELECT status FROM ticketres.reservations WHERE id IN (:'late', :'e1');
SELECT label, status FROM ticketres.seats WHERE event_id = ev('Concert') AND label IN ('B-2-1', 'B-2-2', 'B-2-3') ORDER BY 1;
SELECT tr_expire(5);
SELECT try(format('SELECT tr_confirm(%L, %L)', :'e1', 'sam'));
SELECT try($$SELECT tr_expire(0)$$);
SELECT try($$SELECT tr_expire(-1)$$);
SELECT try($$SELECT tr_expire(NULL)$$);
SELECT try($$SELECT tr_expire(2000000)$$);

-- reads: own reservations, newest first
SELECT status, cardinality(seat_ids) FROM tr_list_reservations('paul');
SELECT count(*) FROM tr_list_reservations('paul', 1, 1);
SELECT try($$SELECT tr_list_reservations('paul', 0)$$);
SELECT try($$SELECT tr_list_reservations('paul', 10, -1)$$);
SELECT status FROM tr_get_reservation(:'p1', 'paul');

-- behind PostgREST the JWT's sub is the caller
BEGIN;
SELECT set_config('request.jwt.claims', '{"role": "web_user", "sub": "paul"}', true);
SELECT status FROM tr_get_reservation(:'p1');
SELECT status FROM tr_get_reservation(:'p1', 'paul');
SELECT try(format('SELECT tr_get_reservation(%L, %L)', :'p1', 'quinn'));
SELECT try($$SELECT tr_reserve(ev('Play'), 'quinn', seats('Play', 'S-2'), 'x')$$);
SELECT count(*) FROM tr_list_reservations();
SELECT set_config('request.jwt.claims', '{"role": "web_user"}', true);
SELECT try(format('SELECT tr_get_reservation(%L)', :'p1'));
ROLLBACK;
SELECT try(format('SELECT tr_get_reservation(%L)', :'p1'));
SELECT violations();

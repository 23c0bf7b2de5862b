-- General admission and best available (0.2): areas, GA holds through the
-- whole lifecycle, exact availability, errors; seat ranks and the blocks
-- tr_reserve_best picks.
SELECT id AS ga FROM tr_create_event('Festival', now() + interval '10 days', now() + interval '11 days',
    max_seats_per_reservation => 6) \gset

-- areas
SELECT name, capacity, price FROM tr_add_ga_area(:'ga', 'Floor', 10, 2500);
SELECT name, capacity, price FROM tr_add_ga_area(:'ga', 'Balcony', 3);
SELECT count(*) AS stripes, sum(available) FROM ticketres.ga_counts c
  JOIN ticketres.ga_areas a ON a.id = c.area_id WHERE a.name = 'Floor';
SELECT name, capacity, price, available FROM tr_list_ga_areas(:'ga');
SELECT try($$SELECT tr_add_ga_area(ev('Festival'), 'Floor', 5)$$);
SELECT try($$SELECT tr_add_ga_area(ev('Festival'), '', 5)$$);
SELECT try($$SELECT tr_add_ga_area(ev('Festival'), 'Pit', -1)$$);
SELECT try($$SELECT tr_add_ga_area(ev('Festival'), 'Pit', 5, -3)$$);
SELECT try($$SELECT tr_add_ga_area(gen_random_uuid(), 'Pit', 5)$$);

-- a GA hold: no seats, quantity x price, idempotent
SELECT id AS h1 FROM tr_reserve_ga(:'ga', 'Floor', 4, 'ga-alice', 'a-1') \gset
SELECT status, seat_ids, quantity, total_amount, ga_area_id IS NOT NULL AS ga,
       expires_at - created_at AS hold FROM ticketres.reservations WHERE id = :'h1';
SELECT id = :'h1' AS same FROM tr_reserve_ga(:'ga', 'Floor', 4, 'ga-alice', 'a-1');
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Floor', 3, 'ga-alice', 'a-1')$$);
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Balcony', 4, 'ga-alice', 'a-1')$$);
SELECT tr_ga_available(:'ga', 'Floor'), tr_ga_available(:'ga', 'Balcony');

-- errors
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Floor', 7, 'ga-bob')$$);
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Floor', 0, 'ga-bob')$$);
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Floor', NULL, 'ga-bob')$$);
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Mosh pit', 1, 'ga-bob')$$);
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), NULL, 1, 'ga-bob')$$);
SELECT try($$SELECT tr_reserve_ga(gen_random_uuid(), 'Floor', 1, 'ga-bob')$$);
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Floor', 1, 'ga-bob', NULL, '2 days')$$);
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Balcony', 4, 'ga-bob')$$);
SELECT try($$SELECT tr_ga_available(ev('Festival'), 'Nope')$$);
SELECT try($$SELECT tr_ga_available(gen_random_uuid(), 'Floor')$$);
SELECT try($$SELECT tr_list_ga_areas(gen_random_uuid())$$);
SELECT try($$SELECT tr_reserve_ga(ev('Play'), 'Floor', 1, 'ga-bob')$$);

-- the last tickets sell, then sold out
SELECT id AS hb, quantity FROM tr_reserve_ga(:'ga', 'Floor', 6, 'ga-bob') \gset
SELECT :quantity AS quantity;
SELECT try($$SELECT tr_reserve_ga(ev('Festival'), 'Floor', 1, 'ga-carol')$$);
SELECT tr_ga_available(:'ga', 'Floor');

-- confirm, cancel: the same calls as for seats; a cancel gives the tickets back
SELECT status, quantity FROM tr_confirm(:'h1', 'ga-alice');
SELECT try($$SELECT tr_cancel((SELECT id FROM ticketres.reservations WHERE user_id = 'ga-alice' AND idempotency_key = 'a-1'), 'ga-alice')$$);
SELECT status FROM tr_cancel(:'hb', 'ga-bob');
SELECT tr_ga_available(:'ga', 'Floor');
SELECT try($$SELECT tr_confirm((SELECT id FROM ticketres.reservations WHERE user_id = 'ga-alice' AND idempotency_key = 'a-1'), 'ga-bob')$$);

-- capacity: never below held and sold; price applies to new holds
SELECT try($$SELECT tr_update_ga_area((SELECT id FROM ticketres.ga_areas WHERE name = 'Floor'), 3)$$);
SELECT capacity, price FROM tr_update_ga_area((SELECT id FROM ticketres.ga_areas WHERE name = 'Floor'), 4, 3000);
SELECT tr_ga_available(:'ga', 'Floor');
SELECT capacity FROM tr_update_ga_area((SELECT id FROM ticketres.ga_areas WHERE name = 'Floor'), 12);
SELECT tr_ga_available(:'ga', 'Floor');
SELECT try($$SELECT tr_update_ga_area(gen_random_uuid(), 5)$$);
SELECT try($$SELECT tr_update_ga_area(NULL, 5)$$);

-- lazy expiry: an ended hold's tickets are free at once; admin release and
-- extend work on GA holds
SELECT id AS h2 FROM tr_reserve_ga(:'ga', 'Balcony', 3, 'ga-dave', NULL, '1 second') \gset
SELECT tr_ga_available(:'ga', 'Balcony');
SELECT pg_sleep(1.1);
SELECT tr_ga_available(:'ga', 'Balcony');
SELECT (tr_get_reservation(:'h2', 'ga-dave')).status;
SELECT total_amount FROM tr_reserve_ga(:'ga', 'Balcony', 3, 'ga-erin');
SELECT status FROM ticketres.reservations WHERE id = :'h2';
SELECT id AS h3 FROM tr_reserve_ga(:'ga', 'Floor', 2, 'ga-frank') \gset
SELECT expires_at - created_at AS hold FROM tr_extend_hold(:'h3', '5 minutes', 'slow card');
SELECT status FROM tr_release_reservation(:'h3', 'changed mind');
SELECT action, details->>'quantity' AS quantity FROM ticketres.audit_log WHERE reservation_id = :'h3' ORDER BY id;
SELECT tr_ga_available(:'ga', 'Floor');
SELECT count(*) AS listed FROM tr_list_reservations('ga-frank');
SELECT violations();

-- best available: ranks front rows first, centre out
SELECT id AS bv FROM tr_create_event('Theatre', now() + interval '10 days', now() + interval '11 days') \gset
SELECT tr_generate_seats(:'bv', 'A', 3, 6, 1000);
SELECT tr_generate_seats(:'bv', 'B', 1, 4, 500);
SELECT section, row_label, string_agg(seat_number || ':' || rank, ' ' ORDER BY seat_number) AS ranks
  FROM ticketres.seats WHERE event_id = :'bv' GROUP BY 1, 2 ORDER BY 1, 2;
CREATE FUNCTION picked(r ticketres.reservations) RETURNS text LANGUAGE sql AS
  $$ SELECT string_agg(s.label, ' ' ORDER BY s.label) FROM ticketres.seats s WHERE s.id = ANY (r.seat_ids) $$;
-- A-1-3 and A-1-4 are the centre of the front row; B's front row (B-1-2,
-- B-1-3) ties with the same total rank: the lower section wins
SELECT picked(r), total_amount, quantity FROM tr_reserve_best(:'bv', 2, 'bx-gina', idempotency_key => 'bx-1') r;
SELECT picked(r) FROM tr_reserve_best(:'bv', 2, 'bx-gina', idempotency_key => 'bx-1') r;
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 3, 'bx-gina', idempotency_key => 'bx-1')$$);
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 2, 'bx-gina', section => 'B', idempotency_key => 'bx-1')$$);
SELECT picked(r) FROM tr_reserve_best(:'bv', 2, 'bx-hal') r;
-- no three together left in a front row: row 2, centre
SELECT picked(r) FROM tr_reserve_best(:'bv', 3, 'bx-ivy') r;
-- not together: the best single seats
SELECT picked(r) FROM tr_reserve_best(:'bv', 3, 'bx-jo', together => false) r;
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 2, 'bx-kim', section => 'B')$$);
SELECT picked(r) FROM tr_reserve_best(:'bv', 1, 'bx-kim', section => 'B') r;
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 1, 'bx-lee', max_price => 600)$$);
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 7, 'bx-max')$$);
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 2, 'bx-max', section => 'C')$$);
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 0, 'bx-max')$$);
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 2, 'bx-max', together => NULL)$$);
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 2, 'bx-max', max_price => -1)$$);
SELECT try($$SELECT tr_reserve_best(ev('Theatre'), 11, 'bx-max')$$);
SELECT try($$SELECT tr_reserve_best(gen_random_uuid(), 2, 'bx-max')$$);
-- a hold that ended frees its seats for the next pick
SELECT picked(r) FROM tr_reserve_best(:'bv', 6, 'bx-nat', hold => '1 second') r;
SELECT pg_sleep(1.1);
SELECT picked(r) FROM tr_reserve_best(:'bv', 6, 'bx-oli') r;
SELECT status, count(*) FROM ticketres.reservations WHERE event_id = :'bv' GROUP BY 1 ORDER BY 1;
-- tr_add_seats takes a rank
SELECT tr_add_seats(:'bv', '[{"label": "VIP-1", "section": "V", "row": "1", "number": 1, "rank": 0},
                             {"label": "VIP-2", "section": "V", "row": "1", "number": 2, "rank": 1}]');
SELECT try($$SELECT tr_add_seats(ev('Theatre'), '[{"label": "VIP-3", "rank": -1}]')$$);
SELECT picked(r) FROM tr_reserve_best(:'bv', 2, 'bx-pat') r;
SELECT tr_available_count(:'bv');
SELECT violations();

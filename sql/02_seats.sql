-- Seats: bulk add from JSON, generation, seat map, exact availability.
SELECT tr_add_seats(ev('Play'), '[
  {"label": "S-1", "section": "Stalls", "row": "A", "number": 1, "price": 2500},
  {"label": "S-2", "section": "Stalls", "row": "A", "number": 2, "price": 2500},
  {"label": "S-3", "section": "Stalls", "row": "A", "number": 3, "price": 3000},
  {"label": "S-4", "price": 1000},
  {"label": "S-5"}
]');
SELECT label, section, row_label, seat_number, price, status FROM tr_list_seats(ev('Play'));
SELECT tr_available_count(ev('Play'));

-- generate: labels section-row-number
SELECT tr_generate_seats(ev('Concert'), 'A', 10, 20, 4500);
SELECT tr_generate_seats(ev('Concert'), 'B', 2, 5, 9900);
SELECT count(*), min(label), max(label), sum(price) FROM ticketres.seats WHERE event_id = ev('Concert');
SELECT label, row_label, seat_number FROM tr_list_seats(ev('Concert')) WHERE label LIKE 'B-2-%';
SELECT tr_available_count(ev('Concert'));

-- all or nothing: one bad element adds nothing
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": "S-6"}, {"label": "S-1"}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": "S-7"}, {"label": "S-7"}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": "S-8"}, {"price": 5}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": "S-8", "price": -1}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": "S-8", "price": 1.5}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": "S-8", "price": "10"}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": "S-8", "number": 99999999999}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": "S-8", "prcie": 10}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[{"label": ""}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[42]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '{"label": "S-8"}')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), '[]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), NULL)$$);
SELECT try($$SELECT tr_add_seats(NULL, '[{"label": "x"}]')$$);
SELECT try($$SELECT tr_add_seats(gen_random_uuid(), '[{"label": "x"}]')$$);
SELECT try($$SELECT tr_add_seats(ev('Play'), (SELECT jsonb_agg(jsonb_build_object('label', 'x' || i)) FROM generate_series(1, 100001) i))$$);
SELECT count(*) AS play_seats, tr_available_count(ev('Play')) FROM ticketres.seats WHERE event_id = ev('Play');

-- generate: bad arguments
SELECT try($$SELECT tr_generate_seats(ev('Concert'), 'A', 1, 1, 100)$$);
SELECT try($$SELECT tr_generate_seats(ev('Concert'), '', 1, 1, 100)$$);
SELECT try($$SELECT tr_generate_seats(ev('Concert'), 'C', 0, 1, 100)$$);
SELECT try($$SELECT tr_generate_seats(ev('Concert'), 'C', 1, -1, 100)$$);
SELECT try($$SELECT tr_generate_seats(ev('Concert'), 'C', 100000, 100000, 100)$$);
SELECT try($$SELECT tr_generate_seats(ev('Concert'), 'C', 1, 1, -5)$$);
SELECT try($$SELECT tr_generate_seats(ev('Concert'), 'C', NULL, 1, 5)$$);
SELECT try($$SELECT tr_generate_seats(gen_random_uuid(), 'C', 1, 1, 5)$$);

-- seat map filters
SELECT count(*) FROM tr_list_seats(ev('Concert'), 'available');
SELECT count(*) FROM tr_list_seats(ev('Concert'), 'reserved');
SELECT try($$SELECT tr_list_seats(ev('Concert'), 'sold')$$);
SELECT try($$SELECT tr_list_seats(gen_random_uuid())$$);
SELECT try($$SELECT tr_available_count(gen_random_uuid())$$);
SELECT try($$SELECT tr_available_count(NULL)$$);
SELECT violations();

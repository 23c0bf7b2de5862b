-- 10_schema.sql — the data model of DESIGN §2 and the constraints that
-- protect its invariants where a constraint can: tables, columns, types,
-- enums, keys, checks, the partial expiry index, HOT-friendly seats.
BEGIN;
SELECT plan(89);

-- schema and tables
SELECT has_schema('ticketres', 'schema ticketres exists');
SELECT is_empty($$SELECT unnest(ARRAY['events', 'seats', 'reservations', 'seat_counts'])
                  EXCEPT SELECT c.relname::text FROM pg_catalog.pg_class c
                          WHERE c.relnamespace = 'ticketres'::regnamespace AND c.relkind = 'r'$$,
    'ticketres has the four tables of the data model');

SELECT columns_are('ticketres', 'events', ARRAY['id', 'name', 'venue', 'description',
    'starts_at', 'ends_at', 'hold_duration', 'max_seats_per_reservation', 'created_at',
    'updated_at', 'best_available'], 'events has the contract''s columns (and 0.2''s best_available)');
SELECT columns_are('ticketres', 'seats', ARRAY['id', 'event_id', 'label', 'section',
    'row_label', 'seat_number', 'price', 'status', 'reservation_id', 'updated_at', 'rank',
    'best_available', 'best_free'], 'seats has the contract''s columns (and 0.2''s best_available, best_free)');
SELECT columns_are('ticketres', 'reservations', ARRAY['id', 'event_id', 'user_id', 'seat_ids',
    'status', 'idempotency_key', 'total_amount', 'expires_at', 'created_at', 'confirmed_at',
    'cancelled_at', 'ga_area_id', 'quantity'], 'reservations has the contract''s columns');
SELECT columns_are('ticketres', 'seat_counts', ARRAY['event_id', 'stripe', 'available'],
    'seat_counts has event_id, stripe, available');

-- column types the API and the C code rely on
SELECT col_type_is('ticketres', 'events', 'id', 'uuid', 'events.id is uuid');
SELECT col_type_is('ticketres', 'events', 'starts_at', 'timestamp with time zone', 'events.starts_at is timestamptz');
SELECT col_type_is('ticketres', 'events', 'hold_duration', 'interval', 'events.hold_duration is interval');
SELECT col_default_is('ticketres', 'events', 'hold_duration', '00:15:00'::interval, 'hold_duration defaults to 15 minutes');
SELECT col_default_is('ticketres', 'events', 'max_seats_per_reservation', 10, 'max_seats_per_reservation defaults to 10');
SELECT col_type_is('ticketres', 'seats', 'price', 'ticketres.price', 'seats.price is of domain ticketres.price');
SELECT domain_type_is('ticketres', 'price', 'bigint', 'ticketres.price is a bigint (minor units)');
SELECT col_type_is('ticketres', 'seats', 'status', 'ticketres.seat_status', 'seats.status is the seat_status enum');
SELECT col_type_is('ticketres', 'seats', 'reservation_id', 'uuid', 'seats.reservation_id is uuid');
SELECT col_not_null('ticketres', 'seats', 'status', 'seats.status is NOT NULL');
SELECT col_type_is('ticketres', 'reservations', 'seat_ids', 'ticketres.seat_id_list', 'reservations.seat_ids is of domain ticketres.seat_id_list');
SELECT domain_type_is('ticketres', 'seat_id_list', 'uuid[]', 'ticketres.seat_id_list is a uuid[]');
SELECT col_type_is('ticketres', 'reservations', 'status', 'ticketres.reservation_status', 'reservations.status is the reservation_status enum');
SELECT col_type_is('ticketres', 'reservations', 'total_amount', 'ticketres.amount', 'reservations.total_amount is of domain ticketres.amount');
SELECT domain_type_is('ticketres', 'amount', 'bigint', 'ticketres.amount is a bigint');
-- the per-column rules are domains (0.2, 00_schema.sql says why): each
-- over the type DESIGN §2 gives the column, each with its rule
SELECT is((SELECT string_agg(t.typname || ' ' || pg_catalog.format_type(t.typbasetype, NULL) || ' '
                             || (SELECT count(*) FROM pg_catalog.pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c'),
                             ', ' ORDER BY t.typname)
             FROM pg_catalog.pg_type t WHERE t.typnamespace = 'ticketres'::regnamespace AND t.typtype = 'd'),
    'amount bigint 1, idempotency_key text 1, place_name text 1, price bigint 1, seat_id_list uuid[] 1, '
    'seat_label text 1, stripe_no integer 1, ticket_quantity integer 1, user_ref text 1',
    'the nine column domains, their base types and one rule each');
SELECT is((SELECT pg_catalog.count(*) FROM pg_catalog.pg_type t
            WHERE t.typnamespace = 'ticketres'::regnamespace AND t.typtype = 'd'
              AND pg_catalog.obj_description(t.oid, 'pg_type') IS NOT NULL), 9::bigint,
    'every column domain has a comment');
SELECT is((SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, NULL), ', ' ORDER BY a.attnum)
             FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'ticketres.seats'::regclass
              AND a.attname IN ('label', 'section', 'row_label', 'price')),
    'label ticketres.seat_label, section ticketres.place_name, row_label ticketres.place_name, price ticketres.price',
    'the seat columns with rules have the domains');
SELECT is((SELECT string_agg(a.attname || ' ' || pg_catalog.format_type(a.atttypid, NULL), ', ' ORDER BY a.attnum)
             FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'ticketres.reservations'::regclass
              AND a.attname IN ('user_id', 'idempotency_key', 'quantity')),
    'user_id ticketres.user_ref, idempotency_key ticketres.idempotency_key, quantity ticketres.ticket_quantity',
    'the reservation columns with rules have the domains');
SELECT is((SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = 'ticketres.seat_counts'::regclass AND a.attname = 'stripe'),
    'ticketres.stripe_no', 'seat_counts.stripe has the domain');
SELECT is((SELECT pg_catalog.count(*) FROM pg_catalog.pg_constraint
            WHERE conrelid = 'ticketres.seats'::regclass AND contype = 'c'), 1::bigint,
    'the seat guard re-reads one table CHECK per statement (the reservation rule), no column rule');
-- the multi-column rules are one CHECK per table calling one C function
-- (PostgreSQL 15 reads a table's CHECKs back on every statement that writes it)
SELECT is((SELECT string_agg(pg_catalog.pg_get_constraintdef(c.oid), '; ' ORDER BY c.conrelid::regclass::text)
             FROM pg_catalog.pg_constraint c
            WHERE c.conrelid IN ('ticketres.seats'::regclass, 'ticketres.reservations'::regclass) AND c.contype = 'c'),
    'CHECK (ticketres._reservation_row_ok(status, confirmed_at, cancelled_at, ga_area_id, seat_ids, quantity)); '
    'CHECK (ticketres._seat_row_ok(status, reservation_id))',
    'seats and reservations have one CHECK each, a call of their row rule');
SELECT is((SELECT string_agg(p.proname || ' ' || l.lanname || ' ' || p.provolatile::text, ', ' ORDER BY p.proname)
             FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_language l ON l.oid = p.prolang
            WHERE p.pronamespace = 'ticketres'::regnamespace AND p.proname LIKE '%\_row\_ok'),
    '_reservation_row_ok c i, _seat_row_ok c i', 'the row rules are immutable C functions');
SELECT col_type_is('ticketres', 'reservations', 'expires_at', 'timestamp with time zone', 'reservations.expires_at is timestamptz');
SELECT col_not_null('ticketres', 'reservations', 'expires_at', 'reservations.expires_at is NOT NULL');
SELECT col_is_null('ticketres', 'reservations', 'idempotency_key', 'idempotency_key is optional');

-- the two state machines' states
SELECT enum_has_labels('ticketres', 'seat_status', ARRAY['available', 'reserved', 'confirmed', 'blocked'],
    'seat_status is available | reserved | confirmed | blocked');
SELECT enum_has_labels('ticketres', 'reservation_status', ARRAY['pending', 'confirmed', 'cancelled', 'expired'],
    'reservation_status is pending | confirmed | cancelled | expired');

-- keys
SELECT col_is_pk('ticketres', 'events', 'id', 'events keyed by id');
SELECT col_is_pk('ticketres', 'seats', 'id', 'seats keyed by id');
SELECT col_is_pk('ticketres', 'reservations', 'id', 'reservations keyed by id');
SELECT col_is_pk('ticketres', 'seat_counts', ARRAY['event_id', 'stripe'], 'seat_counts keyed by (event_id, stripe)');
SELECT col_is_unique('ticketres', 'seats', ARRAY['event_id', 'label'], 'seat labels are unique per event');
-- a partial unique index (0.2): reservations without a key have no entry
SELECT is((SELECT pg_get_indexdef(i.indexrelid) FROM pg_catalog.pg_index i
            WHERE i.indrelid = 'ticketres.reservations'::regclass AND i.indisunique
              AND i.indexrelid <> 'ticketres.reservations_pkey'::regclass),
    'CREATE UNIQUE INDEX reservations_idempotency_idx ON ticketres.reservations USING btree (user_id, idempotency_key) WHERE (idempotency_key IS NOT NULL)',
    'idempotency keys are unique per user (a partial index: no entry without a key)');
-- no foreign key on seats (0.2): checked once per call under the event row's
-- lock (ticketres._event_for_seats), not once per seat
SELECT hasnt_fk('ticketres', 'seats', 'seats have no foreign key (one event check per call)');
-- no foreign key on reservations: its check would lock the event row on every
-- reserve; tr_reserve and tr_delete_event coordinate on the event's lock
SELECT hasnt_fk('ticketres', 'reservations', 'reservations have no foreign key (no event row lock per reserve)');
SELECT fk_ok('ticketres', 'seat_counts', 'event_id', 'ticketres', 'events', 'id', 'seat_counts.event_id references events');
SELECT has_check('ticketres', 'seats', 'seats has check constraints');
SELECT has_check('ticketres', 'reservations', 'reservations has check constraints');
SELECT has_check('ticketres', 'events', 'events has check constraints');

-- the expiry index is partial (pending only) and seat updates stay HOT
SELECT has_index('ticketres', 'reservations', 'reservations_pending_idx',
    ARRAY['event_id', 'expires_at', 'id'], 'overdue holds are found per event through (event_id, expires_at, id)');
SELECT is((SELECT pg_catalog.pg_get_expr(i.indpred, i.indrelid) FROM pg_catalog.pg_index i
            WHERE i.indexrelid = 'ticketres.reservations_pending_idx'::regclass),
          '(status = ''pending''::ticketres.reservation_status)',
          'the expiry index covers pending reservations only');
SELECT ok((SELECT 'fillfactor=90' = ANY (c.reloptions) FROM pg_catalog.pg_class c
            WHERE c.oid = 'ticketres.seats'::regclass), 'seats leaves room for HOT updates (fillfactor 90)');
SELECT ok((SELECT 'fillfactor=50' = ANY (c.reloptions) FROM pg_catalog.pg_class c
            WHERE c.oid = 'ticketres.seat_counts'::regclass), 'seat_counts is fillfactor 50');
SELECT is_empty($$
    SELECT a.attname FROM pg_catalog.pg_index i
      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = 'ticketres.seats'::regclass
       AND a.attname IN ('status', 'reservation_id', 'updated_at')$$,
    'no index on a seat column that every reservation changes (HOT)');
-- not in a predicate either: best available's two indexes (0.2) are over
-- best_free, which changes with status only for the seats of an event sold
-- by best available (see README, Performance)
SELECT is_empty($$
    SELECT i.indexrelid FROM pg_catalog.pg_index i
     WHERE i.indrelid = 'ticketres.seats'::regclass AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL)
       AND NOT (i.indexrelid IN ('ticketres.seats_best_idx'::regclass, 'ticketres.seats_row_idx'::regclass)
                AND i.indexprs IS NULL
                AND pg_catalog.pg_get_expr(i.indpred, i.indrelid) = 'best_free')$$,
    'no expression or partial index on seats but the best-available ones over best_free');
SELECT is(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '(best_available AND (status = ''available''::ticketres.seat_status))',
          'best_free is generated: an available seat of an event sold by best available')
  FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE d.adrelid = 'ticketres.seats'::regclass AND a.attname = 'best_free' AND a.attgenerated = 's';

-- pg_dump keeps the rows of every table
SELECT is_empty($$SELECT c.oid::regclass FROM pg_catalog.pg_class c
                   WHERE c.relnamespace = 'ticketres'::regnamespace AND c.relkind IN ('r', 'S')
                     AND c.oid <> ALL ((SELECT e.extconfig FROM pg_catalog.pg_extension e
                                         WHERE e.extname = 'ticketres')::oid[])$$,
    'every table and sequence of schema ticketres is registered with pg_extension_config_dump');

-- the constraints really refuse what would break an invariant
CREATE TEMP TABLE fx AS
SELECT (public.tr_create_event('schema test', now() + interval '1 day', now() + interval '2 days')).id AS ev;
SELECT is((SELECT count(*) FROM ticketres.seat_counts c, fx WHERE c.event_id = fx.ev), 64::bigint,
    'a new event gets 64 counter stripes');
SELECT lives_ok($$SELECT public.tr_add_seats(ev, '[{"label":"A-1","price":100},{"label":"A-2","price":200}]') FROM fx$$,
    'seats are added');

SELECT throws_ok($$UPDATE ticketres.seats SET status = 'reserved' WHERE label = 'A-1'$$,
    '23514', NULL, 'a reserved seat must point at a reservation');
SELECT throws_ok($$UPDATE ticketres.seats SET reservation_id = gen_random_uuid() WHERE label = 'A-1'$$,
    '23514', NULL, 'an available seat must not point at a reservation');
SELECT throws_ok($$UPDATE ticketres.seats SET status = 'sold' WHERE label = 'A-1'$$,
    '22P02', NULL, 'a seat status outside the enum is refused');
SELECT throws_ok($$UPDATE ticketres.seats SET price = -1 WHERE label = 'A-1'$$,
    '23514', NULL, 'a negative price is refused');
SELECT throws_ok($$UPDATE ticketres.seats SET label = repeat('x', 101) WHERE label = 'A-1'$$,
    '23514', NULL, 'a label over 100 characters is refused (domain seat_label)');
SELECT throws_ok($$UPDATE ticketres.seats SET label = '' WHERE label = 'A-1'$$,
    '23514', NULL, 'an empty label is refused (domain seat_label)');
SELECT throws_ok($$UPDATE ticketres.seats SET section = repeat('x', 101) WHERE label = 'A-1'$$,
    '23514', NULL, 'a section over 100 characters is refused (domain place_name)');
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at)
    VALUES (%L, repeat('u', 201), ARRAY[%L::uuid], 0, now())$$, ev, ev),
    '23514', NULL, 'a user id over 200 characters is refused (domain user_ref)') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, quantity)
    VALUES (%L, 'u', ARRAY[%L::uuid], 0, now(), 0)$$, ev, ev),
    '23514', NULL, 'a quantity of 0 is refused (domain ticket_quantity)') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.seats (event_id, label) VALUES (%L, 'A-1')$$, ev),
    '23505', NULL, 'a second seat with the same label in one event is refused') FROM fx;
-- no foreign key: the functions that add seats check the event (once per call)
SELECT throws_ok($$SELECT tr_add_seats(gen_random_uuid(), '[{"label": "Z-1"}]')$$,
    'PT404', 'event not found', 'a seat of a missing event is refused (tr_add_seats)');
SELECT throws_ok($$SELECT tr_generate_seats(gen_random_uuid(), 'Z', 1, 1, 0)$$,
    'PT404', 'event not found', 'a seat of a missing event is refused (tr_generate_seats)');
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at)
    VALUES (%L, 'u', '{}', 0, now())$$, ev), '23514', NULL, 'a reservation without seats is refused') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at)
    VALUES (%L, 'u', ARRAY[ARRAY[%L::uuid], ARRAY[%L::uuid]], 0, now())$$, ev, ev, ev),
    '23514', NULL, 'a reservation with a 2-D seat array is refused') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at)
    VALUES (%L, 'u', ARRAY[%L::uuid], -5, now())$$, ev, ev), '23514', NULL, 'a negative total is refused') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, status)
    VALUES (%L, 'u', ARRAY[%L::uuid], 0, now(), 'confirmed')$$, ev, ev),
    '23514', NULL, 'a confirmed reservation needs confirmed_at') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, status)
    VALUES (%L, 'u', ARRAY[%L::uuid], 0, now(), 'cancelled')$$, ev, ev),
    '23514', NULL, 'a cancelled reservation needs cancelled_at') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, ga_area_id, quantity)
    VALUES (%L, 'u', ARRAY[%L::uuid], 0, now(), gen_random_uuid(), 1)$$, ev, ev),
    '23514', NULL, 'a GA reservation holds no seats') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, ga_area_id)
    VALUES (%L, 'u', '{}', 0, now(), gen_random_uuid())$$, ev),
    '23514', NULL, 'a GA reservation has a quantity') FROM fx;
SELECT lives_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, ga_area_id, quantity, status, cancelled_at)
    VALUES (%L, 'u', '{}', 0, now(), gen_random_uuid(), 2, 'cancelled', now())$$, ev),
    'a well-formed GA reservation row is accepted (cancelled, with cancelled_at)') FROM fx;
SELECT throws_ok($$UPDATE ticketres.reservations SET status = 'confirmed' WHERE ga_area_id IS NOT NULL$$,
    '23514', NULL, 'an update is checked too: confirmed without confirmed_at');
SELECT lives_ok($$UPDATE ticketres.reservations SET status = 'confirmed', confirmed_at = now() WHERE ga_area_id IS NOT NULL$$,
    'confirmed with confirmed_at is accepted');
SELECT is(ticketres._reservation_row_ok('pending', NULL, NULL, gen_random_uuid(), NULL, NULL), false,
    'a GA row with unknown seats and no quantity breaks the rule (as the 0.1 expression: NULL AND false)');
SELECT is(ticketres._reservation_row_ok(NULL, NULL, NULL, NULL, NULL, NULL), true,
    'unknown inputs break no rule (a CHECK fails only on false)');
SELECT lives_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, idempotency_key)
    VALUES (%L, 'u', ARRAY[%L::uuid], 0, now() - interval '1 hour', 'k1')$$, ev, ev),
    'a well-formed reservation row is accepted') FROM fx;
SELECT throws_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, idempotency_key)
    VALUES (%L, 'u', ARRAY[%L::uuid], 0, now(), 'k1')$$, ev, ev),
    '23505', NULL, 'one user cannot store one idempotency key twice') FROM fx;
SELECT lives_ok(format($$INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, idempotency_key)
    VALUES (%L, 'other', ARRAY[%L::uuid], 0, now(), 'k1')$$, ev, ev),
    'another user may use the same key') FROM fx;
SELECT throws_ok($$INSERT INTO ticketres.seat_counts (event_id, stripe) SELECT ev, -1 FROM fx$$,
    '23514', NULL, 'stripes are not negative (0-63 made with the event, overflow from 64)');
SELECT throws_ok(format($$INSERT INTO ticketres.events (name, starts_at, ends_at) VALUES ('x', now(), now() - interval '1 hour')$$),
    '23514', NULL, 'an event cannot end before it starts');
SELECT throws_ok(format($$UPDATE ticketres.events SET hold_duration = interval '2 days' WHERE id = %L$$, ev),
    '23514', NULL, 'a hold longer than one day is refused by the table too') FROM fx;
SELECT throws_ok(format($$UPDATE ticketres.events SET max_seats_per_reservation = 0 WHERE id = %L$$, ev),
    '23514', NULL, 'max_seats_per_reservation is at least 1') FROM fx;

-- deleting an event takes its seats, reservations and counters with it
DELETE FROM ticketres.reservations r USING fx WHERE r.event_id = fx.ev;
SELECT lives_ok(format('SELECT tr_delete_event(%L)', (SELECT ev FROM fx)), 'tr_delete_event of an event with seats');
SELECT is((SELECT count(*) FROM ticketres.seats s, fx WHERE s.event_id = fx.ev)
        + (SELECT count(*) FROM ticketres.seat_counts c, fx WHERE c.event_id = fx.ev), 0::bigint,
    'seats and counters go with their event (tr_delete_event; counters ON DELETE CASCADE)');

SELECT * FROM finish();
ROLLBACK;

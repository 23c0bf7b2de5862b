-- 17_generate.sql — tr_generate_seats' bulk path (src/seatgen.c, 0.2): the
-- seats it writes equal those of the SQL path it falls back to, and it is no
-- weaker than an INSERT: column domains, the table's CHECKs, the generated
-- column and every index (uniqueness) apply; a failed call leaves nothing;
-- a seats table with triggers gets the SQL path, triggers fired.
BEGIN;
SELECT plan(20);

CREATE TEMP TABLE gx AS
SELECT (tr_create_event('gen', now() + interval '1 day', now() + interval '2 days')).id AS ev,
       (tr_create_event('gen best', now() + interval '1 day', now() + interval '2 days')).id AS evb;
CREATE TEMP TABLE gx_not_best AS SELECT tr_set_best_available(ev, false) FROM gx;

-- the bulk path writes the seats (an internal function: not for PUBLIC)
SELECT function_privs_are('ticketres', '_generate_seats_bulk',
    ARRAY['uuid', 'text', 'integer', 'integer', 'bigint', 'boolean'], 'public', '{}',
    'PUBLIC cannot execute ticketres._generate_seats_bulk');
SELECT is((SELECT ticketres._generate_seats_bulk(ev, 'Z', 2, 3, 100, false) FROM gx), 6::bigint,
    'the bulk path handles the seats table as installed (returns the seats added, not -1)');
DELETE FROM ticketres.seats WHERE label LIKE 'Z-%';
SELECT is((SELECT tr_generate_seats(ev, 'B', 3, 5, 700) FROM gx), 15, 'tr_generate_seats: 3 rows of 5 seats');
SELECT is((SELECT string_agg(label || ':' || row_label || ':' || seat_number || ':' || rank || ':' || price
                             || ':' || status || ':' || best_available || ':' || best_free
                             || ':' || (reservation_id IS NULL) || ':' || (updated_at = now()),
                             ' ' ORDER BY rank)
             FROM ticketres.seats s, gx WHERE s.event_id = gx.ev AND section = 'B'),
    'B-1-3:1:3:0:700:available:false:false:true:true B-1-2:1:2:1:700:available:false:false:true:true '
    'B-1-4:1:4:2:700:available:false:false:true:true B-1-1:1:1:3:700:available:false:false:true:true '
    'B-1-5:1:5:4:700:available:false:false:true:true B-2-3:2:3:5:700:available:false:false:true:true '
    'B-2-2:2:2:6:700:available:false:false:true:true B-2-4:2:4:7:700:available:false:false:true:true '
    'B-2-1:2:1:8:700:available:false:false:true:true B-2-5:2:5:9:700:available:false:false:true:true '
    'B-3-3:3:3:10:700:available:false:false:true:true B-3-2:3:2:11:700:available:false:false:true:true '
    'B-3-4:3:4:12:700:available:false:false:true:true B-3-1:3:1:13:700:available:false:false:true:true '
    'B-3-5:3:5:14:700:available:false:false:true:true',
    'every column as DESIGN says: labels, rows, ranks from the centre out, price, available, now()');
SELECT is((SELECT count(DISTINCT substr(s.id::text, 1, 28)) || ':' || bool_and(substr(s.id::text, 15, 1) = '7')
                  || ':' || bool_and(substr(s.id::text, 20, 1) IN ('8', '9', 'a', 'b'))
                  || ':' || string_agg(right(s.id::text, 8), ',' ORDER BY s.row_label, s.seat_number)
             FROM ticketres.seats s, gx WHERE s.event_id = gx.ev AND section = 'B'),
    '1:true:true:00000001,00000002,00000003,00000004,00000005,00000006,00000007,00000008,00000009,0000000a,0000000b,0000000c,0000000d,0000000e,0000000f',
    'seat ids: one UUIDv7 prefix per call, then the seat''s number in the call');
SELECT is((SELECT tr_available_count(ev) FROM gx), 15::bigint, 'the availability counter counts them');

-- an event sold by best available: its seats go into the best-available indexes
SELECT is((SELECT tr_generate_seats(evb, 'B', 2, 4, 100) FROM gx), 8, 'seats for an event sold by best available');
SELECT is((SELECT string_agg(label, ',' ORDER BY rank) || ':' || bool_and(best_free)
             FROM ticketres.seats s, gx WHERE s.event_id = gx.evb),
    'B-1-2,B-1-3,B-1-1,B-1-4,B-2-2,B-2-3,B-2-1,B-2-4:true', 'they are best_free, ranked from the centre out');
SET LOCAL enable_seqscan = off;
SET LOCAL enable_bitmapscan = off;
SELECT is((SELECT string_agg(label, ',' ORDER BY rank) FROM ticketres.seats s, gx
            WHERE s.event_id = gx.evb AND s.best_free AND s.rank < 3),
    'B-1-2,B-1-3,B-1-1', 'the partial best-available index has their entries');
SELECT is((SELECT count(*) FROM ticketres.seats s, gx WHERE s.event_id = gx.ev AND s.label = 'B-3-5'), 1::bigint,
    'the label index has their entries');
RESET enable_seqscan;
RESET enable_bitmapscan;

-- no weaker than an INSERT, and nothing left of a failed call
SELECT lives_ok($$SELECT tr_add_seats((SELECT ev FROM gx), '[{"label": "C-2-3", "section": "C"}]')$$, 'one seat C-2-3');
SELECT throws_ok($$SELECT tr_generate_seats((SELECT ev FROM gx), 'C', 3, 3, 100)$$,
    '22023', 'seat label already exists', 'a label the event has (the 6th of 9): the unique index refuses it');
SELECT is((SELECT count(*) || ':' || tr_available_count(ev) FROM ticketres.seats s, gx
            WHERE s.event_id = gx.ev AND s.section = 'C' GROUP BY ev), '1:16',
    'nothing of the failed call is left, the counter is exact');
ALTER DOMAIN ticketres.seat_label ADD CONSTRAINT no_d_2 CHECK (VALUE NOT LIKE 'D-2-%');
SELECT throws_ok($$SELECT tr_generate_seats((SELECT ev FROM gx), 'D', 3, 3, 100)$$,
    '23514', NULL, 'each label goes through its column''s domain (a constraint a DBA added)');
ALTER DOMAIN ticketres.seat_label DROP CONSTRAINT no_d_2;
ALTER TABLE ticketres.seats ADD CONSTRAINT cheap CHECK (price < 500) NOT VALID;
SELECT throws_ok($$SELECT tr_generate_seats((SELECT ev FROM gx), 'E', 2, 2, 600)$$,
    '23514', NULL, 'the table''s CHECK constraints apply');
ALTER TABLE ticketres.seats DROP CONSTRAINT cheap;
SELECT is((SELECT count(*) FROM ticketres.seats s, gx WHERE s.event_id = gx.ev AND s.section IN ('D', 'E')), 0::bigint,
    'nothing of the refused calls is left');

-- a trigger on seats (a DBA's audit, say): the SQL path, which fires it
CREATE TEMP TABLE fired (label text);
CREATE FUNCTION pg_temp.seat_audit() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO fired VALUES (NEW.label); RETURN NEW; END $$;
CREATE TRIGGER seat_audit AFTER INSERT ON ticketres.seats FOR EACH ROW EXECUTE FUNCTION pg_temp.seat_audit();
SELECT is((SELECT ticketres._generate_seats_bulk(ev, 'Y', 1, 1, 100, false) FROM gx), -1::bigint,
    'with a trigger on seats the bulk path declines (-1) and writes nothing');
SELECT is((SELECT tr_generate_seats(ev, 'F', 3, 5, 700) FROM gx), 15, 'tr_generate_seats then runs its INSERT');
SELECT is((SELECT count(*) FROM fired WHERE label LIKE 'F-%'), 15::bigint, 'which fires the trigger for each seat');
DROP TRIGGER seat_audit ON ticketres.seats;
SELECT is((SELECT string_agg(f.row_label || ':' || f.seat_number || ':' || f.rank || ':' || f.price || ':' || f.status
                             || ':' || f.best_free || ':' || (f.updated_at = now())
                             || ':' || (right(f.id::text, 8) = right(b.id::text, 8)), ' ' ORDER BY f.rank)
                  IS NOT DISTINCT FROM
                  string_agg(b.row_label || ':' || b.seat_number || ':' || b.rank || ':' || b.price || ':' || b.status
                             || ':' || b.best_free || ':' || true || ':' || true, ' ' ORDER BY b.rank)
             FROM gx, ticketres.seats f
             JOIN ticketres.seats b ON b.event_id = f.event_id AND b.label = 'B' || substr(f.label, 2)
            WHERE f.event_id = gx.ev AND f.section = 'F'),
    true, 'the two paths write the same seats (rows, numbers, ranks, ids'' counters)');

SELECT * FROM finish();
ROLLBACK;

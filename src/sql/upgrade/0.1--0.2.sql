-- Table changes from 0.1 to 0.2 (the functions follow: the generated upgrade
-- script replays src/sql/10_* .. 90_* after this file).  Every statement here
-- must leave a 0.1 database with exactly the tables of a fresh 0.2 install:
-- test/suites/20_upgrade.sh compares the two catalogs.

-- reservations: no foreign key to events (see 00_schema.sql); the expiry
-- index is per event
ALTER TABLE ticketres.reservations DROP CONSTRAINT reservations_event_id_fkey;
DROP INDEX ticketres.reservations_pending_expiry_idx;
CREATE INDEX reservations_pending_idx ON ticketres.reservations (event_id, expires_at, id)
    WHERE status = 'pending';

-- seat_counts: overflow stripes beyond the 64 of 0.1
ALTER TABLE ticketres.seat_counts DROP CONSTRAINT seat_counts_stripe_check;
ALTER TABLE ticketres.seat_counts ADD CONSTRAINT seat_counts_stripe_check CHECK (stripe >= 0);
CREATE SEQUENCE ticketres.seat_counts_overflow_seq AS int MINVALUE 64 START 64;
CREATE INDEX seat_counts_overflow_idx ON ticketres.seat_counts (event_id) WHERE stripe >= 64;
SELECT pg_catalog.pg_extension_config_dump('ticketres.seat_counts_overflow_seq', '');

-- functions merged or moved to C in 0.2
DROP FUNCTION ticketres._web_schema();

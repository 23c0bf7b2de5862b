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

-- The per-column rules become domains (00_schema.sql says why). Each
-- domain is created without its rule, so that giving a column the domain's
-- type changes only the catalog (no table rewrite, the indexes are kept);
-- the rule is added at the end of this file, which checks the rows once.
CREATE DOMAIN ticketres.seat_label AS text;
CREATE DOMAIN ticketres.place_name AS text;
CREATE DOMAIN ticketres.price AS bigint;
CREATE DOMAIN ticketres.user_ref AS text;
CREATE DOMAIN ticketres.seat_id_list AS uuid[];
CREATE DOMAIN ticketres.idempotency_key AS text;
CREATE DOMAIN ticketres.amount AS bigint;
CREATE DOMAIN ticketres.ticket_quantity AS int;
CREATE DOMAIN ticketres.stripe_no AS int;
ALTER TABLE ticketres.seats
    DROP CONSTRAINT seats_label_check, DROP CONSTRAINT seats_section_check,
    DROP CONSTRAINT seats_row_label_check, DROP CONSTRAINT seats_price_check,
    ALTER COLUMN label TYPE ticketres.seat_label COLLATE "C",
    ALTER COLUMN section TYPE ticketres.place_name,
    ALTER COLUMN row_label TYPE ticketres.place_name,
    ALTER COLUMN price TYPE ticketres.price;
ALTER TABLE ticketres.reservations
    DROP CONSTRAINT reservations_user_id_check, DROP CONSTRAINT reservations_seat_ids_check,
    DROP CONSTRAINT reservations_idempotency_key_check, DROP CONSTRAINT reservations_total_amount_check,
    ALTER COLUMN user_id TYPE ticketres.user_ref,
    ALTER COLUMN seat_ids TYPE ticketres.seat_id_list,
    ALTER COLUMN idempotency_key TYPE ticketres.idempotency_key,
    ALTER COLUMN total_amount TYPE ticketres.amount;
-- seat_counts: overflow stripes beyond the 64 of 0.1 (0.1's rule was < 64)
ALTER TABLE ticketres.seat_counts DROP CONSTRAINT seat_counts_stripe_check,
    ALTER COLUMN stripe TYPE ticketres.stripe_no;
CREATE SEQUENCE ticketres.seat_counts_overflow_seq AS int MINVALUE 64 START 64;
CREATE INDEX seat_counts_overflow_idx ON ticketres.seat_counts (event_id) WHERE stripe >= 64;
SELECT pg_catalog.pg_extension_config_dump('ticketres.seat_counts_overflow_seq', '');

-- functions merged or moved to C in 0.2
DROP FUNCTION ticketres._web_schema();

-- general admission and best available: new columns last, as 00_schema.sql
-- has them; existing reservations hold seats, existing seats get their rank
ALTER TABLE ticketres.seats ADD COLUMN rank int;
ALTER TABLE ticketres.events ADD COLUMN best_available boolean NOT NULL DEFAULT true;
ALTER TABLE ticketres.reservations ADD COLUMN ga_area_id uuid;
ALTER TABLE ticketres.reservations ADD COLUMN quantity ticketres.ticket_quantity;
UPDATE ticketres.reservations SET quantity = pg_catalog.cardinality(seat_ids);
-- the multi-column rules: one CHECK per table that calls a C function
-- (00_schema.sql says why); 0.1's CHECK expressions go, and the new one of
-- reservations also says that a reservation holds seats or GA tickets
CREATE FUNCTION ticketres._seat_row_ok(status ticketres.seat_status, reservation_id uuid)
RETURNS boolean
AS 'MODULE_PATHNAME', 'tr_seat_row_ok'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ticketres._seat_row_ok(ticketres.seat_status, uuid) IS
    'CHECK of seats: (status IN (''reserved'', ''confirmed'')) = (reservation_id IS NOT NULL)';
CREATE FUNCTION ticketres._reservation_row_ok(status ticketres.reservation_status,
    confirmed_at timestamptz, cancelled_at timestamptz, ga_area_id uuid,
    seat_ids ticketres.seat_id_list, quantity ticketres.ticket_quantity)
RETURNS boolean
AS 'MODULE_PATHNAME', 'tr_reservation_row_ok'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ticketres._reservation_row_ok(ticketres.reservation_status, timestamptz,
    timestamptz, uuid, ticketres.seat_id_list, ticketres.ticket_quantity) IS
    'CHECK of reservations: a confirmed one has confirmed_at, a cancelled one cancelled_at; '
    'it holds seats (ga_area_id NULL, at least one seat) or a quantity of GA tickets (no seats)';
ALTER TABLE ticketres.seats DROP CONSTRAINT seats_check,
    ADD CONSTRAINT seats_check CHECK (ticketres._seat_row_ok(status, reservation_id));
ALTER TABLE ticketres.reservations DROP CONSTRAINT reservations_check,
    DROP CONSTRAINT reservations_check1,
    ADD CONSTRAINT reservations_check CHECK (ticketres._reservation_row_ok(status, confirmed_at,
        cancelled_at, ga_area_id, seat_ids, quantity));
-- the rule of tr_generate_seats (see ticketres._centre_rank): per section,
-- rows front first, then the centre of each row outwards
UPDATE ticketres.seats s SET rank = x.rank
  FROM (SELECT id, (dense_rank() OVER (PARTITION BY event_id, section ORDER BY rowkey, row_label) - 1)
                   * max(n) OVER (PARTITION BY event_id, section)
                   + abs(2 * k - (n + 1)) - (2 * k < n + 1)::int AS rank
          FROM (SELECT id, event_id, section, row_label,
                       CASE WHEN row_label ~ '^[0-9]{1,9}$' THEN row_label::int END AS rowkey,
                       row_number() OVER w AS k, count(*) OVER (PARTITION BY event_id, section, row_label) AS n
                  FROM ticketres.seats WINDOW w AS (PARTITION BY event_id, section, row_label
                                                    ORDER BY seat_number, label)) y) x
 WHERE x.id = s.id;

-- which seats best available offers (00_schema.sql, seats): adding a stored
-- generated column rewrites seats once, with its indexes
ALTER TABLE ticketres.seats ADD COLUMN best_available boolean NOT NULL DEFAULT true,
    ADD COLUMN best_free boolean NOT NULL GENERATED ALWAYS AS (best_available AND status = 'available') STORED;

-- idempotency keys: a partial unique index instead of the UNIQUE constraint,
-- so that a call without a key writes no entry (00_schema.sql)
CREATE UNIQUE INDEX reservations_idempotency_idx ON ticketres.reservations (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
ALTER TABLE ticketres.reservations DROP CONSTRAINT reservations_user_id_idempotency_key_key;

-- seats lose their foreign key: tr_add_seats and tr_generate_seats lock the
-- event row once per call instead of once per seat (00_schema.sql says why)
ALTER TABLE ticketres.seats DROP CONSTRAINT seats_event_id_fkey;

-- the overdue GA holds of an area, for tr_ga_available and lazy expiry
CREATE INDEX reservations_ga_pending_idx ON ticketres.reservations (ga_area_id, expires_at, id)
    INCLUDE (quantity) WHERE status = 'pending' AND ga_area_id IS NOT NULL;

-- best available: the available seats by rank (ties as DESIGN §9 breaks
-- them), and by place in a row for the blocks of together seats; only the
-- seats of events sold by best available (best_free, see seats)
CREATE INDEX seats_best_idx ON ticketres.seats (event_id, rank, section, row_label, seat_number)
    WHERE best_free;
CREATE INDEX seats_row_idx ON ticketres.seats (event_id, section, row_label, seat_number)
    WHERE best_free;

CREATE TABLE ticketres.ga_areas (
    id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    event_id uuid NOT NULL REFERENCES ticketres.events (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 100),
    capacity int NOT NULL CHECK (capacity >= 0),
    price bigint NOT NULL DEFAULT 0 CHECK (price BETWEEN 0 AND 1000000000000),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (event_id, name)
);

-- Tickets left per area without a hot row, like seat_counts: stripes whose
-- sum is capacity minus the quantity of pending (overdue or not) and
-- confirmed GA reservations.  Never below zero: the CHECK is the last guard
-- against selling one ticket over capacity.
CREATE TABLE ticketres.ga_counts (
    area_id uuid NOT NULL REFERENCES ticketres.ga_areas (id) ON DELETE CASCADE,
    stripe int NOT NULL CHECK (stripe >= 0),
    available bigint NOT NULL DEFAULT 0 CHECK (available >= 0),
    PRIMARY KEY (area_id, stripe)
) WITH (fillfactor = 50);

-- a GA area with its tickets available now (tr_list_ga_areas)
CREATE TYPE ticketres.ga_area_availability AS (id uuid, event_id uuid, name text, capacity int,
    price bigint, created_at timestamptz, available bigint);
COMMENT ON TABLE ticketres.ga_areas IS 'general admission areas of events: a capacity and a price, no seats';
COMMENT ON TABLE ticketres.ga_counts IS 'striped exact count of tickets left per GA area (sum over stripes)';
SELECT pg_catalog.pg_extension_config_dump('ticketres.ga_areas', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.ga_counts', '');

-- the rules of the domains made at the top of this file (the same as
-- 00_schema.sql gives them): each checks the rows of its columns once
ALTER DOMAIN ticketres.seat_label
    ADD CONSTRAINT seat_label_check CHECK (pg_catalog.length(VALUE) BETWEEN 1 AND 100);
ALTER DOMAIN ticketres.place_name
    ADD CONSTRAINT place_name_check CHECK (pg_catalog.length(VALUE) <= 100);
ALTER DOMAIN ticketres.price
    ADD CONSTRAINT price_check CHECK (VALUE BETWEEN 0 AND 1000000000000);
ALTER DOMAIN ticketres.user_ref
    ADD CONSTRAINT user_ref_check CHECK (pg_catalog.length(VALUE) BETWEEN 1 AND 200);
ALTER DOMAIN ticketres.seat_id_list
    ADD CONSTRAINT seat_id_list_check CHECK (pg_catalog.cardinality(VALUE) BETWEEN 0 AND 1000
                                             AND pg_catalog.array_ndims(VALUE) = 1);
ALTER DOMAIN ticketres.idempotency_key
    ADD CONSTRAINT idempotency_key_check CHECK (pg_catalog.octet_length(VALUE) BETWEEN 1 AND 200);
ALTER DOMAIN ticketres.amount ADD CONSTRAINT amount_check CHECK (VALUE >= 0);
ALTER DOMAIN ticketres.ticket_quantity
    ADD CONSTRAINT ticket_quantity_check CHECK (VALUE BETWEEN 1 AND 1000);
ALTER DOMAIN ticketres.stripe_no ADD CONSTRAINT stripe_no_check CHECK (VALUE >= 0);

------------------------------------------------------------------------------
-- Schema, types and tables (fresh installs only: an update changes tables
-- in upgrade/0.1--0.2.sql).
------------------------------------------------------------------------------

CREATE SCHEMA ticketres;
COMMENT ON SCHEMA ticketres IS 'ticketres data: events, seats, reservations (use the tr_* functions, not the tables)';

CREATE TYPE ticketres.seat_status AS ENUM ('available', 'reserved', 'confirmed', 'blocked');
CREATE TYPE ticketres.reservation_status AS ENUM ('pending', 'confirmed', 'cancelled', 'expired');

-- The per-column rules of seats, reservations and seat_counts (0.2). As
-- table CHECK constraints (0.1) PostgreSQL 15 re-read and compiled every one
-- of them from its stored text on each statement that wrote a row of the
-- table, whichever columns it changed: the seat guard of every reserve paid
-- for the label, section, row and price rules it cannot break. A domain's
-- rule is checked only where a value is written to a column of that type,
-- from the type cache. doc/performance.md measures it (backend CPU per
-- reserve 175 -> 159 us). Clients see the base types: a result column of a
-- domain type is described as its base type on the wire.
CREATE DOMAIN ticketres.seat_label AS text
    CONSTRAINT seat_label_check CHECK (pg_catalog.length(VALUE) BETWEEN 1 AND 100);
CREATE DOMAIN ticketres.place_name AS text
    CONSTRAINT place_name_check CHECK (pg_catalog.length(VALUE) <= 100);
CREATE DOMAIN ticketres.price AS bigint
    CONSTRAINT price_check CHECK (VALUE BETWEEN 0 AND 1000000000000);
CREATE DOMAIN ticketres.user_ref AS text
    CONSTRAINT user_ref_check CHECK (pg_catalog.length(VALUE) BETWEEN 1 AND 200);
CREATE DOMAIN ticketres.seat_id_list AS uuid[]
    CONSTRAINT seat_id_list_check CHECK (pg_catalog.cardinality(VALUE) BETWEEN 0 AND 1000
                                         AND pg_catalog.array_ndims(VALUE) = 1);
CREATE DOMAIN ticketres.idempotency_key AS text
    CONSTRAINT idempotency_key_check CHECK (pg_catalog.octet_length(VALUE) BETWEEN 1 AND 200);
CREATE DOMAIN ticketres.amount AS bigint
    CONSTRAINT amount_check CHECK (VALUE >= 0);
CREATE DOMAIN ticketres.ticket_quantity AS int
    CONSTRAINT ticket_quantity_check CHECK (VALUE BETWEEN 1 AND 1000);
CREATE DOMAIN ticketres.stripe_no AS int
    CONSTRAINT stripe_no_check CHECK (VALUE >= 0);

-- The rules that tie columns of one row together (0.2): one table CHECK per
-- table that calls one C function of the row (src/rowrules.c). As SQL
-- expressions (0.1) PostgreSQL 15 read them back from their stored text and
-- planned them on every statement that wrote a row; the reserve paid about
-- 8 % of its backend CPU for it (doc/performance.md, section 3). The catalog
-- still enforces them on every row, whoever writes it.
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

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE ticketres.events (
    id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    name text NOT NULL CHECK (pg_catalog.length(name) BETWEEN 1 AND 200),
    venue text CHECK (pg_catalog.length(venue) <= 200),
    description text CHECK (pg_catalog.length(description) <= 10000),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    hold_duration interval NOT NULL DEFAULT '15 minutes'
        CHECK (hold_duration BETWEEN '1 second' AND '1 day'),
    max_seats_per_reservation int NOT NULL DEFAULT 10
        CHECK (max_seats_per_reservation BETWEEN 1 AND 1000),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- 0.2: its seats are offered by tr_reserve_best (tr_set_best_available)
    best_available boolean NOT NULL DEFAULT true,
    CHECK (ends_at > starts_at)
);

-- Seat status changes touch status, reservation_id and updated_at only, and
-- fillfactor leaves room on the page, so they are HOT updates: no index of
-- seats has status in its columns or predicate. The best-available indexes
-- (seats_best_idx, seats_row_idx) are over best_free, a stored generated
-- column that is status = 'available' for the seats of an event sold by best
-- available and always false for the others: a status change of such a seat
-- is not HOT (its best_free changes), of any other seat it is.
-- doc/performance.md measures that trade.
CREATE TABLE ticketres.seats (
    id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    -- no foreign key (0.2): its check ran once per inserted seat (a quarter
    -- of the time of generating 1,000,000 seats); tr_add_seats and
    -- tr_generate_seats lock the event row FOR KEY SHARE once instead, which
    -- is what the check did, and tr_delete_event deletes the seats itself
    event_id uuid NOT NULL,
    label ticketres.seat_label COLLATE "C" NOT NULL,
    section ticketres.place_name,
    row_label ticketres.place_name,
    seat_number int,
    price ticketres.price NOT NULL DEFAULT 0,
    status ticketres.seat_status NOT NULL DEFAULT 'available',
    reservation_id uuid,
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- best available (0.2): lower is better; added last, as the update adds it
    rank int,
    -- 0.2: its event's best_available (tr_set_best_available keeps them equal)
    best_available boolean NOT NULL DEFAULT true,
    -- 0.2: in the best-available indexes: available and sold by best available
    best_free boolean NOT NULL GENERATED ALWAYS AS (best_available AND status = 'available') STORED,
    UNIQUE (event_id, label),
    -- a seat points at a reservation exactly when it is reserved or confirmed
    CONSTRAINT seats_check CHECK (ticketres._seat_row_ok(status, reservation_id))
) WITH (fillfactor = 90);

CREATE TABLE ticketres.reservations (
    id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
    -- no foreign key: its check would lock the event row FOR KEY SHARE on every
    -- reserve (multixacts on one hot row during an on-sale); tr_reserve reads
    -- the event itself under the event's advisory lock, which tr_delete_event
    -- takes exclusively before it deletes the event and its reservations
    event_id uuid NOT NULL,
    user_id ticketres.user_ref NOT NULL,
    seat_ids ticketres.seat_id_list NOT NULL,
    status ticketres.reservation_status NOT NULL DEFAULT 'pending',
    idempotency_key ticketres.idempotency_key,
    total_amount ticketres.amount NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    confirmed_at timestamptz,
    cancelled_at timestamptz,
    -- general admission (0.2): a reservation holds seats (ga_area_id NULL,
    -- quantity = the number of seats) or quantity tickets of an area (no seats)
    ga_area_id uuid,
    quantity ticketres.ticket_quantity,
    -- confirmed_at / cancelled_at with their status; seats or GA tickets
    CONSTRAINT reservations_check CHECK (ticketres._reservation_row_ok(status, confirmed_at,
        cancelled_at, ga_area_id, seat_ids, quantity))
);
-- one reservation per (user, idempotency key); a call without a key adds no
-- entry (0.2: 0.1's UNIQUE constraint indexed every reservation)
CREATE UNIQUE INDEX reservations_idempotency_idx ON ticketres.reservations (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- the pending holds of each event by expiry: the overdue part of
-- tr_available_count reads only its own event's overdue holds, and tr_expire
-- walks the events' overdue holds in (event_id, expires_at, id) order
CREATE INDEX reservations_pending_idx ON ticketres.reservations (event_id, expires_at, id)
    WHERE status = 'pending';

-- Exact availability without a hot row: per event, stripes whose sum is the
-- number of available seats.  tr_create_event makes stripes 0-63; a call adds
-- to its backend's stripe, or to the next stripe whose stripe lock (an
-- advisory lock, src/locks.c) no other transaction holds, or, when every
-- stripe is held by open or prepared
-- transactions, to a new overflow stripe (numbered from the sequence, >= 64)
-- that tr_expire folds back.  So a count never waits for another transaction.
CREATE TABLE ticketres.seat_counts (
    event_id uuid NOT NULL REFERENCES ticketres.events (id) ON DELETE CASCADE,
    stripe ticketres.stripe_no NOT NULL,
    available bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, stripe)
) WITH (fillfactor = 50);
CREATE SEQUENCE ticketres.seat_counts_overflow_seq AS int MINVALUE 64 START 64;
CREATE INDEX seat_counts_overflow_idx ON ticketres.seat_counts (event_id) WHERE stripe >= 64;

COMMENT ON TABLE ticketres.events IS 'events on sale; change them through tr_create_event / tr_update_event / tr_delete_event';
COMMENT ON TABLE ticketres.seats IS 'seats of events and their state (available, reserved, confirmed, blocked)';
COMMENT ON TABLE ticketres.reservations IS 'holds and purchases; unique per (user_id, idempotency_key)';
COMMENT ON TABLE ticketres.seat_counts IS 'striped exact count of available seats per event (sum over stripes)';

-- pg_dump keeps the rows of extension tables only when they are registered
SELECT pg_catalog.pg_extension_config_dump('ticketres.events', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.seats', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.reservations', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.seat_counts', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.seat_counts_overflow_seq', '');

-- PostgREST 12 answers a function returning this domain with Content-Type text/plain
CREATE DOMAIN @extschema@."text/plain" AS text;

-- who did what to which seats or reservation, and why; rows are never changed
CREATE TABLE ticketres.audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    actor text NOT NULL,
    action text NOT NULL
        CHECK (action IN ('block_seats', 'unblock_seats', 'release_reservation', 'extend_hold')),
    event_id uuid,              -- no foreign keys: the record outlives what it names
    reservation_id uuid,
    seat_ids uuid[],
    reason text CHECK (pg_catalog.length(reason) <= 1000),
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON ticketres.audit_log (at);
COMMENT ON TABLE ticketres.audit_log IS 'every admin action: who (actor), when (at), what (action, ids, details), why (reason)';
SELECT pg_catalog.pg_extension_config_dump('ticketres.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('ticketres.audit_log_id_seq', '');

------------------------------------------------------------------------------
-- General admission and best available (0.2).  The same statements are in
-- upgrade/0.1--0.2.sql: keep the two identical.
------------------------------------------------------------------------------

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

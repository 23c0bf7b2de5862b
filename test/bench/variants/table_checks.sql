-- test/bench/variants/table_checks.sql — for cpu_ab.sh / ab.sh only: turns the
-- column domains of 0.2 back into 0.1's table CHECK constraints (the same
-- rules), to measure what the domains save.
ALTER TABLE ticketres.seats
    ALTER COLUMN label TYPE text COLLATE "C", ALTER COLUMN section TYPE text,
    ALTER COLUMN row_label TYPE text, ALTER COLUMN price TYPE bigint,
    ADD CHECK (pg_catalog.length(label) BETWEEN 1 AND 100), ADD CHECK (pg_catalog.length(section) <= 100),
    ADD CHECK (pg_catalog.length(row_label) <= 100), ADD CHECK (price BETWEEN 0 AND 1000000000000);
ALTER TABLE ticketres.reservations
    ALTER COLUMN user_id TYPE text, ALTER COLUMN seat_ids TYPE uuid[], ALTER COLUMN idempotency_key TYPE text,
    ALTER COLUMN total_amount TYPE bigint, ALTER COLUMN quantity TYPE int,
    ADD CHECK (pg_catalog.length(user_id) BETWEEN 1 AND 200),
    ADD CHECK (pg_catalog.cardinality(seat_ids) BETWEEN 0 AND 1000 AND pg_catalog.array_ndims(seat_ids) = 1),
    ADD CHECK (pg_catalog.octet_length(idempotency_key) BETWEEN 1 AND 200),
    ADD CHECK (total_amount >= 0), ADD CHECK (quantity BETWEEN 1 AND 1000);
ALTER TABLE ticketres.seat_counts ALTER COLUMN stripe TYPE int, ADD CHECK (stripe >= 0);

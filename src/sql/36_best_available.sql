------------------------------------------------------------------------------
-- Best available (DESIGN §9): the call picks the seats.
--
-- seats.rank orders the seats (lower is better); tr_generate_seats sets it:
-- front rows first, then each row from the centre outwards.  The available
-- seats are read in rank order from seats_best_idx, a partial index of the
-- available seats only (seats.best_free: of events sold by best available,
-- tr_set_best_available), so the search starts at the best free seat
-- however full the event is.  Seats are tried with the advisory seat locks without
-- waiting: a seat (or block) another call is taking is skipped, never waited
-- for and never a `seat busy`.  A seat is taken only after its lock is held
-- and it is still available, so the seat guard cannot come up short.
--
-- Together: a block is quantity seats of one row (same section and
-- row_label, both set) with consecutive seat_numbers; the best block has
-- the lowest total rank.  The search is in C (src/best.c): each row met in
-- the rank stream is read once (seats_row_idx) and its blocks are kept in
-- memory; a block is tried once no row not yet met can beat it, and a seat
-- found busy or taken is dropped without another statement.
------------------------------------------------------------------------------

-- the place of the k-th of n seats of a row, centre first: of two seats
-- equally far from the centre the lower number comes first
CREATE OR REPLACE FUNCTION ticketres._centre_rank(k int, n int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT abs(2 * k - (n + 1)) - (2 * k < n + 1)::int $$;

-- whether reservation r (made earlier with the same key) is this request
CREATE OR REPLACE FUNCTION ticketres._best_matches(r ticketres.reservations, event_id uuid, quantity int,
    section text, max_price bigint, together boolean) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.event_id = _best_matches.event_id AND r.ga_area_id IS NULL
       AND cardinality(r.seat_ids) = _best_matches.quantity
       AND NOT EXISTS (SELECT 1 FROM ticketres.seats s WHERE s.id = ANY (r.seat_ids)
                        AND (s.section IS DISTINCT FROM coalesce(_best_matches.section, s.section)
                             OR s.price > coalesce(_best_matches.max_price, s.price)))
       AND (NOT together OR (SELECT count(DISTINCT (s.section, s.row_label)) = 1
                                    AND max(s.seat_number) - min(s.seat_number) = _best_matches.quantity - 1
                               FROM ticketres.seats s WHERE s.id = ANY (r.seat_ids)))
$$;

-- the steps of tr_reserve with the seats the search found (src/best.c)
CREATE OR REPLACE FUNCTION tr_reserve_best(event_id uuid, quantity int, user_id text DEFAULT NULL,
    section text DEFAULT NULL, max_price bigint DEFAULT NULL, together boolean DEFAULT true,
    idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL)
RETURNS ticketres.reservations
    AS 'MODULE_PATHNAME', 'tr_reserve_best'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION tr_reserve_best(uuid, int, text, text, bigint, boolean, text, interval) IS
$$Hold the quantity best available seats, picked by rank (front rows, then the centre of the row).
together (default): all in one row with consecutive seat numbers, the block with the lowest total rank; otherwise the best single seats. section and max_price narrow the choice. Seats other calls are taking are skipped, never waited for. Returns the pending reservation. Errors: 22023 bad argument, PT404 event not found, PT409 not enough seats / booking closed, PT422 too many seats / idempotency key reused, PT403 user mismatch.$$;

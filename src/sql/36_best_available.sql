------------------------------------------------------------------------------
-- Best available (DESIGN §9): the call picks the seats.
--
-- seats.rank orders the seats (lower is better); tr_generate_seats sets it:
-- front rows first, then each row from the centre outwards.  The available
-- seats are read in rank order from seats_best_idx, a partial index of the
-- available seats only, so the search starts at the best free seat however
-- full the event is.  Seats are tried with the advisory seat locks without
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

-- The best quantity seats free now, each locked with the seat locks of
-- tr_reserve; NULL when there are not enough (src/best.c)
CREATE OR REPLACE FUNCTION ticketres._best_pick(event_id uuid, quantity int, section text,
    max_price bigint, together boolean) RETURNS uuid[]
    AS 'MODULE_PATHNAME', 'tr_best_pick_sql'
    LANGUAGE C VOLATILE;

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

CREATE OR REPLACE FUNCTION tr_reserve_best(event_id uuid, quantity int, user_id text DEFAULT NULL,
    section text DEFAULT NULL, max_price bigint DEFAULT NULL, together boolean DEFAULT true,
    idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL)
RETURNS ticketres.reservations
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text;
    r ticketres.reservations;
    h interval;
    t0 timestamptz;
    ids uuid[];
    rid uuid;
    n int;
    total bigint;
BEGIN
    IF event_id IS NULL THEN
        RAISE EXCEPTION 'event_id must not be null' USING ERRCODE = '22023';
    END IF;
    PERFORM ticketres._check_quantity(quantity);
    IF together IS NULL THEN
        RAISE EXCEPTION 'together must not be null' USING ERRCODE = '22023';
    END IF;
    IF length(section) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'section must be 1 to 100 characters' USING ERRCODE = '22023';
    END IF;
    IF max_price < 0 THEN
        RAISE EXCEPTION 'max_price must not be negative' USING ERRCODE = '22023';
    END IF;
    who := ticketres._caller(user_id);
    r := ticketres._reserve_start(event_id, who, idempotency_key);
    IF r.id IS NOT NULL THEN
        IF ticketres._best_matches(r, event_id, quantity, section, max_price, together) THEN
            RETURN r;
        END IF;
        PERFORM ticketres._key_reused(r);
    END IF;
    h := ticketres._reserve_event(event_id, quantity, hold);
    ids := ticketres._best_pick(event_id, quantity, section, max_price, together);
    IF ids IS NULL AND ticketres._expire_overdue(event_id, NULL, 1000) > 0 THEN
        ids := ticketres._best_pick(event_id, quantity, section, max_price, together);
    END IF;
    IF ids IS NULL THEN
        PERFORM ticketres._raise('not enough seats',
            format('%s %sseats%s%s were asked for; none such are free.', quantity,
                   CASE WHEN together AND quantity > 1 THEN 'adjacent ' ELSE '' END,
                   ' in section ' || section, ' priced at most ' || max_price),
            'Ask for fewer seats, another section or a higher max_price.');
    END IF;
    PERFORM ticketres._redis_lock_seats(event_id, ids);
    rid := ticketres._new_reservation_id(event_id);
    t0 := clock_timestamp();
    UPDATE ticketres.seats s SET status = 'reserved', reservation_id = rid, updated_at = t0
     WHERE s.id = ANY (ids) AND s.event_id = tr_reserve_best.event_id AND s.status = 'available';
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> quantity THEN       -- cannot happen: the seats were checked under their locks
        RAISE EXCEPTION 'ticketres: best-available seats changed under their locks' USING ERRCODE = 'XX000';
    END IF;
    SELECT sum(s.price)::bigint INTO total FROM ticketres.seats s WHERE s.id = ANY (ids);
    PERFORM ticketres._count_add(event_id, -quantity);
    INSERT INTO ticketres.reservations AS x (id, event_id, user_id, seat_ids, status, idempotency_key,
        total_amount, expires_at, created_at, quantity)
    VALUES (rid, event_id, who, ARRAY(SELECT unnest(ids) ORDER BY 1), 'pending', idempotency_key,
            total, t0 + h, t0, quantity)
    RETURNING x.* INTO r;
    PERFORM ticketres._log_event('reserve', 'created', r.event_id, r.id, who, NULL, quantity, NULL);
    RETURN r;
END
$$;

COMMENT ON FUNCTION tr_reserve_best(uuid, int, text, text, bigint, boolean, text, interval) IS
$$Hold the quantity best available seats, picked by rank (front rows, then the centre of the row).
together (default): all in one row with consecutive seat numbers, the block with the lowest total rank; otherwise the best single seats. section and max_price narrow the choice. Seats other calls are taking are skipped, never waited for. Returns the pending reservation. Errors: 22023 bad argument, PT404 event not found, PT409 not enough seats / booking closed, PT422 too many seats / idempotency key reused, PT403 user mismatch.$$;

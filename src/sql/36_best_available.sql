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
-- the lowest total rank.  Each row met in the rank stream contributes its
-- best untried block (one window query over the row's available seats,
-- seats_row_idx); a block is tried once no row not yet met can beat it:
-- every seat of such a row ranks at least as the stream's current seat, so
-- its blocks total at least quantity times that rank.
------------------------------------------------------------------------------

-- the place of the k-th of n seats of a row, centre first: of two seats
-- equally far from the centre the lower number comes first
CREATE OR REPLACE FUNCTION ticketres._centre_rank(k int, n int) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT abs(2 * k - (n + 1)) - (2 * k < n + 1)::int $$;

-- the best untried block of quantity consecutive available seats of one row
-- (each priced <= max_price); failed lists the first seat numbers to skip
CREATE OR REPLACE FUNCTION ticketres._row_best_block(event_id uuid, section text, row_label text,
    quantity int, max_price bigint, failed int[], OUT first int, OUT total bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT b.first, b.total FROM (
        SELECT x.seat_number AS first,
               sum(coalesce(x.rank, 2147483647)::bigint) OVER w AS total, count(*) OVER w AS n
          FROM (SELECT y.seat_number, y.rank,
                       y.seat_number - row_number() OVER (ORDER BY y.seat_number) AS grp
                  FROM ticketres.seats y
                 WHERE y.event_id = _row_best_block.event_id AND y.section = _row_best_block.section
                   AND y.row_label = _row_best_block.row_label AND y.status = 'available'
                   AND y.seat_number IS NOT NULL
                   AND (_row_best_block.max_price IS NULL OR y.price <= _row_best_block.max_price)) x
        WINDOW w AS (PARTITION BY x.grp ORDER BY x.seat_number
                     ROWS BETWEEN CURRENT ROW AND _row_best_block.quantity - 1 FOLLOWING)) b
     WHERE b.n = _row_best_block.quantity AND NOT (b.first = ANY (failed))
     ORDER BY b.total, b.first LIMIT 1
$$;

-- lock the seats (all or none, never waiting) and check they are still
-- available now that nobody else can move them; their ids, or NULL
CREATE OR REPLACE FUNCTION ticketres._claim(ids uuid[], quantity int) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF cardinality(ids) <> quantity OR NOT ticketres._try_lock_ids(ids) THEN
        RETURN NULL;
    END IF;
    -- a statement of its own: its snapshot is taken after the locks
    IF (SELECT count(*) FROM ticketres.seats s WHERE s.id = ANY (ids) AND s.status = 'available') = quantity THEN
        RETURN ids;
    END IF;
    RETURN NULL;
END
$$;

-- The best quantity seats free now, locked; NULL when there are not enough
CREATE OR REPLACE FUNCTION ticketres._best_pick(event_id uuid, quantity int, section text,
    max_price bigint, together boolean) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record;
    got uuid[] := '{}'::uuid[];
    -- the candidate block of each row met so far (NULL total: none left)
    c_sec text[] := '{}'::text[];
    c_row text[] := '{}'::text[];
    c_first int[] := '{}'::int[];
    c_total bigint[] := '{}'::bigint[];
    c_failed text[] := '{}'::text[];  -- per row: failed first seat numbers, as an int[] literal
    bf int;
    bt bigint;
    best int;
    bound bigint;
    ids uuid[];
BEGIN
    IF NOT together THEN
        FOR s IN SELECT x.id FROM ticketres.seats x
                  WHERE x.event_id = _best_pick.event_id AND x.status = 'available'
                    AND (_best_pick.section IS NULL OR x.section = _best_pick.section)
                    AND (_best_pick.max_price IS NULL OR x.price <= _best_pick.max_price)
                  ORDER BY x.rank, x.section, x.row_label, x.seat_number
        LOOP
            IF ticketres._claim(ARRAY[s.id], 1) IS NOT NULL THEN
                got := got || s.id;
                EXIT WHEN cardinality(got) = quantity;
            END IF;
        END LOOP;
        RETURN CASE WHEN cardinality(got) = quantity THEN got END;
    END IF;

    FOR s IN SELECT x.rank, x.section, x.row_label FROM ticketres.seats x
              WHERE x.event_id = _best_pick.event_id AND x.status = 'available'
                AND x.section IS NOT NULL AND x.row_label IS NOT NULL AND x.seat_number IS NOT NULL
                AND (_best_pick.section IS NULL OR x.section = _best_pick.section)
                AND (_best_pick.max_price IS NULL OR x.price <= _best_pick.max_price)
              ORDER BY x.rank, x.section, x.row_label, x.seat_number
    LOOP
        bound := quantity::bigint * coalesce(s.rank, 2147483647);
        -- try the candidates no row not yet met can beat, best first
        LOOP
            best := NULL;
            FOR i IN 1 .. cardinality(c_total) LOOP
                IF c_total[i] IS NOT NULL AND (best IS NULL OR (c_total[i], c_sec[i], c_row[i], c_first[i])
                                               < (c_total[best], c_sec[best], c_row[best], c_first[best])) THEN
                    best := i;
                END IF;
            END LOOP;
            EXIT WHEN best IS NULL OR c_total[best] >= bound;
            ids := ticketres._claim(ARRAY(SELECT y.id FROM ticketres.seats y
                                           WHERE y.event_id = _best_pick.event_id AND y.section = c_sec[best]
                                             AND y.row_label = c_row[best] AND y.status = 'available'
                                             AND y.seat_number BETWEEN c_first[best] AND c_first[best] + quantity - 1),
                                     quantity);
            IF ids IS NOT NULL THEN
                RETURN ids;
            END IF;
            c_failed[best] := (c_failed[best]::int[] || c_first[best])::text;
            SELECT f.first, f.total INTO bf, bt
              FROM ticketres._row_best_block(event_id, c_sec[best], c_row[best], quantity, max_price, c_failed[best]::int[]) f;
            c_first[best] := bf;
            c_total[best] := bt;
        END LOOP;
        IF NOT EXISTS (SELECT 1 FROM generate_subscripts(c_sec, 1) j
                        WHERE c_sec[j] = s.section AND c_row[j] = s.row_label) THEN
            SELECT f.first, f.total INTO bf, bt
              FROM ticketres._row_best_block(event_id, s.section, s.row_label, quantity, max_price, '{}') f;
            c_sec := c_sec || s.section;
            c_row := c_row || s.row_label;
            c_first := c_first || bf;
            c_total := c_total || bt;
            c_failed := c_failed || '{}'::text;
        END IF;
    END LOOP;
    -- every row met: the rest in order
    LOOP
        best := NULL;
        FOR i IN 1 .. cardinality(c_total) LOOP
            IF c_total[i] IS NOT NULL AND (best IS NULL OR (c_total[i], c_sec[i], c_row[i], c_first[i])
                                           < (c_total[best], c_sec[best], c_row[best], c_first[best])) THEN
                best := i;
            END IF;
        END LOOP;
        EXIT WHEN best IS NULL;
        ids := ticketres._claim(ARRAY(SELECT y.id FROM ticketres.seats y
                                       WHERE y.event_id = _best_pick.event_id AND y.section = c_sec[best]
                                         AND y.row_label = c_row[best] AND y.status = 'available'
                                         AND y.seat_number BETWEEN c_first[best] AND c_first[best] + quantity - 1),
                                 quantity);
        IF ids IS NOT NULL THEN
            RETURN ids;
        END IF;
        c_failed[best] := (c_failed[best]::int[] || c_first[best])::text;
        SELECT f.first, f.total INTO bf, bt
          FROM ticketres._row_best_block(event_id, c_sec[best], c_row[best], quantity, max_price, c_failed[best]::int[]) f;
        c_first[best] := bf;
        c_total[best] := bt;
    END LOOP;
    RETURN NULL;
END
$$;

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

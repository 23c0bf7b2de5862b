------------------------------------------------------------------------------
-- Seats: add, generate, the seat map, availability, block and unblock.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tr_add_seats(event_id uuid, seats jsonb) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bad record;
    n int;
BEGIN
    PERFORM ticketres._event_for_seats(event_id);
    IF seats IS NULL OR jsonb_typeof(seats) <> 'array' THEN
        RAISE EXCEPTION 'seats must be a JSON array' USING ERRCODE = '22023';
    END IF;
    n := jsonb_array_length(seats);
    IF n = 0 THEN
        RAISE EXCEPTION 'seats must not be empty' USING ERRCODE = '22023';
    ELSIF n > 100000 THEN
        RAISE EXCEPTION 'seats must not have more than 100000 elements' USING ERRCODE = '22023';
    END IF;
    -- the first element that is not a valid seat, with the reason
    SELECT i, why INTO bad FROM (
        SELECT i, CASE
            WHEN jsonb_typeof(s) <> 'object' THEN 'is not an object'
            WHEN EXISTS (SELECT 1 FROM jsonb_object_keys(s) k
                          WHERE k NOT IN ('label', 'section', 'row', 'number', 'price', 'rank'))
                THEN 'has an unknown key (allowed: label, section, row, number, price, rank)'
            WHEN jsonb_typeof(s -> 'label') IS DISTINCT FROM 'string'
                 OR length(s ->> 'label') NOT BETWEEN 1 AND 100
                THEN 'needs a label of 1 to 100 characters'
            WHEN jsonb_typeof(s -> 'section') NOT IN ('string', 'null')
                 OR length(s ->> 'section') > 100 THEN 'has a bad section'
            WHEN jsonb_typeof(s -> 'row') NOT IN ('string', 'number', 'null')
                 OR length(s ->> 'row') > 100 THEN 'has a bad row'
            WHEN jsonb_typeof(s -> 'number') NOT IN ('number', 'null')
                 OR (jsonb_typeof(s -> 'number') = 'number'
                     AND ((s ->> 'number')::numeric NOT BETWEEN -2147483648 AND 2147483647
                          OR (s ->> 'number')::numeric % 1 <> 0))
                THEN 'has a number that is not an integer'
            WHEN jsonb_typeof(s -> 'price') NOT IN ('number', 'null')
                 OR (jsonb_typeof(s -> 'price') = 'number'
                     AND ((s ->> 'price')::numeric NOT BETWEEN 0 AND 1000000000000
                          OR (s ->> 'price')::numeric % 1 <> 0))
                THEN 'needs a price that is a whole number from 0 to 1000000000000'
            WHEN jsonb_typeof(s -> 'rank') NOT IN ('number', 'null')
                 OR (jsonb_typeof(s -> 'rank') = 'number'
                     AND ((s ->> 'rank')::numeric NOT BETWEEN 0 AND 2147483647
                          OR (s ->> 'rank')::numeric % 1 <> 0))
                THEN 'has a rank that is not a whole number from 0 to 2147483647'
            END AS why
        FROM jsonb_array_elements(seats) WITH ORDINALITY AS a(s, i)) v
    WHERE why IS NOT NULL ORDER BY i LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'seats[%] %', bad.i - 1, bad.why USING ERRCODE = '22023';
    END IF;
    SELECT s ->> 'label' AS label INTO bad FROM jsonb_array_elements(seats) AS a(s)
     GROUP BY 1 HAVING count(*) > 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'seats contains a duplicate label' USING ERRCODE = '22023',
            DETAIL = format('Label %L appears more than once.', bad.label);
    END IF;
    BEGIN
        INSERT INTO ticketres.seats (event_id, label, section, row_label, seat_number, price, rank,
                                     best_available)
        SELECT tr_add_seats.event_id, s ->> 'label', s ->> 'section', s ->> 'row',
               (s ->> 'number')::int, coalesce((s ->> 'price')::bigint, 0), (s ->> 'rank')::int,
               (SELECT e.best_available FROM ticketres.events e WHERE e.id = tr_add_seats.event_id)
          FROM jsonb_array_elements(seats) AS a(s);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'seat label already exists' USING ERRCODE = '22023',
            DETAIL = format('Event %s already has a seat with one of these labels.', event_id),
            HINT = 'Labels are unique per event.';
    END;
    PERFORM ticketres._count_add(event_id, n);
    RETURN n;
END
$$;

-- tr_generate_seats' bulk path (src/seatgen.c): the seats formed in C and
-- written through a bulk-insert state and the executor's own domain, CHECK,
-- generated-column and index routines; -1 when the seats table has what it
-- does not handle (triggers, row-level security, unknown columns), and the
-- caller then runs its INSERT
CREATE OR REPLACE FUNCTION ticketres._generate_seats_bulk(event_id uuid, section text, rows int,
    seats_per_row int, price bigint, best boolean) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tr_generate_seats_bulk' LANGUAGE C VOLATILE;

CREATE OR REPLACE FUNCTION tr_generate_seats(event_id uuid, section text, rows int, seats_per_row int,
    price bigint) RETURNS int
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n int;
    prefix text;
    best boolean;
BEGIN
    PERFORM ticketres._event_for_seats(event_id);
    SELECT e.best_available INTO best FROM ticketres.events e WHERE e.id = tr_generate_seats.event_id;
    IF section IS NULL OR length(section) NOT BETWEEN 1 AND 50 THEN
        RAISE EXCEPTION 'section must be 1 to 50 characters' USING ERRCODE = '22023';
    END IF;
    IF rows IS NULL OR rows NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION 'rows must be between 1 and 100000' USING ERRCODE = '22023';
    END IF;
    IF seats_per_row IS NULL OR seats_per_row NOT BETWEEN 1 AND 100000 THEN
        RAISE EXCEPTION 'seats_per_row must be between 1 and 100000' USING ERRCODE = '22023';
    END IF;
    IF rows::bigint * seats_per_row > 5000000 THEN
        RAISE EXCEPTION 'rows * seats_per_row must be at most 5000000' USING ERRCODE = '22023';
    END IF;
    IF price IS NULL OR price NOT BETWEEN 0 AND 1000000000000 THEN
        RAISE EXCEPTION 'price must be between 0 and 1000000000000' USING ERRCODE = '22023';
    END IF;
    n := rows * seats_per_row;
    BEGIN
        IF ticketres._generate_seats_bulk(event_id, section, rows, seats_per_row, price, best) >= 0 THEN
            PERFORM ticketres._count_add(event_id, n);
            RETURN n;
        END IF;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'seat label already exists' USING ERRCODE = '22023',
            DETAIL = format('Event %s already has seats labelled %L.', event_id, section || '-<row>-<number>'),
            HINT = 'Use another section name.';
    END;
    -- the SQL path, for a seats table the bulk path does not handle. Seat
    -- ids are UUIDv7-shaped: this call's millisecond clock, version 7,
    -- 44 random bits, the variant, then the seat's number in the call as a
    -- 32-bit counter. The call's seats are consecutive in the primary key,
    -- so a million of them go into the index in order rather than at random
    -- places (random ids made generating 1,000,000 seats about 2x slower);
    -- their advisory lock keys (seat_lock_keys) stay distinct in the call.
    prefix := lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
              || '7' || substr(md5(random()::text), 1, 3)
              || substr('89ab', 1 + (random() * 3)::int, 1) || substr(md5(random()::text), 1, 7);
    BEGIN
        -- rank (best available): front rows first, then the centre of each
        -- row outwards (ticketres._centre_rank, inlined)
        INSERT INTO ticketres.seats (id, event_id, label, section, row_label, seat_number, price, rank,
                                     best_available)
        SELECT (prefix || lpad(to_hex((r - 1) * seats_per_row + s), 8, '0'))::uuid,
               tr_generate_seats.event_id, section || '-' || r || '-' || s, section, r::text, s,
               tr_generate_seats.price,
               (r - 1) * seats_per_row + abs(2 * s - (seats_per_row + 1)) - (2 * s < seats_per_row + 1)::int,
               best
          FROM generate_series(1, rows) AS r, generate_series(1, seats_per_row) AS s;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'seat label already exists' USING ERRCODE = '22023',
            DETAIL = format('Event %s already has seats labelled %L.', event_id, section || '-<row>-<number>'),
            HINT = 'Use another section name.';
    END;
    PERFORM ticketres._count_add(event_id, n);
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION tr_list_seats(event_id uuid, status text DEFAULT NULL)
RETURNS SETOF ticketres.seats
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ticketres._event_must_exist(event_id);
    IF status IS NOT NULL AND status NOT IN ('available', 'reserved', 'confirmed', 'blocked') THEN
        RAISE EXCEPTION 'status must be one of available, reserved, confirmed, blocked'
            USING ERRCODE = '22023';
    END IF;
    -- a seat held by an overdue hold is shown as what it is: available; the
    -- map never reveals reservation ids (it is public)
    RETURN QUERY
    SELECT * FROM (
        SELECT s.id, s.event_id, s.label, s.section, s.row_label, s.seat_number, s.price,
               CASE WHEN r.id IS NULL THEN s.status ELSE 'available' END AS status,
               NULL::uuid AS reservation_id,     -- whose hold it is is nobody else's business
               s.updated_at, s.rank, s.best_available,
               s.best_available AND (r.id IS NOT NULL OR s.status = 'available') AS best_free
          FROM ticketres.seats s
          LEFT JOIN ticketres.reservations r
            ON s.status = 'reserved' AND r.id = s.reservation_id
           AND r.status = 'pending' AND r.expires_at <= clock_timestamp()
         WHERE s.event_id = tr_list_seats.event_id) v
     WHERE tr_list_seats.status IS NULL OR v.status::text = tr_list_seats.status
     ORDER BY v.label;
END
$$;

CREATE OR REPLACE FUNCTION tr_available_count(event_id uuid) RETURNS bigint
    AS 'MODULE_PATHNAME', 'tr_available_count'
    LANGUAGE C STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;


-- block (available -> blocked) or unblock (blocked -> available) seats under
-- the seat locks; seats already in the target state are left as they are
CREATE OR REPLACE FUNCTION ticketres._set_blocked(event_id uuid, seat_ids uuid[], reason text, block boolean)
RETURNS int
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    taken uuid[];
    n int;
    from_status ticketres.seat_status := CASE WHEN block THEN 'available'::ticketres.seat_status ELSE 'blocked' END;
    to_status ticketres.seat_status := CASE WHEN block THEN 'blocked'::ticketres.seat_status ELSE 'available' END;
BEGIN
    PERFORM ticketres._check_event_seats(event_id, seat_ids);
    PERFORM ticketres._try_lock_seats(event_id, seat_ids);
    SELECT array_agg(s.id ORDER BY s.id) INTO taken FROM ticketres.seats s
     WHERE s.id = ANY (seat_ids) AND s.status NOT IN ('available', 'blocked');
    IF taken IS NOT NULL AND block THEN
        PERFORM ticketres._raise('seat unavailable',
            format('Seat %s is held or sold.', array_to_string(taken, ', ')),
            'Release the reservation first (tr_release_reservation), or wait for the hold to end and tr_expire() to run; nothing was blocked.');
    END IF;
    UPDATE ticketres.seats s SET status = to_status, updated_at = clock_timestamp()
     WHERE s.id = ANY (seat_ids) AND s.event_id = _set_blocked.event_id AND s.status = from_status;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM ticketres._count_add(event_id, CASE WHEN block THEN -n ELSE n END);
    PERFORM ticketres._audit(CASE WHEN block THEN 'block_seats' ELSE 'unblock_seats' END,
                             CASE WHEN block THEN 'blocked' ELSE 'unblocked' END,
                             event_id, NULL, seat_ids, reason, jsonb_build_object('changed', n));
    RETURN n;
END
$$;

CREATE OR REPLACE FUNCTION tr_block_seats(event_id uuid, seat_ids uuid[], reason text DEFAULT NULL)
RETURNS int
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ticketres._set_blocked(event_id, seat_ids, reason, true) $$;

CREATE OR REPLACE FUNCTION tr_unblock_seats(event_id uuid, seat_ids uuid[], reason text DEFAULT NULL)
RETURNS int
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT ticketres._set_blocked(event_id, seat_ids, reason, false) $$;

COMMENT ON FUNCTION tr_add_seats(uuid, jsonb) IS
$$Add seats to an event, all or nothing.
seats is a JSON array of {"label", "section", "row", "number", "price", "rank"}; label is required and unique per event, price is in minor currency units, rank orders the seats for tr_reserve_best (lower is better; without it a seat comes last). Returns the number added. Errors: 22023 bad argument or existing label, PT404 event not found.$$;
COMMENT ON FUNCTION ticketres._generate_seats_bulk(uuid, text, int, int, bigint, boolean) IS
$$Internal (tr_generate_seats): write rows * seats_per_row seats of one section from C, through the executor's domain, CHECK, generated-column and index routines.
Returns the seats added, or -1 when the seats table has triggers, row-level security or columns this path does not know (the caller then runs its INSERT). The caller checks the arguments and locks the event row.$$;
COMMENT ON FUNCTION tr_generate_seats(uuid, text, int, int, bigint) IS
$$Generate a block of seats labelled section-row-number.
Adds rows * seats_per_row seats (at most 5,000,000) at one price, ranked for tr_reserve_best: row 1 first, each row from its centre outwards. Returns the number added. Errors: 22023 bad argument or existing labels, PT404 event not found.$$;
COMMENT ON FUNCTION tr_list_seats(uuid, text) IS
$$The seat map of an event.
Optionally only seats of one status (available, reserved, confirmed, blocked). A seat whose hold has ended is shown as available; reservation_id is never shown. Errors: 22023 bad status, PT404 event not found.$$;
COMMENT ON FUNCTION tr_available_count(uuid) IS
$$Exact number of seats that can be reserved now.
Available seats plus seats of holds that have ended. Constant time in the number of seats. Errors: PT404 event not found.$$;
COMMENT ON FUNCTION tr_block_seats(uuid, uuid[], text) IS
$$Block seats (admin): available seats become blocked, never sold and not counted as available.
Seats already blocked are left as they are; returns how many seats changed. Recorded in ticketres.audit_log with the reason. Errors: 22023 bad argument, PT404 event or seat not found, PT409 seat unavailable (held or sold) / seat busy.$$;
COMMENT ON FUNCTION tr_unblock_seats(uuid, uuid[], text) IS
$$Unblock seats (admin): blocked seats become available again.
Seats that are not blocked are left as they are; returns how many seats changed. Recorded in ticketres.audit_log. Errors: 22023 bad argument, PT404 event or seat not found, PT409 seat busy.$$;

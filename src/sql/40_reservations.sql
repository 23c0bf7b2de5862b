------------------------------------------------------------------------------
-- Reservations: reserve, confirm, cancel, read, expire, and the admin
-- release and extend.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION tr_reserve(event_id uuid, user_id text DEFAULT NULL, seat_ids uuid[] DEFAULT NULL,
    idempotency_key text DEFAULT NULL, hold interval DEFAULT NULL)
RETURNS ticketres.reservations
    AS 'MODULE_PATHNAME', 'tr_reserve'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION tr_confirm(reservation_id uuid, user_id text DEFAULT NULL)
RETURNS ticketres.reservations
    AS 'MODULE_PATHNAME', 'tr_confirm'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION tr_cancel(reservation_id uuid, user_id text DEFAULT NULL)
RETURNS ticketres.reservations
    AS 'MODULE_PATHNAME', 'tr_cancel'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION tr_get_reservation(reservation_id uuid, user_id text DEFAULT NULL)
RETURNS ticketres.reservations
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text;
    res ticketres.reservations;
BEGIN
    IF reservation_id IS NULL THEN
        RAISE EXCEPTION 'reservation_id must not be null' USING ERRCODE = '22023';
    END IF;
    who := ticketres._caller(user_id);
    SELECT (ticketres._effective(r)).* INTO res FROM ticketres.reservations r
     WHERE r.id = tr_get_reservation.reservation_id AND r.user_id = who;
    IF NOT FOUND THEN
        PERFORM ticketres._raise('reservation not found',
            format('User "%s" has no reservation %s.', who, reservation_id));
    END IF;
    RETURN res;
END
$$;

CREATE OR REPLACE FUNCTION tr_list_reservations(user_id text DEFAULT NULL, lim int DEFAULT 20, off int DEFAULT 0)
RETURNS SETOF ticketres.reservations
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who text := ticketres._caller(user_id);
BEGIN
    IF lim IS NULL OR lim NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'lim must be between 1 and 1000' USING ERRCODE = '22023';
    END IF;
    IF off IS NULL OR off < 0 THEN
        RAISE EXCEPTION 'off must not be negative' USING ERRCODE = '22023';
    END IF;
    RETURN QUERY SELECT (ticketres._effective(r)).* FROM ticketres.reservations r
     WHERE r.user_id = who ORDER BY r.created_at DESC, r.id LIMIT lim OFFSET off;
END
$$;

CREATE OR REPLACE FUNCTION tr_expire(max_rows int DEFAULT 10000) RETURNS int
    AS 'MODULE_PATHNAME', 'tr_expire'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;


-- a reservation for an admin action: PT404 unless it exists, PT409 unless its
-- status is one of allowed
CREATE OR REPLACE FUNCTION ticketres._admin_reservation(reservation_id uuid,
    allowed ticketres.reservation_status[]) RETURNS ticketres.reservations
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r ticketres.reservations;
BEGIN
    IF reservation_id IS NULL THEN
        RAISE EXCEPTION 'reservation_id must not be null' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO r FROM ticketres.reservations x WHERE x.id = _admin_reservation.reservation_id;
    IF NOT FOUND THEN
        PERFORM ticketres._raise('reservation not found',
            format('No reservation has id %s.', reservation_id));
    END IF;
    IF NOT r.status = ANY (allowed) THEN
        PERFORM ticketres._raise('reservation not pending',
            format('Reservation %s is %s.', reservation_id, r.status),
            format('Only a reservation that is %s can be changed this way.',
                          array_to_string(allowed, ' or ')));
    END IF;
    RETURN r;
END
$$;

CREATE OR REPLACE FUNCTION tr_release_reservation(reservation_id uuid, reason text)
RETURNS ticketres.reservations
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r ticketres.reservations;
    res ticketres.reservations;
    n int;
BEGIN
    IF reason IS NULL OR length(btrim(reason)) = 0 THEN
        RAISE EXCEPTION 'reason must not be empty' USING ERRCODE = '22023';
    END IF;
    r := ticketres._admin_reservation(reservation_id, '{pending,confirmed}');
    PERFORM ticketres._try_lock_seats(r.event_id,
        CASE WHEN cardinality(r.seat_ids) = 0 THEN ARRAY[r.id] ELSE r.seat_ids END);  -- GA: its own id
    UPDATE ticketres.reservations x SET status = 'cancelled', cancelled_at = clock_timestamp()
     WHERE x.id = r.id AND x.status = r.status RETURNING x.* INTO res;
    IF NOT FOUND THEN   -- moved between our read and our locks: report its state now
        r := ticketres._admin_reservation(reservation_id, ARRAY[r.status]);
        PERFORM ticketres._raise('seat busy',
            NULL,
            'Retry shortly.');
    END IF;
    UPDATE ticketres.seats s SET status = 'available', reservation_id = NULL,
           updated_at = clock_timestamp()
     WHERE s.id = ANY (r.seat_ids) AND s.reservation_id = r.id
       AND s.status = CASE r.status WHEN 'pending' THEN 'reserved' ELSE 'confirmed' END::ticketres.seat_status;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n <> cardinality(r.seat_ids) THEN
        RAISE EXCEPTION 'reservation % holds % seats but % are %', r.id, cardinality(r.seat_ids), n,
            r.status USING ERRCODE = 'XX001',
            HINT = 'Nothing was changed. Run ticketres.check_invariants().';
    END IF;
    PERFORM ticketres._count_add(r.event_id, n);
    IF r.ga_area_id IS NOT NULL THEN    -- general admission: the tickets go back to the area
        PERFORM ticketres._ga_add(r.ga_area_id, r.quantity);
    END IF;
    PERFORM ticketres._audit('release_reservation', 'released', r.event_id, r.id, r.seat_ids, reason,
                             jsonb_build_object('previous_status', r.status, 'user_id', r.user_id,
                                                'total_amount', r.total_amount)
                             || CASE WHEN r.ga_area_id IS NULL THEN '{}'::jsonb
                                ELSE jsonb_build_object('ga_area_id', r.ga_area_id, 'quantity', r.quantity) END,
                             r.user_id);
    RETURN res;
END
$$;

CREATE OR REPLACE FUNCTION tr_extend_hold(reservation_id uuid, extend_by interval, reason text DEFAULT NULL)
RETURNS ticketres.reservations
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    max_hold constant interval := interval '2 hours';    -- from created_at, per reservation
    r ticketres.reservations;
    res ticketres.reservations;
    new_expiry timestamptz;
BEGIN
    IF extend_by IS NULL OR extend_by <= interval '0'
       OR extract(month FROM extend_by) <> 0 OR extract(year FROM extend_by) <> 0 THEN
        RAISE EXCEPTION 'extend_by must be a positive interval of at most 2 hours' USING ERRCODE = '22023';
    END IF;
    r := ticketres._admin_reservation(reservation_id, '{pending}');
    IF r.expires_at <= clock_timestamp() THEN
        PERFORM ticketres._raise('hold expired',
            format('The hold of reservation %s ended at %s.', r.id, r.expires_at),
            'A hold that has ended cannot be extended; reserve the seats again.');
    END IF;
    new_expiry := r.expires_at + extend_by;
    IF new_expiry > r.created_at + max_hold THEN
        RAISE EXCEPTION 'hold would exceed 2 hours' USING ERRCODE = '22023',
            DETAIL = format('Reservation %s was made at %s; its hold may last until %s at most.',
                            r.id, r.created_at, r.created_at + max_hold);
    END IF;
    PERFORM ticketres._try_lock_seats(r.event_id,
        CASE WHEN cardinality(r.seat_ids) = 0 THEN ARRAY[r.id] ELSE r.seat_ids END);  -- GA: its own id
    UPDATE ticketres.reservations x SET expires_at = new_expiry
     WHERE x.id = r.id AND x.status = 'pending' AND x.expires_at = r.expires_at
       AND x.expires_at > clock_timestamp()
    RETURNING x.* INTO res;
    IF NOT FOUND THEN
        PERFORM ticketres._raise('seat busy',
            format('Reservation %s changed while this call ran.', r.id),
            'Retry shortly.');
    END IF;
    PERFORM ticketres._audit('extend_hold', 'extended', r.event_id, r.id, r.seat_ids, reason,
                             jsonb_build_object('old_expires_at', r.expires_at,
                                                'new_expires_at', new_expiry,
                                                'user_id', r.user_id),
                             r.user_id);
    RETURN res;
END
$$;

COMMENT ON FUNCTION tr_reserve(uuid, text, uuid[], text, interval) IS
$$Hold seats, all or nothing.
Returns the pending reservation; confirm it before expires_at. The same idempotency_key with the same request returns the original reservation. hold overrides the event's hold_duration (1 second to 1 day). Errors: 22023 bad argument, PT404 event or seat not found, PT409 seat unavailable / seat busy / booking closed, PT422 too many seats / idempotency key reused, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_confirm(uuid, text) IS
$$Confirm (buy) a pending reservation.
Errors: PT404 reservation not found, PT409 reservation not pending / seat busy, PT410 hold expired, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_cancel(uuid, text) IS
$$Cancel a pending reservation and give its seats (or general admission tickets) back.
Errors: PT404 reservation not found, PT409 reservation not pending / seat busy, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_get_reservation(uuid, text) IS
$$Read one of the caller's reservations.
A pending hold past expires_at reads as expired. Errors: PT404 reservation not found, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_list_reservations(text, int, int) IS
$$List the caller's reservations, newest first.
lim 1 to 1000 (default 20), off from 0. Errors: 22023 bad argument, PT403 user mismatch.$$;
COMMENT ON FUNCTION tr_expire(int) IS
$$Expire overdue holds and free their seats.
Works in batches, skips holds whose seats another call is using, returns how many it expired. What pg_cron runs. Errors: 22023 bad max_rows.$$;
COMMENT ON FUNCTION tr_release_reservation(uuid, text) IS
$$Release a reservation (admin), e.g. for a refund: pending or confirmed becomes cancelled and its seats available.
reason is required and recorded in ticketres.audit_log. Acts on any user's reservation. Errors: 22023 bad argument, PT404 reservation not found, PT409 reservation not pending (already cancelled or expired) / seat busy.$$;
COMMENT ON FUNCTION tr_extend_hold(uuid, interval, text) IS
$$Extend a pending hold (admin), e.g. while a payment is in progress.
The hold may last at most 2 hours from the reservation's created_at in total. Recorded in ticketres.audit_log. Errors: 22023 bad extend_by or beyond 2 hours, PT404 reservation not found, PT409 reservation not pending / seat busy, PT410 hold expired.$$;

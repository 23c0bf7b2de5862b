-- test/lib/truth.sql — the truth tr_available_count must equal, counted from
-- the rows (DESIGN §2.4): available seats plus seats of pending holds past
-- expires_at. Shared by the concurrency and torture suites; needs ticketres
-- in the search_path.
CREATE SCHEMA tr_truth;

CREATE FUNCTION tr_truth.available(ev uuid) RETURNS bigint LANGUAGE sql VOLATILE AS $$
    SELECT count(*) FROM ticketres.seats s
     WHERE s.event_id = ev
       AND (s.status = 'available'
            OR (s.status = 'reserved' AND EXISTS (
                SELECT 1 FROM ticketres.reservations r WHERE r.id = s.reservation_id
                   AND r.status = 'pending' AND r.expires_at <= clock_timestamp())))
$$;

-- 'equal', or what differs; the truth is sampled before and after the count
-- so that a hold ending in between cannot make it flaky
CREATE FUNCTION tr_truth.count_diff(ev uuid) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE t1 bigint; c bigint; t2 bigint;
BEGIN
    FOR i IN 1..20 LOOP
        t1 := tr_truth.available(ev); c := tr_available_count(ev); t2 := tr_truth.available(ev);
        IF t1 = t2 THEN
            RETURN CASE WHEN c = t1 THEN 'equal' ELSE format('count %s, truth %s', c, t1) END;
        END IF;
    END LOOP;
    RETURN 'truth kept moving';
END $$;

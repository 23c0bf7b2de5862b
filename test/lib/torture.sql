-- test/lib/torture.sql — the load driver of the torture, crash and Redis
-- fault suites (issue 7). Loaded into a database that has ticketres in
-- public. Every client runs CALL torture.run(...) in its own psql: a loop of
-- random operations on one small event, each in its own transaction
-- (COMMIT after every operation, so locks never pile up), errors caught and
-- tallied by SQLSTATE and message. After each COMMIT that made a
-- reservation or a confirmation, the client is told with a NOTICE
-- "ack <what> <id>": psql writes it to stderr as it arrives, so the client
-- side keeps a log of what it saw acknowledged (the crash suite compares it
-- with the rows after a restart).

CREATE SCHEMA torture;

-- the seats of the event under load, numbered 1..n
CREATE TABLE torture.seat (n int PRIMARY KEY, id uuid NOT NULL);
-- reservations some client made, for others to confirm, cancel, release...
CREATE TABLE torture.known (n bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, user_id text NOT NULL);
-- per client, operation, outcome: how many (written when a client ends)
CREATE TABLE torture.tally (client int, op text, sqlstate text, message text, n bigint);

-- the answers ticketres may give under load (DESIGN §4): anything else is a bug
CREATE FUNCTION torture.in_catalogue(st text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT st IN ('00000', '22023', 'PT403', 'PT404', 'PT409', 'PT410', 'PT422', 'PT503')
$$;

-- a new small event starting tomorrow with nseats seats S-1-1.., the one
-- the clients work on from now on (numbered in torture.seat)
CREATE FUNCTION torture.new_event(nseats int) RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE ev uuid;
BEGIN
    SELECT id INTO ev FROM tr_create_event('torture', now() + interval '1 day',
                                           now() + interval '2 days');
    PERFORM tr_generate_seats(ev, 'S', 1, nseats, 100);
    TRUNCATE torture.seat, torture.known;
    INSERT INTO torture.seat SELECT row_number() OVER (ORDER BY s.id), s.id
      FROM ticketres.seats s WHERE s.event_id = ev;
    RETURN ev;
END $$;

-- a random reservation some client made recently (NULLs when none yet)
CREATE FUNCTION torture.pick(OUT id uuid, OUT user_id text) LANGUAGE sql VOLATILE AS $$
    SELECT k.id, k.user_id FROM torture.known k
     WHERE k.n > (SELECT max(m.n) - 30 FROM torture.known m)
     ORDER BY random() LIMIT 1
$$;

-- up to n distinct random seats of the event (at least one); the random
-- numbers are drawn once (MATERIALIZED), not once per seat compared
CREATE FUNCTION torture.some_seats(n int) RETURNS uuid[] LANGUAGE sql VOLATILE AS $$
    WITH pick AS MATERIALIZED (
        SELECT DISTINCT 1 + floor(random() * (SELECT count(*) FROM torture.seat))::int AS n
          FROM generate_series(1, n))
    SELECT array_agg(s.id) FROM torture.seat s JOIN pick ON pick.n = s.n
$$;

/*
 * One client: random operations for `seconds`. Mix (per operation):
 * 40% reserve (1-3 random seats, hold 1-2 s; a fresh key, no key, the last
 * request again (a replay), the last key with other seats (PT422), or the key
 * every client uses in this half second (concurrent calls with one key)),
 * 16% confirm and 10% cancel (half the time of the client's own last
 * reservation, else of a recent one of any client; now and then as the
 * wrong user), 6% tr_expire, 5% block, 5% unblock, 4% release (when
 * allow_release), 4% extend a hold, the rest reads.
 */
CREATE PROCEDURE torture.run(client int, seconds float8, ev uuid, allow_release boolean DEFAULT true)
LANGUAGE plpgsql AS $$
DECLARE
    deadline timestamptz := clock_timestamp() + make_interval(secs => seconds);
    v_tally jsonb := '{}';
    v_flush_at timestamptz := clock_timestamp() + interval '2 seconds';
    v_op text; v_state text; v_msg text; v_key text; v_ack text; v_bucket bigint;
    v_user text; v_seats uuid[]; v_dice float8; v_ops int := 0;
    last_user text; last_seats uuid[]; last_key text;
    v_res ticketres.reservations;
    p_id uuid; p_user text; my_id uuid; my_user text;
BEGIN
    PERFORM set_config('lock_timeout', '10s', false);   -- a wait is a failure, never a hang
    WHILE clock_timestamp() < deadline LOOP
        v_dice := random(); v_state := '00000'; v_msg := ''; v_ack := NULL;
        v_user := 'u' || (1 + floor(random() * 6))::int;
        IF my_id IS NOT NULL AND random() < 0.5 THEN      -- most buyers act on their own hold
            p_id := my_id; p_user := my_user;
        ELSE
            SELECT k.id, k.user_id INTO p_id, p_user FROM torture.pick() AS k;
        END IF;
        BEGIN
            IF v_dice < 0.40 THEN
                v_op := 'reserve';
                v_seats := torture.some_seats(1 + floor(random() * 3)::int);
                v_key := CASE WHEN random() < 0.3 THEN NULL ELSE format('c%s-%s', client, v_ops) END;
                IF random() < 0.15 AND last_key IS NOT NULL THEN        -- the same request again
                    v_user := last_user; v_seats := last_seats; v_key := last_key;
                ELSIF random() < 0.06 AND last_key IS NOT NULL THEN     -- the key, other seats
                    v_user := last_user; v_key := last_key;
                ELSIF random() < 0.10 THEN                              -- one key, many clients
                    v_bucket := floor(extract(epoch FROM clock_timestamp()) * 2);
                    v_user := 'shared'; v_key := 'shared-' || v_bucket;
                    SELECT ARRAY[s.id] INTO v_seats FROM torture.seat s
                     WHERE s.n = 1 + v_bucket % (SELECT count(*) FROM torture.seat);
                END IF;
                last_user := v_user; last_seats := v_seats; last_key := v_key;
                v_res := tr_reserve(ev, v_user, v_seats, v_key, make_interval(secs => 1 + random()));
                INSERT INTO torture.known (id, user_id) VALUES (v_res.id, v_res.user_id)
                    ON CONFLICT (id) DO NOTHING;
                p_id := v_res.id; p_user := v_res.user_id; my_id := p_id; my_user := p_user;
                v_ack := 'reserve';
            ELSIF p_id IS NULL THEN
                v_op := 'none';
            ELSIF v_dice < 0.56 THEN
                v_op := 'confirm';
                v_res := tr_confirm(p_id, CASE WHEN random() < 0.05 THEN 'intruder' ELSE p_user END);
                v_ack := 'confirm';
            ELSIF v_dice < 0.66 THEN
                v_op := 'cancel';
                v_res := tr_cancel(p_id, CASE WHEN random() < 0.05 THEN 'intruder' ELSE p_user END);
            ELSIF v_dice < 0.72 THEN
                v_op := 'expire';
                PERFORM tr_expire(1 + floor(random() * 50)::int);
            ELSIF v_dice < 0.77 THEN
                v_op := 'block';
                PERFORM tr_block_seats(ev, torture.some_seats(1), 'torture');
            ELSIF v_dice < 0.82 THEN
                v_op := 'unblock';
                PERFORM tr_unblock_seats(ev, torture.some_seats(2), 'torture');
            ELSIF v_dice < 0.86 AND allow_release THEN
                v_op := 'release';
                PERFORM tr_release_reservation(p_id, 'torture');
            ELSIF v_dice < 0.90 THEN
                v_op := 'extend';
                PERFORM tr_extend_hold(p_id, interval '1 second', 'torture');
            ELSE
                v_op := 'read';
                PERFORM tr_get_reservation(p_id, p_user);
                PERFORM count(*) FROM tr_list_reservations(v_user);
                PERFORM tr_available_count(ev);
                PERFORM count(*) FROM tr_list_seats(ev);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT;
            v_ack := NULL;
        END;
        COMMIT;
        IF v_ack IS NOT NULL THEN
            RAISE NOTICE 'ack % %', v_ack, p_id;
        END IF;
        IF NOT torture.in_catalogue(v_state) THEN
            RAISE NOTICE 'unexpected % % %', v_op, v_state, v_msg;
        END IF;
        v_key := v_op || '|' || v_state || '|' || CASE WHEN v_state = '00000' THEN '' ELSE v_msg END;
        v_tally := jsonb_set(v_tally, ARRAY[v_key], to_jsonb(coalesce((v_tally ->> v_key)::int, 0) + 1));
        v_ops := v_ops + 1;
        IF clock_timestamp() >= v_flush_at THEN
            CALL torture.flush(client, v_tally);
            v_flush_at := clock_timestamp() + interval '2 seconds';
        END IF;
    END LOOP;
    CALL torture.flush(client, v_tally);
END $$;

-- write a client's tally (every few seconds, so a crash loses only the last bit)
CREATE PROCEDURE torture.flush(client int, INOUT tally jsonb) LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO torture.tally
    SELECT client, split_part(t.key, '|', 1), split_part(t.key, '|', 2), split_part(t.key, '|', 3),
           t.value::bigint
      FROM jsonb_each_text(tally) AS t;
    COMMIT;
    tally := '{}';
END $$;

-- test/lib/fuzz.sql — hostile arguments for every public function (issue 7).
-- Loaded into a database with ticketres in public. fuzz.fn lists the
-- extension's tr_* functions and the public ticketres.* helpers, found in the
-- catalog (so functions added later are fuzzed too); fuzz.pool holds, per
-- argument type, SQL expressions for NULLs, NULL array elements,
-- multi-dimensional and huge arrays, megabyte strings, extreme timestamps and
-- intervals, malformed seat JSON, quotes, backslashes and Unicode.
-- CALL fuzz.run(n) makes n random calls (after one systematic pass: every
-- argument of every function through its whole pool, the others sensible),
-- each in its own transaction, and records every outcome in fuzz.result.

CREATE SCHEMA fuzz;

-- the objects the calls aim at: an event with seats and holds, another event
CREATE TABLE fuzz.fx AS SELECT NULL::uuid AS ev, NULL::uuid AS ev2, NULL::uuid AS seat,
    NULL::uuid AS seat2, NULL::uuid AS res;

CREATE TABLE fuzz.pool (typ text, expr text);
CREATE TABLE fuzz.result (fn text, call text, sqlstate text, message text);

-- every public function: the tr_* functions of the extension and the
-- ticketres.* helpers that are not internal (_*)
CREATE VIEW fuzz.fn AS
SELECT p.oid, p.oid::regprocedure::text AS sig, p.oid::regproc::text AS name,
       coalesce(p.proargnames, ARRAY[]::text[]) AS argnames,
       ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) AS t) AS argtypes
  FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
   AND d.refclassid = 'pg_extension'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ticketres'
 WHERE (p.proname LIKE 'tr\_%' OR (p.pronamespace = 'ticketres'::regnamespace AND p.proname NOT LIKE '\_%'))
   AND p.prokind = 'f';

INSERT INTO fuzz.pool (typ, expr) VALUES
  ('uuid', 'NULL::uuid'), ('uuid', 'gen_random_uuid()'),
  ('uuid', '''00000000-0000-0000-0000-000000000000''::uuid'),
  ('uuid', '''ffffffff-ffff-ffff-ffff-ffffffffffff''::uuid'),
  ('uuid', '(SELECT ev FROM fuzz.fx)'), ('uuid', '(SELECT ev2 FROM fuzz.fx)'),
  ('uuid', '(SELECT seat FROM fuzz.fx)'), ('uuid', '(SELECT res FROM fuzz.fx)'),
  ('uuid', '(SELECT id FROM ticketres.reservations ORDER BY random() LIMIT 1)'),
  ('uuid', '(SELECT id FROM ticketres.events ORDER BY random() LIMIT 1)'),
  ('uuid[]', 'NULL::uuid[]'), ('uuid[]', '''{}''::uuid[]'), ('uuid[]', 'ARRAY[NULL]::uuid[]'),
  ('uuid[]', 'ARRAY[(SELECT seat FROM fuzz.fx), NULL]'),
  ('uuid[]', 'ARRAY[[(SELECT seat FROM fuzz.fx)], [(SELECT seat2 FROM fuzz.fx)]]'),
  ('uuid[]', 'ARRAY[[[(SELECT seat FROM fuzz.fx)]]]'),
  ('uuid[]', 'ARRAY[(SELECT seat FROM fuzz.fx), (SELECT seat FROM fuzz.fx)]'),
  ('uuid[]', 'format(''[-7:-6]={%s,%s}'', (SELECT seat FROM fuzz.fx), (SELECT seat2 FROM fuzz.fx))::uuid[]'),
  ('uuid[]', '(SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 100000))'),
  ('uuid[]', '(SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 1001))'),
  ('uuid[]', '(SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 1000))'),
  ('uuid[]', '(SELECT array_agg(id) FROM (SELECT id FROM ticketres.seats WHERE event_id = (SELECT ev FROM fuzz.fx) ORDER BY random() LIMIT 3) s)'),
  ('uuid[]', '(SELECT array_agg(id) FROM (SELECT id FROM ticketres.seats WHERE event_id = (SELECT ev FROM fuzz.fx) ORDER BY random() LIMIT 1) s)'),
  ('uuid[]', '(SELECT array_agg(id) FROM ticketres.seats WHERE event_id = (SELECT ev FROM fuzz.fx))'),
  ('uuid[]', '(SELECT array_agg(id) FROM ticketres.seats WHERE event_id = (SELECT ev2 FROM fuzz.fx))'),
  ('text', 'NULL::text'), ('text', ''''''), ('text', '''alice'''), ('text', '''bob'''),
  ('text', 'repeat(''x'', 1048576)'), ('text', 'repeat(''é'', 201)'), ('text', 'repeat(''k'', 200)'),
  ('text', $$E'quote''s "dq" \\back\\slash \\\\ %s %n'$$), ($$text$$, $$E'tab\tnl\ncr\r\x01\x7f'$$),
  ('text', '''😀 ünï€ 中文 ‮rtl'''), ('text', $$'''); DROP TABLE ticketres.seats; --'$$),
  ('text', '''available'''), ('text', '''blocked'''), ('text', '''* * * * *'''), ('text', '''61 * * * *'''),
  ('text', '''fuzz-'' || floor(random() * 1000)'),
  ('interval', 'NULL::interval'), ('interval', '''0''::interval'), ('interval', '''-1 second''::interval'),
  ('interval', '''1 microsecond''::interval'), ('interval', '''999999 microseconds''::interval'),
  ('interval', '''1 second''::interval'), ('interval', '''1 day''::interval'),
  ('interval', '''1 day 1 microsecond''::interval'), ('interval', '''24:00:00.000001''::interval'),
  ('interval', '''1 mon''::interval'), ('interval', '''-1 day''::interval'),
  ('interval', '''178000000 years''::interval'), ('interval', '''-178000000 years''::interval'),
  ('interval', '''2147483647 days''::interval'), ('interval', '''-2147483648 days''::interval'),
  ('interval', '''2562047788:00:54.775807''::interval'), ('interval', '''-2562047788:00:54.775807''::interval'),
  ('interval', '''-1 day 25 hours''::interval'), ('interval', '''1 day -1 hour''::interval'),
  ('timestamp with time zone', 'NULL::timestamptz'), ('timestamp with time zone', '''infinity''::timestamptz'),
  ('timestamp with time zone', '''-infinity''::timestamptz'),
  ('timestamp with time zone', '''294276-12-31 23:59:59.999999+00''::timestamptz'),
  ('timestamp with time zone', '''4714-11-24 00:00:00+00 BC''::timestamptz'),
  ('timestamp with time zone', '''epoch''::timestamptz'),
  ('timestamp with time zone', 'now() + interval ''1 day'''), ('timestamp with time zone', 'now() + interval ''2 days'''),
  ('timestamp with time zone', 'now() - interval ''1 day'''),
  ('integer', 'NULL::int'), ('integer', '0'), ('integer', '-1'), ('integer', '1'), ('integer', '10'),
  ('integer', '1000'), ('integer', '1001'), ('integer', '100001'), ('integer', '2147483647'),
  ('integer', '(-2147483648)::int'),
  ('bigint', 'NULL::bigint'), ('bigint', '(-1)::bigint'), ('bigint', '0::bigint'), ('bigint', '100::bigint'),
  ('bigint', '1000000000000::bigint'), ('bigint', '1000000000001::bigint'),
  ('bigint', '9223372036854775807::bigint'), ('bigint', '(-9223372036854775808)::bigint'),
  ('jsonb', 'NULL::jsonb'), ('jsonb', '''null''::jsonb'), ('jsonb', '''{}''::jsonb'), ('jsonb', '''[]''::jsonb'),
  ('jsonb', '''"[{}]"''::jsonb'), ('jsonb', '''[1]''::jsonb'), ('jsonb', '''[null]''::jsonb'),
  ('jsonb', '''[{}]''::jsonb'), ('jsonb', '''[{"label": ""}]''::jsonb'),
  ('jsonb', 'jsonb_build_array(jsonb_build_object(''label'', ''F-'' || gen_random_uuid(), ''price'', 5))'),
  ('jsonb', 'jsonb_build_array(jsonb_build_object(''label'', repeat(''x'', 101)))'),
  ('jsonb', 'jsonb_build_array(jsonb_build_object(''label'', repeat(''x'', 1048576)))'),
  ('jsonb', '''[{"label": "a", "extra": 1}]''::jsonb'), ('jsonb', '''[{"label": "a", "price": 1e400}]''::jsonb'),
  ('jsonb', '''[{"label": "a", "price": -1}]''::jsonb'), ('jsonb', '''[{"label": "a", "price": 1.5}]''::jsonb'),
  ('jsonb', '''[{"label": "a", "price": "100"}]''::jsonb'), ('jsonb', '''[{"label": "a", "number": 1.5}]''::jsonb'),
  ('jsonb', '''[{"label": "a", "number": 99999999999}]''::jsonb'), ('jsonb', '''[{"label": "a"}, {"label": "a"}]''::jsonb'),
  ('jsonb', '''[{"label": 5}]''::jsonb'), ('jsonb', '''[{"label": "a", "row": {"x": 1}}]''::jsonb'),
  ('jsonb', '''[{"label": "a", "section": [1]}]''::jsonb'),
  ('jsonb', $$'[{"label": "q''\"\\ \u00e9 😀", "row": 7, "number": -3}]'::jsonb$$),
  ('jsonb', '(repeat(''['', 1000) || repeat('']'', 1000))::jsonb'),
  ('jsonb', '(SELECT jsonb_agg(jsonb_build_object(''label'', ''L'' || g)) FROM generate_series(1, 100001) g)'),
  ('name', 'NULL::name'), ('name', '''postgres''::name'), ('name', '''fuzz_dup''::name'),
  ('boolean', 'NULL::boolean'), ('boolean', 'true'), ('boolean', 'false');

-- hostile JWT claims the identity check must survive
CREATE TABLE fuzz.claims (c text);
INSERT INTO fuzz.claims VALUES (''), ('{}'), ('[]'), ('null'), ('not json'), ('{"sub": null}'),
  ('{"sub": 1}'), ('{"sub": ""}'), ('{"sub": "alice"}'), ('{"sub": "bob", "role": "x"}'),
  ('{"sub": ["alice"]}'), ('{"sub": "' || repeat('s', 300) || '"}'), ('{"sub": "\u0000"}'),
  ('{"sub": "a\"b\\c"}');

-- a sensible value for an argument, by name (NULL: the function's own default)
CREATE FUNCTION fuzz.sane(argname text, typ text) RETURNS text LANGUAGE sql AS $$
    SELECT CASE argname
        WHEN 'event_id' THEN '(SELECT ev FROM fuzz.fx)'
        WHEN 'reservation_id' THEN '(SELECT res FROM fuzz.fx)'
        WHEN 'seat_id' THEN '(SELECT seat FROM fuzz.fx)'
        WHEN 'seat_ids' THEN 'ARRAY[(SELECT seat FROM fuzz.fx)]'
        WHEN 'user_id' THEN '''alice'''
        WHEN 'idempotency_key' THEN '''fuzz-'' || gen_random_uuid()'
        WHEN 'name' THEN '''fuzz'''
        WHEN 'starts_at' THEN 'now() + interval ''1 day'''
        WHEN 'ends_at' THEN 'now() + interval ''2 days'''
        WHEN 'seats' THEN 'jsonb_build_array(jsonb_build_object(''label'', ''F-'' || gen_random_uuid()))'
        WHEN 'section' THEN '''Z'' || floor(random() * 1000000)'
        WHEN 'rows' THEN '1' WHEN 'seats_per_row' THEN '2' WHEN 'price' THEN '100::bigint'
        WHEN 'lim' THEN '20' WHEN 'off' THEN '0' WHEN 'max_rows' THEN '10'
        WHEN 'reason' THEN '''fuzz''' WHEN 'extend_by' THEN '''1 second''::interval'
        WHEN 'schedule' THEN '''* * * * *'''
        WHEN 'area' THEN '''Floor''' WHEN 'quantity' THEN '1' WHEN 'capacity' THEN '10'
        WHEN 'area_id' THEN '(SELECT id FROM ticketres.ga_areas LIMIT 1)'
        ELSE 'NULL::' || typ END
$$;

-- a random pool value for an argument; tr_generate_seats gets small row and
-- seat counts (a valid million-seat call would only measure the disk)
CREATE FUNCTION fuzz.random_value(fn text, typ text) RETURNS text LANGUAGE sql VOLATILE AS $$
    SELECT CASE WHEN fn = 'tr_generate_seats' AND typ = 'integer'
                THEN (ARRAY['NULL::int', '0', '-1', '1', '3', '100001', '2147483647', '(-2147483648)::int'])
                     [1 + floor(random() * 8)::int]
                ELSE (SELECT p.expr FROM fuzz.pool p WHERE p.typ = $2 ORDER BY random() LIMIT 1) END
$$;

-- what an answer may be: success, the catalogue, a standard 22xxx (bad
-- input value), 55000 from the pg_cron functions outside the cron database
CREATE FUNCTION fuzz.allowed(fn text, st text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT st IN ('00000', 'PT403', 'PT404', 'PT409', 'PT410', 'PT422', 'PT503') OR st LIKE '22___'
        OR (st = '55000' AND fn IN ('tr_schedule_expiry', 'tr_unschedule_expiry'))
$$;

-- one call: in a subtransaction, with claims (or none), outcome recorded
CREATE PROCEDURE fuzz.call(fn text, args text[], claims text) LANGUAGE plpgsql AS $$
DECLARE st text := '00000'; msg text; stmt text;
BEGIN
    stmt := format('SELECT count(*) FROM %s(%s)', fn, array_to_string(args, ', '));
    BEGIN
        IF claims IS NOT NULL THEN
            PERFORM set_config('request.jwt.claims', claims, true);
        END IF;
        EXECUTE stmt;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
    INSERT INTO fuzz.result VALUES (fn, left(stmt, 300) || coalesce(' claims=' || left(claims, 60), ''),
                                    st, left(msg, 300));
    COMMIT;
END $$;

CREATE PROCEDURE fuzz.run(n int) LANGUAGE plpgsql AS $$
DECLARE f record; i int; args text[]; p record; claims text;
BEGIN
    -- systematic: each argument through its whole pool, the others sensible
    FOR f IN SELECT * FROM fuzz.fn ORDER BY sig LOOP
        IF cardinality(f.argtypes) = 0 THEN
            CALL fuzz.call(f.name, ARRAY[]::text[], NULL);
        END IF;
        FOR i IN 1 .. cardinality(f.argtypes) LOOP
            FOR p IN SELECT expr FROM fuzz.pool WHERE typ = f.argtypes[i] LOOP
                args := ARRAY(SELECT fuzz.sane(f.argnames[j], f.argtypes[j])
                                FROM generate_series(1, cardinality(f.argtypes)) j ORDER BY j);
                args[i] := p.expr;
                CALL fuzz.call(f.name, args, NULL);
            END LOOP;
        END LOOP;
    END LOOP;
    -- random: every argument from its pool, hostile claims a third of the time
    FOR k IN 1 .. n LOOP
        SELECT * INTO f FROM fuzz.fn ORDER BY random() LIMIT 1;
        args := ARRAY(SELECT fuzz.random_value(f.name, f.argtypes[j])
                        FROM generate_series(1, cardinality(f.argtypes)) j ORDER BY j);
        claims := CASE WHEN random() < 0.33 THEN (SELECT c FROM fuzz.claims ORDER BY random() LIMIT 1) END;
        CALL fuzz.call(f.name, args, claims);
    END LOOP;
END $$;

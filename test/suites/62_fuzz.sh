#!/usr/bin/env bash
# 62_fuzz.sh — every public function with random and hostile arguments
# (issue 7; test/lib/fuzz.sql): NULLs everywhere, NULL elements, 2-D/3-D and
# 100,000-element arrays, odd lower bounds, 1 MB strings, quotes, backslashes,
# Unicode, infinity / -infinity / year 294276, extreme intervals, malformed
# seat JSON, hostile JWT claims. The server must not crash (same postmaster,
# no terminated backend in its log), every answer is success, the catalogue or
# a standard 22xxx, and nothing half-done remains (invariants, exact counts).
# TR_FUZZ_CALLS sets the number of random calls (after the systematic pass).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"

CALLS=${TR_FUZZ_CALLS:-2000}
DB=tr_fuzz_$$
LOG=${TR_SERVER_LOG:-$(dirname "$PGDATA")/server.log}
trap 'tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null' EXIT
tr_psql -d postgres -c "CREATE DATABASE $DB" >/dev/null || tr_die "cannot create $DB"
export PGDATABASE=$DB
q() { tr_psql -At -c "$1"; }

PM=$(head -1 "$PGDATA/postmaster.pid")
LOG_AT=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
tr_psql >/dev/null <<'SQL' || tr_die "fuzz setup failed"
CREATE EXTENSION ticketres;
SQL
tr_psql -f "$TR_ROOT/test/lib/truth.sql" -f "$TR_ROOT/test/lib/fuzz.sql" >/dev/null || tr_die "fuzz setup failed"
tr_psql >/dev/null <<'SQL' || tr_die "fuzz fixture failed"
UPDATE fuzz.fx SET ev = (SELECT id FROM tr_create_event('fuzz', now() + interval '1 day', now() + interval '2 days')),
                   ev2 = (SELECT id FROM tr_create_event('fuzz 2', now() + interval '1 day', now() + interval '2 days'));
SELECT tr_generate_seats(ev, 'S', 1, 20, 100), tr_generate_seats(ev2, 'T', 1, 3, 7) FROM fuzz.fx;
UPDATE fuzz.fx SET seat = (SELECT id FROM ticketres.seats WHERE label = 'S-1-3'),
                   seat2 = (SELECT id FROM ticketres.seats WHERE label = 'S-1-4');
UPDATE fuzz.fx SET res = (SELECT id FROM tr_reserve(ev, 'alice',
                          ARRAY(SELECT id FROM ticketres.seats WHERE label = 'S-1-1'), 'fx-1', '1 day'));
SELECT tr_confirm(id, 'bob') FROM tr_reserve((SELECT ev FROM fuzz.fx), 'bob',
                          ARRAY(SELECT id FROM ticketres.seats WHERE label = 'S-1-2'), 'fx-2');
SQL

is "$(q "SELECT coalesce(string_agg(DISTINCT t, ', '), '') FROM fuzz.fn, unnest(argtypes) t
          WHERE NOT EXISTS (SELECT 1 FROM fuzz.pool p WHERE p.typ = t)")" "" \
  "fuzz: every argument type of every public function has a pool of hostile values"
cmp_ok "$(q "SELECT count(*) FROM fuzz.fn")" -ge 25 "fuzz: the public functions are found in the catalog"

timeout -s KILL 600 "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -c "CALL fuzz.run($CALLS)" >/dev/null 2>"$TR_RUN/fuzz.err"
rc=$?
is "$rc" 0 "fuzz: the fuzzing session ran to the end"
[ "$rc" = 0 ] || sed 's/^/# /' "$TR_RUN/fuzz.err" | tail -5

is "$(head -1 "$PGDATA/postmaster.pid")" "$PM" "fuzz: the postmaster is the same process (no crash, no restart)"
crashes=$(tail -c +"$((LOG_AT + 1))" "$LOG" | grep -cE 'terminated by signal|server process .* (was terminated|exited with exit code)|PANIC|TRAP:')
is "$crashes" 0 "fuzz: the server log shows no terminated backend"
q "SELECT 1" >/dev/null; is "$?" 0 "fuzz: the server still answers"

cmp_ok "$(q "SELECT count(*) FROM fuzz.result")" -ge "$CALLS" "fuzz: every call was made and recorded"
is "$(q "SELECT coalesce(string_agg(name, ', '), '') FROM fuzz.fn f
          WHERE (SELECT count(*) FROM fuzz.result r WHERE r.fn = f.name) < 5")" "" \
  "fuzz: every public function was called (at least 5 times)"
bad=$(q "SELECT fn || ': ' || sqlstate || ' ' || message || ' <- ' || call FROM fuzz.result
          WHERE NOT fuzz.allowed(fn, sqlstate) LIMIT 5")
is "$(q "SELECT count(*) FROM fuzz.result WHERE NOT fuzz.allowed(fn, sqlstate)")" 0 \
  "fuzz: every answer is success, a catalogue error or a standard 22xxx"
[ -n "$bad" ] && sed 's/^/# /' <<<"$bad"
cmp_ok "$(q "SELECT count(*) FROM fuzz.result WHERE sqlstate = '00000'")" -gt 0 "fuzz: some calls succeeded"
cmp_ok "$(q "SELECT count(DISTINCT sqlstate) FROM fuzz.result")" -ge 6 "fuzz: the calls met many different answers"

is "$(q "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()")" 0 \
  "fuzz: ticketres.check_invariants() finds no violation afterwards"
is "$(q "SELECT coalesce(string_agg(e.id || ': ' || d, '; '), 'equal')
          FROM ticketres.events e, tr_truth.count_diff(e.id) AS d WHERE d <> 'equal'")" equal \
  "fuzz: tr_available_count equals the rows for every event afterwards"
is "$(q "SELECT count(*) FROM ticketres.seats s WHERE s.event_id NOT IN (SELECT id FROM ticketres.events)")
$(q "SELECT count(*) FROM ticketres.seats WHERE label LIKE 'L%' AND label ~ '^L[0-9]+$'")" "0
0" "fuzz: no half-done bulk insert (the 100,001-seat call left no seat)"
echo "# fuzz: $(q "SELECT count(*) FROM fuzz.result") calls on $(q "SELECT count(*) FROM fuzz.fn") functions; outcomes: $(q "SELECT string_agg(sqlstate || '=' || n, ', ' ORDER BY n DESC) FROM (SELECT sqlstate, count(*) n FROM fuzz.result GROUP BY 1) t")"
# the standard 22xxx answers, one example each (raised by PostgreSQL on the way in)
q "SELECT DISTINCT ON (sqlstate) sqlstate || ' e.g. ' || fn || ': ' || message FROM fuzz.result
    WHERE sqlstate LIKE '22%' AND sqlstate <> '22023' ORDER BY sqlstate, fn" | sed 's/^/# fuzz: /'
done_testing

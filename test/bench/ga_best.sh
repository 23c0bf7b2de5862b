#!/usr/bin/env bash
# test/bench/ga_best.sh — benchmarks of general admission and best available
# (DESIGN §6), side by side in one run on its own cluster (test/tmp/bench-ga):
#   GA    200 clients reserve 1 ticket each call from ONE area, against
#         tr_reserve of distinct seats at 200 clients (target >= 0.8x) and
#         against BASELINE naive GA: the same hold with the tickets left in a
#         single counter row (UPDATE ... SET left = left - 1 WHERE left >= 1)
#   best  tr_reserve_best pairs at 8 clients on an event of
#         TR_BENCH_BEST_SEATS seats (default 200,000) filled to 10 % and to
#         90 % (the best-ranked seats blocked), against tr_reserve of
#         distinct seats at 8 clients (target >= 0.5x), with p50/p99 latency
#         at both fills (flat, not growing)
# Ends with ticketres.check_invariants(). Prints one line per figure.
#   TR_BENCH_SECS=10   seconds per pgbench point
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"

SECS=${TR_BENCH_SECS:-10}
SEATS=${TR_BENCH_BEST_SEATS:-200000}
DIR=$TR_TMP/bench-ga
tr_build_install
rm -rf "$DIR"; mkdir -p "$DIR"
trap 'tr_stop_pg' EXIT
tr_start_pg "$DIR/pg" "shared_preload_libraries = 'ticketres'"
OUT=$DIR/out; mkdir -p "$OUT"; chmod 777 "$OUT"
export PGDATABASE=bench_ga
tr_psql -d postgres -c "CREATE DATABASE bench_ga" >/dev/null
q() { tr_psql -At -c "$1"; }
q "CREATE EXTENSION ticketres" >/dev/null

# pgbench NAME CLIENTS SQL: tps of SECS seconds; per-call latencies in $OUT/NAME.lat (ms)
bench() {
  local name=$1 clients=$2 tps
  printf '%s\n' "$3" >"$OUT/$name.sql"
  (cd "$OUT" && rm -f pgbench_log.* && "$PGBIN/pgbench" -n -c "$clients" -j 2 -T "$SECS" -l \
      -f "$OUT/$name.sql" >"$OUT/$name.log" 2>&1) || { tail -5 "$OUT/$name.log" >&2; return 1; }
  cat "$OUT"/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -n >"$OUT/$name.lat"
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$OUT/$name.log")
  printf '%.0f' "$tps"
}
pct() { awk -v p="$2" '{ a[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; printf "%.2f", a[i] }' "$OUT/$1.lat"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# distinct seats for tr_reserve: the event's seats numbered, one per call
seat_map() {  # seat_map EVENT TABLE
  q "CREATE TABLE $2 AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM ticketres.seats WHERE event_id = '$1' AND status = 'available';
     CREATE UNIQUE INDEX ON $2 (n); CREATE SEQUENCE ${2}_seq" >/dev/null
}
reserve_sql() { echo "WITH q AS MATERIALIZED (SELECT nextval('${2}_seq') AS n) SELECT tr_reserve('$1', 'b-' || q.n, ARRAY[m.id]) FROM q JOIN $2 m ON m.n = q.n;"; }

###########################################################################
# General admission: 200 clients on one area
###########################################################################
EV=$(q "SELECT id FROM tr_create_event('bench GA', now() + interval '10 days', now() + interval '11 days')")
q "SELECT tr_add_ga_area('$EV', 'Floor', 100000000, 100)" >/dev/null
q "SELECT tr_generate_seats('$EV', 'S', 400, 1000, 100)" >/dev/null
seat_map "$EV" m_ga
# BASELINE naive GA: one counter row per area
q "CREATE TABLE naive_area (id int PRIMARY KEY, tickets_left bigint NOT NULL CHECK (tickets_left >= 0));
   INSERT INTO naive_area VALUES (1, 100000000);
   CREATE TABLE naive_hold (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), user_id text NOT NULL, quantity int NOT NULL,
                            expires_at timestamptz NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
   CREATE FUNCTION naive_reserve_ga(u text, n int) RETURNS uuid LANGUAGE plpgsql AS \$\$
   DECLARE r uuid;
   BEGIN
       UPDATE naive_area SET tickets_left = tickets_left - n WHERE id = 1 AND tickets_left >= n;
       IF NOT FOUND THEN RAISE EXCEPTION 'sold out' USING ERRCODE = 'PT409'; END IF;
       INSERT INTO naive_hold (user_id, quantity, expires_at) VALUES (u, n, now() + interval '15 minutes') RETURNING id INTO r;
       RETURN r;
   END \$\$;
   VACUUM ANALYZE" >/dev/null
ga=$(bench ga 200 "SELECT tr_reserve_ga('$EV', 'Floor', 1, 'ga-' || :client_id);")
seats=$(bench seats200 200 "$(reserve_sql "$EV" m_ga)")
naive=$(bench naive 200 "SELECT naive_reserve_ga('n-' || :client_id, 1);")
echo "GA, 200 clients, one area:      tr_reserve_ga $ga tps | tr_reserve (distinct seats) $seats tps | ratio $(ratio "$ga" "$seats") (target >= 0.8)"
echo "GA against the naive design:    single counter row $naive tps | stripes/naive $(ratio "$ga" "$naive")"
echo "GA latency p50/p99 ms:          stripes $(pct ga 50)/$(pct ga 99) | naive $(pct naive 50)/$(pct naive 99)"
is_ok=$(q "SELECT tr_ga_available('$EV', 'Floor') + (SELECT sum(quantity) FROM ticketres.reservations WHERE ga_area_id IS NOT NULL) = 100000000")
echo "GA count exact after the run:   $is_ok"

###########################################################################
# Best available at 10 % and 90 % sold
###########################################################################
BV=$(q "SELECT id FROM tr_create_event('bench best', now() + interval '10 days', now() + interval '11 days')")
q "SELECT tr_generate_seats('$BV', 'S', $((SEATS / 1000)), 1000, 100)" >/dev/null
fill() {  # fill PERCENT: the best-ranked seats up to PERCENT % are not available (blocked)
  local n
  n=$(q "WITH b AS (UPDATE ticketres.seats SET status = 'blocked' WHERE event_id = '$BV' AND status = 'available'
                      AND rank < $SEATS * $1 / 100 RETURNING 1) SELECT count(*) FROM b")
  q "SELECT ticketres._count_add('$BV', -$n)" >/dev/null
  q "VACUUM ANALYZE ticketres.seats" >/dev/null
}
fill 10
seat_map "$BV" m_b10
b10=$(bench best10 8 "SELECT tr_reserve_best('$BV', 2, 'bb-' || :client_id);")
r10=$(bench res10 8 "$(reserve_sql "$BV" m_b10)")
fill 90
seat_map "$BV" m_b90
b90=$(bench best90 8 "SELECT tr_reserve_best('$BV', 2, 'bb-' || :client_id);")
r90=$(bench res90 8 "$(reserve_sql "$BV" m_b90)")
echo "best available, $SEATS seats, 8 clients, pairs:"
echo "  10 % sold: tr_reserve_best $b10 tps (p50/p99 $(pct best10 50)/$(pct best10 99) ms) | tr_reserve $r10 tps | ratio $(ratio "$b10" "$r10") (target >= 0.5)"
echo "  90 % sold: tr_reserve_best $b90 tps (p50/p99 $(pct best90 50)/$(pct best90 99) ms) | tr_reserve $r90 tps | ratio $(ratio "$b90" "$r90") (target >= 0.5)"
echo "invariant violations: $(q "SELECT sum(violations) FROM ticketres.check_invariants()")"

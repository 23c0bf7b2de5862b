#!/usr/bin/env bash
# http_wrk.sh — tr_reserve over HTTP through PostgREST 12.0.2, measured with wrk.
# Starts its own throwaway cluster and PostgREST on free loopback ports,
# makes an event with SEATS seats and USERS signed JWTs, then runs wrk with
# CONNS connections for DURATION:
#   spread: every request another seat (and user): the success path (200)
#   hot:    every request the same seat: the conflict path (409)
#   sql:    the spread path over plain SQL (pgbench, CONNS clients, no HTTP),
#           same server, same moment: the HTTP layer's cost as a ratio
# and prints requests/s, p50 and p99 for each. Stops everything at the end.
#   SEATS=200000 USERS=2000 CONNS=50 DURATION=10s POOL=20 ROUNDS=3 ./test/bench/http_wrk.sh
# (spread and sql run ROUNDS times back to back; medians and the median ratio
# are printed on the lines "spread", "sql" and "ratio")
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/http.sh"

SEATS=${SEATS:-200000}
USERS=${USERS:-2000}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
POOL=${POOL:-20}
ROUNDS=${ROUNDS:-3}
DIR=$TR_TMP/bench-http

tr_ensure_packages
tr_ensure_postgrest
tr_build_install
trap 'tr_stop_postgrest; tr_stop_pg' EXIT
tr_start_pg "$DIR/pg"
tr_http_setup_db bench web_anon web_user web_admin authenticator
SECRET=$(openssl rand -hex 24)
tr_start_postgrest "$DIR/http" bench web_anon authenticator "$SECRET" "$POOL"

EVENT=$(tr_psql -d bench -At -c "SELECT id FROM api.tr_create_event('wrk', now() + interval '30 days', now() + interval '30 days 3 hours')")
tr_psql -d bench -At -c "SELECT api.tr_generate_seats('$EVENT', 'W', $((SEATS / 100)), 100, 1000)" >/dev/null
tr_psql -d bench -At -c "SELECT id FROM ticketres.seats WHERE event_id = '$EVENT' ORDER BY random()" >"$DIR/seats"
# seats for the SQL run: another section, numbered for a sequence to hand out
tr_psql -d bench -At -c "SELECT api.tr_generate_seats('$EVENT', 'S', $((SEATS / 100)), 100, 1000)" >/dev/null
tr_psql -d bench -c "CREATE TABLE sql_seats AS SELECT row_number() OVER () AS n, id FROM ticketres.seats
  WHERE event_id = '$EVENT' AND section = 'S'; ALTER TABLE sql_seats ADD PRIMARY KEY (n);
  CREATE SEQUENCE sql_seq" >/dev/null
tr_psql -d bench -c "VACUUM ANALYZE" >/dev/null
# USERS tokens signed like tr_jwt does, in one node process (openssl per token is slow)
TR_SECRET=$SECRET node -e '
  const c = require("crypto"), b = (s) => Buffer.from(s).toString("base64url");
  const head = b(JSON.stringify({alg: "HS256", typ: "JWT"})), exp = Math.floor(Date.now() / 1000) + 86400;
  const out = [];
  for (let i = 1; i <= Number(process.argv[1]); i++) {
    const body = b(JSON.stringify({role: "web_user", sub: "user-" + i, exp}));
    const sig = c.createHmac("sha256", process.env.TR_SECRET).update(head + "." + body).digest("base64url");
    out.push(head + "." + body + "." + sig);
  }
  console.log(out.join("\n"));' "$USERS" >"$DIR/tokens"

wrk_() {  # wrk_ MODE DURATION OFFSET LOG
  TR_SEATS=$DIR/seats TR_TOKENS=$DIR/tokens TR_EVENT=$EVENT TR_MODE=$1 TR_THREADS=$THREADS \
    TR_OFFSET=$3 wrk -t "$THREADS" -c "$CONNS" -d "$2" -s "$TR_ROOT/test/bench/http_wrk.lua" \
    "$TR_HTTP_URL" >"$4" 2>&1 || { cat "$4"; tr_die "wrk failed"; }
}

run() {  # run MODE [LABEL] [OFFSET]: prints LABEL (default MODE) req/s p50 p99 statuses
  local label=${2:-$1} log=$DIR/wrk-${2:-$1}.log
  wrk_ "$1" "$DURATION" "${3:-0}" "$log"
  printf '%-7s %8s req/s  p50 %6s ms  p99 %6s ms  statuses: %s\n' "$label" \
    "$(sed -n 's/^rps //p' "$log")" "$(sed -n 's/^p50_ms //p' "$log")" "$(sed -n 's/^p99_ms //p' "$log")" \
    "$(sed -n 's/^status //p' "$log" | sort | tr '\n' ' ')"
}

run_sql() {  # run_sql [LABEL]: the spread path as SQL, one new seat and user per transaction
  cat >"$DIR/sql.pgbench" <<SQL
SELECT api.tr_reserve('$EVENT', 'sql-user-' || s.n % $USERS, ARRAY[s.id], 'sql-' || s.n)
  FROM sql_seats s WHERE s.n = (SELECT nextval('sql_seq'));
SQL
  rm -f "$DIR"/pgtx.*
  "$PGBIN/pgbench" -n -M prepared -f "$DIR/sql.pgbench" -c "$CONNS" -j "$THREADS" -T "${DURATION%s}" \
    --log --log-prefix="$DIR/pgtx" bench >"$DIR/pgbench.log" 2>&1 \
    || { cat "$DIR/pgbench.log"; tr_die "pgbench failed"; }
  # per-transaction logs: column 3 is the latency in microseconds
  cat "$DIR"/pgtx.* | awk '{print $3}' | sort -n >"$DIR/sql-latencies"
  local n; n=$(wc -l <"$DIR/sql-latencies")
  printf '%-7s %8.1f req/s  p50 %6.2f ms  p99 %6.2f ms  failed: %s\n' "${1:-sql}" \
    "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$DIR/pgbench.log" | head -1)" \
    "$(sed -n "$(( (n + 1) / 2 ))p" "$DIR/sql-latencies" | awk '{print $1 / 1000}')" \
    "$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$DIR/sql-latencies" | awk '{print $1 / 1000}')" \
    "$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$DIR/pgbench.log")"
}

echo "== tr_reserve over HTTP: PostgREST 12.0.2 (db-pool $POOL), wrk -t$THREADS -c$CONNS -d$DURATION"
echo "   machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(free -g | awk '/^Mem/ {print $2}') GB RAM," \
  "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
# warm-up: fill PostgREST's pool and the backends' plan caches (seats from
# the second half of the list, the measured run starts at the first)
wrk_ spread 3s $((SEATS / 2 / THREADS)) "$DIR/wrk-warmup.log"
# ROUNDS rounds of the success path over HTTP and the same path over SQL,
# back to back, so that a burst of other load hits one round and not one
# side; each HTTP round takes its seats from its own part of the list. The
# summary lines "spread" and "sql" carry the medians; "ratio" is the median
# of the per-round ratios (HTTP / SQL).
ratios="" spreads="" sqls="" sline="" qline=""
for r in $(seq 1 "$ROUNDS"); do
  sline=$(run spread "spread$r" $(( (r - 1) * SEATS / 2 / ROUNDS / THREADS ))); echo "$sline"
  qline=$(run_sql "sql$r"); echo "$qline"
  a=$(awk '{print $2}' <<<"$sline") b=$(awk '{print $2}' <<<"$qline")
  spreads="$spreads $a" sqls="$sqls $b"
  ratios="$ratios $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')"
done
# medians of the rounds; p50 and p99 of the last round
echo "spread $(median <<<"$spreads") req/s  $(cut -d' ' -f4- <<<"$(tr -s ' ' <<<"$sline")")"
echo "sql    $(median <<<"$sqls") req/s  $(cut -d' ' -f4- <<<"$(tr -s ' ' <<<"$qline")")"
echo "ratio  $(median <<<"$ratios") (HTTP / SQL, median of the rounds:$ratios)"
run hot
tr_psql -d bench -At -c "SELECT 'reservations held: ' || count(*) FROM ticketres.reservations WHERE status = 'pending'"
tr_psql -d bench -At -c "SELECT 'invariant violations: ' || sum(violations) FROM ticketres.check_invariants()"

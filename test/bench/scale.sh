#!/usr/bin/env bash
# test/bench/scale.sh — what the scale-out costs and gives (doc/scale-out.md).
# One command; brings up its own clusters with test/scale/cluster.sh:
#   1. one shard (primary + synchronous standby) and the router, same run:
#      a. routing overhead: holds of fresh seats through the router against
#         the same holds sent to the shard's primary directly;
#      b. the cost of synchronous replication: the same holds on the primary
#         with synchronous_commit = on (the commit waits for the standby's
#         flush) against synchronous_commit = local (it does not);
#   2. aggregate throughput through the router with 1, 2 and 4 shards (the
#      holds spread over one event per shard).
# Every figure is pgbench's tps (and average latency) over TR_BENCH_SECS;
# every point ends with the invariant check on every shard.
#   TR_BENCH_SECS=10            seconds per point
#   TR_BENCH_SCALE_CLIENTS=8    pgbench clients
#   TR_BENCH_SCALE_SHARDS="1 2 4"
# All shards share this machine's cores: see doc/scale-out.md for what the
# aggregate figures mean on N machines.
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
export TR_SCALE=$TR_TMP/bench-scale
. "$TR_ROOT/test/scale/lib.sh"
CLUSTER=$TR_ROOT/test/scale/cluster.sh
SECS=${TR_BENCH_SECS:-10}
CLIENTS=${TR_BENCH_SCALE_CLIENTS:-8}
SHARD_COUNTS=${TR_BENCH_SCALE_SHARDS:-1 2 4}
OUT=$TR_TMP/bench-scale-out
rm -rf "$OUT"; mkdir -p "$OUT"
trap '"$CLUSTER" down >/dev/null 2>&1 || true' EXIT
SCRIPT=$OUT/hold.pgbench
# one hold of a fresh seat: bench_seat lists seats in random order, the
# sequence hands each transaction the next one
cat >"$SCRIPT" <<'SQL'
SELECT tr_reserve(b.ev, 'u' || :client_id, ARRAY[b.id]) FROM bench_seat b WHERE b.n = (SELECT nextval('bench_seq'));
SQL

# pgbench PORT NAME [PGOPTIONS] [CLIENTS]: prints "tps latency_ms"; dies when
# the seats ran out (a transaction without a seat would be a free one)
bench() {
  local log=$OUT/$2.log
  PGOPTIONS="${3:-}" "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$1" -U "$TR_PG_USER" -d "$TR_SCALE_DB" \
    -f "$SCRIPT" -c "${4:-$CLIENTS}" -j 2 -T "$SECS" -M prepared >"$log" 2>&1 || { tail -5 "$log" >&2; tr_die "pgbench $2 failed"; }
  [ "$(sc_q "$1" "$TR_SCALE_DB" "SELECT last_value <= (SELECT count(*) FROM bench_seat) FROM bench_seq")" = t ] \
    || tr_die "pgbench $2: the seats ran out (raise the seats per point)"
  grep -q 'number of failed transactions: 0\b' "$log" || ! grep -q 'number of failed' "$log" \
    || tr_die "pgbench $2: failed transactions"
  echo "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log" | tail -1) $(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' "$log")"
}
check_invariants() {
  local k v
  for k in $(seq 0 $((SHARDS - 1))); do
    v=$(sc_q "$(sc_primary_port "$k")" "$TR_SCALE_DB" "SELECT coalesce(sum(violations), 0) FROM ticketres.check_invariants()")
    [ "$v" = 0 ] || tr_die "shard $k: $v invariant violations"
  done
}
rq() { sc_q "$ROUTER_PORT" "$TR_SCALE_DB" "$@"; }
# one event per shard; SECTION seats on each; bench_seat + bench_seq in DB
# at PORT list them (all events, or only shard 0's when ONLY0 is set)
seats() {  # PORT SECTION SEATS_PER_EVENT [ONLY0]
  local port=$1 section=$2 per=$3 only0=${4:-} k evs=""
  for k in $(seq 0 $((SHARDS - 1))); do
    evs="$evs'${EV[$k]}',"
    [ -n "$only0" ] && break
  done
  for k in $(seq 0 $((SHARDS - 1))); do
    rq "SELECT tr_generate_seats('${EV[$k]}', '$section', $((per / 1000)), 1000, 100)" >/dev/null
  done
  sc_psql "$port" -d "$TR_SCALE_DB" >/dev/null <<SQL
DROP TABLE IF EXISTS bench_seat; DROP SEQUENCE IF EXISTS bench_seq;
CREATE TABLE bench_seat (n bigint PRIMARY KEY, ev uuid, id uuid);
INSERT INTO bench_seat SELECT row_number() OVER (ORDER BY random()), e.ev, s.id
  FROM unnest(ARRAY[${evs%,}]::uuid[]) e(ev), LATERAL tr_list_seats(e.ev) s WHERE s.section = '$section';
CREATE SEQUENCE bench_seq;
SQL
}
up() {
  tr_log "scale bench: cluster.sh up $1"
  "$CLUSTER" up "$1" >/dev/null 2>"$OUT/up$1.log" || { tail "$OUT/up$1.log"; tr_die "cluster.sh up $1 failed"; }
  sc_load
  declare -gA EV=()
  local id
  while [ "${#EV[@]}" -lt "$SHARDS" ]; do
    id=$(rq "SELECT id FROM tr_create_event('bench', now() + interval '1 day', now() + interval '2 days', max_seats_per_reservation => 1000)")
    EV[$(rq "SELECT ticketres_router.shard_of('$id')")]=$id
  done
}
per_point=$(( SECS * 3000 ))   # seats a point may take (3,000 holds a second), in thousands
per_point=$(( (per_point + 999) / 1000 * 1000 ))

# --- 1. one shard: routing overhead, synchronous replication -------------------
up 1
P0=$(sc_primary_port 0)
seats "$P0" D $(( per_point * 5 )) only0
seats "$ROUTER_PORT" R $(( per_point * 3 ))
read -r direct_tps direct_lat < <(bench "$P0" direct)
read -r router_tps router_lat < <(bench "$ROUTER_PORT" router)
read -r local_tps local_lat < <(bench "$P0" direct-local "-c synchronous_commit=local")
read -r direct2_tps direct2_lat < <(bench "$P0" direct2)
read -r router2_tps router2_lat < <(bench "$ROUTER_PORT" router2)
read -r _ direct1_lat < <(bench "$P0" direct-1client "" 1)
read -r _ router1_lat < <(bench "$ROUTER_PORT" router-1client "" 1)
check_invariants
direct_tps=$(echo "($direct_tps + $direct2_tps) / 2" | bc -l); direct_lat=$(echo "($direct_lat + $direct2_lat) / 2" | bc -l)
router_tps=$(echo "($router_tps + $router2_tps) / 2" | bc -l); router_lat=$(echo "($router_lat + $router2_lat) / 2" | bc -l)
"$CLUSTER" down

# --- 2. 1, 2, 4 shards through the router -------------------------------------------
declare -A AGG AGG_LAT
for n in $SHARD_COUNTS; do
  up "$n"
  seats "$ROUTER_PORT" R $(( (per_point / n + 999) / 1000 * 1000 * 2 ))
  read -r AGG[$n] AGG_LAT[$n] < <(bench "$ROUTER_PORT" "agg$n")
  check_invariants
  "$CLUSTER" down
done

# --- report ----------------------------------------------------------------------------
f() { printf '%.0f' "$1"; }
r() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
{
  echo "Scale-out benchmark, $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $CLIENTS clients, ${SECS} s per point"
  echo "(one hold of a fresh seat per transaction; tps, average latency in ms)"
  echo
  echo "| figure | tps | latency ms | ratio |"
  echo "|---|---|---|---|"
  echo "| shard primary, direct (synchronous_commit = on) | $(f "$direct_tps") | $(printf %.2f "$direct_lat") | 1.00 |"
  echo "| through the router (PL/Proxy) | $(f "$router_tps") | $(printf %.2f "$router_lat") | $(r "$router_tps" "$direct_tps") of direct |"
  echo "| one client: direct / through the router | | $(printf %.2f "$direct1_lat") / $(printf %.2f "$router1_lat") | +$(printf %.2f "$(echo "$router1_lat - $direct1_lat" | bc -l)") ms |"
  echo "| shard primary, synchronous_commit = local | $(f "$local_tps") | $(printf %.2f "$local_lat") | $(r "$local_tps" "$direct_tps") of synchronous |"
  for n in $SHARD_COUNTS; do
    echo "| router, $n shard(s) | $(f "${AGG[$n]}") | $(printf %.2f "${AGG_LAT[$n]}") | $(r "${AGG[$n]}" "${AGG[${SHARD_COUNTS%% *}]}") of ${SHARD_COUNTS%% *} shard |"
  done
  echo
  echo "routing overhead: the router gives $(r "$router_tps" "$direct_tps") x the direct throughput, +$(printf %.2f "$(echo "$router_lat - $direct_lat" | bc -l)") ms per call"
  echo "synchronous replication: $(printf %.2f "$(echo "$direct_lat - $local_lat" | bc -l)") ms per commit; asynchronous would give $(r "$local_tps" "$direct_tps") x the throughput"
} | tee "$OUT/report.md"

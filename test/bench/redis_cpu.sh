#!/usr/bin/env bash
# test/bench/redis_cpu.sh — where the price of Redis locks goes: CPU per
# reserve transaction by process, Redis off against on, in one cluster.
#
# The benchmark's Redis row is a throughput ratio; on this 2-core machine it
# does not say whether a call with Redis on is slower because it waits (the
# round trip: overlapping it with the SQL work would help) or because it
# burns CPU (redis-server on the same cores, the backend's socket calls and
# wake-ups: overlapping would not). Each round runs the benchmark's reserve
# script at 8 clients for SECS seconds with Redis off, then on over TCP
# (redis://127.0.0.1), then on over the same server's Unix socket (unix://),
# and prints per committed transaction the CPU microseconds of every PostgreSQL process
# (backends, walwriter, ...; from the postmaster's reaped children), of
# redis-server, of everything else (pgbench, the kernel's work for nobody in
# particular), the machine's busy total and its idle time.
#   ROUNDS=3 SECS=10 ./test/bench/redis_cpu.sh      (about 2 minutes)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/redis.sh"
. "$(dirname "$0")/ab_lib.sh"

ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
DIR=$TR_TMP/bench-redis-cpu

ab_cluster "$DIR"

EV=$(ab_database a "")
tr_psql -d a -c "VACUUM ANALYZE" >/dev/null
SOCKD=$(mktemp -d /tmp/tr-redis-cpu.XXXXXX); chmod 755 "$SOCKD"
trap 'tr_stop_all_redis; tr_stop_pg; rm -rf "$SOCKD"' EXIT
tr_start_redis rcpu --unixsocket "$SOCKD/redis.sock" --unixsocketperm 777
RPID=$REDIS_PID_rcpu
PM=$(head -1 "$PGDATA/postmaster.pid")
HZ=$(getconf CLK_TCK)

# clock ticks of the postmaster, its reaped children and its live children
pg_ticks() {
  local t c
  t=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$PM/stat")
  for c in $(pgrep -P "$PM"); do
    t=$((t + $(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
redis_ticks() { awk '{ print $14 + $15 }' "/proc/$RPID/stat"; }
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

one_run() {   # one_run off|tcp|unix
  local p0 r0 b0 i0 p1 r1 b1 i1 out tx tps
  case $1 in
    tcp) tr_psql -d a -c "ALTER DATABASE a SET ticketres.redis_url = 'redis://127.0.0.1:$REDIS_PORT_rcpu'" >/dev/null ;;
    unix) tr_psql -d a -c "ALTER DATABASE a SET ticketres.redis_url = 'unix://$SOCKD/redis.sock'" >/dev/null ;;
    *) tr_psql -d a -c "ALTER DATABASE a RESET ticketres.redis_url" >/dev/null ;;
  esac
  p0=$(pg_ticks); r0=$(redis_ticks); read -r b0 i0 < <(machine_ticks)
  out=$("$PGBIN/pgbench" -n -M prepared -c 8 -j 2 -T "$SECS" -D ev="$EV" \
        -f "$TR_ROOT/test/bench/sql/reserve.pgbench" a 2>&1) || { echo "$out"; tr_die "pgbench failed"; }
  sleep 1   # the backends exit and are reaped: their CPU is the postmaster's now
  p1=$(pg_ticks); r1=$(redis_ticks); read -r b1 i1 < <(machine_ticks)
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
  [ "${tx:-0}" -gt 0 ] || { echo "$out"; tr_die "no transaction committed"; }
  awk -v m="$1" -v tps="$tps" -v tx="$tx" -v hz="$HZ" -v p=$((p1 - p0)) -v r=$((r1 - r0)) \
      -v b=$((b1 - b0)) -v i=$((i1 - i0)) 'BEGIN {
    f = 1e6 / hz / tx
    printf "  Redis %-4s %6.0f tps   us per transaction: postgres %4.0f  redis-server %3.0f  other %3.0f  busy %4.0f  idle %4.0f\n",
      m, tps, p * f, r * f, (b - p - r) * f, b * f, i * f }'
}

tr_log "reserve at 8 clients, $SECS s per run, Redis off, over TCP, over a Unix socket; $ROUNDS rounds"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  one_run off
  one_run tcp
  one_run unix
done
keys=$(tr_redis rcpu dbsize)
[ "$keys" = 0 ] || tr_die "$keys Redis keys left after the runs"

#!/usr/bin/env bash
# Cost of the operations instrumentation (metrics counters, reserve timing,
# event-log checks) on tr_reserve + tr_cancel, side by side: the same
# workload against a build of BASE (default: main) and of this checkout, both
# preloaded, ROUNDS rounds (who goes first alternates). Prints transactions/s of each and the
# ratio. Usage: test/bench/ops_overhead.sh [BASE_REV]   (CLIENTS, SECS, ROUNDS)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
BASE=${1:-main} CLIENTS=${CLIENTS:-4} SECS=${SECS:-10} ROUNDS=${ROUNDS:-3}

tr_build_install
# the base build goes into a second private copy of PostgreSQL
A_ROOT=$TR_TMP/bench-base A_SRC=$TR_TMP/bench-base-src
rm -rf "$A_ROOT" "$A_SRC"; cp -a "$TR_PGROOT" "$A_ROOT"; mkdir -p "$A_SRC"
git -C "$TR_ROOT" archive "$BASE" | tar -x -C "$A_SRC"
make -s -C "$A_SRC" PG_CONFIG="$A_ROOT/usr/lib/postgresql/15/bin/pg_config" install >/dev/null 2>&1
chmod -R o+rX "$A_ROOT"

start() {  # start NAME PGROOT: a preloaded cluster with one event of CLIENTS x 1000 seats
  local saved=$PGBIN; PGBIN=$2/usr/lib/postgresql/15/bin
  tr_start_pg "$TR_TMP/bench-pg-$1" "shared_preload_libraries = 'ticketres'" >/dev/null
  PGBIN=$saved
  tr_psql -d postgres -c "CREATE EXTENSION ticketres" \
    -c "SELECT tr_generate_seats(id, 'S', $CLIENTS, 1000, 100) FROM tr_create_event('bench', now() + interval '1 day', now() + interval '2 days')" >/dev/null
  eval "PORT_$1=$PGPORT DATA_$1=$PGDATA"
}
start base "$A_ROOT"; start head "$TR_PGROOT"
trap 'for d in "$DATA_base" "$DATA_head"; do PGDATA=$d tr_stop_pg; done' EXIT

cat >"$TR_TMP/bench-ops.sql" <<'SQL'
\set n random(1, 1000)
SELECT tr_cancel((tr_reserve(e.id, 'u' || :client_id, ARRAY[s.id])).id, 'u' || :client_id)
  FROM ticketres.events e JOIN ticketres.seats s ON s.event_id = e.id
 WHERE s.label = 'S-' || (:client_id + 1) || '-' || :n;
SQL
tps() { "$PGBIN/pgbench" -n -h 127.0.0.1 -p "$1" -U "$TR_PG_USER" -d postgres -c "$CLIENTS" -j "$CLIENTS" \
          -T "$SECS" -f "$TR_TMP/bench-ops.sql" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
sum_base=0 sum_head=0
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then b=$(tps "$PORT_base"); h=$(tps "$PORT_head")
  else h=$(tps "$PORT_head"); b=$(tps "$PORT_base"); fi   # alternate who goes first
  echo "round $r: base $b tps, head $h tps"
  sum_base=$(awk -v a="$sum_base" -v b="$b" 'BEGIN { print a + b }')
  sum_head=$(awk -v a="$sum_head" -v b="$b" -v h="$h" 'BEGIN { print a + h }')
done
awk -v b="$sum_base" -v h="$sum_head" -v r="$ROUNDS" \
  'BEGIN { printf "base %.0f tps, head %.0f tps, head/base = %.3f\n", b / r, h / r, h / b }'

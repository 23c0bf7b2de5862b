#!/usr/bin/env bash
# test/bench/ab.sh — an interleaved A/B of tr_reserve on two databases of one
# cluster, for changes of a few percent that full runs of test/bench/run.sh
# cannot resolve (their figures move 5-25 % between runs on a 2-core
# machine). Database a has ticketres as installed; database b has it too,
# plus the SQL file B_SQL applied right after CREATE EXTENSION (a schema
# variant: another index, constraint, column type...). Each gets a
# 1,000,000-seat event, a warm-up and ANALYZE; then ROUNDS rounds run the
# reserve script on a, then on b, back to back, so that a burst of other load
# hits one round rather than one side. Prints each round and the median
# ratio b / a. Ends with the invariant check of both databases.
#   B_SQL=variant.sql ROUNDS=5 SECS=8 CLIENTS=8 ./test/bench/ab.sh
# (doc/performance.md used it for the CHECK-constraint and domain variants.)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/ab_lib.sh"

B_SQL=${B_SQL:?B_SQL=file.sql: the SQL that makes database b the variant}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-8}
CLIENTS=${CLIENTS:-8}
SCRIPT=$TR_ROOT/test/bench/sql/reserve.pgbench
DIR=$TR_TMP/bench-ab

ab_cluster "$DIR"
declare -A EV
for db in a b; do
  EV[$db]=$(ab_database $db "$([ $db = b ] && echo "$B_SQL")")
  "$PGBIN/pgbench" -n -M prepared -c 4 -j 2 -t 500 -f "$SCRIPT" -D ev="${EV[$db]}" $db >/dev/null 2>&1
  tr_psql -d $db -c "VACUUM ANALYZE" >/dev/null
done
ratios=""
for r in $(seq 1 "$ROUNDS"); do
  declare -A T
  for db in a b; do
    T[$db]=$("$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j 2 -T "$SECS" -f "$SCRIPT" \
               -D ev="${EV[$db]}" $db 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    [ -n "${T[$db]}" ] || tr_die "pgbench on $db failed (out of seats? fewer ROUNDS or SECS)"
  done
  ratio=$(awk -v a="${T[a]}" -v b="${T[b]}" 'BEGIN { printf "%.3f", b / a }')
  ratios="$ratios $ratio"
  printf 'round %d  a %8.0f tps  b %8.0f tps  b/a %s\n' "$r" "${T[a]}" "${T[b]}" "$ratio"
done
echo "median b/a $(median <<<"$ratios") (rounds:$ratios)"
for db in a b; do
  v=$(tr_psql -d $db -At -c "SELECT coalesce(sum(violations), 0) FROM ticketres.check_invariants()")
  [ "$v" = 0 ] || tr_die "INVARIANT VIOLATIONS ($v) in $db"
done
echo "invariants hold in both databases"

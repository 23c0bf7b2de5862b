#!/usr/bin/env bash
# test/bench/cpu_ab.sh — backend CPU per tr_reserve call, on a database as
# installed (a) and one or two schema variants (b, c) of one cluster.
#
# Throughput on this 2-core machine moves 5-25 % between runs and 10 %
# between rounds of ab.sh, so a change worth 5-10 % of the CPU a call costs
# can hide in it. The CPU time the kernel charges to one backend is far
# steadier: each round runs TX reserves (one seat, with a key, each
# committed) in one backend through a procedure and reads that backend's
# utime + stime from /proc before and after. Prints microseconds per call
# for every database in each round (rounds alternate the databases).
#   B_SQL=variant.sql [C_SQL=other.sql] ROUNDS=4 TX=15000 ./test/bench/cpu_ab.sh
# The databases run synchronous_commit = off: this measures CPU, and the
# 15,000 commit flushes of a round would only make it slower to run.
# (doc/performance.md used it for the CHECK constraints against domains.)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/ab_lib.sh"

B_SQL=${B_SQL:?B_SQL=file.sql: the SQL that makes database b the variant}
C_SQL=${C_SQL:-}
ROUNDS=${ROUNDS:-4}
TX=${TX:-15000}
DIR=$TR_TMP/bench-cpu-ab
DBS="a b"
[ -n "$C_SQL" ] && DBS="a b c"
[ "$((100000 + ROUNDS * TX))" -le 1000000 ] || tr_die "ROUNDS * TX must stay below 900,000 seats"

ab_cluster "$DIR"
declare -A EV
for db in $DBS; do
  case $db in a) v="" ;; b) v=$B_SQL ;; c) v=$C_SQL ;; esac
  EV[$db]=$(ab_database $db "$v")
  tr_psql -d postgres -c "ALTER DATABASE $db SET synchronous_commit = off" >/dev/null
  # the sleeps let the caller read the backend's CPU before and after the work
  tr_psql -d $db -c "CREATE PROCEDURE bench_loop(ev uuid, first bigint, n int) LANGUAGE plpgsql AS \$\$
    DECLARE s uuid;
    BEGIN
      PERFORM pg_sleep(0.5);
      FOR i IN first .. first + n - 1 LOOP
        SELECT id INTO s FROM bench_seat WHERE bench_seat.n = i;
        PERFORM tr_reserve(ev, 'u', ARRAY[s], 'k' || i);
        COMMIT;
      END LOOP;
      PERFORM pg_sleep(0.5);
    END \$\$" >/dev/null
  tr_psql -d $db -c "CALL bench_loop('${EV[$db]}', 1, 2000)" >/dev/null   # warm-up
  tr_psql -d $db -c "VACUUM ANALYZE" >/dev/null
done

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
hz=$(getconf CLK_TCK)
first=100000
for r in $(seq 1 "$ROUNDS"); do
  line="round $r"
  for db in $DBS; do
    tr_psql -d $db -c "CALL bench_loop('${EV[$db]}', $first, $TX)" >/dev/null &
    caller=$!
    pid=""
    for _ in $(seq 1 40); do
      pid=$(tr_psql -d postgres -At -c "SELECT pid FROM pg_stat_activity
                                         WHERE datname = '$db' AND query LIKE 'CALL bench_loop%'")
      [ -n "$pid" ] && break
      sleep 0.01
    done
    [ -n "$pid" ] || tr_die "no backend found for the loop on $db"
    t0=$(ticks "$pid"); t1=$t0
    while kill -0 "$caller" 2>/dev/null; do
      v=$(ticks "$pid") && [ -n "$v" ] && t1=$v
      sleep 0.05
    done
    wait "$caller" || tr_die "the loop on $db failed"
    line="$line  $db $(awk -v a="$t0" -v b="$t1" -v n="$TX" -v hz="$hz" \
                         'BEGIN { printf "%6.1f us/call", (b - a) * 1e6 / hz / n }')"
  done
  first=$((first + TX))
  echo "$line"
done
for db in $DBS; do
  v=$(tr_psql -d $db -At -c "SELECT coalesce(sum(violations), 0) FROM ticketres.check_invariants()")
  [ "$v" = 0 ] || tr_die "INVARIANT VIOLATIONS ($v) in $db"
done
echo "invariants hold in every database"

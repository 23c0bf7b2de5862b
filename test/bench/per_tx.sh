#!/usr/bin/env bash
# test/bench/per_tx.sh — what one transaction of each reserve workload of
# run.sh's section 2 writes and costs, measured one transaction at a time in
# one cluster: the write floor (a one-row INSERT), the bare writes of a
# reserve (sql/bare_writes.pgbench), tr_reserve, and the PL/pgSQL baseline's
# reserve.  Per transaction: backend CPU (utime + stime of the backend, read
# from /proc), WAL bytes, WAL records and full-page images, and the WAL
# record types (pg_waldump --stats) of the last round.  Throughput at 8
# clients on 2 cores is bounded by these (plus the commit flush, the same
# for every workload): this is why the floor ratio stays where it does
# (doc/performance.md, section 5).
#   ROUNDS=3 TX=5000 ./test/bench/per_tx.sh
# synchronous_commit is off in the databases: this measures CPU and WAL,
# which the flush does not change, and a commit flush per transaction would
# only make it slower to run.  Each round starts with a CHECKPOINT, so every
# workload pays the full-page images of the pages it first touches, as in a
# benchmark point after a checkpoint (and a real on-sale).
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/ab_lib.sh"

ROUNDS=${ROUNDS:-3}
TX=${TX:-5000}
DIR=$TR_TMP/bench-per-tx
[ "$((ROUNDS * TX * 2))" -le 900000 ] || tr_die "ROUNDS * TX must stay below 450,000 seats"

ab_cluster "$DIR"
EXT_EV=$(ab_database ext "$TR_ROOT/test/bench/variants/best_off.sql")
tr_psql -d postgres -c "CREATE DATABASE plp" >/dev/null
tr_psql -d plp -f "$TR_ROOT/test/bench/baseline/plpgsql.sql" >/dev/null
PLP_EV=$(tr_psql -d plp -At -c "SELECT id FROM baseline.tr_create_event('ab', now() + interval '30 days', now() + interval '31 days')")
tr_psql -d plp -c "SELECT baseline.tr_generate_seats('$PLP_EV', 'M', 1000, 1000, 100)" >/dev/null
tr_psql -d plp -c "CREATE TABLE bench_seat AS SELECT row_number() OVER (ORDER BY random()) AS n, id
  FROM baseline.seats WHERE event_id = '$PLP_EV'; ALTER TABLE bench_seat ADD PRIMARY KEY (n)" >/dev/null

# the bare writes statement of run.sh, with the event and client as arguments
BARE=$(sed -e '/^--/d' -e "s/:ev/ev/g; s/:client_id/1/g; s/(SELECT nextval('bench_seq'))/k/" \
  "$TR_ROOT/test/bench/sql/bare_writes.pgbench")
for db in ext plp; do
  tr_psql -d postgres -c "ALTER DATABASE $db SET synchronous_commit = off" >/dev/null
  schema=""; [ $db = plp ] && schema=baseline.
  tr_psql -d $db >/dev/null <<SQL
CREATE TABLE bench_floor (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, client int, n bigint,
                          at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION cpu_ticks() RETURNS bigint LANGUAGE sql AS
  \$\$ SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint
       FROM pg_read_file('/proc/self/stat') s \$\$;
CREATE TABLE per_tx (workload text, ticks bigint);
-- one transaction per iteration; the seat of iteration k is bench_seat k
CREATE PROCEDURE run(workload text, ev uuid, p_first bigint, p_n int) LANGUAGE plpgsql AS \$\$
DECLARE v_seat uuid; c0 bigint;
BEGIN
  c0 := cpu_ticks();
  FOR k IN p_first .. p_first + p_n - 1 LOOP
    IF workload = 'floor' THEN
      INSERT INTO bench_floor (client) VALUES (1);
    ELSIF workload = 'bare' THEN
      $( [ $db = ext ] && echo "$BARE" || echo "NULL;" )
    ELSE
      SELECT b.id INTO v_seat FROM bench_seat b WHERE b.n = k;
      PERFORM ${schema}tr_reserve(ev, 'u', ARRAY[v_seat], 'k' || k);
    END IF;
    COMMIT;
  END LOOP;
  INSERT INTO per_tx VALUES (workload, cpu_ticks() - c0);
END \$\$;
SQL
done

hz=$(getconf CLK_TCK)
WALDIR=$DIR/pg/data/pg_wal
declare -A CPU WAL REC FPI
first=1
row() {  # row WORKLOAD DB EVENT
  local w=$1 db=$2 ev=$3 l0 l1 s0 s1
  tr_psql -d postgres -c "SELECT pg_stat_reset_shared('wal')" >/dev/null
  l0=$(tr_psql -d postgres -At -c "SELECT pg_current_wal_insert_lsn()")
  tr_psql -d $db -c "CALL run('$w', '$ev', $first, $TX)" >/dev/null
  l1=$(tr_psql -d postgres -At -c "SELECT pg_current_wal_insert_lsn()")
  sleep 1.2   # the backend has exited: its WAL statistics are flushed
  read -r s0 s1 < <(tr_psql -d postgres -At -F ' ' -c "SELECT wal_records, wal_fpi FROM pg_stat_wal")
  CPU[$w]="${CPU[$w]:-} $(tr_psql -d $db -At -c "SELECT ticks FROM per_tx WHERE workload = '$w' ORDER BY ctid DESC LIMIT 1")"
  WAL[$w]="${WAL[$w]:-} $(tr_psql -d postgres -At -c "SELECT pg_wal_lsn_diff('$l1', '$l0')")"
  REC[$w]="${REC[$w]:-} $s0"
  FPI[$w]="${FPI[$w]:-} $s1"
  LAST0[$w]=$l0; LAST1[$w]=$l1
}
declare -A LAST0 LAST1
for r in $(seq 1 "$ROUNDS"); do
  tr_psql -d postgres -c "CHECKPOINT" >/dev/null
  row floor ext "$EXT_EV"
  row bare ext "$EXT_EV"
  first=$((first + TX))
  row tr_reserve ext "$EXT_EV"
  row plpgsql plp "$PLP_EV"
  first=$((first + TX))
  echo "round $r done" >&2
done

per() {  # per "V1 V2 ..." SCALE: the median of the values, per transaction
  tr ' ' '\n' <<<"$1" | awk 'NF' | sort -n | awk -v s="$2" -v n="$TX" \
    '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] * s / n }'
}
printf '%-12s %14s %12s %12s %10s\n' workload "CPU us/tx" "WAL B/tx" "records/tx" "FPI/tx"
for w in floor bare tr_reserve plpgsql; do
  printf '%-12s %14s %12s %12s %10s\n' "$w" "$(per "${CPU[$w]}" "$((1000000 / hz))")" \
    "$(per "${WAL[$w]}" 1)" "$(per "${REC[$w]}" 1)" "$(per "${FPI[$w]}" 1)"
done
echo "(medians over $ROUNDS rounds of $TX transactions; $hz CPU ticks per second)"
for w in floor bare tr_reserve plpgsql; do
  echo
  echo "== WAL of the last $w round, by record type (pg_waldump --stats=record)"
  "$PGBIN/pg_waldump" -p "$WALDIR" -s "${LAST0[$w]}" -e "${LAST1[$w]}" --stats=record 2>/dev/null |
    awk 'NR <= 2 || $2 + 0 > 0' || true
done

#!/usr/bin/env bash
# Backend memory over many Redis-locked calls: one pgbench connection runs
# CALLS transactions of tr_reserve + tr_cancel (each takes and releases a
# seat's Redis key), with Redis up, and then again with Redis stopped (every
# call fails over to the database guards). The backend's resident memory
# (RssAnon from /proc: private memory, not the shared buffers it touches)
# is printed after every STEP calls:
# a leak in the hiredis path (replies, argv, held keys) shows as steady growth.
# Usage: test/bench/redis_memory.sh   (CALLS=100000 STEP=20000)
set -euo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/redis.sh"
CALLS=${CALLS:-100000} STEP=${STEP:-20000}

tr_ensure_packages
tr_build_install
TR_RUN=$TR_TMP/bench-redis-mem; rm -rf "$TR_RUN"; mkdir -p "$TR_RUN"
tr_start_pg "$TR_RUN/pg" "shared_preload_libraries = 'ticketres'" >/dev/null
trap 'tr_stop_pg; tr_stop_all_redis' EXIT
tr_start_redis mem
tr_psql -d postgres >/dev/null <<SQL
CREATE EXTENSION ticketres;
ALTER DATABASE postgres SET ticketres.redis_url = 'redis://127.0.0.1:$REDIS_PORT_mem';
ALTER DATABASE postgres SET ticketres.redis_retry_interval = 0;
ALTER DATABASE postgres SET client_min_messages = error;
SELECT tr_generate_seats(id, 'M', 10, 100, 100)
  FROM tr_create_event('mem', now() + interval '1 day', now() + interval '2 days');
SQL
# a seat whose key outlived a release that timed out (a loaded machine) is
# "seat busy" until its TTL: counted, not fatal (the exception block is a
# subtransaction, so that path runs too)
tr_psql -d postgres >/dev/null <<'SQL'
CREATE FUNCTION public.mem_call(n int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    PERFORM tr_cancel((tr_reserve(s.event_id, 'u', ARRAY[s.id])).id, 'u')
       FROM ticketres.seats s WHERE s.label = 'M-' || (1 + n / 100) || '-' || (1 + n % 100);
    RETURN 1;
EXCEPTION WHEN SQLSTATE 'PT409' THEN
    RETURN 0;
END $$;
SQL
cat >"$TR_RUN/call.sql" <<'SQL'
\set n random(0, 999)
SELECT mem_call(:n);
SQL

commits() { tr_psql -d postgres -At -c "SELECT coalesce(sum(xact_commit), 0) FROM pg_stat_database WHERE datname = 'postgres'"; }
rss_of() { awk '/^RssAnon/ { print $2 }' "/proc/$1/status"; }
run_phase() {  # run_phase NAME
  local pid fifo=$TR_RUN/pgbench.$1 done=0 total=$CALLS
  echo "== $1: $CALLS calls in one backend, private memory (RssAnon, kB) every $STEP calls"
  "$PGBIN/pgbench" -n -d postgres -c 1 -t "$CALLS" -f "$TR_RUN/call.sql" >"$fifo.log" 2>&1 &
  local bench=$!
  for _ in $(seq 1 100); do
    pid=$(tr_psql -d postgres -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench'" || true)
    [ -n "$pid" ] && break; sleep 0.1
  done
  local last=-1 n0
  n0=$(commits)
  while kill -0 "$bench" 2>/dev/null; do
    n=$(( $(commits) - n0 ))
    step=$(( n / STEP ))
    if [ "$step" != "$last" ] && [ -r "/proc/$pid/status" ]; then
      printf '  ~%7d calls  RssAnon %s kB\n' $(( step * STEP )) "$(rss_of "$pid")"; last=$step
    fi
    sleep 0.5
  done
  wait "$bench" || { tail -20 "$fifo.log"; tr_die "pgbench failed"; }
  grep -E '^(tps|number of failed)' "$fifo.log" | sed 's/^/  /'
  tr_psql -d postgres -At -c "SELECT l FROM regexp_split_to_table(tr_metrics(), E'\n') l WHERE l LIKE 'ticketres_redis_lock_total%'" | sed 's/^/  /'
}
run_phase "Redis up"
echo "   keys left in Redis: $(tr_redis mem DBSIZE)"
tr_stop_redis mem
run_phase "Redis stopped (allow)"

#!/usr/bin/env bash
# 63_redis_faults.sh — Redis faults under the torture load (issue 7): with
# ticketres.redis_on_error = allow and then deny, 16 clients run
# test/lib/torture.sql while redis-server is killed, restarted, frozen
# (SIGSTOP) and thawed. No backend may hang beyond the Redis timeouts (a
# probe call during the freeze must return), no answer may fall outside the
# catalogue (PT503 lock service unavailable is in it), and the invariants,
# the exact count and the acknowledged confirmations hold. Skips when the
# Redis layer is not built in. Prints TAP.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/torture.sh"
. "$TR_ROOT/test/lib/redis.sh"

CLIENTS=${TR_TORTURE_CLIENTS:-16}
TT_DIR=${TR_RUN:-$TR_TMP}/redis-faults-$$
DB=tr_redis_faults_$$
mkdir -p "$TT_DIR"
tr_psql -d postgres -c "CREATE DATABASE $DB" >/dev/null || tr_die "cannot create $DB"
trap 'tr_stop_all_redis; tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; rm -rf "$TT_DIR"' EXIT
export PGDATABASE=$DB

if [ "$(tt_q "SELECT count(*) FROM pg_settings WHERE name = 'ticketres.redis_url'")" = 0 ]; then
  echo "ok 1 # skip the Redis lock layer is not built in (no ticketres.redis_url)"
  echo "1..1"; exit 0
fi
tt_setup 40 || tr_die "torture setup failed"
tr_start_redis faults
FAULTS=0
# seats no client touches, for the probe calls during the freeze
PROBE_EV=$(tt_q "SELECT id FROM tr_create_event('probe', now() + interval '1 day', now() + interval '2 days')")
tt_q "SELECT tr_generate_seats('$PROBE_EV', 'P', 1, 2, 1)" >/dev/null
# a Lua script counting the keys matching ARGV[1] with a PTTL below ARGV[2]
OLD_KEYS="local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
  if redis.call('PTTL', k) < tonumber(ARGV[2]) then n = n + 1 end end return n"
# a Redis lock counter of tr_metrics() (cluster-wide, needs the preload)
redis_metric() {
  tt_q "SELECT coalesce(sum(split_part(l, ' ', 2)::numeric), 0)::bigint
          FROM regexp_split_to_table(tr_metrics(), E'\n') l
         WHERE l LIKE 'ticketres_redis_lock_total{outcome=\"$1\"}%'"
}

for mode in allow deny; do
  for s in "redis_url = 'redis://127.0.0.1:$REDIS_PORT_faults'" "redis_on_error = '$mode'" \
           "redis_timeout = 200" "redis_connect_timeout = 200" "redis_retry_interval = 200" \
           "redis_lock_ttl = '1h'"; do
    tt_q "ALTER DATABASE $DB SET ticketres.$s" >/dev/null
  done
  tt_new_event 40
  acquired0=$(redis_metric acquired); errors0=$(redis_metric error)
  tt_start "$mode" "$CLIENTS" 22
  sleep 4; tr_stop_redis faults; FAULTS=$((FAULTS + 1))       # Redis dies
  sleep 3; tr_start_redis faults                               # and comes back on its port
  sleep 3; tr_freeze_redis faults; FAULTS=$((FAULTS + 1))      # Redis hangs
  sleep 1
  start=$(date +%s%N)
  probe=$(timeout 20 "$PGBIN/psql" -X -At -v VERBOSITY=verbose -c "SELECT status FROM tr_reserve('$PROBE_EV', 'probe',
            ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '$PROBE_EV' AND label = 'P-1-$([ $mode = allow ] && echo 1 || echo 2)'))" 2>&1 \
          | grep -oE '^(pending|ERROR:  [0-9A-Z]{5}: [a-z ]+)' | head -1)
  elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
  cmp_ok "$elapsed" -lt 10000 "$mode: a reserve while Redis is frozen returns (no hang)"
  if [ "$mode" = allow ]; then want=pending; else want='ERROR:  PT503: lock service unavailable'; fi
  is "$probe" "$want" "$mode: ... and answers as redis_on_error says"
  sleep 2; tr_thaw_redis faults                                # Redis wakes up
  sleep 1.5
  for _ in $(seq 1 8); do                                      # (up to 5.5 s: a loaded box)
    old=$(tr_redis faults EVAL "$OLD_KEYS" 0 "ticketres:$TT_EV:*" 3597500)
    [ "$old" = 0 ] && break; sleep 0.5
  done
  is "$old" 0 "$mode: soon after the thaw no key of the load is older than 2.5 s (stale ones were released)"
  tr_stop_redis faults; FAULTS=$((FAULTS + 1))                 # and dies once more
  sleep 2; tr_start_redis faults
  tt_wait "$mode" 60
  is "$TT_HUNG $TT_FAILED" "0 0" "$mode: every client ran to the end, none hung"
  is "$(tt_unexpected "$mode")" 0 "$mode: no answer outside the catalogue"
  cmp_ok "$(( $(redis_metric acquired) - acquired0 ))" -gt 0 "$mode: the clients really took Redis locks"
  cmp_ok "$(( $(redis_metric error) - errors0 ))" -gt 0 "$mode: the faults reached the lock layer (Redis errors counted)"
  n503=$(tt_q "SELECT coalesce(sum(n), 0) FROM torture.tally t WHERE t.sqlstate = 'PT503'
                 AND t.client IN (SELECT generate_series(1, $CLIENTS))")
  tt_check "$mode"
  tt_acks_check "$mode"
  echo "# $mode: PT503 answers: $n503"
  tt_figures "redis $mode"
  tt_q "TRUNCATE torture.tally" >/dev/null
  if [ "$mode" = deny ]; then
    cmp_ok "$n503" -gt 0 "deny: calls during the outage were refused with PT503 lock service unavailable"
  else
    is "$n503" 0 "allow: no call was refused while Redis was down (the database guards went on alone)"
  fi
done
echo "# redis faults: $FAULTS injected (kill, freeze, kill per mode), $CLIENTS clients each"
done_testing

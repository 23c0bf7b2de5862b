#!/usr/bin/env bash
# 40_cron — pg_cron really runs the expiry job.
#   Shared cluster (pg_cron + ticketres preloaded, cron.database_name =
#   ticketres_test): an overdue hold ends 'expired' with nobody calling
#   tr_expire by hand; scheduling is idempotent; another database gets a clear
#   error with the cron.schedule_in_database hint; health shows the last run.
#   Own cluster B (pg_cron only, jsonlog): tr_metrics/tr_health without
#   preload, a structured log line parsed from jsonlog, and a job left behind
#   by DROP EXTENSION removes itself instead of failing every minute.
# Waits for the next minute boundary once (both clusters at the same time).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

S_PORT=$PGPORT S_DATA=$PGDATA S_DB=$PGDATABASE
q() { tr_psql -At -p "$S_PORT" -d "$S_DB" "$@"; }
err() { tr_psql -At -v VERBOSITY=verbose "$@" 2>&1 >/dev/null; }  # the error text of a failing call

B_DIR=$TR_RUN/cron-b
tr_start_pg "$B_DIR" "shared_preload_libraries = 'pg_cron'" "cron.database_name = 'crondrop'" \
  "logging_collector = on" "log_destination = 'jsonlog'" "log_directory = 'log'"
B_PORT=$PGPORT B_DATA=$PGDATA
export PGPORT=$S_PORT PGDATA=$S_DATA
qb() { tr_psql -At -p "$B_PORT" -d crondrop "$@"; }
cleanup() {
  q -c "SELECT tr_unschedule_expiry()" >/dev/null 2>&1
  PGDATA=$B_DATA tr_stop_pg
}
trap cleanup EXIT

# ---- cluster B: no preload, jsonlog, a job that outlives its extension ----
tr_psql -p "$B_PORT" -d postgres -c "CREATE DATABASE crondrop"
qb -c "CREATE EXTENSION pg_cron" -c "CREATE EXTENSION ticketres"
is "$(qb -c "SELECT tr_metrics() ~ '(?n)^ticketres_preloaded 0\$'")" t "without preload: ticketres_preloaded 0"
is "$(qb -c "SELECT tr_metrics() ~ 'ticketres_reservations_total'")" f "without preload: no counters"
is "$(qb -c "SELECT tr_metrics() ~ 'ticketres_reservations\{status=\"pending\"\} 0'")" t \
  "without preload: the gauges are still there"
is "$(qb -c "SELECT tr_health() ->> 'preloaded'")" false "health says not preloaded"

BEV=$(qb -c "SELECT id FROM tr_create_event('log', now() + interval '1 day', now() + interval '2 days')")
qb -c "SELECT tr_generate_seats('$BEV', 'L', 1, 2, 10)" >/dev/null
BRES=$(qb -c "SET ticketres.log_events = on" \
          -c "SELECT id FROM tr_reserve('$BEV', 'user \"q\" 1', ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '$BEV'))")
qb -c "UPDATE ticketres.reservations SET expires_at = now() - interval '1 minute' WHERE id = '$BRES'" \
   -c "SET ticketres.log_events = on" -c "SELECT tr_expire()" >/dev/null
logline=""
for _ in $(seq 1 20); do
  logline=$(python3 - "$B_DATA/log" "$BRES" <<'EOF'
import glob, json, shlex, sys
for path in glob.glob(sys.argv[1] + '/*.json'):
    for line in open(path):
        msg = json.loads(line).get('message', '')
        if msg.startswith('ticketres: ') and 'reservation=' + sys.argv[2] in msg:
            f = dict(kv.split('=', 1) for kv in shlex.split(msg[len('ticketres: '):]))
            print(f['action'], f['outcome'], f['event'], f['user'], f['seats'], 'duration_ms' in f)
EOF
)
  [ "$(wc -l <<<"$logline")" = 2 ] && break
  sleep 0.5
done
is "$logline" "reserve created $BEV user \"q\" 1 2 True
expire sweep $BEV user \"q\" 1 2 False" "log_events: a jsonlog line per change (reserve, expire) with parseable key=value fields"

BJOB=$(qb -c "SELECT tr_schedule_expiry()")
qb -c "DROP EXTENSION ticketres"
is "$(qb -c "SELECT count(*) FROM cron.job WHERE jobname = 'ticketres-expire'")" 1 \
  "B: the job is still there right after DROP EXTENSION"

# ---- shared cluster: the job expires an overdue hold by itself ----
q -c "SET client_min_messages = warning" -c "CREATE EXTENSION IF NOT EXISTS pg_cron"
EV=$(q -c "SELECT id FROM tr_create_event('cron', now() + interval '1 day', now() + interval '2 days')")
q -c "SELECT tr_generate_seats('$EV', 'C', 1, 3, 10)" >/dev/null
RID=$(q -c "SELECT id FROM tr_reserve('$EV', 'cron-user', ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '$EV' LIMIT 2), NULL, interval '1 second')")
q -c "SELECT tr_unschedule_expiry()" >/dev/null
is "$(q -c "SELECT tr_health() #> '{expiry,scheduled}'")" false "health shows the job unscheduled"
J1=$(q -c "SELECT tr_schedule_expiry()")
J2=$(q -c "SELECT tr_schedule_expiry()")
is "$J2" "$J1" "scheduling twice returns the same job"
is "$(q -c "SELECT count(*) FROM cron.job WHERE jobname = 'ticketres-expire'")" 1 "and keeps one job"

tr_psql -p "$S_PORT" -d postgres -c "DROP DATABASE IF EXISTS ticketres_cron_other" -c "CREATE DATABASE ticketres_cron_other"
tr_psql -p "$S_PORT" -d ticketres_cron_other -c "CREATE EXTENSION ticketres"
out=$(err -p "$S_PORT" -d ticketres_cron_other -c "SELECT tr_schedule_expiry()")
case "$out" in
  *"55000: pg_cron runs in another database"*"cron.schedule_in_database"*) ok "another database: 55000 with a schedule_in_database hint" ;;
  *) not_ok "another database: 55000 with a schedule_in_database hint" "$out" ;;
esac
tr_psql -p "$S_PORT" -d postgres -c "DROP DATABASE ticketres_cron_other"

sleep 1.5   # the 1-second hold is over; now only pg_cron may expire it
status=""
for _ in $(seq 1 90); do
  status=$(q -c "SELECT status FROM ticketres.reservations WHERE id = '$RID'")
  [ "$status" = expired ] && break
  sleep 1
done
is "$status" expired "pg_cron expired the overdue hold (nobody called tr_expire)"
is "$(q -c "SELECT count(*) FROM ticketres.seats WHERE reservation_id = '$RID'")" 0 "its seats are free"
is "$(q -c "SELECT tr_available_count('$EV')")" 3 "and counted as available"
last=""
for _ in $(seq 1 10); do
  last=$(q -c "SELECT tr_health() #>> '{expiry,last_run,status}'")
  [ "$last" = succeeded ] && break
  sleep 1
done
is "$last" succeeded "health shows the job's last run succeeded"
is "$(q -c "SELECT count(*) FROM ticketres.check_invariants() WHERE violations > 0")" 0 "invariants hold"

# ---- cluster B: the orphaned job removed itself at its first run ----
left=1
for _ in $(seq 1 30); do
  left=$(qb -c "SELECT count(*) FROM cron.job WHERE jobname = 'ticketres-expire'")
  [ "$left" = 0 ] && break
  sleep 1
done
is "$left" 0 "B: after DROP EXTENSION the job unscheduled itself"
# pg_cron cancels a run whose job disappears while it runs: the run that
# removed its own job may end 'failed' / 'job canceled'; nothing else may fail
is "$(qb -c "SELECT count(*) FROM cron.job_run_details WHERE jobid = $BJOB
              AND NOT (status = 'succeeded' OR (status = 'failed' AND return_message = 'job canceled'))")" 0 \
  "B: and its run did not fail (other than pg_cron cancelling the run that removed its job)"
qb -c "SELECT status || ': ' || coalesce(return_message, '') || ' (' || command || ')' FROM cron.job_run_details WHERE jobid = $BJOB AND status <> 'succeeded'" | sed 's/^/# /'

is "$(q -c "SELECT tr_unschedule_expiry()")" t "unschedule at the end"
q -c "DROP EXTENSION pg_cron"
done_testing

#!/usr/bin/env bash
# 61_crash.sh — crash recovery under load (issue 7), on a cluster of its own
# (ticketres preloaded, restart_after_crash on):
#   1. 16 torture clients, then `pg_ctl -m immediate stop` mid-load; restart;
#   2. 16 torture clients, then `kill -9` of one backend mid-load (the
#      postmaster resets every backend and recovers by itself);
#   3. a short clean run afterwards.
# After each: the invariants hold, tr_available_count equals the rows (the
# counter is WAL-logged, nothing to rebuild), every reservation and every
# confirmation a client saw acknowledged (logged client-side) is there.
# Admin releases are off here, so a confirmation can only stay confirmed.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/torture.sh"

CLIENTS=${TR_TORTURE_CLIENTS:-16}
WORK=${TR_RUN:-$TR_TMP}/crash-$$
TT_DIR=$WORK/clients
trap 'tr_stop_pg; rm -rf "$WORK"' EXIT
tr_start_pg "$WORK/pg" "shared_preload_libraries = 'ticketres'" "restart_after_crash = on"
LOG=$WORK/pg/server.log
mkdir -p "$TT_DIR"
tr_psql -d postgres -c "CREATE DATABASE crash" >/dev/null || tr_die "createdb failed"
export PGDATABASE=crash
tt_setup 40 || tr_die "torture setup failed"
postmaster_pid() { head -1 "$PGDATA/postmaster.pid" 2>/dev/null; }
# up to 60 s until the server answers queries again
wait_up() {
  for _ in $(seq 1 120); do
    tt_q "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}
# wait until the clients of run NAME are working (some operations committed)
wait_busy() {
  for _ in $(seq 1 40); do
    [ "$(tt_q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CALL torture.run%'")" -ge "$CLIENTS" ] && break
    sleep 0.25
  done
  sleep "$1"
}
FAULTS=0

# --- 1. immediate shutdown mid-load -----------------------------------------
tt_start imm "$CLIENTS" 30 false
wait_busy 6
tr_as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1
is "$?" 0 "immediate shutdown while $CLIENTS clients work"
FAULTS=$((FAULTS + 1))
tt_wait imm 30
is "$TT_HUNG" 0 "immediate shutdown: every client was told (none hung)"
tr_as_pg env ${TR_PG_ENV:-} "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOG" -w -t 60 start >/dev/null
wait_up; is "$?" 0 "the cluster restarts after the immediate shutdown (crash recovery)"
grep -q 'database system was interrupted\|was not properly shut down' "$LOG" \
  && ok "immediate shutdown: the restart ran crash recovery" \
  || not_ok "immediate shutdown: the restart ran crash recovery" "no recovery line in the server log"
tt_check "after immediate shutdown"
tt_acks_check imm
is "$(tt_unexpected imm)" 0 "immediate shutdown: no answer outside the catalogue before it"

# --- 2. kill -9 of one backend mid-load ----------------------------------------
PM=$(postmaster_pid)
tt_new_event 40   # no releases here: the first run may have sold every seat
tt_start kill "$CLIENTS" 30 false
wait_busy 6
victim=$(tt_q "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL torture.run%' ORDER BY random() LIMIT 1")
kill -9 "$victim"
FAULTS=$((FAULTS + 1))
tt_wait kill 30
is "$TT_HUNG" 0 "kill -9 of backend $victim: every client was told (none hung)"
wait_up; is "$?" 0 "the postmaster recovers from the killed backend by itself"
is "$(postmaster_pid)" "$PM" "the postmaster survived (same pid)"
grep -q "server process (PID $victim) was terminated by signal 9" "$LOG" \
  && ok "the server log shows the killed backend and the reset" \
  || not_ok "the server log shows the killed backend and the reset"
tt_check "after kill -9"
tt_acks_check kill
is "$(tt_unexpected kill)" 0 "kill -9: no answer outside the catalogue before it"

# --- 3. business as usual afterwards --------------------------------------------
tt_new_event 40
tt_start after "$CLIENTS" 8 false
tt_wait after
is "$TT_HUNG $TT_FAILED" "0 0" "after both crashes: a clean run, every client to the end"
is "$(tt_unexpected after)" 0 "after both crashes: no answer outside the catalogue"
tt_check "after the clean run"
cmp_ok "$(tt_acks after | grep -c '^reserve')" -gt 0 "after both crashes: reserves succeed again"
tt_acks_check after
# the confirmations of the crashed runs are still there after everything
cat "$TT_DIR/imm.acks" "$TT_DIR/kill.acks" >"$TT_DIR/all.acks" 2>/dev/null
mkdir -p "$TT_DIR/all"; tr '\t' ' ' <"$TT_DIR/all.acks" | sed 's/^/NOTICE:  ack /' >"$TT_DIR/all/1.err"
tt_acks_check all
echo "# crash: $FAULTS faults injected (immediate shutdown, kill -9), $CLIENTS clients each"
tt_figures crash
done_testing

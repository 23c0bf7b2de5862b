#!/usr/bin/env bash
# 12_hardening.sh — what broke in production on 0.1 (issue 12), each on a
# cluster of PostgreSQL's defaults (max_connections 100 and
# max_locks_per_transaction 64, so the lock table is the size users have):
#   1. one tr_expire() clears 1,000 overdue holds of 30 seats each
#      (0.1 locked every seat of a 1,000-hold batch: out of shared memory);
#   2. the availability counter never waits: 80 sessions with open
#      transactions each reserve a seat under lock_timeout = 1s, and a
#      prepared transaction holding a reserve blocks nobody;
#   5. tr_available_count reads only its own event's holds, whatever the
#      number of overdue holds of other events (counted in buffers, not time);
#   6. a user id with a newline cannot forge a log line;
#   7. a column added to reservations breaks no call; tr_delete_event racing
#      an in-flight tr_reserve does not deadlock; SKIP lines are skips.
# Prints TAP.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"

WORK=${TR_RUN:-$TR_TMP}/hardening-$$
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; tr_stop_pg; rm -rf "$WORK"' EXIT
# only max_prepared_transactions differs from the defaults: 0 would make
# PREPARE TRANSACTION (item 2) impossible
TR_PG_MAX_CONNECTIONS=100 tr_start_pg "$WORK/pg" "max_prepared_transactions = 2"
LOG=$WORK/pg/server.log
tr_psql -d postgres -c "CREATE DATABASE hard" >/dev/null || tr_die "createdb failed"
export PGDATABASE=hard
q() { tr_psql -At "$@"; }
q -c "CREATE EXTENSION ticketres" -f "$TR_ROOT/test/lib/truth.sql" >/dev/null || tr_die "setup failed"
is "$(q -c "SHOW max_locks_per_transaction")/$(q -c "SHOW max_connections")" "64/100" \
  "the cluster runs on the default lock table (64 locks x 100 connections)"
violations() { q -c "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()"; }

# --- 1. the expiry sweep stays within the lock budget ----------------------
EV=$(q -c "SELECT id FROM tr_create_event('Sweep', now() + interval '1 day', now() + interval '2 days', max_seats_per_reservation => 30)")
q -c "SELECT tr_generate_seats('$EV', 'S', 1000, 30, 100)" >/dev/null
# 1,000 holds of 30 seats (one row each), one transaction per reserve
q >/dev/null 2>"$WORK/holds.err" <<SQL
SELECT format('SELECT 1 FROM tr_reserve(%L, %L, (SELECT array_agg(id) FROM ticketres.seats WHERE event_id = %L AND row_label = %L), NULL, %L)',
              '$EV', 'u' || r, '$EV', r::text, '1 second')
  FROM generate_series(1, 1000) r \gexec
SQL
is "$(q -c "SELECT count(*) FROM ticketres.reservations WHERE event_id = '$EV' AND status = 'pending'")" 1000 \
  "1,000 holds of 30 seats each"
sleep 1.2
out=$(q -c "SELECT tr_expire()" 2>&1)
is "$out" 1000 "one tr_expire() clears 1,000 overdue holds of 30 seats (30,000 seat locks) on the default lock table"
is "$(q -c "SELECT count(*) FROM ticketres.reservations WHERE event_id = '$EV' AND status = 'expired'")/$(q -c "SELECT tr_available_count('$EV')")" \
  "1000/30000" "every hold expired, every seat available again"
is "$(violations)" 0 "invariants hold after the sweep"

# --- 2. the counter never waits --------------------------------------------
EV2=$(q -c "SELECT id FROM tr_create_event('Open transactions', now() + interval '1 day', now() + interval '2 days')")
q -c "SELECT tr_generate_seats('$EV2', 'O', 10, 20, 100)" >/dev/null
seat() { q -c "SELECT id FROM ticketres.seats WHERE event_id = '$EV2' AND label = 'O-$1'"; }
# 80 sessions: each reserves one seat (lock_timeout 1s), then keeps its
# transaction open until all 80 have reserved (they wait for a lock this
# script holds), so more transactions hold counter stripes than there are
# stripes
mkdir -p "$WORK/open"
mkfifo "$WORK/gate"
( tr_psql -At <"$WORK/gate" >"$WORK/gate.out" 2>&1 ) & PIDS+=($!)
exec 8>"$WORK/gate"
echo "SELECT pg_advisory_lock(4242); SELECT 'closed';" >&8
until grep -q closed "$WORK/gate.out"; do sleep 0.1; done
OPEN=()
for i in $(seq 1 80); do
  r=$(( (i - 1) / 20 + 1 )); n=$(( (i - 1) % 20 + 1 ))
  ( tr_psql -At -c "BEGIN" -c "SET LOCAL lock_timeout = '1s'" \
      -c "SELECT status FROM tr_reserve('$EV2', 'open$i', ARRAY['$(seat "$r-$n")']::uuid[])" \
      -c "SET LOCAL lock_timeout = 0" -c "SELECT pg_advisory_lock_shared(4242)" \
      -c "COMMIT" >"$WORK/open/$i.out" 2>"$WORK/open/$i.err" ) &
  OPEN+=($!)
done
gate_waiters() { q -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_advisory_lock_shared(4242)%' AND wait_event_type = 'Lock'"; }
for _ in $(seq 1 600); do
  [ "$(gate_waiters)" -ge 80 ] && break
  [ "$(cat "$WORK"/open/*.err 2>/dev/null | wc -c)" -gt 0 ] && break
  sleep 0.1
done
is "$(gate_waiters)" 80 "80 sessions have reserved and keep their transactions open"
echo "SELECT pg_advisory_unlock(4242);" >&8; exec 8>&-
wait "${OPEN[@]}" 2>/dev/null
is "$(cat "$WORK"/open/*.out | grep -c '^pending$')" 80 \
  "80 sessions with open transactions: all 80 reserves went through under lock_timeout = 1s"
is "$(cat "$WORK"/open/*.err | grep -c 'lock timeout')" 0 "no reserve waited for another transaction's counter stripe"
q -c "SELECT 1 FROM tr_reserve('$EV2', 'prep', ARRAY['$(seat 5-1)']::uuid[])" >/dev/null
q -c "BEGIN" -c "SELECT 1 FROM tr_reserve('$EV2', 'prep', ARRAY['$(seat 5-2)']::uuid[])" \
  -c "PREPARE TRANSACTION 'tr_hold'" >/dev/null
got=""
for i in 1 2 3 4 5; do   # new sessions (the first reuses the preparer's backend id)
  got+=$(tr_psql -At -c "SET lock_timeout = '1s'" \
          -c "SELECT status FROM tr_reserve('$EV2', 'after$i', ARRAY['$(seat 5-$((2 + i)))']::uuid[])" 2>&1)
done
is "$got" "pendingpendingpendingpendingpending" "with a prepared transaction holding a reserve, new reserves go through"
q -c "COMMIT PREPARED 'tr_hold'" >/dev/null
is "$(q -c "SELECT tr_truth.count_diff('$EV2')")" equal "the count is exact after open, prepared and overflow stripes"
cmp_ok "$(q -c "SELECT count(*) FROM ticketres.seat_counts WHERE event_id = '$EV2' AND stripe >= 64")" -ge 16 \
  "more open transactions than stripes: the count went to overflow stripes"
q -c "SELECT tr_expire()" >/dev/null
is "$(q -c "SELECT count(*) FROM ticketres.seat_counts WHERE event_id = '$EV2' AND stripe >= 64")/$(q -c "SELECT tr_truth.count_diff('$EV2')")" \
  "0/equal" "tr_expire folds overflow stripes back, the count stays exact"
is "$(violations)" 0 "invariants hold"

# --- 5. tr_available_count ignores other events' overdue holds -------------
EV3=$(q -c "SELECT id FROM tr_create_event('Quiet', now() + interval '1 day', now() + interval '2 days')")
q -c "SELECT tr_generate_seats('$EV3', 'Q', 10, 10, 100)" >/dev/null
EV4=$(q -c "SELECT id FROM tr_create_event('Busy', now() + interval '1 day', now() + interval '2 days')")
# 200,000 overdue holds of another event (rows only: this measures reads)
q -c "INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, created_at)
      SELECT '$EV4', 'x' || g, ARRAY[gen_random_uuid()], 0, now() - interval '1 hour', now() - interval '2 hours'
        FROM generate_series(1, 200000) g" >/dev/null
q -c "VACUUM ANALYZE ticketres.reservations" >/dev/null
# shared buffers tr_available_count($1) touches (hit + read), on its second
# call in one session (the first also reads the catalogs to plan)
buffers() {
  local x="EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT tr_available_count('$1')"
  q -c "$x" -c "$x" | jq -s '.[-1][0].Plan | .["Shared Hit Blocks"] + .["Shared Read Blocks"]'
}
b=$(buffers "$EV3")
cmp_ok "$b" -lt 50 "tr_available_count of an event reads $b buffers with 200,000 overdue holds in another event"
is "$(q -c "SELECT tr_available_count('$EV3')")" 100 "and counts right"
q -c "DELETE FROM ticketres.reservations WHERE event_id = '$EV4'" >/dev/null

# --- 6. log injection -------------------------------------------------------
forged='ticketres: action=confirm outcome=confirmed seats=1'
q -c "SET ticketres.log_events = on" \
  -c "SELECT 1 FROM tr_reserve('$EV3', E'eve\n$forged', ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '$EV3' AND label = 'Q-1-1'))" >/dev/null
sleep 0.3
is "$(grep -c "^$forged" "$LOG")" 0 "a user id with a newline forges no log line"
is "$(grep -cF 'user="eve\nticketres: action=confirm outcome=confirmed seats=1"' "$LOG")" 1 \
  "the newline is escaped inside the one line"

# --- 7a. a column added to reservations breaks nothing ----------------------
q -c "ALTER TABLE ticketres.reservations ADD COLUMN note text" >/dev/null
S1=$(q -c "SELECT id FROM ticketres.seats WHERE event_id = '$EV3' AND label = 'Q-2-1'")
r1=$(q -c "SELECT id FROM tr_reserve('$EV3', 'col', ARRAY['$S1']::uuid[], 'k1')" 2>&1)
r2=$(q -c "SELECT id FROM tr_reserve('$EV3', 'col', ARRAY['$S1']::uuid[], 'k1')" 2>&1)
is "$r2" "$r1" "with an extra column: reserve, and its idempotent replay, return the same reservation"
is "$(q -c "SELECT status FROM tr_get_reservation('$r1', 'col')" 2>&1)/$(q -c "SELECT count(*) FROM tr_list_reservations('col')" 2>&1)" \
  "pending/1" "with an extra column: get and list"
is "$(q -c "SELECT status FROM tr_confirm('$r1', 'col')" 2>&1)" confirmed "with an extra column: confirm"
q -c "ALTER TABLE ticketres.reservations DROP COLUMN note" >/dev/null

# --- 7b. delete event vs an in-flight reserve: no deadlock -----------------
# The reserve is held inside its INSERT (a third session has inserted a row,
# of another event, with the same (user_id, idempotency_key) and not
# committed), after it has updated its seats: then the delete starts, then
# the third session rolls back. (0.1: the delete held the event row and
# waited for the seat; the reserve's foreign key check waited for the event
# row: deadlock.)
EV5=$(q -c "SELECT id FROM tr_create_event('Doomed', now() + interval '1 day', now() + interval '2 days')")
q -c "SELECT tr_generate_seats('$EV5', 'D', 1, 2, 100)" >/dev/null
S5=$(q -c "SELECT id FROM ticketres.seats WHERE event_id = '$EV5' AND label = 'D-1-1'")
mkfifo "$WORK/blocker"
( tr_psql -At <"$WORK/blocker" >"$WORK/blocker.out" 2>&1 ) & PIDS+=($!)
exec 7>"$WORK/blocker"
echo "BEGIN; INSERT INTO ticketres.reservations (event_id, user_id, seat_ids, total_amount, expires_at, idempotency_key)
      VALUES ('$EV3', 'racer', ARRAY[gen_random_uuid()], 0, now() + interval '1 hour', 'same'); SELECT 'inserted';" >&7
waits() { q -c "SELECT count(*) FROM pg_stat_activity WHERE datname = 'hard' AND wait_event_type = 'Lock' AND query LIKE '%$1%'"; }
until grep -q inserted "$WORK/blocker.out"; do sleep 0.1; done
( tr_psql -At -c "SELECT status FROM tr_reserve('$EV5', 'racer', ARRAY['$S5']::uuid[], 'same')" >"$WORK/reserve.out" 2>&1 ) & PIDS+=($!)
for _ in $(seq 1 50); do [ "$(waits tr_reserve)" = 1 ] && break; sleep 0.1; done
( tr_psql -At -c "SELECT tr_delete_event('$EV5')" >"$WORK/delete.out" 2>&1 ) & PIDS+=($!)
for _ in $(seq 1 50); do [ "$(waits tr_delete_event)" = 1 ] && break; sleep 0.1; done
echo "ROLLBACK;" >&7; exec 7>&-
wait "${PIDS[@]}" 2>/dev/null; PIDS=()
is "$(cat "$WORK/reserve.out")" pending "the in-flight reserve completes"
is "$(grep -c deadlock "$WORK/reserve.out" "$WORK/delete.out" | awk -F: '{s += $2} END {print s}')" 0 "no deadlock"
is "$(sed -n 's/.*ERROR: *//p' "$WORK/delete.out")" "event has reservations" \
  "the delete waited for the reserve, then saw its hold and refused"
is "$(violations)" 0 "invariants hold"

# --- 7f. the test runner counts a SKIP as a skip ----------------------------
. "$TR_ROOT/test/lib/tap_count.sh"
tap_count $'ok 1 - a\nok 2 # SKIP no redis\nnot ok 3 - b\nok 4 - c # skip later'
is "$TAP_PASSED/$TAP_SKIPPED/$TAP_NOT_OK" "1/2/1" "the runner counts SKIP directives as skipped, not passed"

done_testing

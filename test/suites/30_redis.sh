#!/usr/bin/env bash
# 30_redis.sh — the Redis lock layer (issue 3) against a real redis-server on
# a free loopback port: keys while a transaction is open and gone after
# commit, rollback, savepoint rollback and PREPARE; a foreign holder makes a
# seat busy for reserve, confirm, cancel, expiry and the admin controls and
# its key is left alone; Redis stopped (allow / deny), frozen (bounded by the
# timeout), restarted (picked up by the same session); 50 buyers on one seat;
# passwords and databases in the URL never leak; unix:// (a Unix socket). Invariants after each part.
# Works in its own database, dropped at the end. Prints TAP.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/clients.sh"
. "$TR_ROOT/test/lib/redis.sh"

TR_CLIENTS_DIR=${TR_RUN:-$TR_TMP}/redis-suite-$$
mkdir -p "$TR_CLIENTS_DIR"
DB=tr_redis_$$
tr_psql -d postgres -c "CREATE DATABASE $DB" >/dev/null || tr_die "cannot create $DB"
cleanup() {
  for s in "${!TR_SESSION_FD[@]}"; do tr_session_close "$s"; done
  tr_stop_all_redis
  tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  tr_psql -d postgres -c "DROP ROLE IF EXISTS tr_redis_nosuper_$$" >/dev/null
  [ -n "${TR_KEEP:-}" ] || rm -rf "$TR_CLIENTS_DIR"
  [ -n "${SOCKD:-}" ] && rm -rf "$SOCKD"
}
trap cleanup EXIT
export PGDATABASE=$DB
export PGOPTIONS='-c statement_timeout=60s'

tr_start_redis main
RP=$REDIS_PORT_main
q() { tr_psql -At -c "$1"; }
# "OK <result>" or "<SQLSTATE> <message>" of one statement (after optional SETs)
call() {
  local out
  out=$(tr_psql -At -v VERBOSITY=verbose "$@" 2>&1)
  if grep -q '^ERROR:' <<<"$out"; then
    sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): \(.*\)$/\1 \2/p' <<<"$out" | head -1
  else
    echo "OK $(grep -v -e '^WARNING' -e '^DETAIL' -e '^HINT' -e '^LOCATION' -e '^SET$' <<<"$out" | tail -1)"
  fi
}
rc() { tr_redis main "$@"; }
# how many of the keys still exist once a release had time to arrive (a
# commit sends its release without waiting for Redis: up to 2 s here)
gone() {
  local n
  for _ in $(seq 1 40); do n=$(rc EXISTS "$@"); [ "$n" = 0 ] && break; sleep 0.05; done
  echo "$n"
}

q "ALTER DATABASE $DB SET ticketres.redis_url = 'redis://127.0.0.1:$RP'" >/dev/null
q "ALTER DATABASE $DB SET ticketres.redis_retry_interval = 0" >/dev/null
tr_psql -c "CREATE EXTENSION ticketres" -f "$TR_ROOT/test/lib/truth.sql" >/dev/null || tr_die "suite setup failed"
EV=$(q "SELECT id FROM tr_create_event('redis', now() + interval '1 day', now() + interval '2 days')")
q "SELECT tr_generate_seats('$EV', 'R', 10, 20, 100)" >/dev/null
seat() { q "SELECT id FROM ticketres.seats WHERE event_id = '$EV' AND label = 'R-$1'"; }
key() { q "SELECT ticketres.redis_seat_key('$EV', '$1')"; }
nres() { q "SELECT count(*) FROM ticketres.reservations WHERE '$1' = ANY (seat_ids)"; }
check_state() {
  is "$(q "SELECT coalesce(sum(violations), 0) FROM ticketres.check_invariants()")" 0 \
    "$1: ticketres.check_invariants() finds no violation"
  is "$(q "SELECT tr_truth.count_diff('$EV')")" equal \
    "$1: tr_available_count equals the seats counted from rows"
}
metric() { q "SELECT coalesce(sum(split_part(l, ' ', 2)::numeric), 0) FROM regexp_split_to_table(tr_metrics(), E'\n') l WHERE split_part(l, ' ', 1) = '$1'"; }

S11=$(seat 1-1) S12=$(seat 1-2)
is "$(key "$S11")" "ticketres:$EV:$S11" "key scheme: <prefix>:<event_id>:<seat_id>"
is "$(q "SELECT ticketres.redis_ping()")" t "redis_ping: the server answers"
is "$(q "SELECT tr_health() #>> '{redis,reachable}'")" true "tr_health: Redis reachable"

##############################################################################
# keys while the transaction is open; gone after commit and after rollback
##############################################################################
K11=$(key "$S11") K12=$(key "$S12")
tr_session_open s1
tr_session_sql s1 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u1', ARRAY['$S11', '$S12']::uuid[]);"
is "$(rc EXISTS "$K11" "$K12")" 2 "open reserve: both seat keys exist"
tok1=$(rc GET "$K11")
[[ $tok1 =~ ^[0-9a-f]{32}$ ]] && ok "open reserve: the key holds a random 128-bit token" \
  || not_ok "open reserve: the key holds a random 128-bit token" "got '$tok1'"
is "$(rc GET "$K12")" "$tok1" "open reserve: one token for all keys of the call"
ttl=$(rc PTTL "$K11")
cmp_ok "$ttl" -gt 0 "open reserve: the key has a TTL"
cmp_ok "$ttl" -le 10000 "open reserve: the TTL is at most ticketres.redis_lock_ttl (10 s)"
tr_session_sql s1 "COMMIT;"
is "$(gone "$K11" "$K12")" 0 "after COMMIT: the keys are gone"
is "$(nres "$S11")" 1 "after COMMIT: the reservation is there"

S13=$(seat 1-3) K13=$(key "$(seat 1-3)")
tr_session_sql s1 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u1', ARRAY['$S13']::uuid[]);"
is "$(rc EXISTS "$K13")" 1 "open reserve (to be rolled back): the key exists"
tr_session_sql s1 "ROLLBACK;"
is "$(gone "$K13")" 0 "after ROLLBACK: the key is gone"
is "$(nres "$S13")" 0 "after ROLLBACK: no reservation"

# a failing reserve (one seat taken) inside a transaction: nothing is left
tr_session_sql s1 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u2', ARRAY['$S13', '$S11']::uuid[]);"
is "$(gone "$K13")" 0 "a reserve refused by the row guard leaves no key"
tr_session_sql s1 "ROLLBACK;"

# savepoints: a rolled-back part releases its keys at once, the rest stays
S14=$(seat 1-4) S15=$(seat 1-5) S16=$(seat 1-6)
K14=$(key "$S14") K15=$(key "$S15") K16=$(key "$S16")
tr_session_sql s1 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u1', ARRAY['$S14']::uuid[]); SAVEPOINT a;
  SELECT id FROM tr_reserve('$EV', 'u1', ARRAY['$S15']::uuid[]);"
is "$(rc EXISTS "$K14" "$K15")" 2 "savepoint: keys of both calls exist"
tr_session_sql s1 "ROLLBACK TO SAVEPOINT a;"
is "$(gone "$K15")" 0 "ROLLBACK TO SAVEPOINT: the key taken after the savepoint is gone at once"
is "$(rc EXISTS "$K14")" 1 "ROLLBACK TO SAVEPOINT: the key taken before it stays"
tr_session_sql s1 "SAVEPOINT b; SELECT id FROM tr_reserve('$EV', 'u1', ARRAY['$S16']::uuid[]); RELEASE SAVEPOINT b;"
is "$(rc EXISTS "$K16")" 1 "RELEASE SAVEPOINT: its keys stay with the transaction"
# an exception block that catches a failed call (its subtransaction aborts)
tr_session_sql s1 "DO \$\$ BEGIN PERFORM tr_reserve('$EV', 'u1', ARRAY['$S15', '$S11']::uuid[]);
  EXCEPTION WHEN OTHERS THEN NULL; END \$\$;"
is "$(gone "$K15")" 0 "a call that failed inside an exception block leaves no key"
tr_session_sql s1 "COMMIT;"
is "$(gone "$K14" "$K16")" 0 "after COMMIT: every key of the transaction is gone"
is "$(nres "$S14")$(nres "$S15")$(nres "$S16")" 101 "savepoints: the kept holds are there, the rolled-back one is not"

# a lease that lapsed while its holder still worked: the release deletes only
# our own token, so the next holder's key survives our commit
S19=$(seat 1-9) K19=$(key "$(seat 1-9)")
tr_session_sql s1 "SET ticketres.redis_lock_ttl = 200; BEGIN; SELECT id FROM tr_reserve('$EV', 'u1', ARRAY['$S19']::uuid[]);"
sleep 0.5
is "$(gone "$K19")" 0 "a lapsed lease: the key is gone after redis_lock_ttl while the transaction is open"
rc SET "$K19" next-holder PX 60000 >/dev/null
# (redis_ping reads the release's answer: Redis has run it)
tr_session_sql s1 "COMMIT; RESET ticketres.redis_lock_ttl; SELECT ticketres.redis_ping();"
is "$(rc GET "$K19")" next-holder "a lapsed lease: our commit leaves the next holder's key alone (compare-and-delete)"
is "$(q "SELECT status FROM ticketres.seats WHERE id = '$S19'")" reserved "and the row guard kept the seat ours"
rc DEL "$K19" >/dev/null

# the same transaction may move seats it already holds (keys are reentrant)
S17=$(seat 1-7)
is "$(call -c "SELECT status FROM tr_cancel((tr_reserve('$EV', 'u1', ARRAY['$S17']::uuid[])).id, 'u1')")" \
   "OK cancelled" "reserve then cancel in one statement: the held keys count as ours"
is "$(gone "$(key "$S17")")" 0 "and they are released after it"
check_state "keys and transactions"

##############################################################################
# PREPARE TRANSACTION releases the keys; the prepared transaction keeps the seats
##############################################################################
if [ "$(q "SHOW max_prepared_transactions")" -gt 0 ]; then
  S18=$(seat 1-8)
  tr_session_sql s1 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u1', ARRAY['$S18']::uuid[]); PREPARE TRANSACTION 'tr_redis_$$';"
  is "$(gone "$(key "$S18")")" 0 "PREPARE TRANSACTION: the keys are released"
  is "$(call -c "SELECT id FROM tr_reserve('$EV', 'u9', ARRAY['$S18']::uuid[])")" \
     "PT409 seat busy" "PREPARE TRANSACTION: the seat stays locked by the prepared transaction"
  q "COMMIT PREPARED 'tr_redis_$$'" >/dev/null
  is "$(q "SELECT status FROM ticketres.seats WHERE id = '$S18'")" reserved "COMMIT PREPARED: the hold is there"
else
  for i in 1 2 3; do ok "# skip max_prepared_transactions is 0"; done
fi
tr_session_close s1

##############################################################################
# a foreign holder: the seat is busy everywhere, its key is left alone
##############################################################################
# the foreign key goes on the seat locked last (ids in ascending order), so
# an acquire that is not all or nothing would have taken the other one
S21=$(q "SELECT max(id::text) FROM ticketres.seats WHERE event_id = '$EV' AND label IN ('R-2-1', 'R-2-2')")
S22=$(q "SELECT min(id::text) FROM ticketres.seats WHERE event_id = '$EV' AND label IN ('R-2-1', 'R-2-2')")
K21=$(key "$S21") K22=$(key "$S22")
rc SET "$K21" foreign-service PX 60000 >/dev/null
res=$(call -c "SELECT id FROM tr_reserve('$EV', 'u2', ARRAY['$S21', '$S22']::uuid[])")
is "$res" "PT409 seat busy" "foreign key on one seat: reserve is PT409 seat busy"
detail=$(tr_psql -At -c "SELECT tr_reserve('$EV', 'u2', ARRAY['$S21', '$S22']::uuid[])" 2>&1 | sed -n 's/^DETAIL: *//p')
is "$detail" "Seat $S21 is locked in Redis by another holder." "the DETAIL names the busy seat"
is "$(rc GET "$K21")" foreign-service "the foreign key is left alone"
is "$(gone "$K22")" 0 "all or nothing: the free seat's key was not taken"
is "$(nres "$S21")$(nres "$S22")" 00 "no reservation was made"
is "$(q "SELECT string_agg(status::text, ',') FROM ticketres.seats WHERE id IN ('$S21', '$S22')")" \
   available,available "both seats stay available"
rc DEL "$K21" >/dev/null
is "$(call -c "SELECT status FROM tr_reserve('$EV', 'u2', ARRAY['$S21', '$S22']::uuid[])")" "OK pending" \
   "once the foreign key is gone the same reserve works"

# confirm, cancel, expiry and the admin controls take the keys too
R2=$(q "SELECT id FROM ticketres.reservations WHERE '$S21' = ANY (seat_ids)")
rc SET "$K22" foreign-service PX 60000 >/dev/null
is "$(call -c "SELECT status FROM tr_confirm('$R2', 'u2')")" "PT409 seat busy" "foreign key: confirm is PT409 seat busy"
is "$(call -c "SELECT status FROM tr_cancel('$R2', 'u2')")" "PT409 seat busy" "foreign key: cancel is PT409 seat busy"
is "$(call -c "SELECT status FROM tr_release_reservation('$R2', 'support')")" "PT409 seat busy" \
   "foreign key: tr_release_reservation is PT409 seat busy"
is "$(rc GET "$K22")" foreign-service "the foreign key is still left alone"
rc DEL "$K22" >/dev/null
is "$(call -c "SELECT status FROM tr_confirm('$R2', 'u2')")" "OK confirmed" "without it, confirm works"

S23=$(seat 2-3) K23=$(key "$(seat 2-3)")
rc SET "$K23" foreign-service PX 60000 >/dev/null
is "$(call -c "SELECT tr_block_seats('$EV', ARRAY['$S23']::uuid[], 'maintenance')")" "PT409 seat busy" \
   "foreign key: tr_block_seats is PT409 seat busy"
rc DEL "$K23" >/dev/null
rc HSET "$K23" field value >/dev/null
is "$(call -c "SELECT id FROM tr_reserve('$EV', 'u2', ARRAY['$S23']::uuid[])")" "PT409 seat busy" \
   "a foreign key of another type (hash) is busy too"
rc DEL "$K23" >/dev/null

S24=$(seat 2-4) K24=$(key "$(seat 2-4)")
R24=$(q "SELECT id FROM tr_reserve('$EV', 'u2', ARRAY['$S24']::uuid[], hold => '1 second')")
sleep 1.2
rc SET "$K24" foreign-service PX 60000 >/dev/null
is "$(q "SELECT tr_expire()")" 0 "foreign key: tr_expire skips the overdue hold"
is "$(q "SELECT status FROM ticketres.reservations WHERE id = '$R24'")" pending "and leaves it pending"
rc DEL "$K24" >/dev/null
is "$(q "SELECT tr_expire()")" 1 "without it, tr_expire expires the hold"
is "$(gone "$K24")" 0 "and releases the key it took"
check_state "foreign holder"

##############################################################################
# Redis stopped: allow goes on with the database guards, deny refuses
##############################################################################
errors_before=$(metric 'ticketres_redis_lock_total{outcome="error"}')
tr_stop_redis main
S31=$(seat 3-1) S32=$(seat 3-2) S33=$(seat 3-3)
out=$(tr_psql -At -c "SELECT status FROM tr_reserve('$EV', 'u3', ARRAY['$S31']::uuid[])" 2>&1)
is "$(grep -v '^WARNING\|^DETAIL' <<<"$out")" pending "Redis stopped, allow: the reserve goes on"
grep -q '^WARNING:  ticketres: Redis seat locks skipped' <<<"$out" \
  && ok "Redis stopped, allow: a WARNING says the Redis locks were skipped" \
  || not_ok "Redis stopped, allow: a WARNING says the Redis locks were skipped" "$out"
cmp_ok "$(metric 'ticketres_redis_lock_total{outcome="error"}' | cut -d. -f1)" -gt "${errors_before%%.*}" \
  "Redis stopped: ticketres_redis_lock_total{outcome=\"error\"} counts it"
avail_before=$(q "SELECT tr_available_count('$EV')")
is "$(call -c "SET ticketres.redis_on_error = deny" -c "SELECT id FROM tr_reserve('$EV', 'u3', ARRAY['$S32']::uuid[])")" \
   "PT503 lock service unavailable" "Redis stopped, deny: PT503 lock service unavailable"
is "$(nres "$S32")$(q "SELECT tr_available_count('$EV')")" "0$avail_before" "deny: nothing changed"
R31=$(q "SELECT id FROM ticketres.reservations WHERE '$S31' = ANY (seat_ids)")
is "$(call -c "SET ticketres.redis_on_error = deny" -c "SELECT status FROM tr_confirm('$R31', 'u3')")" \
   "PT503 lock service unavailable" "Redis stopped, deny: confirm is PT503 too"
is "$(q "SELECT status FROM ticketres.reservations WHERE id = '$R31'")" pending "and the hold stays pending"
is "$(q "SELECT tr_health() #>> '{redis,reachable}'")/$(q "SELECT tr_health() ->> 'status'")" false/degraded \
   "tr_health: Redis unreachable, status degraded"
check_state "Redis stopped"

##############################################################################
# Redis restarted: the same session picks it up without reconnecting
##############################################################################
tr_session_open s2
tr_start_redis main
tr_session_sql s2 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u3', ARRAY['$S33']::uuid[]);"
is "$(rc EXISTS "$(key "$S33")")" 1 "Redis restarted: the next call takes its keys again"
tr_session_sql s2 "COMMIT;"
is "$(gone "$(key "$S33")")" 0 "and releases them"
# the same backend through a stop and a restart
S34=$(seat 3-4) S35=$(seat 3-5)
tr_session_sql s2 "SELECT pg_backend_pid() AS pid_before \\gset"
tr_stop_redis main
tr_session_sql s2 "SELECT id FROM tr_reserve('$EV', 'u3', ARRAY['$S34']::uuid[]);"
tr_start_redis main
tr_session_sql s2 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u3', ARRAY['$S35']::uuid[]);"
is "$(rc EXISTS "$(key "$S35")")" 1 "a session that saw Redis die takes keys again once it is back"
tr_session_sql s2 "COMMIT;"
tr_session_close s2
is "$(nres "$S34")$(nres "$S35")" 11 "both calls reserved"

# the retry interval: after a failure a backend skips Redis for a while
S36=$(seat 3-6) S37=$(seat 3-7)
tr_stop_redis main
tr_session_open s3
tr_session_sql s3 "SET ticketres.redis_retry_interval = '60s'; SET client_min_messages = error;
  SELECT id FROM tr_reserve('$EV', 'u3', ARRAY['$S36']::uuid[]);"
tr_start_redis main
tr_session_sql s3 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u3', ARRAY['$S37']::uuid[]);"
is "$(rc EXISTS "$(key "$S37")")" 0 "within ticketres.redis_retry_interval a backend does not retry Redis"
tr_session_sql s3 "COMMIT; SET ticketres.redis_retry_interval = 0; SELECT ticketres.redis_ping();"
tr_session_close s3
check_state "Redis restarted"

##############################################################################
# Redis frozen (SIGSTOP): every call returns within the timeout
##############################################################################
# frozen_reserve POLICY SEAT WANT NAME: one reserve under a 300 ms timeout, its
# answer and that it came back within the 5 s bound
frozen_reserve() {
  local t0 res ms
  t0=$(date +%s%N)
  res=$(call -c "SET ticketres.redis_timeout = 300" -c "SET ticketres.redis_on_error = $1" \
             -c "SET client_min_messages = error" \
             -c "SELECT status FROM tr_reserve('$EV', 'u4', ARRAY['$2']::uuid[])")
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  is "$res" "$3" "Redis frozen, $1: $4"
  cmp_ok "$ms" -lt 5000 "Redis frozen, $1: it returned in ${ms} ms (timeout 300 ms; bound 5 s)"
}
tr_freeze_redis main
frozen_reserve allow "$(seat 4-1)" "OK pending" "the reserve goes on"
frozen_reserve deny "$(seat 4-2)" "PT503 lock service unavailable" "PT503"
# a commit never waits for Redis: it sends the release and goes on; the
# answer is read before the connection's next command, which under a frozen
# Redis times out with a WARNING (the TTL frees the keys)
tr_thaw_redis main
S43=$(seat 4-3) S44=$(seat 4-5)
tr_session_open s4
tr_session_sql s4 "SET ticketres.redis_timeout = 300; BEGIN; SELECT id FROM tr_reserve('$EV', 'u4', ARRAY['$S43']::uuid[]);"
tr_freeze_redis main
t0=$(date +%s%N)
tr_session_sql s4 "COMMIT;"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
cmp_ok "$ms" -lt 5000 "Redis frozen: COMMIT returned in ${ms} ms (bound 5 s)"
tr_session_sql s4 "SELECT id FROM tr_reserve('$EV', 'u4', ARRAY['$S44']::uuid[]);"
tr_thaw_redis main
tr_session_close s4
grep -qE 'WARNING: +(01000: )?ticketres: Redis seat locks skipped: no answer to an earlier release' "$TR_CLIENTS_DIR/session.s4.out" \
  && ok "the next call finds no answer to the release: a WARNING, and it goes on (allow)" \
  || not_ok "the next call finds no answer to the release: a WARNING, and it goes on (allow)" "$(cat "$TR_CLIENTS_DIR/session.s4.out")"
is "$(nres "$S43")$(nres "$S44")" 11 "both transactions committed"
is "$(call -c "SELECT status FROM tr_reserve('$EV', 'u4', ARRAY['$(seat 4-4)']::uuid[])")" "OK pending" \
   "Redis thawed: the next call works"
check_state "Redis frozen"

##############################################################################
# a short stall leaves no key that blocks its own owner (issue 12, item 3)
##############################################################################
# Redis runs a timed-out acquire when it wakes, and a release skipped in the
# retry interval would leave its keys: with redis_lock_ttl = 1 h either would
# block its owner for an hour. The backend owes those releases and sends
# them (compare-and-delete) as soon as Redis answers again.
# sess NAME SQL: run SQL in a session, print what it printed
sess() {
  local n; n=$(wc -l <"$TR_CLIENTS_DIR/session.$1.out")
  tr_session_sql "$1" "$2"
  tail -n +"$((n + 1))" "$TR_CLIENTS_DIR/session.$1.out" | grep -v '^done-'
}
S71=$(seat 9-1) K71=$(key "$(seat 9-1)")
tr_session_open s7
tr_session_sql s7 "SET ticketres.redis_timeout = 300; SET ticketres.redis_lock_ttl = '1h';
  SET ticketres.redis_retry_interval = 0; SET client_min_messages = error;
  SELECT ticketres.redis_ping();"  # (the stall hits a session already connected)
tr_freeze_redis main
R71=$(sess s7 "SELECT id FROM tr_reserve('$EV', 'u7', ARRAY['$S71']::uuid[]);")
tr_thaw_redis main
sleep 0.3
is "$(rc EXISTS "$K71")" 1 "stall: Redis ran the timed-out acquire when it woke (the key exists)"
is "$(sess s7 "SELECT status FROM tr_confirm('$R71', 'u7');")" confirmed \
   "stall: the owner's own tr_confirm then succeeds (not seat busy)"
is "$(gone "$K71")" 0 "stall: and the key is gone from Redis (long before its 1 h TTL)"
# a commit-time release skipped in the retry interval is sent later
S72=$(seat 9-2) S73=$(seat 9-3) K72=$(key "$(seat 9-2)") K73=$(key "$(seat 9-3)")
tr_session_sql s7 "SET ticketres.redis_retry_interval = '2s'; BEGIN;
  SELECT id FROM tr_reserve('$EV', 'u7', ARRAY['$S72']::uuid[]);"
tr_freeze_redis main
tr_session_sql s7 "SELECT id FROM tr_reserve('$EV', 'u7', ARRAY['$S73']::uuid[]); COMMIT;"
tr_thaw_redis main
sleep 0.3
is "$(rc EXISTS "$K72" "$K73")" 2 "stall at commit: both keys are still there (release skipped, stale acquire run)"
sleep 2
tr_session_sql s7 "SELECT status FROM tr_reserve('$EV', 'u7', ARRAY['$(seat 9-4)']::uuid[]);"
is "$(gone "$K72" "$K73" "$(key "$(seat 9-4)")")" 0 \
   "stall at commit: the next call after the retry interval releases them (no key of ours left)"
tr_session_close s7
# a session that ends after a stall releases the stale keys on its way out
S75=$(seat 9-5) K75=$(key "$(seat 9-5)")
tr_session_open s8
tr_session_sql s8 "SET ticketres.redis_timeout = 300; SET ticketres.redis_lock_ttl = '1h';
  SET client_min_messages = error; SELECT ticketres.redis_ping();"
tr_freeze_redis main
tr_session_sql s8 "SELECT id FROM tr_reserve('$EV', 'u8', ARRAY['$S75']::uuid[]);"
tr_thaw_redis main
sleep 0.3
is "$(rc EXISTS "$K75")" 1 "stall, then the session ends: Redis ran the timed-out acquire"
tr_session_close s8
is "$(gone "$K75")" 0 "stall, then the session ends: its backend released the key on exit"
is "$(rc KEYS 'ticketres:*' | grep -c .)" 0 "stall: no ticketres key at all is left in Redis"
check_state "stall"

# owed releases not sent are bounded (10,000 keys per backend): past that the
# oldest are dropped with a WARNING (their keys expire by TTL), the rest are
# sent once Redis answers. 11 reserves of 1,000 seats in one transaction, a
# timed-out acquire makes the backend rest (60 s), so the commit owes 11,001.
EVB=$(q "SELECT id FROM tr_create_event('bound', now() + interval '1 day', now() + interval '2 days',
           max_seats_per_reservation => 1000)")
q "SELECT tr_generate_seats('$EVB', 'B', 11, 1000, 1)" >/dev/null
NKEYS="return #redis.call('KEYS', ARGV[1])"
tr_session_open s9
tr_session_sql s9 "SET ticketres.redis_timeout = 300; SET ticketres.redis_lock_ttl = '1h';
  SET ticketres.redis_retry_interval = '60s'; BEGIN;"
for r in $(seq 1 11); do
  tr_session_sql s9 "SELECT count(*) FROM tr_reserve('$EVB', 'u9',
    ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '$EVB' AND label LIKE 'B-$r-%'));" >/dev/null
done
is "$(rc EVAL "$NKEYS" 0 "ticketres:$EVB:*")" 11000 "bound: one transaction holds 11,000 keys"
tr_freeze_redis main
tr_session_sql s9 "SELECT id FROM tr_reserve('$EV', 'u9', ARRAY['$(seat 9-6)']::uuid[]);"
tr_thaw_redis main
tr_session_sql s9 "COMMIT;"
grep -qE 'WARNING: +(01000: )?ticketres: 1001 Redis seat lock releases dropped: this backend owed more than 10000' \
  "$TR_CLIENTS_DIR/session.s9.out" \
  && ok "bound: the commit owes 11,001 releases; the 1,001 oldest are dropped with a WARNING" \
  || not_ok "bound: the commit owes 11,001 releases; the 1,001 oldest are dropped with a WARNING" \
       "$(grep -v '^done-' "$TR_CLIENTS_DIR/session.s9.out" | tail -5)"
tr_session_sql s9 "SET ticketres.redis_retry_interval = 0; SELECT ticketres.redis_ping(); SELECT ticketres.redis_ping();"
tr_session_close s9
is "$(rc EVAL "$NKEYS" 0 "ticketres:$EVB:*")" 1000 "bound: the other 10,000 are released once Redis answers"
rc EVAL "for _, k in ipairs(redis.call('KEYS', 'ticketres:*')) do redis.call('DEL', k) end" 0 >/dev/null

##############################################################################
# 50 concurrent buyers on one seat with Redis on: exactly one hold
##############################################################################
HOT=$(seat 5-1)
gen_hot() { echo "SELECT 'OK ' || id FROM tr_reserve('$EV', 'hot-$1', ARRAY['$HOT']::uuid[], 'hot-$1');"; }
tr_race hot 50 gen_hot
tally=$(for i in $(seq 1 50); do tr_outcome "$TR_CLIENTS_DIR/hot/$i.out"; done | sed -E 's/^OK .*/OK/' | sort | uniq -c)
is "$(awk '$2 == "OK" { print $1 }' <<<"$tally")" 1 "50 buyers, Redis on: exactly one holds the seat"
is "$(grep -cvE '^ *[0-9]+ (OK|PT409 seat (busy|unavailable))$' <<<"$tally")" 0 "the others get PT409 only"
echo "# hot seat with Redis: $(paste -sd, <<<"$tally" | tr -s ' ')"
is "$(nres "$HOT")" 1 "one reservation row for the hot seat"
is "$(gone "$(key "$HOT")")" 0 "no key is left behind"
check_state "hot seat with Redis"

##############################################################################
# hostile replies: whatever a "Redis" answers, no crash, only allow/PT503
##############################################################################
mkfifo "$TR_CLIENTS_DIR/hostile.in"
python3 "$TR_ROOT/test/lib/hostile_redis.py" "$TR_CLIENTS_DIR/hostile.port" <"$TR_CLIENTS_DIR/hostile.in" &
HPID=$!
exec {HFD}>"$TR_CLIENTS_DIR/hostile.in"
for _ in $(seq 1 100); do [ -s "$TR_CLIENTS_DIR/hostile.port" ] && break; sleep 0.05; done
HURL="redis://127.0.0.1:$(cat "$TR_CLIENTS_DIR/hostile.port")"
PM_PID=$(head -1 "$PGDATA/postmaster.pid")
hostile() {  # hostile N REPLY: the replies, then one reserve under allow and one under deny
  local n=$1 reply=$2 a d
  echo "REPLY $reply" >&"$HFD"; sleep 0.1
  a=$(call -c "SET ticketres.redis_url = '$HURL'" -c "SET ticketres.redis_timeout = 300" -c "SET client_min_messages = error" \
           -c "SELECT status FROM tr_reserve('$EV', 'h', ARRAY['$(seat "7-$n")']::uuid[])")
  d=$(call -c "SET ticketres.redis_url = '$HURL'" -c "SET ticketres.redis_timeout = 300" -c "SET ticketres.redis_on_error = deny" \
           -c "SELECT status FROM tr_reserve('$EV', 'h', ARRAY['$(seat "8-$n")']::uuid[])")
  is "$a | $d" "OK pending | PT503 lock service unavailable" "hostile reply '$reply': allow reserves, deny is PT503"
}
n=0
for reply in '+OK\r\n' ':1\r\n' '*1\r\n$3\r\nabc\r\n' '*2\r\n:0\r\n:0\r\n' '*1\r\n:-5\r\n' \
             '*1\r\n:7\r\n' '-ERR boom\r\n' '*-1\r\n' '$-1\r\n' 'garbage\r\n' '*1\r\n*1\r\n:0\r\n' \
             '$99999\r\nabc' '*1\r\n:0' CLOSE HANG; do
  n=$((n + 1)); hostile "$n" "$reply"
done
# a lying "Redis" that says every lock is free: the row guard is the fence
echo 'REPLY *1\r\n:0\r\n' >&"$HFD"; sleep 0.1
LIE=$(seat 7-20)
a=$(call -c "SET ticketres.redis_url = '$HURL'" -c "SELECT status FROM tr_reserve('$EV', 'liar-1', ARRAY['$LIE']::uuid[])")
b=$(call -c "SET ticketres.redis_url = '$HURL'" -c "SELECT status FROM tr_reserve('$EV', 'liar-2', ARRAY['$LIE']::uuid[])")
is "$a | $b" "OK pending | PT409 seat unavailable" "a Redis that grants every lock: the row guard still refuses the second buyer"
exec {HFD}>&-
kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null
is "$(head -1 "$PGDATA/postmaster.pid")" "$PM_PID" "hostile replies: the postmaster is the same"
is "$(grep -c 'terminated by signal\|was terminated' "$(dirname "$PGDATA")/server.log")" 0 "hostile replies: no backend crashed"
check_state "hostile replies"

##############################################################################
# settings: the password in a file, a database in the URL, prefix, nothing leaks
##############################################################################
# (issue 12, item 4) the password is only ever in files, never in SQL text
PW="file-only-pw-$$" URLPW="url-pw-$$"
LOG="$(dirname "$PGDATA")/server.log"
tr_start_redis auth --requirepass "$PW"
AP=$REDIS_PORT_auth
# pwfile NAME CONTENT [MODE]: a password file the server's OS user owns
pwfile() {
  local f=$TR_CLIENTS_DIR/$1
  printf '%s\n' "$2" >"$f"
  [ "$(id -u)" = 0 ] && chown "$TR_PG_USER" "$f"
  chmod "${3:-600}" "$f"
  echo "$f"
}
PWF=$(pwfile redis.pw "$PW")
S61=$(seat 6-1)
tr_session_open s6
tr_session_sql s6 "SET ticketres.redis_url = 'redis://127.0.0.1:$AP/3'; SET ticketres.redis_password_file = '$PWF';
  SET ticketres.redis_key_prefix = 'shop'; BEGIN; SELECT id FROM tr_reserve('$EV', 'u6', ARRAY['$S61']::uuid[]);"
is "$(tr_redis auth -n 3 EXISTS "shop:$EV:$S61")" 1 \
   "the password from redis_password_file and a database in the URL: the key is in that database, named with the prefix"
tr_session_sql s6 "COMMIT;"
tr_session_close s6
is "$(tr_redis auth -n 3 EXISTS "shop:$EV:$S61")" 0 "and is released"
# a Redis ACL user named in the URL, its password in the file
tr_redis auth ACL SETUSER tr_app on ">app-$PW" '~*' '+@all' >/dev/null
is "$(call -c "SET ticketres.redis_url = 'redis://tr_app@127.0.0.1:$AP'" \
           -c "SET ticketres.redis_password_file = '$(pwfile app.pw "app-$PW")'" \
           -c "SET ticketres.redis_on_error = deny" -c "SELECT ticketres.redis_ping()")" "OK t" \
   "redis://user@host with the user's password in the file: AUTH user password works"
# deny_detail FILE: what a reserve under deny says with that password file
deny_detail() {
  tr_psql -At -v VERBOSITY=verbose -c "SET ticketres.redis_url = 'redis://127.0.0.1:$AP'" \
    -c "SET ticketres.redis_password_file = '$1'" -c "SET ticketres.redis_on_error = deny" \
    -c "SELECT tr_reserve('$EV', 'u6', ARRAY['$(seat 6-2)']::uuid[])" 2>&1
}
out=$(deny_detail "$(pwfile wrong.pw "wrong-$PW")")
grep -q 'PT503: lock service unavailable' <<<"$out" && ok "a wrong password is PT503 under deny" \
  || not_ok "a wrong password is PT503 under deny" "$out"
grep -q -- "$PW" <<<"$out" && not_ok "the password appears nowhere in the error" "$out" \
  || ok "the password appears nowhere in the error"
out=$(deny_detail "$(pwfile open.pw "$PW" 644)")
grep -q 'DETAIL: .*redis_password_file has group or world access' <<<"$out" \
  && ok "a password file readable by others is refused (PT503 says why)" \
  || not_ok "a password file readable by others is refused (PT503 says why)" "$out"
out=$(deny_detail "$TR_CLIENTS_DIR/no-such.pw")
grep -q 'DETAIL: .*could not open ticketres.redis_password_file' <<<"$out" \
  && ok "a missing password file: PT503 says it could not be opened" \
  || not_ok "a missing password file: PT503 says it could not be opened" "$out"
# a URL with a password is refused wherever it comes from (SET, ALTER SYSTEM,
# the configuration file), without echoing it. (The first two run with
# log_min_error_statement = panic: PostgreSQL logs a failing statement's
# text, and that is not ticketres's to hide.)
out=$(tr_psql -At -v VERBOSITY=verbose -c "SET log_min_error_statement = panic" \
        -c "SET ticketres.redis_url = 'redis://:$URLPW@127.0.0.1:$AP'" 2>&1)
grep -q '22023: ticketres.redis_url must not carry a password' <<<"$out" && grep -q 'HINT: .*ticketres.redis_password_file' <<<"$out" \
  && ok "SET of a URL with a password: 22023 must not carry a password, the hint names redis_password_file" \
  || not_ok "SET of a URL with a password: 22023 must not carry a password, the hint names redis_password_file" "$out"
grep -q -- "$URLPW" <<<"$out" && not_ok "the refused URL is not echoed" "$out" || ok "the refused URL is not echoed"
out=$(tr_psql -At -v VERBOSITY=verbose -c "SET log_min_error_statement = panic" \
        -c "ALTER SYSTEM SET ticketres.redis_url = 'redis://user:$URLPW@127.0.0.1:$AP'" 2>&1)
grep -q '22023: ticketres.redis_url must not carry a password' <<<"$out" \
  && ok "ALTER SYSTEM of a URL with a password: refused (nothing reaches postgresql.auto.conf)" \
  || not_ok "ALTER SYSTEM of a URL with a password: refused (nothing reaches postgresql.auto.conf)" "$out"
out=$(tr_psql -At -v VERBOSITY=verbose -c "SET ticketres.redis_url = 'http://127.0.0.1'" 2>&1)
grep -q '22023: invalid ticketres.redis_url' <<<"$out" && ok "a malformed URL is 22023 invalid ticketres.redis_url" \
  || not_ok "a malformed URL is 22023 invalid ticketres.redis_url" "$out"

# The recommended setup: ALTER SYSTEM sets the URL (no password) and the
# password file, pg_reload_conf() applies them. The reload logs every
# changed setting with its value at LOG, so log_min_messages = log for this
# part (the test cluster logs warnings only), or the test could not see a leak.
q "ALTER DATABASE $DB RESET ticketres.redis_url" >/dev/null  # (the database's setting would win)
reset_system() {
  tr_psql -d postgres -c "ALTER SYSTEM RESET ticketres.redis_url" -c "ALTER SYSTEM RESET ticketres.redis_password_file" \
    -c "ALTER SYSTEM RESET log_min_messages" -c "SELECT pg_reload_conf()" >/dev/null 2>&1
  sed -i '/^ticketres.redis_url/d' "$PGDATA/postgresql.conf"
}
trap 'reset_system; cleanup' EXIT
# reload: apply the configuration files and wait until a new session sees $1 = $2
reload() {
  q "SELECT pg_reload_conf()" >/dev/null
  for _ in $(seq 1 50); do [ "$(q "SHOW $1")" = "$2" ] && return 0; sleep 0.1; done
}
q "ALTER SYSTEM SET log_min_messages = 'log'" >/dev/null
reload log_min_messages log
q "ALTER SYSTEM SET ticketres.redis_url = 'redis://127.0.0.1:$AP/2'" >/dev/null
q "ALTER SYSTEM SET ticketres.redis_password_file = '$PWF'" >/dev/null
reload ticketres.redis_password_file "$PWF"
is "$(q "SELECT tr_health() #>> '{redis,reachable}'")" true \
   "ALTER SYSTEM + reload: URL without password + redis_password_file: tr_health says Redis (requirepass) is reachable"
S63=$(seat 6-3)
tr_session_open s6
tr_session_sql s6 "BEGIN; SELECT id FROM tr_reserve('$EV', 'u6', ARRAY['$S63']::uuid[]);"
is "$(tr_redis auth -n 2 EXISTS "$(key "$S63")")" 1 \
   "ALTER SYSTEM + reload: a reserve takes its key in Redis"
tr_session_sql s6 "COMMIT;"
tr_session_close s6
cmp_ok "$(grep -c 'parameter "ticketres.redis_password_file" changed to' "$LOG")" -gt 0 \
   "the reload's 'parameter changed to' LOG lines do reach the server log (so the next check could see a leak)"
# the URL with a password written into postgresql.conf by hand (and not
# overridden by postgresql.auto.conf): refused at the reload, and the
# postmaster's message does not quote it
q "ALTER SYSTEM RESET ticketres.redis_url" >/dev/null
echo "ticketres.redis_url = 'redis://:$URLPW@127.0.0.1:$AP'" >>"$PGDATA/postgresql.conf"
q "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 50); do grep -q 'ticketres.redis_url must not carry a password' "$LOG" && break; sleep 0.1; done
grep -q 'LOG: .*ticketres.redis_url must not carry a password' "$LOG" \
  && ok "a URL with a password in postgresql.conf: the reload refuses it (logged without the value)" \
  || not_ok "a URL with a password in postgresql.conf: the reload refuses it (logged without the value)"
sed -i '/^ticketres.redis_url/d' "$PGDATA/postgresql.conf"
is "$(grep -c -e "$PW" -e "$URLPW" "$LOG")" 0 "no line of the server log has either password"
reset_system
q "ALTER DATABASE $DB SET ticketres.redis_url = 'redis://127.0.0.1:$RP'" >/dev/null
q "CREATE ROLE tr_redis_nosuper_$$ LOGIN" >/dev/null
out=$(tr_psql -At -v VERBOSITY=verbose -U "tr_redis_nosuper_$$" -c "SHOW ticketres.redis_url" 2>&1)
grep -q '42501' <<<"$out" && ok "SHOW ticketres.redis_url is refused to non-superusers" \
  || not_ok "SHOW ticketres.redis_url is refused to non-superusers" "$out"
is "$(tr_psql -At -U "tr_redis_nosuper_$$" -c "SELECT count(*) FROM pg_settings WHERE name = 'ticketres.redis_url'")" 0 \
   "pg_settings hides it from non-superusers"
out=$(tr_psql -At -v VERBOSITY=verbose -U "tr_redis_nosuper_$$" -c "SET ticketres.redis_url = ''" 2>&1)
grep -q '42501' <<<"$out" && ok "non-superusers cannot turn Redis locks off" \
  || not_ok "non-superusers cannot turn Redis locks off" "$out"
is "$(call -c "SET ticketres.redis_key_prefix = 'a b'")" "22023 ticketres.redis_key_prefix must not contain spaces or control characters" \
   "a key prefix with a space is refused"
check_state "settings"

##############################################################################
# unix://: a Redis on the same machine through its Unix socket (a short
# directory under /tmp: a socket path has at most 107 bytes)
##############################################################################
SOCKD=$(mktemp -d /tmp/tr-redis.XXXXXX)
chmod 755 "$SOCKD"
tr_start_redis sock --unixsocket "$SOCKD/redis.sock" --unixsocketperm 777
S81=$(seat 10-1) S82=$(seat 10-2)   # (row 10: no other part uses it)
K81=$(key "$S81")
tr_session_open s8
tr_session_sql s8 "SET ticketres.redis_url = 'unix://$SOCKD/redis.sock?db=4'; SET ticketres.redis_on_error = deny;
  BEGIN; SELECT id FROM tr_reserve('$EV', 'u8', ARRAY['$S81']::uuid[]);"
is "$(tr_redis sock -n 4 EXISTS "$K81")" 1 "unix:// URL: an open reserve's key is in the socket's Redis, in the database of ?db="
tr_session_sql s8 "COMMIT;"
for _ in $(seq 1 40); do [ "$(tr_redis sock -n 4 EXISTS "$K81")" = 0 ] && break; sleep 0.05; done
is "$(tr_redis sock -n 4 EXISTS "$K81")" 0 "unix:// URL: released at commit"
tr_session_close s8
is "$(nres "$S81")" 1 "unix:// URL: the hold is there"
is "$(call -c "SET ticketres.redis_url = 'unix://$SOCKD/redis.sock'" -c "SELECT ticketres.redis_ping()")" "OK t" \
   "unix:// URL: redis_ping answers through the socket"
tr_redis sock -n 0 SET "$(key "$S82")" someone-else >/dev/null
is "$(call -c "SET ticketres.redis_url = 'unix://$SOCKD/redis.sock'" -c "SELECT status FROM tr_reserve('$EV', 'u8', ARRAY['$S82']::uuid[])")" \
   "PT409 seat busy" "unix:// URL: a seat whose key someone else holds is busy"
tr_redis sock -n 0 DEL "$(key "$S82")" >/dev/null
out=$(tr_psql -At -v VERBOSITY=verbose -c "SET ticketres.redis_url = 'unix://$SOCKD/no-such.sock'" \
        -c "SET ticketres.redis_on_error = deny" -c "SELECT tr_reserve('$EV', 'u8', ARRAY['$S82']::uuid[])" 2>&1)
grep -q 'PT503: lock service unavailable' <<<"$out" && grep -q 'DETAIL: .*could not connect' <<<"$out" \
  && ok "unix:// URL to a socket that does not exist: PT503 under deny, could not connect" \
  || not_ok "unix:// URL to a socket that does not exist: PT503 under deny, could not connect" "$out"
is "$(nres "$S82")" 0 "and nothing was reserved"
badurl() { tr_psql -At -v VERBOSITY=verbose -c "SET log_min_error_statement = panic" -c "SET ticketres.redis_url = '$1'" 2>&1; }
out=$(badurl "unix://redis.sock")
grep -q '22023: invalid ticketres.redis_url: a unix:// URL must name the socket by its absolute path' <<<"$out" \
  && ok "unix:// with a relative path: 22023" || not_ok "unix:// with a relative path: 22023" "$out"
out=$(badurl "unix:///tmp/$(printf 'x%.0s' $(seq 1 110)).sock")
grep -q '22023: invalid ticketres.redis_url: the socket path is longer than 107 bytes' <<<"$out" \
  && ok "unix:// with a socket path too long for sun_path: 22023" \
  || not_ok "unix:// with a socket path too long for sun_path: 22023" "$out"
out=$(badurl "unix://$SOCKD/redis.sock?database=1")
grep -q '22023: invalid ticketres.redis_url: after the socket path only ?db=<number> may follow' <<<"$out" \
  && ok "unix:// with a query other than ?db=N: 22023" || not_ok "unix:// with a query other than ?db=N: 22023" "$out"
out=$(badurl "unix://app:$URLPW@$SOCKD/redis.sock")
grep -q '22023: ticketres.redis_url must not carry a password' <<<"$out" && ! grep -q -- "$URLPW" <<<"$out" \
  && ok "unix:// with a password: refused like redis://, not echoed" \
  || not_ok "unix:// with a password: refused like redis://, not echoed" "$out"
tr_redis sock ACL SETUSER tr_sock on ">sock-$PW" '~*' '+@all' >/dev/null
is "$(call -c "SET ticketres.redis_url = 'unix://tr_sock@$SOCKD/redis.sock'" \
           -c "SET ticketres.redis_password_file = '$(pwfile sock.pw "sock-$PW")'" \
           -c "SET ticketres.redis_on_error = deny" -c "SELECT ticketres.redis_ping()")" "OK t" \
   "unix://user@/path with the user's password in the file: AUTH user password works"
tr_stop_redis sock
check_state "unix socket"

done_testing

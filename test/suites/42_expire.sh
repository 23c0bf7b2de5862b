#!/usr/bin/env bash
# 42_expire — what needs a second session: admin controls and tr_reserve say
# "seat busy" at once when another transaction holds a seat's lock; tr_expire
# skips holds whose seats are busy instead of waiting; an open tr_expire
# transaction that expired hundreds of holds does not block reserves of other
# seats nor tr_available_count. Every wait would show up as a lock_timeout
# error, so no timing is asserted.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

q() { tr_psql -At "$@"; }
APP=tr_bg_$$
# the SQLSTATE and message of a failing call, as "PT409: seat busy"
sqlerr() { q -v VERBOSITY=verbose -c "SET lock_timeout = '5s'" -c "$1" 2>&1 >/dev/null | sed -n 's/^ERROR: *//p' | head -1; }
# run SQL in a background transaction that stays open until bg_end
bg_start() {
  PGAPPNAME=$APP tr_psql -At -c "BEGIN" -c "$1" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
  BG=$!
  for _ in $(seq 1 100); do
    [ "$(q -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = '$APP' AND wait_event = 'PgSleep'")" = 1 ] && return 0
    sleep 0.1
  done
  return 1
}
bg_end() {
  q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = '$APP'" >/dev/null
  wait "$BG" 2>/dev/null
}
metric() { q -c "SELECT split_part(l, ' ', 2) FROM regexp_split_to_table(tr_metrics(), E'\n') l WHERE split_part(l, ' ', 1) = '$1'"; }
trap 'bg_end 2>/dev/null' EXIT

EV=$(q -c "SELECT id FROM tr_create_event('expire', now() + interval '1 day', now() + interval '2 days', max_seats_per_reservation => 1)")
q -c "SELECT tr_generate_seats('$EV', 'E', 10, 50, 100)" >/dev/null
seat() { q -c "SELECT id FROM ticketres.seats WHERE event_id = '$EV' AND label = 'E-$1'"; }
S1=$(seat 1-1) S2=$(seat 1-2) S3=$(seat 1-3) S4=$(seat 1-4)
R2=$(q -c "SELECT id FROM tr_reserve('$EV', 'x2', ARRAY['$S2']::uuid[])")
R3=$(q -c "SELECT id FROM tr_reserve('$EV', 'x3', ARRAY['$S3']::uuid[])")

# ---- another transaction holds the locks of S1 and S2 ----
bg_start "SELECT pg_advisory_xact_lock(k.key1, k.key2) FROM unnest(ARRAY['$S1', '$S2']::uuid[]) s, ticketres.seat_lock_keys(s) k" \
  || not_ok "background session started"
busy0=$(metric 'ticketres_reservations_total{outcome="busy"}')
is "$(sqlerr "SELECT tr_reserve('$EV', 'y', ARRAY['$S1']::uuid[])")" "PT409: seat busy" "reserve: seat busy"
is "$(metric 'ticketres_reservations_total{outcome="busy"}')" "$((busy0 + 1))" "busy outcome counted"
is "$(sqlerr "SELECT tr_block_seats('$EV', ARRAY['$S4', '$S1']::uuid[])")" "PT409: seat busy" "block: seat busy"
is "$(q -c "SELECT status FROM ticketres.seats WHERE id = '$S4'")" available "block was all or nothing"
is "$(sqlerr "SELECT tr_unblock_seats('$EV', ARRAY['$S1']::uuid[])")" "PT409: seat busy" "unblock: seat busy"
is "$(sqlerr "SELECT tr_release_reservation('$R2', 'refund')")" "PT409: seat busy" "release: seat busy"
is "$(sqlerr "SELECT tr_extend_hold('$R2', interval '5 minutes')")" "PT409: seat busy" "extend: seat busy"
is "$(q -c "SELECT count(*) FROM ticketres.audit_log WHERE event_id = '$EV'")" 0 "refused actions leave no audit row"

q -c "UPDATE ticketres.reservations SET expires_at = now() - interval '1 minute' WHERE id IN ('$R2', '$R3')"
is "$(q -c "SET lock_timeout = '5s'" -c "SELECT tr_expire()")" 1 "tr_expire skips the hold whose seat is busy"
is "$(q -c "SELECT status FROM ticketres.reservations WHERE id = '$R2'")" pending "the busy hold is left for later"
bg_end
is "$(q -c "SELECT tr_expire()")" 1 "and expired once the seat is free"

# ---- an open sweep of 300 holds does not block reserves of other seats ----
q -c "SELECT tr_reserve('$EV', 'h' || n, ARRAY[s.id]) FROM (
        SELECT id, row_number() OVER (ORDER BY label) n FROM ticketres.seats
         WHERE event_id = '$EV' AND status = 'available' AND label LIKE 'E-_-%' ORDER BY label LIMIT 300) s" >/dev/null
q -c "UPDATE ticketres.reservations SET expires_at = now() - interval '1 minute' WHERE event_id = '$EV' AND status = 'pending'"
avail=$(q -c "SELECT tr_available_count('$EV')")
bg_start "SELECT tr_expire()" || not_ok "background sweep started"
free=$(q -c "SELECT id FROM ticketres.seats WHERE event_id = '$EV' AND status = 'available' AND label LIKE 'E-10-%' LIMIT 1")
is "$(q -c "SET lock_timeout = '5s'" -c "SELECT status FROM tr_reserve('$EV', 'z', ARRAY['$free']::uuid[])")" pending \
  "reserve of another seat during an open sweep: no wait"
is "$(q -c "SET lock_timeout = '5s'" -c "SELECT tr_available_count('$EV')")" "$((avail - 1))" \
  "tr_available_count during an open sweep: no wait, exact"
is "$(q -c "SET lock_timeout = '5s'" -c "SELECT tr_health() ->> 'overdue_holds'")" 300 \
  "health during an open sweep: no wait (the sweep is not committed yet)"
swept=$(q -c "SELECT seat_ids[1] FROM ticketres.reservations WHERE event_id = '$EV' AND user_id = 'h1'")
is "$(sqlerr "SELECT tr_reserve('$EV', 'w', ARRAY['$swept']::uuid[])")" "PT409: seat busy" \
  "reserve of a seat the open sweep is freeing: seat busy at once, not a wait"
bg_end
is "$(q -c "SELECT status FROM tr_reserve('$EV', 'w', ARRAY['$swept']::uuid[])")" pending \
  "and the retry gets it (lazy expiry) once the sweep is gone"
is "$(q -c "SELECT count(*) FROM ticketres.check_invariants() WHERE violations > 0")" 0 "invariants hold"
done_testing

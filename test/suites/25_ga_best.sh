#!/usr/bin/env bash
# 25_ga_best.sh — general admission and best available under real concurrent
# connections (issue 16, DESIGN §8-§9): every scenario races separate psql
# clients released together by a start barrier (test/lib/clients.sh), then
# checks the outcomes and ticketres.check_invariants() (invariant 5: no area
# ever over capacity, tr_ga_available exact). Own database. Prints TAP.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/clients.sh"

TR_CLIENTS_DIR=${TR_RUN:-$TR_TMP}/ga-best-$$
mkdir -p "$TR_CLIENTS_DIR"
DB=tr_ga_best_$$
tr_psql -d postgres -c "CREATE DATABASE $DB" >/dev/null || tr_die "cannot create $DB"
cleanup() {
  for s in "${!TR_SESSION_FD[@]}"; do tr_session_close "$s"; done
  tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  rm -rf "$TR_CLIENTS_DIR"
}
trap cleanup EXIT
export PGDATABASE=$DB
# a call that waits must fail the suite, not hang it
export PGOPTIONS='-c statement_timeout=60s'

q() { tr_psql -At -c "$1"; }

# conc.try records the outcome of each call of multi-statement clients
tr_psql >/dev/null <<'SQL' || tr_die "suite setup failed"
CREATE EXTENSION ticketres;
CREATE SCHEMA conc;
CREATE TABLE conc.outcome (scenario text, tag text, sqlstate text, message text, result text, detail text);
CREATE FUNCTION conc.try(scenario text, tag text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; st text; m text; d text;
BEGIN
    EXECUTE stmt INTO r;
    INSERT INTO conc.outcome VALUES (scenario, tag, '00000', NULL, r);
    RETURN r;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
    INSERT INTO conc.outcome VALUES (scenario, tag, st, m, NULL, d);
    RETURN st;
END $$;
SQL

new_event() { q "SELECT id FROM tr_create_event('$1', now() + interval '1 day', now() + interval '2 days', NULL, NULL, '15 minutes', 10)"; }
# the outcomes of a scenario, "count sqlstate message" per line
tally() { q "SELECT count(*) || ' ' || sqlstate || ' ' || coalesce(message, 'ok') FROM conc.outcome WHERE scenario = '$1' GROUP BY sqlstate, message ORDER BY sqlstate, message"; }
others() { q "SELECT count(*) FROM conc.outcome WHERE scenario = '$1' AND sqlstate <> '00000' AND (sqlstate, message) NOT IN ($2)"; }
invariants() {
  is "$(q "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()")" 0 \
    "$1: ticketres.check_invariants() finds no violation"
}
live() {  # live GA tickets of an area: pending not overdue plus confirmed
  q "SELECT coalesce(sum(quantity), 0) FROM ticketres.reservations WHERE ga_area_id = '$1'
      AND (status = 'confirmed' OR (status = 'pending' AND expires_at > clock_timestamp()))"
}

##############################################################################
# 1. 200 clients buy 1-4 tickets, several times each, from an area of 500:
#    demand far above capacity; exactly 500 sold or held, every refusal a
#    clean sold out
##############################################################################
EV1=$(new_event 'GA rush')
A1=$(q "SELECT id FROM tr_add_ga_area('$EV1', 'Floor', 500, 3000)")
gen_rush() {
  local j
  for j in 1 2 3 4; do
    echo "SELECT conc.try('rush', '$1', \$\$SELECT id::text FROM tr_reserve_ga('$EV1', 'Floor', $(( ($1 + j) % 4 + 1 )), 'fan-$1')\$\$);"
  done
  echo "SELECT conc.try('rush', '$1', \$\$SELECT id::text FROM tr_reserve_ga('$EV1', 'Floor', 1, 'fan-$1')\$\$);"
  echo "SELECT conc.try('rush', '$1', \$\$SELECT id::text FROM tr_reserve_ga('$EV1', 'Floor', 1, 'fan-$1')\$\$);"
}
tr_race rush 200 gen_rush
echo "# rush outcomes: $(tally rush | paste -sd, -)"
is "$(q "SELECT count(*) FROM conc.outcome WHERE scenario = 'rush'")" 1200 "GA rush: all 1,200 calls of the 200 clients ran"
is "$(live "$A1")" 500 "GA rush: exactly 500 tickets sold or held (demand 2,400+), never one over"
is "$(q "SELECT sum(quantity) FROM ticketres.reservations WHERE ga_area_id = '$A1'")" 500 "GA rush: the reservations hold 500 tickets in all"
cmp_ok "$(q "SELECT count(*) FROM conc.outcome WHERE scenario = 'rush' AND sqlstate = 'PT409' AND message = 'sold out'")" -gt 0 \
  "GA rush: refusals are PT409 sold out"
is "$(others rush "('PT409', 'sold out')")" 0 "GA rush: no other error (no busy, no wait, no deadlock)"
is "$(q "SELECT tr_ga_available('$EV1', 'Floor')")" 0 "GA rush: tr_ga_available says 0"
is "$(q "SELECT count(*) FROM ticketres.reservations r WHERE ga_area_id = '$A1' AND total_amount <> quantity * 3000")" 0 \
  "GA rush: total_amount is quantity x price"
invariants "GA rush"

##############################################################################
# 2. GA holds expiring while others buy: 30 holds end, then 60 buyers of one
#    ticket race tr_expire on an area of 50: 50 live, 10 sold out
##############################################################################
EV2=$(new_event 'GA expiry')
A2=$(q "SELECT id FROM tr_add_ga_area('$EV2', 'Pit', 50, 100)")
q "SELECT count(tr_reserve_ga('$EV2', 'Pit', 1, 'early-' || i, NULL, '1 second')) FROM generate_series(1, 30) i" >/dev/null
is "$(q "SELECT tr_ga_available('$EV2', 'Pit')")" 20 "GA expiry: 30 of 50 held"
sleep 1.2
is "$(q "SELECT tr_ga_available('$EV2', 'Pit')")" 50 "GA expiry: once the holds end their tickets count as free at once"
gen_exp() {
  if [ "$1" -le 5 ]; then echo "SELECT conc.try('expiry', 'sweep-$1', 'SELECT tr_expire()::text');"
  else echo "SELECT conc.try('expiry', 'buy', \$\$SELECT id::text FROM tr_reserve_ga('$EV2', 'Pit', 1, 'late-$1')\$\$);"; fi
}
tr_race expiry 65 gen_exp
echo "# expiry outcomes: $(tally expiry | paste -sd, -)"
is "$(q "SELECT count(*) FROM conc.outcome WHERE scenario = 'expiry' AND tag = 'buy' AND sqlstate = '00000'")" 50 \
  "GA expiry: 50 of the 60 buyers hold a ticket (the ended holds' tickets sold again)"
is "$(q "SELECT count(*) FROM conc.outcome WHERE scenario = 'expiry' AND tag = 'buy' AND sqlstate = 'PT409' AND message = 'sold out'")" 10 \
  "GA expiry: the other 10 are told sold out"
is "$(others expiry "('PT409', 'sold out')")" 0 "GA expiry: no other error"
echo "# expiry details: $(q "SELECT string_agg(DISTINCT detail, ' | ') FROM conc.outcome WHERE scenario = 'expiry'")"
is "$(live "$A2")" 50 "GA expiry: 50 live tickets, capacity 50"
is "$(q "SELECT count(*) FROM ticketres.reservations WHERE ga_area_id = '$A2' AND user_id LIKE 'early-%' AND status = 'pending'")" 0 \
  "GA expiry: every ended hold was expired (lazily or by the sweep)"
invariants "GA expiry"

##############################################################################
# 3. confirm racing expiry on GA holds: each hold ends confirmed or expired,
#    never both, and the area's count stays exact
##############################################################################
EV3=$(new_event 'GA confirm race')
A3=$(q "SELECT id FROM tr_add_ga_area('$EV3', 'Lawn', 100, 100)")
q "SELECT count(tr_reserve_ga('$EV3', 'Lawn', 2, 'c-' || i, NULL, '6 seconds')) FROM generate_series(1, 30) i" >/dev/null
START3=$(q "SELECT min(expires_at) FROM ticketres.reservations WHERE ga_area_id = '$A3'")
gen_confirm() {  # 5 sweepers around the first expiry, 30 owners confirming near their own
  if [ "$1" -le 5 ]; then
    echo "SELECT pg_sleep_until('$START3'::timestamptz - interval '20 ms');"
    for _ in $(seq 1 15); do
      echo "SELECT conc.try('confirm', 'sweep', 'SELECT tr_expire()::text');"
      echo "SELECT pg_sleep(0.01);"
    done
  else
    local u=$(( $1 - 5 ))
    echo "SELECT pg_sleep_until((SELECT expires_at FROM ticketres.reservations WHERE user_id = 'c-$u') + interval '$(( (u % 9) * 50 - 300 )) ms');"
    echo "SELECT conc.try('confirm', 'c-$u', \$\$SELECT status::text FROM tr_confirm((SELECT id FROM ticketres.reservations WHERE user_id = 'c-$u'), 'c-$u')\$\$);"
  fi
}
tr_race confirm 35 gen_confirm
echo "# confirm race: race over $(q "SELECT round(extract(epoch FROM clock_timestamp() - '$START3'::timestamptz)::numeric, 2)") s after the first hold ended"
echo "# confirm race outcomes: $(tally confirm | paste -sd, -)"
is "$(others confirm "('PT410', 'hold expired'), ('PT409', 'seat busy'), ('PT409', 'reservation not pending')")" 0 \
  "GA confirm race: a confirm either succeeds or is told hold expired / seat busy / not pending"
is "$(q "SELECT count(*) FROM conc.outcome o JOIN ticketres.reservations r ON r.user_id = o.tag
          WHERE o.scenario = 'confirm' AND (o.sqlstate = '00000') <> (r.status = 'confirmed')")" 0 \
  "GA confirm race: a hold is confirmed exactly when its confirm said so"
q "SELECT tr_expire()" >/dev/null
is "$(q "SELECT count(*) FROM ticketres.reservations WHERE ga_area_id = '$A3' AND status NOT IN ('confirmed', 'expired')")" 0 \
  "GA confirm race: every hold ended confirmed or expired"
is "$(q "SELECT tr_ga_available('$EV3', 'Lawn')")" "$(( 100 - $(live "$A3") ))" "GA confirm race: tr_ga_available = capacity - confirmed"
invariants "GA confirm race"

##############################################################################
# 4. 40 clients ask best-available pairs on 100 seats (5 rows of 20): 40 holds,
#    80 distinct seats, each pair side by side in one row, no seat busy
##############################################################################
EV4=$(new_event 'Best pairs')
q "SELECT tr_generate_seats('$EV4', 'S', 5, 20, 500)" >/dev/null
gen_pairs() { echo "SELECT conc.try('pairs', '$1', \$\$SELECT id::text FROM tr_reserve_best('$EV4', 2, 'pair-$1')\$\$);"; }
tr_race pairs 40 gen_pairs
echo "# best pairs outcomes: $(tally pairs | paste -sd, -)"
is "$(q "SELECT count(*) FROM conc.outcome WHERE scenario = 'pairs' AND sqlstate = '00000'")" 40 "best pairs: all 40 clients hold a pair"
is "$(others pairs "('', '')")" 0 "best pairs: no error at all (no seat busy)"
is "$(q "SELECT count(DISTINCT s) || '/' || count(s) FROM ticketres.reservations r, unnest(r.seat_ids) s WHERE r.event_id = '$EV4'")" 80/80 \
  "best pairs: 80 distinct seats in 40 holds"
is "$(q "SELECT count(*) FROM (SELECT r.id FROM ticketres.reservations r JOIN ticketres.seats s ON s.id = ANY (r.seat_ids)
          WHERE r.event_id = '$EV4' GROUP BY r.id
         HAVING count(DISTINCT s.row_label) <> 1 OR max(s.seat_number) - min(s.seat_number) <> 1) x")" 0 \
  "best pairs: each pair is two adjacent seats of one row"
invariants "best pairs"

##############################################################################
# 5. best-available and explicit tr_reserve buyers on one event at once
##############################################################################
EV5=$(new_event 'Mixed')
q "SELECT tr_generate_seats('$EV5', 'S', 5, 20, 500)" >/dev/null
# explicit buyers: 20 disjoint pairs of rows 4-5; best buyers: 20 pairs (row 3 spare)
q "CREATE TABLE conc.map5 AS SELECT row_number() OVER (ORDER BY row_label, seat_number) AS n, id
     FROM ticketres.seats WHERE event_id = '$EV5' AND row_label IN ('4', '5')" >/dev/null
gen_mixed() {
  if [ $(( $1 % 2 )) = 0 ]; then
    echo "SELECT conc.try('mixed', 'best', \$\$SELECT id::text FROM tr_reserve_best('$EV5', 2, 'mb-$1')\$\$);"
  else
    echo "SELECT conc.try('mixed', 'explicit', \$\$SELECT id::text FROM tr_reserve('$EV5', 'me-$1', ARRAY(SELECT id FROM conc.map5 WHERE n IN ($1, $1 + 1)))\$\$);"
  fi
}
tr_race mixed 40 gen_mixed
echo "# mixed outcomes: $(tally mixed | paste -sd, -)"
is "$(q "SELECT count(*) FROM conc.outcome WHERE scenario = 'mixed' AND tag = 'best' AND sqlstate <> '00000'")" 0 \
  "mixed: every best-available buyer holds a pair (never seat busy, never not enough seats)"
is "$(q "SELECT count(*) FROM conc.outcome WHERE scenario = 'mixed' AND tag = 'explicit' AND sqlstate NOT IN ('00000', 'PT409')")" 0 \
  "mixed: explicit buyers hold their seats or get PT409"
is "$(q "SELECT count(*) FROM (SELECT s FROM ticketres.reservations r, unnest(r.seat_ids) s WHERE r.event_id = '$EV5' AND r.status = 'pending' GROUP BY s HAVING count(*) > 1) x")" 0 \
  "mixed: no seat is in two holds"
invariants "mixed"

done_testing

#!/usr/bin/env bash
# 55_bench_baseline — the benchmark's PL/pgSQL baseline (test/bench/baseline/
# plpgsql.sql) keeps the contract it is compared on, so that a ratio against
# it means something: a hold, an idempotent replay, a reused key refused, a
# held seat refused with 409, exactly one hold when 20 clients race for one
# seat, lazy expiry, confirm and cancel, and its invariant check at zero.
# Loaded into a database of its own on the test cluster; a few seconds.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

DB=tr_baseline_$$
tr_psql -d postgres -c "CREATE DATABASE $DB" >/dev/null || { not_ok "create database"; done_testing; exit; }
trap 'tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1' EXIT
tr_psql -d "$DB" -f "$TR_ROOT/test/bench/baseline/plpgsql.sql" >/dev/null && ok "baseline loads" || not_ok "baseline loads"
q() { tr_psql -d "$DB" -At -c "SET search_path = baseline, public" -c "$1" 2>&1; }
err() { tr_psql -d "$DB" -At -v VERBOSITY=verbose -c "SET search_path = baseline, public" -c "$1" 2>&1 \
          | sed -n 's/^ERROR: *//p' | head -1; }

EV=$(q "SELECT id FROM tr_create_event('b', now() + interval '1 day', now() + interval '2 days')")
q "SELECT tr_generate_seats('$EV', 'A', 1, 3, 100)" >/dev/null
S1=$(q "SELECT id FROM seats WHERE label = 'A-1-1'"); S2=$(q "SELECT id FROM seats WHERE label = 'A-1-2'")
S3=$(q "SELECT id FROM seats WHERE label = 'A-1-3'")

R1=$(q "SELECT id FROM tr_reserve('$EV', 'alice', ARRAY['$S1', '$S2']::uuid[], 'k1')")
is "$(q "SELECT status || ' ' || total_amount FROM reservations WHERE id = '$R1'")" "pending 200" "reserve holds two seats"
is "$(q "SELECT id FROM tr_reserve('$EV', 'alice', ARRAY['$S2', '$S1']::uuid[], 'k1')")" "$R1" "same key and request: the original"
is "$(err "SELECT tr_reserve('$EV', 'alice', ARRAY['$S3']::uuid[], 'k1')")" "PT422: idempotency key reused" "same key, other seats: PT422"
is "$(err "SELECT tr_reserve('$EV', 'bob', ARRAY['$S1']::uuid[])")" "PT409: seat unavailable" "held seat: PT409"

# 20 clients race for S3: one hold, 19 clean 409s
for i in $(seq 1 20); do
  (tr_psql -d "$DB" -At -v VERBOSITY=verbose -c "SET search_path = baseline, public" \
     -c "SELECT 'OK' FROM tr_reserve('$EV', 'u$i', ARRAY['$S3']::uuid[])" 2>&1 | sed 's/^ERROR: *//' >"$TR_TMP/bl_$$_$i") &
done
wait
is "$(cat "$TR_TMP"/bl_$$_* | grep -c '^OK$')" 1 "race on one seat: exactly one hold"
is "$(cat "$TR_TMP"/bl_$$_* | grep -cE '^PT409: seat (unavailable|busy)$')" 19 "race on one seat: every other call a 409"
rm -f "$TR_TMP"/bl_$$_*

RC=$(q "SELECT reservation_id FROM seats WHERE id = '$S3'"); UC=$(q "SELECT user_id FROM reservations WHERE id = '$RC'")
is "$(q "SELECT status FROM tr_confirm('$RC', '$UC')")" confirmed "confirm"
is "$(err "SELECT tr_cancel('$R1', 'bob')")" "PT404: reservation not found" "someone else's reservation: PT404"
is "$(q "SELECT status FROM tr_cancel('$R1', 'alice')")" cancelled "cancel"
is "$(q "SELECT count(*) FROM seats WHERE status = 'available'")" 2 "cancel gives the seats back"

R2=$(q "SELECT id FROM tr_reserve('$EV', 'carol', ARRAY['$S1']::uuid[], NULL, interval '1 second')")
sleep 1.2
R3=$(q "SELECT id FROM tr_reserve('$EV', 'dave', ARRAY['$S1']::uuid[])")
is "$(q "SELECT status FROM reservations WHERE id = '$R2'")" expired "lazy expiry: an ended hold is expired by the next reserve"
is "$(q "SELECT status FROM reservations WHERE id = '$R3'")" pending "lazy expiry: the seat is held again"
q "SELECT tr_reserve('$EV', 'erin', ARRAY['$S2']::uuid[], NULL, interval '1 second')" >/dev/null
sleep 1.2
is "$(tr_psql -d "$DB" -At -c "CALL baseline.tr_expire(0, 100)" 2>&1)" 1 "expiry sweep expires the overdue hold"
is "$(q "SELECT coalesce(sum(violations), 0) FROM check_invariants()")" 0 "baseline invariants hold"
done_testing

#!/usr/bin/env bash
# 60_torture.sh — sustained contention (issue 7): TR_TORTURE_CLIENTS (16)
# clients for TR_TORTURE_SECONDS (45) on one event of 40 seats, mixing
# reserve (random seat sets, reused idempotency keys, 1-2 s holds), confirm,
# cancel, tr_expire and the admin actions (test/lib/torture.sql). Every
# answer must be in the catalogue; afterwards the invariants hold, the exact
# count equals the rows, and every acknowledged confirmation is confirmed.
# test/long.sh runs it for minutes. Prints TAP.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/torture.sh"

CLIENTS=${TR_TORTURE_CLIENTS:-16}
SECONDS_RUN=${TR_TORTURE_SECONDS:-45}
TT_DIR=${TR_RUN:-$TR_TMP}/torture-$$
mkdir -p "$TT_DIR"
DB=tr_torture_$$
tr_psql -d postgres -c "CREATE DATABASE $DB" >/dev/null || tr_die "cannot create $DB"
trap 'tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null; rm -rf "$TT_DIR"' EXIT
export PGDATABASE=$DB
tt_setup 40 || tr_die "torture setup failed"

tt_start load "$CLIENTS" "$SECONDS_RUN"
# meanwhile, the count must agree with the rows even under load
mid=()
for _ in 1 2 3; do
  sleep "$((SECONDS_RUN / 4))"
  mid+=("$(tt_q "SELECT tr_truth.count_diff('$TT_EV')")")
done
tt_wait load
is "$TT_HUNG" 0 "torture: no client hung (each ended within its run time + 60 s)"
is "$TT_FAILED" 0 "torture: every client ran to the end (no error escaped an operation)"
is "${mid[*]}" "equal equal equal" "torture: tr_available_count equals the rows while the load runs"
is "$(tt_unexpected load)" 0 "torture: no answer outside the catalogue (22023, PT403/404/409/410/422/503)"
is "$(tt_q "SELECT count(*) FROM torture.tally WHERE NOT torture.in_catalogue(sqlstate)")" 0 \
  "torture: the tally holds catalogue outcomes only"
for op in reserve confirm cancel expire block unblock release extend read; do
  cmp_ok "$(tt_q "SELECT coalesce(sum(n), 0) FROM torture.tally WHERE op = '$op' AND sqlstate = '00000'")" -gt 0 \
    "torture: some $op calls succeeded (the mix really ran)"
done
cmp_ok "$(tt_q "SELECT coalesce(sum(n), 0) FROM torture.tally WHERE op = 'reserve' AND sqlstate = 'PT409'")" -gt 0 \
  "torture: reserves ran into taken seats (contention was real)"
tt_check torture
tt_acks_check load
is "$(tt_q "SELECT count(*) FROM (SELECT user_id, idempotency_key FROM ticketres.reservations
             WHERE idempotency_key IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
  "torture: one reservation per (user, idempotency key)"
is "$(tt_q "SELECT count(*) FROM ticketres.reservations r WHERE r.status = 'pending'
             AND r.expires_at > r.created_at + interval '2 hours'")" 0 \
  "torture: no hold was extended beyond 2 hours"
echo "# torture: $CLIENTS clients, $SECONDS_RUN s, 40 seats"
tt_figures torture
done_testing

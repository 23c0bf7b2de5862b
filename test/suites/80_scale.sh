#!/usr/bin/env bash
# 80_scale.sh — scale-out through the router (issue 15, DESIGN §10), on a
# cluster of its own: test/scale/cluster.sh up 2 (a pg_auto_failover monitor,
# 2 shards each a primary with a synchronous standby, a ticketres_router
# database over PL/Proxy).
#   1. the cluster: the lines `up` prints, synchronous replication on every
#      shard, the router's row types equal to the shards' tables;
#   2. placement: 40 events through the router, each on exactly one shard,
#      every shard used, each where the router's placement says;
#   3. the journey through the router: seats, reserve, confirm, cancel,
#      expire, lists merged from every shard, JWT identity;
#   4. errors: SQLSTATE, message, detail and hint through the router equal
#      what the event's shard says for the same call;
#   4b. general admission and best available through the router (an area
#      id names no shard: tr_update_ga_area asks every shard);
#   5. 50 concurrent buyers of one seat through the router: one hold;
#   6. health and metrics for the cluster; invariants on every shard.
# Killing a primary under load is test/scale/failover.sh (about 2 minutes).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
export TR_SCALE=${TR_RUN:-$TR_TMP}/scale-$$
. "$TR_ROOT/test/scale/lib.sh"
CLUSTER=$TR_ROOT/test/scale/cluster.sh
WORK=$TR_SCALE-work
mkdir -p "$WORK"
trap '"$CLUSTER" down >/dev/null 2>&1; rm -rf "$WORK"' EXIT

out=$("$CLUSTER" up 2 2>"$WORK/up.log") || { cat "$WORK/up.log" >&2; tr_die "cluster.sh up 2 failed"; }
echo "$out" | sed 's/^/# /'
grep -Eq '^router: host=127\.0\.0\.1 port=[0-9]+ dbname=[a-z_]+ user=[a-z_]+$' <<<"$out" \
  && ok "cluster.sh up prints one router line" || not_ok "cluster.sh up prints one router line" "$out"
is "$(grep -Ec '^shard [01]: primary-pid=[0-9]+$' <<<"$out")" 2 "cluster.sh up prints one primary-pid line per shard"
sc_load
R=$ROUTER_PORT
P0=$(sc_primary_port 0); P1=$(sc_primary_port 1)
pid0=$(sed -n 's/^shard 0: primary-pid=//p' <<<"$out")
is "$("$CLUSTER" primary-pid 0)" "$pid0" "cluster.sh primary-pid 0 prints the same pid"
is "$(ps -o comm= -p "$pid0")" postgres "that pid is a running postmaster"
rq() { sc_q "$R" "$TR_SCALE_DB" "$@"; }
sq() { local k=$1; shift; sc_q "$(sc_primary_port "$k")" "$TR_SCALE_DB" "$@"; }

# --- 1. the cluster -----------------------------------------------------------
for k in 0 1; do
  is "$(sq $k "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND sync_state IN ('sync', 'quorum')")" 1 \
    "shard $k: one synchronous standby streams from the primary"
  is "$(sq $k "SHOW synchronous_commit")" on "shard $k: synchronous_commit is on (a commit waits for the standby's flush)"
done
# by base type: a shard's columns with rules are domains over these (0.2),
# which the shard checks; the router's row types only carry the values
cols="SELECT string_agg(a.attname || ' ' || format_type(CASE t.typtype WHEN 'd' THEN t.typbasetype ELSE t.oid END,
                                                       a.atttypmod), ', ' ORDER BY a.attnum)
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
       WHERE a.attrelid = 'ticketres.%s'::regclass AND a.attnum > 0 AND NOT a.attisdropped"
for t in events seats reservations ga_areas ga_area_availability; do
  is "$(rq "$(printf "$cols" "$t")")" "$(sq 0 "$(printf "$cols" "$t")")" "router type ticketres.$t has the shard's columns"
done
is "$(rq "SELECT count(*) FROM pg_proc WHERE proname LIKE 'tr\_%' AND pronamespace = 'public'::regnamespace")" \
   "$(sq 0 "SELECT count(*) FROM pg_proc WHERE proname LIKE 'tr\_%' AND pronamespace = 'public'::regnamespace")" \
   "the router has as many tr_* functions as a shard"
is "$(rq "SELECT string_agg(p.oid::regprocedure::text || ' ' || pg_get_function_result(p.oid), ', ' ORDER BY 1)
            FROM pg_proc p WHERE proname LIKE 'tr\_%' AND pronamespace = 'public'::regnamespace")" \
   "$(sq 0 "SELECT string_agg(p.oid::regprocedure::text || ' ' || pg_get_function_result(p.oid), ', ' ORDER BY 1)
            FROM pg_proc p WHERE proname LIKE 'tr\_%' AND pronamespace = 'public'::regnamespace")" \
   "router and shard tr_* functions have the same arguments and results"
is "$(rq "SELECT string_agg(p.proname || '(' || pg_get_function_arguments(p.oid) || ')', ', ' ORDER BY 1)
            FROM pg_proc p WHERE proname LIKE 'tr\_%' AND pronamespace = 'public'::regnamespace")" \
   "$(sq 0 "SELECT string_agg(p.proname || '(' || pg_get_function_arguments(p.oid) || ')', ', ' ORDER BY 1)
            FROM pg_proc p WHERE proname LIKE 'tr\_%' AND pronamespace = 'public'::regnamespace")" \
   "router and shard tr_* functions have the same argument names and defaults"

# --- 2. placement ---------------------------------------------------------------
rq "SELECT (tr_create_event('scale ' || i, now() + i * interval '1 hour', now() + i * interval '1 hour' + interval '2 hours')).id
      FROM generate_series(1, 40) i" >"$WORK/events" || tr_die "creating events failed"
is "$(wc -l <"$WORK/events")" 40 "40 events created through the router"
ids=$(sed "s/.*/'&'/" "$WORK/events" | paste -sd,)
n0=$(sq 0 "SELECT count(*) FROM ticketres.events WHERE id IN ($ids)")
n1=$(sq 1 "SELECT count(*) FROM ticketres.events WHERE id IN ($ids)")
is "$((n0 + n1))" 40 "each event is on exactly one shard ($n0 on shard 0, $n1 on shard 1)"
cmp_ok "$n0" -ge 1 "shard 0 holds some of them"
cmp_ok "$n1" -ge 1 "shard 1 holds some of them"
wrong=0
for k in 0 1; do
  for id in $(sq $k "SELECT id FROM ticketres.events WHERE id IN ($ids)"); do
    [ "$(rq "SELECT ticketres_router.shard_of('$id')")" = "$k" ] || wrong=$((wrong + 1))
  done
done
is "$wrong" 0 "every event is on the shard the router's placement names"
is "$(rq "SELECT count(*) FROM ticketres_router.placement p JOIN unnest('{$(paste -sd, "$WORK/events")}'::uuid[]) e(id)
            ON p.event_id = e.id WHERE p.shard = ticketres_router.tail(e.id) % 2")" 40 \
   "placement is the last 4 bytes of the id mod the number of shards"
is "$(rq "SELECT count(*) FROM tr_list_events(1000) WHERE id IN ($ids)")" 40 "tr_list_events through the router shows all 40"
is "$(rq "SELECT string_agg(id::text, ',') FROM tr_list_events(7, 5)")" \
   "$(rq "SELECT string_agg(id::text, ',') FROM (SELECT * FROM ticketres_router.px_list_events(1000, 0) e
            ORDER BY e.starts_at, e.id LIMIT 7 OFFSET 5) x")" \
   "tr_list_events(7, 5) is rows 6 to 12 of every shard's events in (starts_at, id) order"

# --- 3. the journey -------------------------------------------------------------
E0=$(sq 0 "SELECT id FROM ticketres.events WHERE id IN ($ids) LIMIT 1")
E1=$(sq 1 "SELECT id FROM ticketres.events WHERE id IN ($ids) LIMIT 1")
is "$(rq "SELECT tr_generate_seats('$E0', 'A', 2, 10, 500) + tr_generate_seats('$E1', 'B', 2, 10, 700)")" 40 \
   "tr_generate_seats through the router (20 seats on each shard)"
is "$(rq "SELECT tr_add_seats('$E0', '[{\"label\": \"VIP-1\", \"price\": 9000}]')")" 1 "tr_add_seats through the router"
is "$(rq "SELECT tr_available_count('$E0') || ' ' || tr_available_count('$E1')")" "21 20" "tr_available_count per event"
seat() { rq "SELECT id FROM tr_list_seats('$1', 'available') ORDER BY label LIMIT 1 OFFSET ${2:-0}"; }
S0=$(seat "$E0"); S1=$(seat "$E1")
R0=$(rq "SELECT id FROM tr_reserve('$E0', 'alice', ARRAY['$S0']::uuid[])")
R1=$(rq "SELECT id FROM tr_reserve('$E1', 'alice', ARRAY['$S1']::uuid[], 'key-1')")
[ -n "$R0" ] && [ -n "$R1" ] && ok "tr_reserve through the router on both shards" || not_ok "tr_reserve through the router on both shards"
is "${R0: -8}" "${E0: -8}" "the reservation id ends with its event id's last 4 bytes"
is "$(rq "SELECT id FROM tr_reserve('$E1', 'alice', ARRAY['$S1']::uuid[], 'key-1')")" "$R1" "an idempotent retry returns the same reservation"
is "$(rq "SELECT status FROM tr_confirm('$R0', 'alice')")" confirmed "tr_confirm by reservation id reaches shard 0"
is "$(rq "SELECT status FROM tr_cancel('$R1', 'alice')")" cancelled "tr_cancel by reservation id reaches shard 1"
is "$(sq 0 "SELECT status FROM ticketres.reservations WHERE id = '$R0'")" confirmed "the confirmation is on shard 0"
is "$(sq 1 "SELECT status FROM ticketres.reservations WHERE id = '$R1'")" cancelled "the cancellation is on shard 1"
is "$(rq "SELECT status || ' ' || total_amount FROM tr_get_reservation('$R0', 'alice')")" "confirmed 500" "tr_get_reservation"
X1=$(rq "SELECT id FROM tr_reserve('$E1', 'alice', ARRAY['$(seat "$E1" 3)']::uuid[], NULL, '1 second')")
sleep 1.5
is "$(rq "SELECT status FROM tr_get_reservation('$X1', 'alice')")" expired "a hold past expires_at reads as expired"
cmp_ok "$(rq "SELECT tr_expire()")" -ge 1 "tr_expire through the router sweeps every shard"
is "$(rq "SELECT string_agg(shard || ':' || (error IS NULL), ',') FROM ticketres_router.expire_by_shard()")" "0:true,1:true" \
   "expire_by_shard reports each shard"
is "$(rq "SELECT string_agg(id::text, ',') FROM tr_list_reservations('alice', 10, 0)")" \
   "$(rq "SELECT string_agg(id::text, ',') FROM (SELECT * FROM ticketres_router.px_list_reservations('alice', 10, 0) r
            ORDER BY r.created_at DESC, r.id) x")" "tr_list_reservations merges both shards newest first"
is "$(rq "SELECT count(DISTINCT event_id) FROM tr_list_reservations('alice', 10, 0)")" 2 "alice's reservations come from both shards"
is "$(rq "SELECT id FROM tr_list_reservations('alice', 1, 1)")" \
   "$(rq "SELECT id FROM tr_list_reservations('alice', 10, 0) OFFSET 1 LIMIT 1")" "tr_list_reservations applies lim and off after the merge"
jwt="SELECT set_config('request.jwt.claims', '{\"sub\": \"bob\", \"role\": \"web_user\"}', false);"
RB=$(sc_psql "$R" -d "$TR_SCALE_DB" -At -c "$jwt" -c "SELECT id FROM tr_reserve('$E0', NULL, ARRAY['$(seat "$E0")']::uuid[])" | tail -1)
is "$(sq 0 "SELECT user_id FROM ticketres.reservations WHERE id = '$RB'")" bob "with JWT claims on the router, the JWT's sub is the buyer"
is "$(rq "SELECT count(*) FROM tr_list_seats('$E0') WHERE reservation_id IS NOT NULL")" 0 "tr_list_seats never shows reservation ids"

# --- 4. errors --------------------------------------------------------------------
# the error of a call as "sqlstate|message|detail|hint", on the router or a shard
errq() {
  sc_psql "$1" -d "$TR_SCALE_DB" -At -c "${3:-}" -c "DO \$\$ DECLARE a text; b text; c text; d text; BEGIN
      PERFORM * FROM $2; RAISE WARNING 'no error';
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS a = RETURNED_SQLSTATE, b = MESSAGE_TEXT, c = PG_EXCEPTION_DETAIL, d = PG_EXCEPTION_HINT;
      RAISE WARNING '%|%|%|%', a, b, c, d;
    END \$\$" 2>&1 | sed -n 's/^WARNING:  //p'
}
same_error() {  # SHARD CALL WANT_PREFIX NAME [SETUP]
  local via_router direct
  via_router=$(errq "$R" "$2" "${5:-}"); direct=$(errq "$(sc_primary_port "$1")" "$2" "${5:-}")
  is "$via_router" "$direct" "$4: the router's error equals the shard's"
  [[ $via_router == "$3"* ]] && ok "$4: $3" || not_ok "$4: $3" "got '$via_router'"
}
Z=00000000-0000-4000-8000-000000000000
same_error 0 "tr_get_event('$Z')" "PT404|event not found|No event has id $Z.|" "unknown event"
same_error 0 "tr_reserve('$E0', 'carol', ARRAY['$S0']::uuid[])" "PT409|seat unavailable|" "sold seat"
same_error 0 "tr_confirm('$R0', 'alice')" "PT409|reservation not pending|" "confirm twice"
same_error 0 "tr_confirm('$R0', 'mallory')" "PT404|reservation not found|" "someone else's reservation"
same_error 1 "tr_confirm('$X1', 'alice')" "PT410|hold expired|" "confirm a swept hold"
same_error 1 "tr_reserve('$E1', 'alice', ARRAY['$(seat "$E1" 7)']::uuid[], 'key-1')" "PT422|idempotency key reused|" "idempotency key reused"
same_error 0 "tr_reserve('$E0', NULL, ARRAY['$S0']::uuid[])" "22023|user_id must not be null|" "no user"
same_error 0 "tr_list_events(0)" "22023|lim must be between 1 and 1000|" "bad lim"
same_error 0 "tr_list_reservations('alice', 10, -1)" "22023|off must not be negative|" "bad off"
same_error 0 "tr_update_event('$E0', ends_at => now() - interval '10 years')" "22023|" "bad event update"
same_error 0 "tr_reserve('$E0', 'carol', ARRAY['$S0']::uuid[])" "PT403|user mismatch|user_id is \"carol\" but the JWT is for \"bob\".|Omit user_id" \
  "JWT user mismatch" "$jwt"
same_error 0 "tr_delete_event('$E0')" "PT409|event has reservations|" "delete an event with reservations"
X2=$(rq "SELECT id FROM tr_reserve('$E1', 'dave', ARRAY['$(seat "$E1" 5)']::uuid[], NULL, '1 second')")
sleep 1.2
same_error 1 "tr_confirm('$X2', 'dave')" "PT410|hold expired|" "confirm after the hold ended"

# admin calls by event and by reservation id
BS=$(seat "$E1" 13)
is "$(rq "SELECT tr_block_seats('$E1', ARRAY['$BS']::uuid[], 'camera')")" 1 "tr_block_seats through the router"
is "$(sq 1 "SELECT status FROM ticketres.seats WHERE id = '$BS'")" blocked "the seat is blocked on shard 1"
is "$(rq "SELECT tr_unblock_seats('$E1', ARRAY['$BS']::uuid[])")" 1 "tr_unblock_seats through the router"
X3=$(rq "SELECT id FROM tr_reserve('$E1', 'erin', ARRAY['$BS']::uuid[])")
is "$(rq "SELECT expires_at > now() + interval '20 minutes' FROM tr_extend_hold('$X3', interval '10 minutes', 'payment')")" t \
   "tr_extend_hold by reservation id"
is "$(rq "SELECT status FROM tr_release_reservation('$R0', 'refund')")" cancelled "tr_release_reservation by reservation id (a refund)"
is "$(sq 0 "SELECT count(*) FROM ticketres.audit_log WHERE reservation_id = '$R0'")" 1 "the release is in shard 0's audit log"

# --- 4b. general admission and best available (DESIGN §8, §9) through the router ----------
E2=$(rq "SELECT (tr_create_event('ga and best', now() + interval '1 day', now() + interval '1 day 3 hours')).id")
k2=$(rq "SELECT ticketres_router.shard_of('$E2')")
GA=$(rq "SELECT id FROM tr_add_ga_area('$E2', 'floor', 100, 2500)")
is "$(sq "$k2" "SELECT event_id || ' ' || capacity FROM ticketres.ga_areas WHERE id = '$GA'")" "$E2 100" \
   "tr_add_ga_area through the router: the area is on the event's shard"
is "$(rq "SELECT tr_ga_available('$E2', 'floor')")" 100 "tr_ga_available through the router"
G1=$(rq "SELECT id FROM tr_reserve_ga('$E2', 'floor', 3, 'gina')")
is "$(rq "SELECT ga_area_id || ' ' || quantity || ' ' || total_amount || ' ' || cardinality(seat_ids) FROM tr_get_reservation('$G1', 'gina')")" \
   "$GA 3 7500 0" "tr_reserve_ga through the router: 3 tickets of the area, no seats"
is "${G1: -8}" "${E2: -8}" "a GA reservation id ends with its event id's last 4 bytes"
is "$(rq "SELECT status FROM tr_confirm('$G1', 'gina')")" confirmed "tr_confirm of a GA reservation through the router"
is "$(rq "SELECT name || ' ' || available FROM tr_list_ga_areas('$E2')")" "floor 97" "tr_list_ga_areas through the router"
GB=$(sc_psql "$R" -d "$TR_SCALE_DB" -At -c "$jwt" -c "SELECT id FROM tr_reserve_ga('$E2', 'floor', 2)" | tail -1)
is "$(sq "$k2" "SELECT user_id || ' ' || quantity FROM ticketres.reservations WHERE id = '$GB'")" "bob 2" \
   "tr_reserve_ga with JWT claims on the router: the JWT's sub is the buyer"
rq "SELECT tr_generate_seats('$E2', 'C', 1, 6, 900)" >/dev/null
BB=$(rq "SELECT id FROM tr_reserve_best('$E2', 2, 'hank')")
is "$(sq "$k2" "SELECT count(DISTINCT s.row_label) || ' ' || max(s.seat_number) - min(s.seat_number) || ' ' || count(*)
                 FROM ticketres.reservations r JOIN ticketres.seats s ON s.id = ANY (r.seat_ids) WHERE r.id = '$BB'")" "1 1 2" \
   "tr_reserve_best of 2 through the router: 2 seats together in one row"
is "$(rq "SELECT capacity || ' ' || price FROM tr_update_ga_area('$GA', 150, 3000)")" "150 3000" \
   "tr_update_ga_area through the router (on whichever shard has the area)"
is "$(rq "SELECT tr_ga_available('$E2', 'floor')")" 145 "the new capacity counts: 150 - 5 held or sold"
same_error "$k2" "tr_update_ga_area('$Z', 10)" "PT404|area not found|No general admission area has id $Z.|" "unknown GA area"
same_error "$k2" "tr_update_ga_area('$GA', 1)" "PT409|capacity below sold|" "capacity below sold"
same_error "$k2" "tr_update_ga_area(NULL)" "22023|area_id must not be null|" "GA area update without an id"
same_error "$k2" "tr_reserve_ga('$E2', 'balcony', 1, 'gina')" "PT404|area not found|" "unknown GA area name"
same_error "$k2" "tr_reserve_best('$E2', 9, 'gina')" "PT" "best available beyond the seats"

# --- 5. 50 buyers, one seat ---------------------------------------------------------
HOT=$(seat "$E1" 9)
for i in $(seq 1 50); do
  ( sc_psql "$R" -d "$TR_SCALE_DB" -At -c "SELECT 'ok ' || id FROM tr_reserve('$E1', 'buyer$i', ARRAY['$HOT']::uuid[])" \
      >"$WORK/buyer$i.out" 2>&1 ) &
done
wait
is "$(cat "$WORK"/buyer*.out | grep -c '^ok ')" 1 "50 concurrent buyers of one seat through the router: exactly one hold"
is "$(grep -L '^ok ' "$WORK"/buyer*.out | xargs grep -L 'ERROR:  seat unavailable\|ERROR:  seat busy' | wc -l)" 0 \
   "the 49 others were told seat unavailable or seat busy"
is "$(sq 1 "SELECT count(*) FROM ticketres.reservations WHERE '$HOT' = ANY (seat_ids) AND status = 'pending'")" 1 \
   "shard 1 holds one pending reservation of the seat"

# --- 6. health, metrics, invariants ------------------------------------------------------
is "$(rq "SELECT tr_health() ->> 'status'")" ok "tr_health through the router: ok"
sq 1 "SELECT tr_unschedule_expiry()" >/dev/null
is "$(rq "SELECT (tr_health() ->> 'status') || ' ' || (tr_health() ->> 'degraded_shards')")" "degraded [1]" \
   "a shard without its expiry job: the cluster is degraded and names shard 1"
sq 1 "SELECT tr_schedule_expiry()" >/dev/null
m=$(rq "SELECT tr_metrics()")
grep -q '^ticketres_confirmations_total{shard="0"} ' <<<"$m" && grep -q '^ticketres_confirmations_total{shard="1"} ' <<<"$m" \
  && ok "tr_metrics labels every shard's samples" || not_ok "tr_metrics labels every shard's samples"
is "$(grep '^# TYPE' <<<"$m" | sort | uniq -d | wc -l)" 0 "tr_metrics: each metric family once"
for k in 0 1; do
  is "$(sq $k "SELECT coalesce(sum(violations), 0) FROM ticketres.check_invariants()")" 0 "shard $k: every invariant holds"
done

# --- 7. HTTP: PostgREST in front of the router ----------------------------------------
# a second router database with the API in schema api, as the demo's HTTP
# journey wants it; its placement rebuilt from the shards
. "$TR_ROOT/test/lib/http.sh"
tr_ensure_postgrest
SECRET=$(openssl rand -hex 24)
sc_psql "$R" -d postgres -c "CREATE DATABASE web" >/dev/null || tr_die "createdb web failed"
sc_psql "$R" -d web >/dev/null <<SQL || tr_die "web router setup failed"
CREATE SCHEMA api;
CREATE EXTENSION ticketres_router SCHEMA api CASCADE;
SELECT ticketres_router.add_shard('$(sc_shard_conninfo 0)');
SELECT ticketres_router.add_shard('$(sc_shard_conninfo 1)');
SELECT ticketres_router.rebuild_placement();
SELECT api.tr_grant_web_access('web_anon', 'web_user', 'web_admin');
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT web_anon, web_user, web_admin TO authenticator;
SQL
PGHOST=127.0.0.1 PGPORT=$R tr_start_postgrest "$WORK/pgrst" web web_anon authenticator "$SECRET" 5
trap 'tr_stop_postgrest; "$CLUSTER" down >/dev/null 2>&1; rm -rf "$WORK"' EXIT
req() {  # METHOD PATH TOKEN [JSON]: sets CODE and BODY
  local args=()
  [ "$3" != - ] && args+=(-H "Authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  CODE=$(curl -s -X "$1" -o "$WORK/body" -w '%{http_code}' "${args[@]}" "$TR_HTTP_URL$2")
  BODY=$(cat "$WORK/body")
}
T_ERIN=$(tr_jwt_for "$SECRET" web_user erin)
T_ADMIN=$(tr_jwt_for "$SECRET" web_admin ops)
req GET "/rpc/tr_get_event?event_id=$E1" -
is "$CODE $(jq -r .id <<<"$BODY")" "200 $E1" "HTTP: anonymous GET /rpc/tr_get_event through the router"
HS=$(seat "$E1" 11)
req POST /rpc/tr_reserve "$T_ERIN" "{\"event_id\": \"$E1\", \"seat_ids\": [\"$HS\"]}"
HR=$(jq -r .id <<<"$BODY")
is "$CODE $(jq -r .user_id <<<"$BODY")" "200 erin" "HTTP: POST /rpc/tr_reserve with a JWT holds the seat for its sub"
req POST /rpc/tr_confirm "$T_ERIN" "{\"reservation_id\": \"$HR\"}"
is "$CODE $(jq -r .status <<<"$BODY")" "200 confirmed" "HTTP: POST /rpc/tr_confirm"
is "$(sq 1 "SELECT status FROM ticketres.reservations WHERE id = '$HR'")" confirmed "HTTP: the purchase is on shard 1"
req POST /rpc/tr_reserve "$T_ERIN" "{\"event_id\": \"$E1\", \"seat_ids\": [\"$HS\"]}"
is "$CODE $(jq -r .code <<<"$BODY") $(jq -r .message <<<"$BODY")" "409 PT409 seat unavailable" "HTTP: a sold seat is 409 PT409 seat unavailable"
req POST /rpc/tr_cancel "$T_ERIN" "{\"reservation_id\": \"$HR\", \"user_id\": \"frank\"}"
is "$CODE $(jq -r .code <<<"$BODY") $(jq -r .message <<<"$BODY")" "403 PT403 user mismatch" "HTTP: acting for another user is 403 PT403"
req GET "/rpc/tr_get_event?event_id=00000000-0000-4000-8000-000000000000" -
is "$CODE $(jq -r .code <<<"$BODY")" "404 PT404" "HTTP: an unknown event is 404 PT404"
req POST /rpc/tr_create_event "$T_ADMIN" '{"name": "via http", "starts_at": "2030-01-01T20:00:00Z", "ends_at": "2030-01-01T23:00:00Z"}'
is "$CODE $(jq -r .name <<<"$BODY")" "200 via http" "HTTP: an admin creates an event through the router"
req GET /rpc/tr_list_reservations "$T_ERIN"
is "$CODE $(jq -r '.[0].id' <<<"$BODY")" "200 $HR" "HTTP: GET /rpc/tr_list_reservations lists the JWT user's reservations"
req GET "/rpc/tr_list_ga_areas?event_id=$E2" -
is "$CODE $(jq -r '.[0].id' <<<"$BODY")" "200 $GA" "HTTP: anonymous GET /rpc/tr_list_ga_areas through the router"
req POST /rpc/tr_reserve_ga "$T_ERIN" "{\"event_id\": \"$E2\", \"area\": \"floor\", \"quantity\": 2}"
is "$CODE $(jq -r .user_id <<<"$BODY") $(jq -r .quantity <<<"$BODY")" "200 erin 2" "HTTP: POST /rpc/tr_reserve_ga with a JWT"
req POST /rpc/tr_update_ga_area "$T_ERIN" "{\"area_id\": \"$GA\", \"price\": 1}"
is "$CODE" 403 "HTTP: tr_update_ga_area is for the admin role only"
req POST /rpc/tr_update_ga_area "$T_ADMIN" "{\"area_id\": \"$GA\", \"price\": 3500}"
is "$CODE $(jq -r .price <<<"$BODY")" "200 3500" "HTTP: an admin updates a GA area through the router"
done_testing

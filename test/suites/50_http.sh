#!/usr/bin/env bash
# 50_http.sh — ticketres through the real PostgREST 12.0.2.
# Creates a dedicated database (ticketres in schema api, tables private in
# schema ticketres), the web roles through tr_grant_web_access and an
# authenticator, starts PostgREST on a free 127.0.0.1 port with a per-run JWT
# secret, then checks over HTTP: health, the whole journey, statuses and
# catalogue bodies, ownership, JWTs, OpenAPI, metrics, 50 concurrent buyers
# of one seat, and the invariants afterwards. Prints TAP.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/http.sh"

DB=tr_http_$$
ANON=tr_web_anon USER_ROLE=tr_web_user ADMIN=tr_web_admin AUTH=tr_authenticator
WORK=${TR_RUN:-$TR_TMP}/http-$$
SECRET=$(openssl rand -hex 24)
trap 'tr_stop_postgrest; tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; rm -rf "$WORK"' EXIT

tr_ensure_postgrest
tr_http_setup_db "$DB" "$ANON" "$USER_ROLE" "$ADMIN" "$AUTH"
tr_start_postgrest "$WORK" "$DB" "$ANON" "$AUTH" "$SECRET" 20

T_ADMIN=$(tr_jwt_for "$SECRET" "$ADMIN" ops)
T_ALICE=$(tr_jwt_for "$SECRET" "$USER_ROLE" alice)
T_BOB=$(tr_jwt_for "$SECRET" "$USER_ROLE" bob)
T_CAROL=$(tr_jwt_for "$SECRET" "$USER_ROLE" carol)
sql() { tr_psql -d "$DB" -At -c "$1"; }

# req METHOD PATH TOKEN|- [BODY] [HEADER...]: sets CODE, BODY, CTYPE
req() {
  local method=$1 path=$2 token=$3 data=${4:-} args=()
  shift 4 2>/dev/null || shift $#
  [ "$token" != - ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  for h in "$@"; do args+=(-H "$h"); done
  local out
  out=$(curl -s -X "$method" -o "$WORK/body" -w '%{http_code} %{content_type}' "${args[@]}" \
          "$TR_HTTP_URL$path")
  CODE=${out%% *}; CTYPE=${out#* }; BODY=$(cat "$WORK/body")
}
one='Accept: application/vnd.pgrst.object+json'
# field NAME: a top-level field of the last JSON body
field() { jq -r ".$1" <<<"$BODY" 2>/dev/null; }
# status_is WANT_CODE WANT_SQLSTATE WANT_MESSAGE NAME: status and catalogue body
status_is() {
  local got="$CODE $(field code) $(field message)"
  is "$got" "$1 $2 $3" "$4"
}
fn_exists() { [ "$(sql "SELECT to_regprocedure('api.$1') IS NOT NULL")" = t ]; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $1"; }

# --- health ---------------------------------------------------------------
req GET / - ''
is "$CODE" 200 "PostgREST answers on $TR_HTTP_URL"
if fn_exists 'tr_health()'; then
  req GET /rpc/tr_health - ''
  is "$CODE $(jq -r 'type' <<<"$BODY")" "200 object" "GET /rpc/tr_health as anonymous: 200 JSON object"
else
  skip "tr_health not present"
fi

# --- the journey: admin creates, user reserves, confirms, reads back --------
req POST /rpc/tr_create_event "$T_ADMIN" \
  '{"name":"HTTP night","venue":"Loopback Hall","starts_at":"2031-06-01T20:00:00Z","ends_at":"2031-06-01T23:00:00Z"}' "$one"
EV=$(field id)
is "$CODE $(field name)" "200 HTTP night" "admin creates an event"
req POST /rpc/tr_generate_seats "$T_ADMIN" "{\"event_id\":\"$EV\",\"section\":\"A\",\"rows\":4,\"seats_per_row\":25,\"price\":2500}"
is "$CODE $BODY" "200 100" "admin generates 100 seats"
req POST /rpc/tr_add_seats "$T_ADMIN" "{\"event_id\":\"$EV\",\"seats\":[{\"label\":\"VIP-1\",\"price\":9900}]}"
is "$CODE $BODY" "200 1" "admin adds a seat from a JSON array"
seat() { sql "SELECT id FROM ticketres.seats WHERE event_id = '$EV' AND label = '$1'"; }
S1=$(seat A-1-1) S2=$(seat A-1-2) S3=$(seat A-1-3) S4=$(seat A-1-4) HOT=$(seat A-4-25) VIP=$(seat VIP-1)
req GET "/rpc/tr_available_count?event_id=$EV" - ''
is "$CODE $BODY" "200 101" "anonymous reads the availability"
req GET "/rpc/tr_list_seats?event_id=$EV&status=available" - ''
is "$CODE $(jq length <<<"$BODY")" "200 101" "anonymous reads the seat map"
req GET "/rpc/tr_get_event?event_id=$EV" - '' "$one"
is "$CODE $(field venue)" "200 Loopback Hall" "anonymous reads the event"

req POST /rpc/tr_reserve "$T_ALICE" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$S1\",\"$VIP\"],\"idempotency_key\":\"alice-1\"}" "$one"
R1=$(field id)
is "$CODE $(field status) $(field user_id) $(field total_amount)" "200 pending alice 12400" \
  "alice reserves two seats; the JWT's sub is the user"
req POST /rpc/tr_confirm "$T_ALICE" "{\"reservation_id\":\"$R1\"}" "$one"
is "$CODE $(field status)" "200 confirmed" "alice confirms"
req GET "/rpc/tr_get_reservation?reservation_id=$R1" "$T_ALICE" '' "$one"
is "$CODE $(field id) $(field status)" "200 $R1 confirmed" "alice reads her reservation back"
req GET /rpc/tr_list_reservations "$T_ALICE" ''
is "$CODE $(jq -r '[.[].id] | join(",")' <<<"$BODY")" "200 $R1" "alice lists her reservations"

# --- conflict ---------------------------------------------------------------
req POST /rpc/tr_reserve "$T_BOB" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$S1\"],\"idempotency_key\":\"bob-1\"}"
status_is 409 PT409 "seat unavailable" "bob on alice's seat: 409 with the catalogue body"
is "$(field details)" "Seat $S1 is already held, sold or blocked." "the 409 details name the seat"

# --- cancel and rebook by another user ----------------------------------------
req POST /rpc/tr_reserve "$T_ALICE" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$S2\"],\"idempotency_key\":\"alice-2\"}" "$one"
R2=$(field id)
req POST /rpc/tr_cancel "$T_ALICE" "{\"reservation_id\":\"$R2\"}" "$one"
is "$CODE $(field status)" "200 cancelled" "alice cancels a hold"
req POST /rpc/tr_reserve "$T_BOB" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$S2\"],\"idempotency_key\":\"bob-2\"}" "$one"
R_BOB=$(field id)
is "$CODE $(field status) $(field user_id)" "200 pending bob" "bob books the seat alice gave back"
req POST /rpc/tr_cancel "$T_ALICE" "{\"reservation_id\":\"$R2\"}"
status_is 409 PT409 "reservation not pending" "cancelling twice: 409 reservation not pending"

# --- idempotency --------------------------------------------------------------
body="{\"event_id\":\"$EV\",\"seat_ids\":[\"$S3\"],\"idempotency_key\":\"carol-1\"}"
req POST /rpc/tr_reserve "$T_CAROL" "$body" "$one"; first="$CODE $(field id)"
req POST /rpc/tr_reserve "$T_CAROL" "$body" "$one"; second="$CODE $(field id)"
is "$second" "$first" "the same request twice gives the same reservation"
is "$(sql "SELECT count(*) FROM ticketres.reservations WHERE user_id = 'carol' AND idempotency_key = 'carol-1'")" 1 \
  "one row in the database for the key"
req POST /rpc/tr_reserve "$T_CAROL" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$S4\"],\"idempotency_key\":\"carol-1\"}"
status_is 422 PT422 "idempotency key reused" "the key with other seats: 422"

# --- event CRUD as admin, refused for a user ----------------------------------
ev_body='{"name":"Scratch","starts_at":"2031-07-01T20:00:00Z","ends_at":"2031-07-01T22:00:00Z","max_seats_per_reservation":2}'
req POST /rpc/tr_create_event "$T_ADMIN" "$ev_body" "$one"; EV2=$(field id)
req POST /rpc/tr_update_event "$T_ADMIN" "{\"event_id\":\"$EV2\",\"name\":\"Scratch 2\"}" "$one"
is "$CODE $(field name) $(field max_seats_per_reservation)" "200 Scratch 2 2" "admin updates an event (NULL keeps)"
req GET "/rpc/tr_list_events?lim=10" - ''
is "$(jq -r --arg id "$EV2" '[.[] | select(.id == $id) | .name] | join(",")' <<<"$BODY")" "Scratch 2" \
  "the updated event is listed"
req POST /rpc/tr_generate_seats "$T_ADMIN" "{\"event_id\":\"$EV2\",\"section\":\"Z\",\"rows\":1,\"seats_per_row\":3,\"price\":1}"
z=$(sql "SELECT string_agg('\"' || id || '\"', ',') FROM ticketres.seats WHERE event_id = '$EV2'")
req POST /rpc/tr_reserve "$T_CAROL" "{\"event_id\":\"$EV2\",\"seat_ids\":[$z],\"idempotency_key\":\"carol-z\"}"
status_is 422 PT422 "too many seats" "more seats than the event allows: 422"
for f in tr_create_event tr_update_event tr_delete_event tr_generate_seats tr_expire; do
  case $f in
    tr_create_event) b=$ev_body ;;
    tr_expire) b='{"max_rows":10}' ;;
    *) b="{\"event_id\":\"$EV2\",\"name\":\"x\"}" ;;
  esac
  [ $f = tr_delete_event ] && b="{\"event_id\":\"$EV2\"}"
  [ $f = tr_generate_seats ] && b="{\"event_id\":\"$EV2\",\"section\":\"Y\",\"rows\":1,\"seats_per_row\":1,\"price\":1}"
  req POST /rpc/$f "$T_ALICE" "$b"
  is "$CODE $(field code)" "403 42501" "a user may not call $f (403)"
done
req POST /rpc/tr_delete_event "$T_ADMIN" "{\"event_id\":\"$EV2\"}"
is "$CODE" 204 "admin deletes an event (void: 204)"
req GET "/rpc/tr_get_event?event_id=$EV2" - ''
status_is 404 PT404 "event not found" "the deleted event is 404"
req POST /rpc/tr_delete_event "$T_ADMIN" "{\"event_id\":\"$EV\"}"
status_is 409 PT409 "event has reservations" "an event with reservations is not deleted: 409"

# --- ownership ------------------------------------------------------------------
req GET "/rpc/tr_get_reservation?reservation_id=$R_BOB" "$T_ALICE" ''
status_is 404 PT404 "reservation not found" "another user's reservation reads as 404"
req POST /rpc/tr_confirm "$T_ALICE" "{\"reservation_id\":\"$R_BOB\"}"
status_is 404 PT404 "reservation not found" "confirming another user's reservation: 404"
req POST /rpc/tr_cancel "$T_ALICE" "{\"reservation_id\":\"$R_BOB\"}"
status_is 404 PT404 "reservation not found" "cancelling another user's reservation: 404"
req POST /rpc/tr_cancel "$T_ALICE" "{\"reservation_id\":\"$R_BOB\",\"user_id\":\"bob\"}"
status_is 403 PT403 "user mismatch" "posing as bob with user_id: 403"
req POST /rpc/tr_reserve "$T_ALICE" "{\"event_id\":\"$EV\",\"user_id\":\"bob\",\"seat_ids\":[\"$S4\"],\"idempotency_key\":\"x\"}"
status_is 403 PT403 "user mismatch" "reserving as bob with alice's JWT: 403"
req POST /rpc/tr_reserve "$T_ALICE" "{\"event_id\":\"$EV\",\"user_id\":\"alice\",\"seat_ids\":[\"$S4\"],\"idempotency_key\":\"alice-4\"}" "$one"
is "$CODE $(field user_id)" "200 alice" "user_id equal to the JWT's sub is accepted"
is "$(sql "SELECT status FROM ticketres.reservations WHERE id = '$R_BOB'")" pending "bob's hold is untouched"

# --- anonymous and JWTs ---------------------------------------------------------------
req POST /rpc/tr_reserve - "{\"event_id\":\"$EV\",\"user_id\":\"anon\",\"seat_ids\":[\"$S4\"],\"idempotency_key\":\"a\"}"
is "$CODE $(field code)" "401 42501" "anonymous cannot reserve: 401"
req GET "/rpc/tr_get_reservation?reservation_id=$R1&user_id=alice" - ''
is "$CODE" 401 "anonymous cannot read reservations: 401"
forged=$(tr_jwt_for "not-the-secret-not-the-secret-not-the-secret" "$USER_ROLE" alice)
req GET /rpc/tr_list_reservations "$forged" ''
is "$CODE $(field code)" "401 PGRST301" "a JWT with a forged signature: 401"
expired=$(tr_jwt "$SECRET" "{\"role\":\"$USER_ROLE\",\"sub\":\"alice\",\"exp\":$(( $(date +%s) - 60 ))}")
req GET /rpc/tr_list_reservations "$expired" ''
is "$CODE $(field message)" "401 JWT expired" "an expired JWT: 401"
req GET /rpc/tr_list_reservations "$(tr_jwt_for "$SECRET" "$USER_ROLE")" ''
status_is 403 PT403 "user mismatch" "a JWT without sub acts for nobody: 403"
req POST /rpc/tr_grant_web_access "$T_ADMIN" '{"anon":"a","authenticated":"b","admin":"c"}'
is "$CODE" 403 "not even the web admin may call tr_grant_web_access"

# --- bad JSON and bad arguments -----------------------------------------------------
req POST /rpc/tr_reserve "$T_ALICE" '{"event_id": '
is "$CODE $(field code)" "400 PGRST102" "malformed JSON: 400"
req POST /rpc/tr_reserve "$T_ALICE" "{\"event_id\":\"$EV\",\"seat_ids\":[],\"idempotency_key\":\"e\"}"
status_is 400 22023 "seat_ids must not be empty" "empty seat list: 400 22023"
req POST /rpc/tr_reserve "$T_ALICE" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$S4\",\"$S4\"],\"idempotency_key\":\"d\"}"
is "$CODE $(field code)" "400 22023" "duplicate seats: 400 22023"
req GET "/rpc/tr_reserve?event_id=$EV&seat_ids=%7B$S4%7D&idempotency_key=get" "$T_ALICE" ''
is "$CODE $(field code)" "405 25006" "a write through GET is refused (405): writes are POST only"
req GET "/rpc/tr_get_event?event_id=not-a-uuid" - ''
is "$CODE" 400 "a malformed uuid: 400"
req GET "/rpc/tr_list_events?lim=0" - ''
status_is 400 22023 "lim must be between 1 and 1000" "lim out of range: 400 22023"
req POST /rpc/tr_reserve "$T_ALICE" "{\"event_id\":\"00000000-0000-0000-0000-000000000000\",\"seat_ids\":[\"$S4\"],\"idempotency_key\":\"n\"}"
status_is 404 PT404 "event not found" "unknown event: 404"

# --- hold expired (410) ----------------------------------------------------------------
req POST /rpc/tr_reserve "$T_CAROL" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$(seat A-2-1)\"],\"idempotency_key\":\"short\",\"hold\":\"1 second\"}" "$one"
R_SHORT=$(field id)
sleep 1.2
req POST /rpc/tr_confirm "$T_CAROL" "{\"reservation_id\":\"$R_SHORT\"}"
status_is 410 PT410 "hold expired" "confirming after the hold ended: 410"

# --- metrics as text/plain -----------------------------------------------------------------
if fn_exists 'tr_metrics()'; then
  req GET /rpc/tr_metrics "$T_ADMIN" '' 'Accept: text/plain'
  is "$CODE ${CTYPE%%;*}" "200 text/plain" "GET /rpc/tr_metrics with Accept: text/plain: 200 text/plain"
  if grep -q '^# TYPE ' <<<"$BODY"; then ok "the metrics body is Prometheus exposition"
  else not_ok "the metrics body is Prometheus exposition" "got: ${BODY:0:200}"; fi
  req GET /rpc/tr_metrics - '' 'Accept: text/plain'
  is "$CODE" 401 "anonymous may not read the metrics"
else
  skip "tr_metrics not present"
fi

# --- OpenAPI ---------------------------------------------------------------------------
req GET / "$T_ADMIN" ''
echo "$BODY" >"$WORK/openapi.json"
want=$(sql "SELECT p.proname || ' ' || split_part(d.description, E'\n', 1)
              FROM pg_proc p LEFT JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass
             WHERE p.pronamespace = 'api'::regnamespace AND has_function_privilege('$ADMIN', p.oid, 'EXECUTE')
             ORDER BY 1")
got=$(jq -r '.paths | to_entries[] | select(.key | startswith("/rpc/")) | "\(.key[5:]) \(.value.post.summary)"' \
        "$WORK/openapi.json" | sort)
is "$got" "$want" "OpenAPI lists every function the admin may call, with its COMMENT's first line as summary"
is "$(sql "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace
             AND coalesce(strpos(obj_description(p.oid, 'pg_proc'), E'\n'), 0) = 0")" 0 \
  "every function in the API schema has a COMMENT with a summary line and details"
is "$(jq -r '.paths["/rpc/tr_reserve"].post.description | test("PT409")' "$WORK/openapi.json")" true \
  "the description lists the errors"
req GET / - ''
is "$(jq -r '.paths | has("/rpc/tr_reserve"), has("/rpc/tr_get_event")' <<<"$BODY" | tr '\n' ' ')" "false true " \
  "anonymous OpenAPI shows only what anonymous may call"

# --- no table privileges for web roles ------------------------------------------------------
is "$(sql "SELECT count(*) FROM pg_class c, unnest(ARRAY['$ANON','$USER_ROLE','$ADMIN']) r
             WHERE c.relnamespace = 'ticketres'::regnamespace AND c.relkind = 'r'
               AND has_table_privilege(r, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')")" 0 \
  "web roles have no privilege on any ticketres table"
sql "SELECT api.tr_grant_web_access('$ANON', '$USER_ROLE', '$ADMIN')" >/dev/null
is "$?" 0 "tr_grant_web_access is idempotent"

# --- 50 concurrent users on one seat --------------------------------------------------------
for i in $(seq 1 50); do
  tok=$(tr_jwt_for "$SECRET" "$USER_ROLE" "crowd-$i")
  curl -s -o "$WORK/crowd-$i.json" -w '%{http_code}\n' -H "Authorization: Bearer $tok" \
    -H 'Content-Type: application/json' \
    -d "{\"event_id\":\"$EV\",\"seat_ids\":[\"$HOT\"],\"idempotency_key\":\"crowd\"}" \
    "$TR_HTTP_URL/rpc/tr_reserve" >"$WORK/crowd-$i.code" &
done
wait_crowd() { local j; for j in $(jobs -p); do [ "$j" = "${TR_POSTGREST_PID:-}" ] || wait "$j"; done; }
wait_crowd
codes=$(cat "$WORK"/crowd-*.code | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')
is "$codes" "200x1 409x49 " "50 concurrent users on one seat over HTTP: one 200, 49 409"
msgs=$(cat "$WORK"/crowd-*.json | jq -r 'select(.code) | .code + " " + .message' | sort -u | tr '\n' ',')
if [[ $msgs =~ ^(PT409\ seat\ (busy|unavailable),)+$ ]]; then ok "every 409 is seat busy or seat unavailable"
else not_ok "every 409 is seat busy or seat unavailable" "got $msgs"; fi
is "$(sql "SELECT count(*) FROM ticketres.reservations WHERE '$HOT' = ANY (seat_ids) AND status = 'pending'")" 1 \
  "exactly one hold on the hot seat"

# --- lock service down (503), when Redis locks are built in -------------------------
# Last, because it points the whole database at a Redis that is not there
# (ticketres.redis_* are superuser settings, so per database, not per web
# role) and restarts PostgREST so its connections pick that up.
if [ "$(sql "SELECT count(*) FROM pg_settings WHERE name IN ('ticketres.redis_url', 'ticketres.redis_on_error')")" = 2 ]; then
  sql "ALTER DATABASE $DB SET ticketres.redis_url = 'redis://127.0.0.1:$(tr_free_port)'" >/dev/null
  sql "ALTER DATABASE $DB SET ticketres.redis_on_error = 'deny'" >/dev/null
  tr_stop_postgrest
  tr_start_postgrest "$WORK" "$DB" "$ANON" "$AUTH" "$SECRET" 2
  req POST /rpc/tr_reserve "$T_CAROL" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$(seat A-2-2)\"],\"idempotency_key\":\"redis\"}"
  status_is 503 PT503 "lock service unavailable" "Redis down with redis_on_error = deny: 503"
  sql "ALTER DATABASE $DB RESET ALL" >/dev/null
else
  skip "Redis locks not present"
fi

# --- invariants --------------------------------------------------------------------------------
is "$(sql "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()")" 0 \
  "check_invariants() all 0 after the HTTP run"

done_testing

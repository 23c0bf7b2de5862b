#!/usr/bin/env bash
# 64_security.sh — least privilege and hostile callers (issue 7), in a
# database laid out for the web (ticketres in schema api, tables private):
#   1. roles: web roles NOLOGIN, no privilege on any table or sequence, no
#      CREATE on the API schema; a web role cannot become another one;
#   2. ownership through SQL, as the web user role with JWT claims set:
#      user B never reads, confirms, cancels or lists A's reservations;
#      anonymous can never write; web roles cannot touch the tables, run
#      admin functions or change the Redis settings;
#   3. hijack: a non-superuser application role with its own schema first on
#      its search_path, shadowing =, now(), clock_timestamp(),
#      gen_random_uuid(), length(), cardinality(), jsonb_typeof() and the
#      tables (also as temp tables), runs the whole lifecycle: none of its
#      objects is ever called and every answer is unchanged;
#   4. labels and keys with quotes, backslashes, newlines and Unicode round
#      trip byte for byte (SQL and HTTP); \u0000 is a clean 22xxx;
#   5. PostgREST: forged, alg=none, expired, garbage and role-escalating
#      JWTs are refused; anonymous POSTs to every function it may not run are
#      401; wrong types everywhere are 4xx, never 5xx, and the server lives.
# Prints TAP.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/http.sh"

DB=tr_security_$$
ANON=sec_web_anon USER_ROLE=sec_web_user ADMIN=sec_web_admin AUTH=sec_authenticator EVIL=sec_app_$$
WORK=${TR_RUN:-$TR_TMP}/security-$$
SECRET=$(openssl rand -hex 24)
cleanup() {
  tr_stop_postgrest
  tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  tr_psql -d postgres -c "DROP ROLE IF EXISTS $EVIL" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK"
tr_ensure_postgrest
tr_http_setup_db "$DB" "$ANON" "$USER_ROLE" "$ADMIN" "$AUTH"
export PGDATABASE=$DB
PM=$(head -1 "$PGDATA/postmaster.pid")
q() { tr_psql -At -c "$1"; }
tr_psql -f "$TR_ROOT/test/lib/truth.sql" >/dev/null || tr_die "setup failed"
q "ALTER FUNCTION tr_truth.count_diff(uuid) SET search_path = api, pg_catalog" >/dev/null

# as ROLE CLAIMS SQL: "OK <last row>" or "<SQLSTATE> <message>" (claims '' = none)
as() {
  local out
  out=$(tr_psql -At -v VERBOSITY=verbose -v ON_ERROR_STOP=1 2>&1 <<SQL
SET search_path = api;
SET ROLE $1;
SELECT set_config('request.jwt.claims', \$c\$$2\$c\$, false) IS NULL AS x \gset
$3
SQL
)
  if grep -q '^ERROR:' <<<"$out"; then
    sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): \(.*\)$/\1 \2/p' <<<"$out" | head -1
  else
    echo "OK $(tail -1 <<<"$out")"
  fi
}
jwt() { printf '{"role":"%s","sub":"%s"}' "$USER_ROLE" "$1"; }

EV=$(q "SELECT id FROM api.tr_create_event('security', now() + interval '1 day', now() + interval '2 days')")
q "SELECT api.tr_generate_seats('$EV', 'A', 1, 20, 100)" >/dev/null
seat() { q "SELECT id FROM ticketres.seats WHERE event_id = '$EV' AND label = '$1'"; }

##############################################################################
# 1. roles
##############################################################################
is "$(q "SELECT count(*) FROM pg_roles WHERE rolname IN ('$ANON', '$USER_ROLE', '$ADMIN') AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls)")" 0 \
  "web roles are NOLOGIN, not superuser, cannot create roles or databases, no BYPASSRLS"
is "$(q "SELECT count(*) FROM pg_class c, unnest(ARRAY['$ANON', '$USER_ROLE', '$ADMIN']) r
          WHERE c.relnamespace = 'ticketres'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
            AND has_table_privilege(r, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')")" 0 \
  "web roles have no privilege on any ticketres table or view"
is "$(q "SELECT count(*) FROM pg_class c, unnest(ARRAY['$ANON', '$USER_ROLE', '$ADMIN']) r
          WHERE c.relnamespace = 'ticketres'::regnamespace AND c.relkind = 'S'
            AND has_sequence_privilege(r, c.oid, 'USAGE,SELECT,UPDATE')")" 0 \
  "web roles have no privilege on any ticketres sequence"
is "$(q "SELECT count(*) FROM unnest(ARRAY['$ANON', '$USER_ROLE', '$ADMIN', 'public']) r, unnest(ARRAY['api', 'ticketres']) n
          WHERE has_schema_privilege(r, n, 'CREATE')")" 0 \
  "neither the web roles nor PUBLIC may create objects in the API schema or in ticketres"
is "$(q "SELECT count(*) FROM unnest(ARRAY['$ANON', '$USER_ROLE', '$ADMIN']) a, unnest(ARRAY['$ANON', '$USER_ROLE', '$ADMIN']) b
          WHERE a <> b AND pg_has_role(a, b, 'MEMBER')")" 0 \
  "no web role is a member of another (none can SET ROLE to a stronger one)"
is "$(q "SELECT rolinherit FROM pg_roles WHERE rolname = '$AUTH'")" f \
  "the authenticator is NOINHERIT: without SET ROLE it has no web role's rights"

##############################################################################
# 2. ownership through SQL as the web user role, with JWT claims
##############################################################################
S1=$(seat A-1-1) S2=$(seat A-1-2) S3=$(seat A-1-3)
RA=$(as "$USER_ROLE" "$(jwt alice)" "SELECT id FROM tr_reserve('$EV', NULL, ARRAY['$S1']::uuid[], 'alice-1');")
RA=${RA#OK }
is "$(as "$USER_ROLE" "$(jwt alice)" "SELECT user_id || ' ' || status FROM tr_get_reservation('$RA');")" "OK alice pending" \
  "web user alice (JWT sub) holds a seat and reads it back"
for call in "tr_get_reservation('$RA')" "tr_confirm('$RA')" "tr_cancel('$RA')"; do
  is "$(as "$USER_ROLE" "$(jwt bob)" "SELECT * FROM $call;")" "PT404 reservation not found" \
    "bob (JWT) cannot ${call%%(*} alice's reservation: PT404"
done
is "$(as "$USER_ROLE" "$(jwt bob)" "SELECT count(*) FROM tr_list_reservations();")" "OK 0" \
  "bob (JWT) lists no reservation of alice's"
for call in "tr_get_reservation('$RA', 'alice')" "tr_confirm('$RA', 'alice')" "tr_cancel('$RA', 'alice')" \
            "tr_list_reservations('alice')" "tr_reserve('$EV', 'alice', ARRAY['$S2']::uuid[])"; do
  is "$(as "$USER_ROLE" "$(jwt bob)" "SELECT count(*) FROM $call;")" "PT403 user mismatch" \
    "bob (JWT) naming alice as user_id in ${call%%(*}: PT403"
done
is "$(as "$USER_ROLE" '{"role":"x"}' "SELECT count(*) FROM tr_list_reservations('alice');")" "PT403 user mismatch" \
  "JWT claims without sub act for nobody, even with a user_id"
is "$(q "SELECT status FROM ticketres.reservations WHERE id = '$RA'")" pending "alice's hold is untouched by bob"
for stmt in "SELECT count(*) FROM ticketres.reservations" "SELECT count(*) FROM ticketres.seats" \
            "UPDATE ticketres.seats SET status = 'available'" "DELETE FROM ticketres.reservations" \
            "INSERT INTO ticketres.seat_counts VALUES ('$EV', 0, 1000)"; do
  is "$(as "$USER_ROLE" "$(jwt alice)" "$stmt;" | cut -d' ' -f1)" 42501 "the web user role cannot: $stmt"
done
for call in "tr_release_reservation('$RA', 'x')" "tr_extend_hold('$RA', '1 hour')" \
            "tr_block_seats('$EV', ARRAY['$S3']::uuid[])" "tr_expire()" "tr_metrics()" \
            "tr_create_event('x', now() + interval '1 day', now() + interval '2 days')"; do
  is "$(as "$USER_ROLE" "$(jwt alice)" "SELECT count(*) FROM $call;" | cut -d' ' -f1)" 42501 \
    "the web user role cannot run ${call%%(*}"
done
is "$(as "$USER_ROLE" "$(jwt alice)" "SET ticketres.redis_url = 'redis://127.0.0.1:1';" | cut -d' ' -f1)" 42501 \
  "the web user role cannot point ticketres at another Redis"
for call in "tr_reserve('$EV', 'anon', ARRAY['$S3']::uuid[])" "tr_confirm('$RA', 'alice')" "tr_cancel('$RA', 'alice')" \
            "tr_get_reservation('$RA', 'alice')" "tr_list_reservations('alice')" "tr_expire()" \
            "tr_add_seats('$EV', '[{\"label\": \"X\"}]')" "tr_delete_event('$EV')"; do
  is "$(as "$ANON" '' "SELECT count(*) FROM $call;" | cut -d' ' -f1)" 42501 "anonymous cannot run ${call%%(*}"
done
is "$(as "$ANON" '' "SELECT count(*) || ' ' || count(reservation_id) FROM tr_list_seats('$EV');")" "OK 20 0" \
  "anonymous reads the seat map, without a single reservation id"

##############################################################################
# 3. hijack attempts by a non-superuser application role
##############################################################################
q "CREATE ROLE $EVIL NOLOGIN; GRANT CREATE ON DATABASE $DB TO $EVIL; GRANT USAGE ON SCHEMA api TO $EVIL;
   GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA api TO $EVIL" >/dev/null
is "$(as "$EVIL" '' "CREATE FUNCTION api.tr_confirm(text, text) RETURNS int LANGUAGE sql AS 'SELECT 1';" | cut -d' ' -f1)" 42501 \
  "an application role cannot plant an overload in the API schema"
is "$(as "$EVIL" '' "CREATE FUNCTION public.tr_confirm(text, text) RETURNS int LANGUAGE sql AS 'SELECT 1';" | cut -d' ' -f1)" 42501 \
  "... nor in public (PostgreSQL 15 default)"
out=$(as "$EVIL" '' "$(cat <<'SQL'
CREATE SCHEMA evil;
CREATE TABLE evil.calls (what text);
GRANT INSERT, SELECT ON evil.calls TO PUBLIC;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('now') RETURNING 'epoch'::timestamptz $$;
CREATE FUNCTION evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('clock_timestamp') RETURNING 'epoch'::timestamptz $$;
CREATE FUNCTION evil.gen_random_uuid() RETURNS uuid LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('gen_random_uuid') RETURNING '00000000-0000-0000-0000-000000000001'::uuid $$;
CREATE FUNCTION evil.length(text) RETURNS int LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('length') RETURNING 1 $$;
CREATE FUNCTION evil.cardinality(anyarray) RETURNS int LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('cardinality') RETURNING 1 $$;
CREATE FUNCTION evil.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('jsonb_typeof') RETURNING 'array' $$;
CREATE FUNCTION evil.pg_try_advisory_xact_lock(int, int) RETURNS boolean LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('lock') RETURNING true $$;
CREATE FUNCTION evil.eq(uuid, uuid) RETURNS boolean LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('uuid =') RETURNING true $$;
CREATE FUNCTION evil.eq(text, text) RETURNS boolean LANGUAGE sql AS $$ INSERT INTO evil.calls VALUES ('text =') RETURNING true $$;
CREATE OPERATOR evil.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = evil.eq);
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.eq);
CREATE TABLE evil.reservations (id uuid, user_id text, status text, seat_ids uuid[]);
CREATE TABLE evil.seats (id uuid, status text);
CREATE TEMP TABLE events (id uuid);
CREATE TEMP TABLE pg_roles (rolname name, rolsuper boolean);
SELECT 'planted';
SQL
)")
is "$out" "OK planted" "the application role plants shadowing functions, operators and tables in its own schema"
# the lifecycle with search_path = evil first (operators of evil shadow pg_catalog's too)
life=$(as "$EVIL" '' "$(cat <<SQL
SET search_path = evil, api, pg_catalog;
CREATE TEMP TABLE r AS SELECT id FROM api.tr_reserve('$EV', 'eve', ARRAY['$S2', '$S3']::uuid[], 'eve-1');
CREATE TEMP TABLE out (n serial, x text);
INSERT INTO out (x) SELECT status::text FROM api.tr_reserve('$EV', 'eve', ARRAY['$S3', '$S2']::uuid[], 'eve-1');
INSERT INTO out (x) SELECT status::text FROM api.tr_confirm((SELECT id FROM r), 'eve');
INSERT INTO out (x) SELECT count(*)::text FROM api.tr_list_reservations('eve');
INSERT INTO out (x) SELECT status::text FROM api.tr_get_reservation((SELECT id FROM r), 'eve');
INSERT INTO out (x) SELECT api.tr_available_count('$EV')::text;
INSERT INTO out (x) SELECT api.tr_expire()::text;
INSERT INTO out (x) SELECT api.tr_add_seats('$EV', '[{"label": "EVIL-1"}]')::text;
INSERT INTO out (x) SELECT api.tr_block_seats('$EV', ARRAY(SELECT id FROM api.tr_list_seats('$EV') WHERE label LIKE 'EVIL-1'), 'x')::text;
INSERT INTO out (x) SELECT api.tr_unblock_seats('$EV', ARRAY(SELECT id FROM api.tr_list_seats('$EV') WHERE label LIKE 'EVIL-1'), 'x')::text;
INSERT INTO out (x) SELECT status::text FROM api.tr_release_reservation((SELECT id FROM r), 'refund');
SELECT string_agg(x, ',' ORDER BY n) FROM out;
SQL
)")
is "$life" "OK pending,confirmed,1,confirmed,17,0,1,1,1,cancelled" \
  "the whole lifecycle gives the same answers under the hostile search_path"
is "$(as "$EVIL" '' "SET search_path = evil, api, pg_catalog; SELECT status FROM api.tr_reserve('$EV', 'eve', ARRAY['$S1']::uuid[], 'eve-2');")" \
  "PT409 seat unavailable" "a shadowing = does not let the application role take alice's seat"
is "$(as "$EVIL" '' "SET search_path = evil, api, pg_catalog; SELECT status FROM api.tr_reserve('$EV', 'alice', ARRAY['$S3']::uuid[], 'alice-1');")" \
  "PT422 idempotency key reused" "a shadowing = does not make another request match alice's key"
is "$(q "SELECT coalesce(string_agg(DISTINCT what, ','), 'none') FROM evil.calls")" none \
  "no function or operator the application role planted was ever called by ticketres"
q "SELECT count(*) FROM ticketres.reservations" >/dev/null
is "$(q "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()")
$(q "SELECT tr_truth.count_diff('$EV')")" "0
equal" "invariants and the exact count hold after the hijack attempts"

##############################################################################
# 4. quotes, backslashes, newlines and Unicode round trip
##############################################################################
WEIRD=$'q\'"\\ \\\\ %s $1 ; -- <b>&amp;\n\ttab é 中文 😀 \u202e'
WEIRD_JSON=$(jq -cn --arg l "$WEIRD" '[{label: $l, section: $l, row: $l}]')
printf '%s' "$WEIRD" >"$WORK/weird"
got=$(tr_psql -At -v "j=$WEIRD_JSON" <<'SQL'
SELECT api.tr_add_seats((SELECT id FROM ticketres.events WHERE name = 'security'), :'j'::jsonb);
SQL
)
is "$got" 1 "a seat labelled with quotes, backslashes, a newline and Unicode is added"
tr_psql -At -c "SELECT label FROM api.tr_list_seats('$EV') WHERE section = row_label AND label LIKE 'q%'" \
  | head -c -1 >"$WORK/label.out"
cmp -s "$WORK/weird" "$WORK/label.out" && ok "the label reads back byte for byte (SQL)" \
  || not_ok "the label reads back byte for byte (SQL)" "got $(od -c "$WORK/label.out" | head -3)"
WSEAT=$(q "SELECT id FROM ticketres.seats WHERE event_id = '$EV' AND label LIKE 'q%'")
KEY=$'k\'"\\\n😀'
replay() {
  tr_psql -At -v "k=$KEY" <<SQL
SELECT id FROM api.tr_reserve('$EV', 'weird-user', ARRAY['$WSEAT']::uuid[], :'k');
SQL
}
r1=$(replay); r2=$(replay)
is "$r2" "$r1" "an idempotency key with quotes, a backslash, a newline and an emoji replays the same reservation"
is "$(tr_psql -At -v "k=$KEY" <<SQL
SELECT count(*) FROM ticketres.reservations WHERE idempotency_key = :'k' AND id = '$r1';
SQL
)" 1 "the key is stored byte for byte"

##############################################################################
# 5. PostgREST: JWTs, anonymous writes, wrong types
##############################################################################
tr_start_postgrest "$WORK" "$DB" "$ANON" "$AUTH" "$SECRET" 4
# req METHOD PATH TOKEN|- [BODY]: sets CODE and BODY
req() {
  local args=()
  [ "$3" != - ] && args+=(-H "Authorization: Bearer $3")
  if [ -n "${4:-}" ]; then
    printf '%s' "$4" >"$WORK/req"
    args+=(-H 'Content-Type: application/json' --data-binary "@$WORK/req")
  fi
  CODE=$(curl -s -X "$1" -o "$WORK/body" -w '%{http_code}' "${args[@]}" "$TR_HTTP_URL$2")
  BODY=$(cat "$WORK/body")
}
exp=$(( $(date +%s) + 3600 ))
T_ALICE=$(tr_jwt_for "$SECRET" "$USER_ROLE" alice)
T_BOB=$(tr_jwt_for "$SECRET" "$USER_ROLE" bob)
none_tok="$(printf '%s' '{"alg":"none","typ":"JWT"}' | tr_b64url).$(printf '%s' "{\"role\":\"$ADMIN\",\"sub\":\"alice\",\"exp\":$exp}" | tr_b64url)."
declare -A TOKENS=(
  [forged signature]=$(tr_jwt "wrong-secret-wrong-secret-wrong-secret" "{\"role\":\"$ADMIN\",\"sub\":\"alice\",\"exp\":$exp}")
  [alg none]=$none_tok
  [expired]=$(tr_jwt "$SECRET" "{\"role\":\"$ADMIN\",\"sub\":\"alice\",\"exp\":$(( $(date +%s) - 300 ))}")
  [garbage]="not.a.jwt"
  [payload swapped]="${T_ALICE%%.*}.$(printf '%s' "{\"role\":\"$ADMIN\",\"sub\":\"alice\",\"exp\":$exp}" | tr_b64url).${T_ALICE##*.}"
)
for name in "${!TOKENS[@]}"; do
  req POST /rpc/tr_expire "${TOKENS[$name]}" '{"max_rows": 10}'
  is "$CODE" 401 "PostgREST refuses a JWT with $name (401)"
done
req POST /rpc/tr_expire "$(tr_jwt "$SECRET" "{\"role\":\"postgres\",\"sub\":\"alice\",\"exp\":$exp}")" '{"max_rows": 10}'
cmp_ok "$CODE" -ge 400 "a correctly signed JWT naming a role the authenticator may not become is refused ($CODE)"
req POST /rpc/tr_reserve "$(tr_jwt "$SECRET" "{\"role\":\"$USER_ROLE\",\"sub\":\"alice\\\"); SELECT 1; --\",\"exp\":$exp}")" \
  "{\"event_id\":\"$EV\",\"seat_ids\":[\"$(seat A-1-9)\"],\"idempotency_key\":\"inj\"}"
is "$CODE $(jq -r .user_id <<<"$BODY" 2>/dev/null)" "200 alice\"); SELECT 1; --" \
  "a JWT sub full of SQL is just a user id"
# anonymous: every API function it may not execute answers 401 and changes nothing
before=$(q "SELECT count(*) || ' ' || sum(hashtext(r::text)) FROM ticketres.reservations r")
denied=0; total=0
while IFS='|' read -r f body; do
  total=$((total + 1))
  req POST "/rpc/$f" - "$body"
  [ "$CODE" = 401 ] && denied=$((denied + 1)) || echo "# anonymous $f: $CODE ${BODY:0:100}"
done < <(q "SELECT p.proname || '|' || coalesce((SELECT json_object_agg(a, NULL)::text FROM unnest(p.proargnames) a), '{}')
              FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace AND p.prokind = 'f'
               AND NOT has_function_privilege('$ANON', p.oid, 'EXECUTE') ORDER BY 1")
cmp_ok "$total" -ge 15 "anonymous: $total API functions are not for it"
is "$denied" "$total" "anonymous: every one of them answers 401"
is "$(q "SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'api'::regnamespace AND p.provolatile = 'v'
          AND has_function_privilege('$ANON', p.oid, 'EXECUTE')")" 0 "anonymous may execute no writing (VOLATILE) function"
is "$(q "SELECT count(*) || ' ' || sum(hashtext(r::text)) FROM ticketres.reservations r")" "$before" \
  "anonymous requests changed no reservation"
# ownership over HTTP: lists never show another user's reservation
req GET /rpc/tr_list_reservations "$T_BOB" ''
is "$CODE $(jq -r --arg a "$RA" '[.[] | select(.id == $a or .user_id != "bob")] | length' <<<"$BODY")" "200 0" \
  "bob's list over HTTP holds only bob's reservations"
# labels over HTTP
req GET "/rpc/tr_list_seats?event_id=$EV" - ''
jq -j '.[] | select(.label | startswith("q")) | .label' <<<"$BODY" >"$WORK/label.http"
cmp -s "$WORK/weird" "$WORK/label.http" && ok "the label reads back byte for byte over HTTP" \
  || not_ok "the label reads back byte for byte over HTTP"
req POST /rpc/tr_reserve "$T_ALICE" "{\"event_id\":\"$EV\",\"seat_ids\":[\"$(seat A-1-10)\"],\"idempotency_key\":\"nul\\u0000key\"}"
is "$CODE $(jq -r .code <<<"$BODY" | cut -c1-2)" "400 22" "a key with \\u0000 in JSON is a clean 400 (22xxx: $(jq -r '.code + " " + .message' <<<"$BODY"))"
req POST /rpc/tr_add_seats "$(tr_jwt_for "$SECRET" "$ADMIN" ops)" "{\"event_id\":\"$EV\",\"seats\":[{\"label\":\"nul\\u0000\"}]}"
is "$CODE $(jq -r .code <<<"$BODY" | cut -c1-2)" "400 22" "a label with \\u0000 in JSON is a clean 400 (22xxx)"
# wrong types everywhere: 4xx with a JSON error, never 5xx
T_ADMIN=$(tr_jwt_for "$SECRET" "$ADMIN" ops)
bad=0; n=0
while IFS='|' read -r fn tok body; do
  [ -n "$fn" ] || continue
  n=$((n + 1))
  case $tok in alice) t=$T_ALICE ;; admin) t=$T_ADMIN ;; *) t=- ;; esac
  req POST "/rpc/$fn" "$t" "$body"
  if [ "$CODE" -lt 400 ] || [ "$CODE" -ge 500 ] || ! jq -e '.code' <<<"$BODY" >/dev/null 2>&1; then
    bad=$((bad + 1)); echo "# $fn $body -> $CODE ${BODY:0:120}"
  fi
done <<EOF
tr_reserve|alice|{"event_id":12345,"seat_ids":["$S1"]}
tr_reserve|alice|{"event_id":"not-a-uuid","seat_ids":["$S1"]}
tr_reserve|alice|{"event_id":"$EV","seat_ids":"$S3"}
tr_reserve|alice|{"event_id":"$EV","seat_ids":[1,2]}
tr_reserve|alice|{"event_id":"$EV","seat_ids":[["$S3"],["$S2"]]}
tr_reserve|alice|{"event_id":"$EV","seat_ids":{"a":1}}
tr_reserve|alice|{"event_id":"$EV","seat_ids":[null]}
tr_reserve|alice|{"event_id":"$EV","seat_ids":["$S1"],"hold":"banana"}
tr_reserve|alice|{"event_id":"$EV","seat_ids":["$S1"],"hold":"178000000 years"}
tr_reserve|alice|{"event_id":"$EV","seat_ids":["$S1"],"hold":5}
tr_reserve|alice|{"event_id":"$EV","seat_ids":["$S1"],"user_id":{"x":1}}
tr_reserve|alice|{"event_id":"$EV","seat_ids":["$S1"],"idempotency_key":"$(head -c 300000 /dev/zero | tr '\0' k)"}
tr_reserve|alice|{"event_id":"$EV","seat_ids":["$S1"],"no_such_arg":1}
tr_reserve|alice|[1,2,3]
tr_reserve|alice|"just a string"
tr_confirm|alice|{"reservation_id":true}
tr_cancel|alice|{"reservation_id":null}
tr_list_reservations|alice|{"lim":"x"}
tr_list_reservations|alice|{"lim":10000000000}
tr_add_seats|admin|{"event_id":"$EV","seats":"not json"}
tr_add_seats|admin|{"event_id":"$EV","seats":{"label":"x"}}
tr_add_seats|admin|{"event_id":"$EV","seats":[{"label":"x","price":"1e400"}]}
tr_create_event|admin|{"name":"x","starts_at":"infinity","ends_at":"infinity"}
tr_create_event|admin|{"name":"x","starts_at":"294277-01-01T00:00:00Z","ends_at":"294277-01-02T00:00:00Z"}
tr_create_event|admin|{"name":"x","starts_at":"2031-01-01","ends_at":"2030-01-01"}
tr_extend_hold|admin|{"reservation_id":"$RA","extend_by":"-infinity"}
tr_extend_hold|admin|{"reservation_id":"$RA","extend_by":"100000000 days"}
tr_generate_seats|admin|{"event_id":"$EV","section":"Z","rows":2147483648,"seats_per_row":1,"price":1}
tr_expire|admin|{"max_rows":-1}
tr_list_events|-|{"lim":1.5}
EOF
cmp_ok "$n" -ge 25 "wrong types: $n hostile requests sent"
is "$bad" 0 "wrong types: every one is a 4xx with a JSON error body, none a 5xx"
is "$(head -1 "$PGDATA/postmaster.pid")" "$PM" "the postmaster is the same process after all of it"
is "$(q "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()")
$(q "SELECT tr_truth.count_diff('$EV')")" "0
equal" "invariants and the exact count hold at the end"
done_testing

#!/usr/bin/env bash
# The main job: install what is missing, build and install ticketres, start a
# cluster under test/tmp/demo, create an event, run a contended on-sale and
# print the outcome. The cluster is left running; the last lines say how to
# connect and how to stop it.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/http.sh"
. "$(dirname "$0")/lib/redis.sh"

SEATS=${SEATS:-2000}        # seats in the demo event
HOT=${HOT:-20}              # hot seats everyone wants
CLIENTS=${CLIENTS:-50}      # concurrent buyers
TRIES=${TRIES:-40}          # attempts per buyer

tr_ensure_packages
tr_ensure_postgrest
tr_build_install
# a PostgREST left running by the previous demo points at the old cluster
if [ -f "$TR_TMP/demo-http/postgrest.pid" ]; then
  kill "$(cat "$TR_TMP/demo-http/postgrest.pid")" 2>/dev/null || true
  rm -f "$TR_TMP/demo-http/postgrest.pid"
fi
if [ -f "$TR_TMP/redis-demo/redis.pid" ]; then
  kill "$(cat "$TR_TMP/redis-demo/redis.pid")" 2>/dev/null || true
  rm -f "$TR_TMP/redis-demo/redis.pid"
fi
# as a DBA runs it: ticketres preloaded (cluster-wide metrics), pg_cron in
# the HTTP database running tr_expire() every minute for both databases
tr_start_pg "$TR_TMP/demo" "shared_preload_libraries = 'pg_cron,ticketres'" \
  "cron.database_name = 'ticketres_web'"
# HTTP: database ticketres_web with the API layout (functions in schema api,
# tables private); PostgREST starts further down
tr_http_setup_db ticketres_web web_anon web_user web_admin authenticator
createdb_() { tr_psql -d postgres -c "CREATE DATABASE $1"; }
createdb_ ticketres
export PGDATABASE=ticketres
tr_psql -c "CREATE EXTENSION ticketres"
tr_psql -d ticketres_web -c "CREATE EXTENSION pg_cron" \
  -c "SELECT api.tr_schedule_expiry()" \
  -c "SELECT cron.schedule_in_database('ticketres-expire:ticketres', '* * * * *', \$cmd\$$(tr_psql -At -c "SELECT ticketres._expiry_job_command()")\$cmd\$, 'ticketres', 'postgres')" >/dev/null
# the optional Redis lock layer, on for the demo database (left running)
TR_RUN=$TR_TMP tr_start_redis demo
disown "$REDIS_PID_demo"
echo "$REDIS_PID_demo" >"$TR_TMP/redis-demo/redis.pid"
tr_psql -c "ALTER DATABASE ticketres SET ticketres.redis_url = 'redis://127.0.0.1:$REDIS_PORT_demo'"

EVENT=$(tr_psql -At -c "SELECT id FROM tr_create_event('Stadium on-sale', now() + interval '30 days', now() + interval '30 days 3 hours', 'Demo Arena')")
tr_psql -At -c "SELECT tr_generate_seats('$EVENT', 'A', $((SEATS / 50)), 50, 4500)" >/dev/null
tr_psql -c "CREATE TABLE demo_hot AS SELECT row_number() OVER (ORDER BY label) AS n, id FROM ticketres.seats WHERE event_id = '$EVENT' ORDER BY label LIMIT $HOT"
tr_log "event $EVENT with $SEATS seats; $CLIENTS buyers x $TRIES tries on $HOT hot seats"

# each try: one or two random hot seats, outcome recorded by a wrapper that
# catches the catalogue's errors (every error is counted, none hidden)
tr_psql <<SQL
CREATE TABLE demo_outcome (sqlstate text, message text);
CREATE FUNCTION demo_try(buyer int) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE a int := 1 + floor(random() * $HOT); b int := 1 + floor(random() * $HOT);
BEGIN
  PERFORM tr_reserve('$EVENT', 'buyer-' || buyer,
                     (SELECT array_agg(DISTINCT id) FROM demo_hot WHERE n IN (a, b)),
                     'k-' || buyer || '-' || a || '-' || b);
  INSERT INTO demo_outcome VALUES ('00000', 'held');
EXCEPTION WHEN OTHERS THEN
  INSERT INTO demo_outcome VALUES (SQLSTATE, SQLERRM);
END \$\$;
SQL
echo 'SELECT demo_try(:client_id);' >"$TR_TMP/demo/onsale.sql"
start=$(date +%s%N)
"$PGBIN/pgbench" -n -f "$TR_TMP/demo/onsale.sql" -c "$CLIENTS" -j 2 -t "$TRIES" >"$TR_TMP/demo/pgbench.log" 2>&1 \
  || { cat "$TR_TMP/demo/pgbench.log"; tr_die "pgbench failed"; }
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))

echo
echo "== on-sale outcome ($CLIENTS buyers, $((CLIENTS * TRIES)) attempts, $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s)"
tr_psql -c "SELECT sqlstate, message, count(*) FROM demo_outcome GROUP BY 1, 2 ORDER BY 3 DESC"
tr_psql -c "SELECT (SELECT count(*) FROM ticketres.seats s JOIN demo_hot h USING (id) WHERE s.status = 'reserved') AS hot_seats_held,
                   tr_available_count('$EVENT') AS available_now,
                   (SELECT count(*) FROM (SELECT sid FROM ticketres.reservations r, unnest(r.seat_ids) sid
                     WHERE r.status IN ('pending','confirmed') GROUP BY sid HAVING count(*) > 1) d) AS double_sold_seats"

# the same buyers on a general admission area (1-4 tickets each try) and
# asking for the best available pairs, at once
tr_psql -At -c "SELECT count(*) FROM tr_add_ga_area('$EVENT', 'Standing', 300, 3500)" >/dev/null
tr_psql <<SQL
CREATE FUNCTION demo_try_more(buyer int) RETURNS void LANGUAGE plpgsql AS \$\$
BEGIN
  IF buyer % 2 = 0 THEN
    PERFORM tr_reserve_ga('$EVENT', 'Standing', 1 + floor(random() * 4)::int, 'buyer-' || buyer);
    INSERT INTO demo_outcome VALUES ('00000', 'GA tickets held');
  ELSE
    PERFORM tr_reserve_best('$EVENT', 2, 'buyer-' || buyer);
    INSERT INTO demo_outcome VALUES ('00000', 'best pair held');
  END IF;
EXCEPTION WHEN OTHERS THEN
  INSERT INTO demo_outcome VALUES (SQLSTATE, SQLERRM);
END \$\$;
TRUNCATE demo_outcome;
SQL
echo 'SELECT demo_try_more(:client_id);' >"$TR_TMP/demo/more.sql"
"$PGBIN/pgbench" -n -f "$TR_TMP/demo/more.sql" -c "$CLIENTS" -j 2 -t "$TRIES" >"$TR_TMP/demo/pgbench-more.log" 2>&1 \
  || { cat "$TR_TMP/demo/pgbench-more.log"; tr_die "pgbench (GA and best available) failed"; }
echo
echo "== general admission (area of 300) and best-available pairs, same buyers"
tr_psql -c "SELECT sqlstate, message, count(*) FROM demo_outcome GROUP BY 1, 2 ORDER BY 3 DESC"
tr_psql -c "SELECT name, capacity, available FROM tr_list_ga_areas('$EVENT')"
tr_psql -c "SELECT * FROM ticketres.check_invariants()"
echo "Redis seat locks: health $(tr_psql -At -c "SELECT tr_health() -> 'redis'"), keys left after the on-sale: $(tr_redis demo DBSIZE)"

# PostgREST on a free loopback port for ticketres_web, left running
JWT_SECRET=$(openssl rand -hex 24)
tr_start_postgrest "$TR_TMP/demo-http" ticketres_web web_anon authenticator "$JWT_SECRET" 20
disown "$TR_POSTGREST_PID"
echo "$TR_POSTGREST_PID" >"$TR_TMP/demo-http/postgrest.pid"
ADMIN_JWT=$(tr_jwt_for "$JWT_SECRET" web_admin ops)
USER_JWT=$(tr_jwt_for "$JWT_SECRET" web_user alice)
JOURNEY=$TR_TMP/demo-http/journey.sh
cat >"$JOURNEY" <<EOF_J
API=$TR_HTTP_URL
ADMIN_JWT=$ADMIN_JWT
USER_JWT=$USER_JWT
# admin: an event and 200 seats
EV=\$(curl -s \$API/rpc/tr_create_event -H "Authorization: Bearer \$ADMIN_JWT" -H 'Content-Type: application/json' -H 'Accept: application/vnd.pgrst.object+json' -d '{"name":"HTTP on-sale","venue":"Demo Arena","starts_at":"2031-01-01T20:00:00Z","ends_at":"2031-01-01T23:00:00Z"}' | jq -r .id); echo "event \$EV"
curl -s \$API/rpc/tr_generate_seats -H "Authorization: Bearer \$ADMIN_JWT" -H 'Content-Type: application/json' -d "{\"event_id\":\"\$EV\",\"section\":\"A\",\"rows\":4,\"seats_per_row\":50,\"price\":4500}"; echo " seats added"
# anyone: availability and the seat map
curl -s "\$API/rpc/tr_available_count?event_id=\$EV"; echo " available"
SEAT=\$(curl -s "\$API/rpc/tr_list_seats?event_id=\$EV&status=available" | jq -r '.[0].id'); echo "seat \$SEAT"
# alice (the JWT's sub): hold, confirm, read back
RES=\$(curl -s \$API/rpc/tr_reserve -H "Authorization: Bearer \$USER_JWT" -H 'Content-Type: application/json' -H 'Accept: application/vnd.pgrst.object+json' -d "{\"event_id\":\"\$EV\",\"seat_ids\":[\"\$SEAT\"],\"idempotency_key\":\"alice-1\"}" | jq -r .id); echo "reservation \$RES"
curl -s \$API/rpc/tr_confirm -H "Authorization: Bearer \$USER_JWT" -H 'Content-Type: application/json' -H 'Accept: application/vnd.pgrst.object+json' -d "{\"reservation_id\":\"\$RES\"}" | jq -c '{id, status, total_amount}'
curl -s "\$API/rpc/tr_get_reservation?reservation_id=\$RES" -H "Authorization: Bearer \$USER_JWT" -H 'Accept: application/vnd.pgrst.object+json' | jq -c '{id, status, seat_ids}'
# alice holds a second seat and gives it back; her list shows both
SEAT2=\$(curl -s "\$API/rpc/tr_list_seats?event_id=\$EV&status=available" | jq -r '.[0].id')
RES2=\$(curl -s \$API/rpc/tr_reserve -H "Authorization: Bearer \$USER_JWT" -H 'Content-Type: application/json' -H 'Accept: application/vnd.pgrst.object+json' -d "{\"event_id\":\"\$EV\",\"seat_ids\":[\"\$SEAT2\"],\"idempotency_key\":\"alice-3\"}" | jq -r .id)
curl -s \$API/rpc/tr_cancel -H "Authorization: Bearer \$USER_JWT" -H 'Content-Type: application/json' -H 'Accept: application/vnd.pgrst.object+json' -d "{\"reservation_id\":\"\$RES2\"}" | jq -c '{id, status}'
curl -s \$API/rpc/tr_list_reservations -H "Authorization: Bearer \$USER_JWT" | jq -c 'map({id, status})'
# the same seat again: 409 with the catalogue body
curl -s -w ' HTTP %{http_code}\n' \$API/rpc/tr_reserve -H "Authorization: Bearer \$USER_JWT" -H 'Content-Type: application/json' -d "{\"event_id\":\"\$EV\",\"seat_ids\":[\"\$SEAT\"],\"idempotency_key\":\"alice-2\"}"
# anonymous may not reserve: 401
curl -s -o /dev/null -w 'anonymous reserve: HTTP %{http_code}\n' \$API/rpc/tr_reserve -H 'Content-Type: application/json' -d "{\"event_id\":\"\$EV\",\"seat_ids\":[\"\$SEAT\"]}"
# OpenAPI: every function with its summary
curl -s \$API/ -H "Authorization: Bearer \$ADMIN_JWT" | jq -r '.paths | to_entries[] | select(.key | startswith("/rpc/")) | "\(.key)  \(.value.post.summary)"'
EOF_J
# operations over HTTP, when this build has them
web_has() { [ "$(tr_psql -d ticketres_web -At -c "SELECT to_regprocedure('api.$1') IS NOT NULL")" = t ]; }
if web_has 'tr_health()'; then
  printf '%s\n' '# health (anyone)' 'curl -s $API/rpc/tr_health | jq -c .' >>"$JOURNEY"
fi
if web_has 'tr_metrics()'; then
  printf '%s\n' '# Prometheus metrics as text/plain (admin)' \
    "curl -s \$API/rpc/tr_metrics -H \"Authorization: Bearer \$ADMIN_JWT\" -H 'Accept: text/plain' | head -20" >>"$JOURNEY"
fi
echo
echo "== HTTP journey through PostgREST ($TR_HTTP_URL, database ticketres_web)"
bash "$JOURNEY"

echo
echo "== the stack as a DBA sees it (tr_health of each database)"
for db in ticketres ticketres_web; do
  h=$(tr_psql -d "$db" -At -c "SET search_path = public, api" -c "SELECT tr_health()")
  echo "$db: $(jq -c '{status, preloaded, redis, expiry: {pg_cron: .expiry.pg_cron, scheduled: .expiry.scheduled}}' <<<"$h")"
done
tr_psql -d ticketres_web -c "SELECT jobid, jobname, schedule, database, username FROM cron.job ORDER BY jobid"

cat <<EOF2

The cluster keeps running (data in $PGDATA).
  connect:  psql -h 127.0.0.1 -p $PGPORT -U $TR_PG_USER ticketres
  try:      SELECT * FROM tr_reserve('$EVENT', 'alice', ARRAY[(SELECT id FROM ticketres.seats WHERE label = 'A-40-1')], 'alice-1');
  stop:     runuser -u $TR_PG_USER -- $PGBIN/pg_ctl -D $PGDATA stop

PostgREST keeps running on $TR_HTTP_URL (pid $TR_POSTGREST_PID, database ticketres_web,
functions in schema api; OpenAPI: curl $TR_HTTP_URL/ or open test/http/openapi.html?url=$TR_HTTP_URL/).
The whole HTTP journey, ready to paste (also in $JOURNEY):

$(cat "$JOURNEY")

  stop PostgREST:  kill \$(cat $TR_TMP/demo-http/postgrest.pid)

redis-server keeps running on 127.0.0.1:$REDIS_PORT_demo for the Redis seat locks of database ticketres
(ticketres.redis_url; keys <prefix>:<event_id>:<seat_id>: redis-cli -p $REDIS_PORT_demo --scan).
  stop Redis:      kill \$(cat $TR_TMP/redis-demo/redis.pid)
EOF2

# the seat-map page (examples/web) against this PostgREST, on its own free
# loopback port, left running; an event of its own to click on
. "$(dirname "$0")/lib/examples.sh"
[ -f "$TR_TMP/demo-http/seatmap.pid" ] && { kill "$(cat "$TR_TMP/demo-http/seatmap.pid")" 2>/dev/null || true; }
tr_npm_ci "$TR_ROOT/examples/web"
tr_start_seatmap "$TR_TMP/demo-http"
disown "$TR_SEATMAP_PID"
echo "$TR_SEATMAP_PID" >"$TR_TMP/demo-http/seatmap.pid"
MAP_EV=$(tr_psql -d ticketres_web -At -c "SELECT id FROM api.tr_create_event('Seat map demo', now() + interval '30 days', now() + interval '30 days 3 hours', 'Demo Arena')")
tr_psql -d ticketres_web -At -c "SELECT api.tr_generate_seats('$MAP_EV', 'A', 8, 16, 4500)" >/dev/null
cat <<EOF3

The seat-map page keeps running (examples/web/serve.js, pid $TR_SEATMAP_PID). Open it as alice, and as bob in
another browser profile, to hold, confirm and cancel seats of event $MAP_EV:
  alice: $TR_SEATMAP_URL#api=$TR_HTTP_URL&event=$MAP_EV&jwt=$USER_JWT
  bob:   $TR_SEATMAP_URL#api=$TR_HTTP_URL&event=$MAP_EV&jwt=$(tr_jwt_for "$JWT_SECRET" web_user bob)
  stop the page server:  kill \$(cat $TR_TMP/demo-http/seatmap.pid)
EOF3

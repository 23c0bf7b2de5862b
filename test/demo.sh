#!/usr/bin/env bash
# The main job: install what is missing, build and install ticketres, start a
# cluster under test/tmp/demo, create an event, run a contended on-sale and
# print the outcome. The cluster is left running; the last lines say how to
# connect and how to stop it.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

SEATS=${SEATS:-2000}        # seats in the demo event
HOT=${HOT:-20}              # hot seats everyone wants
CLIENTS=${CLIENTS:-50}      # concurrent buyers
TRIES=${TRIES:-40}          # attempts per buyer

tr_ensure_packages
tr_build_install
tr_start_pg "$TR_TMP/demo"
createdb_() { tr_psql -d postgres -c "CREATE DATABASE $1"; }
createdb_ ticketres
export PGDATABASE=ticketres
tr_psql -c "CREATE EXTENSION ticketres"

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
start=$(date +%s.%N)
"$PGBIN/pgbench" -n -f "$TR_TMP/demo/onsale.sql" -c "$CLIENTS" -j 2 -t "$TRIES" >"$TR_TMP/demo/pgbench.log" 2>&1 \
  || { cat "$TR_TMP/demo/pgbench.log"; tr_die "pgbench failed"; }
end=$(date +%s.%N)

echo
echo "== on-sale outcome ($CLIENTS buyers, $((CLIENTS * TRIES)) attempts, $(printf '%.2f' "$(echo "$end - $start" | bc)") s)"
tr_psql -c "SELECT sqlstate, message, count(*) FROM demo_outcome GROUP BY 1, 2 ORDER BY 3 DESC"
tr_psql -c "SELECT (SELECT count(*) FROM ticketres.seats s JOIN demo_hot h USING (id) WHERE s.status = 'reserved') AS hot_seats_held,
                   tr_available_count('$EVENT') AS available_now,
                   (SELECT count(*) FROM (SELECT sid FROM ticketres.reservations r, unnest(r.seat_ids) sid
                     WHERE r.status IN ('pending','confirmed') GROUP BY sid HAVING count(*) > 1) d) AS double_sold_seats"
tr_psql -c "SELECT * FROM ticketres.check_invariants()"
cat <<EOF2

The cluster keeps running (data in $PGDATA).
  connect:  psql -h 127.0.0.1 -p $PGPORT -U $TR_PG_USER ticketres
  try:      SELECT * FROM tr_reserve('$EVENT', 'alice', ARRAY[(SELECT id FROM ticketres.seats WHERE label = 'A-40-1')], 'alice-1');
  stop:     runuser -u $TR_PG_USER -- $PGBIN/pg_ctl -D $PGDATA stop
EOF2

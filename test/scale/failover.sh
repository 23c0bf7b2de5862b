#!/usr/bin/env bash
# test/scale/failover.sh — kill a shard's primary in the middle of an on-sale
# (issue 15, DESIGN §10). Prints TAP; about 2 minutes.
#
# A cluster of its own (cluster.sh up 2). Buyers reserve and confirm through
# the router, each its own seats, 4 on an event of shard 0 and 2 on one of
# shard 1; each buyer logs every acknowledged confirmation. After a few
# seconds shard 0's primary node dies: its postmaster and its pg_autoctl get
# SIGKILL together, as when a machine is lost (killing only the postmaster
# makes that node's pg_autoctl restart it in place: crash recovery, no
# failover). Then:
#   - the standby is promoted (the monitor says so, primary-pid changes);
#   - every confirmation a buyer saw acknowledged is confirmed on the new
#     primary (synchronous replication: nothing acknowledged is lost);
#   - reservations on shard 0 succeed again through the router, without any
#     change to it, within a bounded time, measured and printed;
#   - shard 1's buyers never saw an error;
#   - no seat is sold twice, on any shard (check_invariants);
#   - pg_cron's expiry job runs on the new primary.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
export TR_SCALE=${TR_SCALE_FAILOVER:-$TR_TMP/failover-$$}
. "$TR_ROOT/test/scale/lib.sh"
CLUSTER=$TR_ROOT/test/scale/cluster.sh
WORK=$TR_SCALE-work
LOAD_SECONDS=${TR_FAILOVER_LOAD_SECONDS:-60}
KILL_AFTER=${TR_FAILOVER_KILL_AFTER:-10}
BOUND=${TR_FAILOVER_BOUND:-45}      # seconds until shard 0 takes reservations again
mkdir -p "$WORK"
trap '"$CLUSTER" down >/dev/null 2>&1; rm -rf "$WORK"' EXIT

"$CLUSTER" up 2 >"$WORK/up.out" 2>"$WORK/up.log" || { cat "$WORK/up.log" >&2; tr_die "cluster.sh up 2 failed"; }
sed 's/^/# /' "$WORK/up.out"
sc_load
rq() { sc_q "$ROUTER_PORT" "$TR_SCALE_DB" "$@"; }

# one event on each shard, a row of 1000 seats per buyer
declare -A EV
while [ -z "${EV[0]:-}" ] || [ -z "${EV[1]:-}" ]; do
  id=$(rq "SELECT id FROM tr_create_event('on-sale', now() + interval '1 day', now() + interval '2 days')")
  EV[$(rq "SELECT ticketres_router.shard_of('$id')")]=$id
done
BUYERS="0:1 0:2 0:3 0:4 1:5 1:6"     # shard:buyer
for b in $BUYERS; do
  rq "SELECT tr_generate_seats('${EV[${b%%:*}]}', 'B${b#*:}', 1, 1000, 100)" >/dev/null || tr_die "seats failed"
done

# a buyer: reserve then confirm its seats one by one through the router for
# LOAD_SECONDS; every outcome is a NOTICE with its time (psql prints each as
# it arrives). An error (the shard is gone) is logged, the buyer goes on.
buyer() {  # SHARD N
  PGOPTIONS="-c client_min_messages=notice" "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$ROUTER_PORT" \
    -U "$TR_PG_USER" -d "$TR_SCALE_DB" -c "DO \$\$
DECLARE
    seats uuid[] := ARRAY(SELECT id FROM tr_list_seats('${EV[$1]}') WHERE label LIKE 'B$2-%' ORDER BY seat_number);
    deadline timestamptz := clock_timestamp() + interval '$LOAD_SECONDS seconds';
    i int := 0;
    r ticketres.reservations;
    st text; msg text;
BEGIN
    WHILE clock_timestamp() < deadline AND i < cardinality(seats) LOOP
        i := i + 1;
        BEGIN
            r := tr_reserve('${EV[$1]}', 'buyer$2', ARRAY[seats[i]]);
            RAISE NOTICE 'reserved % %', extract(epoch FROM clock_timestamp()), r.id;
            r := tr_confirm(r.id, 'buyer$2');
            RAISE NOTICE 'confirmed % %', extract(epoch FROM clock_timestamp()), r.id;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            RAISE NOTICE 'error % % %', extract(epoch FROM clock_timestamp()), st, replace(msg, E'\n', ' ');
            PERFORM pg_sleep(0.1);
        END;
    END LOOP;
END \$\$" >"$WORK/buyer$2.log" 2>&1
}
for b in $BUYERS; do buyer "${b%%:*}" "${b#*:}" & done
sleep "$KILL_AFTER"

# --- the kill -------------------------------------------------------------------
old_port=$(sc_primary_port 0)
old_dir=$(sc_node_dir 0 "$old_port")
old_pid=$(sc_primary_pid 0)
old_group=$(awk -v d="$old_dir" '$2 == d {print $1}' "$TR_SCALE/groups")
acked_before=$(cat "$WORK"/buyer[1-4].log | grep -c 'confirmed ')
t_kill=$(date +%s.%N)
kill -KILL -- "$old_pid" "-$old_group"
echo "# $(date -u +%T) SIGKILL to shard 0's primary (postmaster $old_pid, port $old_port) and its pg_autoctl; $acked_before confirmations acknowledged on shard 0 so far"
wait
t_end=$(date +%s.%N)

# --- after ----------------------------------------------------------------------
grep -h '^NOTICE:  ' "$WORK"/buyer[1-4].log | sed 's/^NOTICE:  //' >"$WORK/shard0.log"
grep -h '^NOTICE:  ' "$WORK"/buyer[5-6].log | sed 's/^NOTICE:  //' >"$WORK/shard1.log"
# recovered: the first hold after the last error (the outage began at the kill)
last_error=$(awk '$1 == "error" {print $2}' "$WORK/shard0.log" | sort -n | tail -1)
first_after=$(awk -v t="${last_error:-$t_kill}" '$1 == "reserved" && $2 > t {print $2}' "$WORK/shard0.log" | sort -n | head -1)
if [ -n "$first_after" ]; then
  recovery=$(echo "$first_after - $t_kill" | bc)
  printf '# shard 0 took reservations again %.1f s after the kill\n' "$recovery"
  ok "reservations on shard 0 succeed again through the router after the kill"
  cmp_ok "$(printf %.0f "$recovery")" -lt "$BOUND" "... within $BOUND seconds (measured: ${recovery} s)"
else
  not_ok "reservations on shard 0 succeed again through the router after the kill" "none in $(echo "$t_end - $t_kill" | bc) s"
  not_ok "... within $BOUND seconds"
fi
new_port=$(sc_primary_port 0)
[ -n "$new_port" ] && [ "$new_port" != "$old_port" ] && ok "the standby was promoted (primary now on port $new_port)" \
  || not_ok "the standby was promoted" "primary port '$new_port', was $old_port"
new_pid=$("$CLUSTER" primary-pid 0)
[ -n "$new_pid" ] && [ "$new_pid" != "$old_pid" ] && ok "cluster.sh primary-pid 0 names the new primary ($new_pid)" \
  || not_ok "cluster.sh primary-pid 0 names the new primary" "got '$new_pid'"
errors=$(grep -c '^error ' "$WORK/shard0.log")
echo "# shard 0: $(grep -c '^confirmed ' "$WORK/shard0.log") confirmations acknowledged, $errors errors during the failover"
echo "# first and last error: $(grep '^error ' "$WORK/shard0.log" | sed -n '1p;$p' | cut -c1-160 | paste -sd'|')"
cmp_ok "$errors" -ge 1 "shard 0's buyers saw the outage (the test killed something)"
is "$(grep '^error ' "$WORK/shard0.log" | grep -vc '^error [0-9.]* 08006 shard unavailable$')" 0 \
   "every call that failed during the failover failed with 08006 shard unavailable"
is "$(grep -c '^error ' "$WORK/shard1.log")" 0 "shard 1's buyers saw no error"
cmp_ok "$(grep -c '^confirmed ' "$WORK/shard1.log")" -ge 10 "shard 1's buyers kept buying"
for k in 0 1; do
  n=$(awk '$1 == "confirmed"' "$WORK/shard$k.log" | wc -l)
  before=$(awk -v t="$t_kill" '$1 == "confirmed" && $2 < t' "$WORK/shard$k.log" | wc -l)
  port=$(sc_primary_port "$k")
  still=$( { echo "CREATE TEMP TABLE acked (id uuid); COPY acked FROM STDIN;"
             awk '$1 == "confirmed" {print $3}' "$WORK/shard$k.log"; echo '\.'
             echo "SELECT count(*) FROM ticketres.reservations r JOIN acked a ON a.id = r.id WHERE r.status = 'confirmed';"
           } | sc_psql "$port" -d "$TR_SCALE_DB" -At)
  is "$still" "$n" "shard $k: all $n acknowledged confirmations ($before before the kill) are confirmed on the current primary"
  is "$(sc_q "$port" "$TR_SCALE_DB" "SELECT coalesce(sum(violations), 0) FROM ticketres.check_invariants()")" 0 \
    "shard $k: every invariant holds (no seat sold twice)"
done
cmp_ok "$acked_before" -ge 1 "some confirmations were acknowledged on shard 0 before the kill"
# pg_cron's job table came over with the data; pg_cron runs jobs on a primary
ran=0
for _ in $(seq 1 150); do
  ran=$(sc_q "$new_port" "$TR_SCALE_DB" "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
          WHERE j.jobname = 'ticketres-expire' AND d.status = 'succeeded' AND d.start_time > to_timestamp($t_kill)")
  [ "${ran:-0}" -ge 1 ] && break
  sleep 0.5
done
cmp_ok "${ran:-0}" -ge 1 "pg_cron's expiry job ran on the promoted standby after the failover"
is "$(rq "SELECT tr_health() ->> 'status'")" degraded "tr_health: degraded while shard 0 runs without a standby"
is "$(rq "SELECT tr_health() ->> 'degraded_shards'")" "[0]" "tr_health names shard 0"
done_testing

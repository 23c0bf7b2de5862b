# test/lib/torture.sh — drive test/lib/torture.sql from suites: start N
# racing clients, wait for them (bounded), check the invariants, the exact
# count and the clients' acknowledgements, print the figures. Source it after
# common.sh and tap.sh, with PGHOST/PGPORT/PGUSER/PGDATABASE set and TT_DIR a
# scratch directory.
#
#   tt_setup NSEATS           load the driver, make the event: sets TT_EV
#   tt_new_event NSEATS       a fresh event for the next runs: sets TT_EV
#   tt_start NAME N SECONDS [RELEASE]
#                             N clients in the background, each one
#                             CALL torture.run(i, SECONDS, event, RELEASE);
#                             client i's stderr (the acks) in $TT_DIR/NAME/i.err
#   tt_wait NAME [GRACE]      wait for them: at most SECONDS + GRACE (default
#                             60) each, then they are killed; sets TT_HUNG (how
#                             many had to be killed) and TT_FAILED (how many
#                             exited non-zero)
#   tt_check LABEL            invariants and the exact count (TAP)
#   tt_acks_check LABEL       every acknowledged reservation exists and every
#                             acknowledged confirmation is still confirmed,
#                             unless an admin released it (TAP)
#   tt_unexpected NAME        errors outside the catalogue seen by clients
#   tt_figures LABEL          the outcome tally as "#" lines

TT_CATALOGUE="('00000', '22023', 'PT403', 'PT404', 'PT409', 'PT410', 'PT422', 'PT503')"
declare -A TT_PIDS TT_SECONDS

tt_q() { tr_psql -At -c "$1"; }

tt_setup() {
  tr_psql -c "CREATE EXTENSION IF NOT EXISTS ticketres" >/dev/null || return 1
  tr_psql -f "$TR_ROOT/test/lib/truth.sql" -f "$TR_ROOT/test/lib/torture.sql" >/dev/null || return 1
  tt_new_event "$1"
}

tt_new_event() {
  TT_EV=$(tt_q "SELECT torture.new_event($1)")
  [ -n "$TT_EV" ]
}

tt_start() {
  local name=$1 n=$2 secs=$3 release=${4:-true} dir=$TT_DIR/$1 i pids=()
  mkdir -p "$dir"
  for i in $(seq 1 "$n"); do
    timeout -s KILL "$((${secs%.*} + ${TT_GRACE:-60}))" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
      -c "CALL torture.run($i, $secs, '$TT_EV', $release)" >"$dir/$i.out" 2>"$dir/$i.err" &
    pids+=($!)
  done
  TT_PIDS[$name]=${pids[*]}
  TT_SECONDS[$name]=$secs
}

tt_wait() {
  local name=$1 p rc
  TT_HUNG=0; TT_FAILED=0
  for p in ${TT_PIDS[$name]}; do
    wait "$p"; rc=$?
    if [ "$rc" = 137 ]; then TT_HUNG=$((TT_HUNG + 1))
    elif [ "$rc" != 0 ]; then TT_FAILED=$((TT_FAILED + 1)); fi
  done
  unset "TT_PIDS[$name]"
}

tt_check() {
  is "$(tt_q "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()")" 0 \
    "$1: ticketres.check_invariants() finds no violation"
  is "$(tt_q "SELECT coalesce(string_agg(e.id || ': ' || d, '; '), 'equal')
               FROM ticketres.events e, tr_truth.count_diff(e.id) AS d WHERE d <> 'equal'")" equal \
    "$1: tr_available_count equals the truth counted from the rows (every event)"
}

# the acks of run NAME, "what id" per line
tt_acks() { cat "$TT_DIR/$1"/*.err 2>/dev/null | sed -n 's/^NOTICE:  ack \([a-z]*\) \([0-9a-f-]*\)$/\1 \2/p'; }

tt_acks_check() {
  local name=$1 f=$TT_DIR/$1.acks n_res n_conf out
  tt_acks "$name" | tr ' ' '\t' >"$f"
  out=$(tr_psql -At <<SQL
CREATE TEMP TABLE ack (what text, id uuid);
\\copy ack FROM '$f'
SELECT count(*) FILTER (WHERE what = 'reserve') || '|' || count(*) FILTER (WHERE what = 'confirm') FROM ack;
SELECT count(*) FROM ack a WHERE a.what = 'reserve'
   AND NOT EXISTS (SELECT 1 FROM ticketres.reservations r WHERE r.id = a.id);
SELECT count(*) FROM ack a LEFT JOIN ticketres.reservations r ON r.id = a.id
 WHERE a.what = 'confirm' AND r.status IS DISTINCT FROM 'confirmed'
   AND NOT EXISTS (SELECT 1 FROM ticketres.audit_log l WHERE l.action = 'release_reservation'
                    AND l.reservation_id = a.id AND l.details ->> 'previous_status' = 'confirmed');
SQL
)
  n_res=$(sed -n 1p <<<"$out" | cut -d'|' -f1); n_conf=$(sed -n 1p <<<"$out" | cut -d'|' -f2)
  echo "# $name: clients saw $n_res reservations and $n_conf confirmations acknowledged"
  is "$(sed -n 2p <<<"$out")" 0 "$1: every reservation a client saw acknowledged exists"
  is "$(sed -n 3p <<<"$out")" 0 "$1: every confirmation a client saw acknowledged is still confirmed"
}

# errors outside the catalogue that clients of run NAME saw (NOTICE lines)
tt_unexpected() { cat "$TT_DIR/$1"/*.err 2>/dev/null | grep -c '^NOTICE:  unexpected'; }

tt_figures() {
  local label=$1
  tt_q "SELECT op || ' ' || string_agg(CASE WHEN sqlstate = '00000' THEN 'ok' ELSE sqlstate || ' ' || message END
                                        || '=' || n, ', ' ORDER BY n DESC)
          FROM (SELECT op, sqlstate, message, sum(n) AS n FROM torture.tally GROUP BY 1, 2, 3) t
         GROUP BY op ORDER BY op" | sed "s/^/# $label: /"
  echo "# $label: $(tt_q "SELECT coalesce(sum(n), 0) FROM torture.tally") operations executed"
}

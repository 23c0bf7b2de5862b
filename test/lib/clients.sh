# test/lib/clients.sh — real concurrent clients for suites. Source it after
# common.sh, with PGHOST/PGPORT/PGUSER/PGDATABASE set and TR_CLIENTS_DIR a
# scratch directory.
#
#   tr_session_open NAME / tr_session_sql NAME SQL / tr_session_close NAME
#       a long-lived psql session fed through a FIFO, e.g. to hold a lock
#       across other sessions' calls; tr_session_sql returns once SQL ran.
#   tr_race NAME N GEN
#       starts N psql clients, client i running the SQL that `GEN i` prints,
#       all parked on a start barrier (a shared advisory lock the controller
#       holds); once all N wait on it, the controller lets them go at once.
#       Client i's stdout+stderr end up in $TR_CLIENTS_DIR/NAME/i.out.
#       TR_RACE_HOOK, when set, is eval'ed between "all parked" and "go".
#   tr_outcome FILE
#       one line for a single-statement client: "OK ..." or "SQLSTATE message"
#       (clients run with VERBOSITY verbose), "NONE" when neither showed up.

TR_BARRIER_KEY=${TR_BARRIER_KEY:-737373}

declare -A TR_SESSION_FD TR_SESSION_PID

tr_session_open() {
  local name=$1 fifo=$TR_CLIENTS_DIR/session.$1 fd
  rm -f "$fifo"; mkfifo "$fifo"
  "$PGBIN/psql" -X -q -At -v VERBOSITY=verbose <"$fifo" >"$fifo.out" 2>&1 &
  TR_SESSION_PID[$name]=$!
  exec {fd}>"$fifo"
  TR_SESSION_FD[$name]=$fd
}

# Run SQL in the session and wait (up to 60 s) until it has run.
tr_session_sql() {
  local name=$1 sql=$2 mark="done-$RANDOM-$RANDOM"
  printf '%s\n\\echo %s\n' "$sql" "$mark" >&"${TR_SESSION_FD[$name]}"
  for _ in $(seq 1 600); do
    grep -q "^$mark\$" "$TR_CLIENTS_DIR/session.$name.out" && return 0
    sleep 0.1
  done
  tr_log "session $name did not run: $sql"; return 1
}

tr_session_close() {
  local name=$1 fd=${TR_SESSION_FD[$1]}
  printf '\\q\n' >&"$fd"
  exec {fd}>&-
  wait "${TR_SESSION_PID[$name]}" 2>/dev/null
  unset "TR_SESSION_FD[$name]" "TR_SESSION_PID[$name]"
}

# How many sessions wait for the barrier lock.
tr_barrier_waiting() {
  tr_psql -At -c "SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory'
    AND NOT granted AND classid = 0 AND objid = $TR_BARRIER_KEY AND objsubid = 1
    AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())"
}

tr_race() {
  local name=$1 n=$2 gen=$3 dir=$TR_CLIENTS_DIR/$1 i pids=() waiting=0
  mkdir -p "$dir"
  tr_session_open barrier
  tr_session_sql barrier "SELECT pg_advisory_lock($TR_BARRIER_KEY);" || return 1
  for i in $(seq 1 "$n"); do
    {
      echo '\set VERBOSITY verbose'
      echo "SELECT pg_advisory_lock_shared($TR_BARRIER_KEY) IS NULL AS parked \\gset"
      echo "SELECT pg_advisory_unlock_shared($TR_BARRIER_KEY) IS NULL AS started \\gset"
      "$gen" "$i"
    } >"$dir/$i.sql"
    "$PGBIN/psql" -X -q -At -f "$dir/$i.sql" >"$dir/$i.out" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 1 600); do
    waiting=$(tr_barrier_waiting)
    [ "$waiting" -ge "$n" ] && break
    sleep 0.1
  done
  [ "$waiting" -ge "$n" ] || tr_log "race $name: only $waiting of $n clients reached the barrier"
  [ -n "${TR_RACE_HOOK:-}" ] && eval "$TR_RACE_HOOK"
  tr_session_sql barrier "SELECT pg_advisory_unlock($TR_BARRIER_KEY);"
  tr_session_close barrier
  wait "${pids[@]}"
}

tr_outcome() {
  local f=$1 line
  line=$(grep -m1 '^OK' "$f") && { echo "$line"; return; }
  line=$(grep -m1 -o 'ERROR:  [0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z]: .*' "$f") \
    && { line=${line#ERROR:  }; echo "${line/: / }"; return; }
  echo NONE
}

#!/usr/bin/env bash
# test/scale/cluster.sh — a local ticketres scale-out cluster (doc/scale-out.md).
#   up N          monitor + N shards (primary + synchronous standby each, under
#                 pg_auto_failover) + a router database with ticketres_router;
#                 prints "router: host=127.0.0.1 port=P dbname=D user=U" and
#                 "shard K: primary-pid=PID" for each shard
#   primary-pid K the pid of shard K's current primary postmaster
#   down          stops everything `up` started (pg_autoctl stop, then kills
#                 what is left of each node's process group) and removes it
# Data and pg_auto_failover's state live under test/tmp/scale; every server
# runs as the PostgreSQL user on 127.0.0.1, on free ports.
# TR_SCALE_DEFAULT_TIMEOUTS=1 keeps pg_auto_failover's default timeouts (a
# failover then takes about a minute instead of about 15 seconds).
set -uo pipefail
# libpq settings of the caller (./test/run_all.sh exports its own cluster's)
# would become pg_autoctl's defaults: every server here is named explicitly
unset PGDATABASE PGDATA PGHOST PGPORT PGUSER PGSERVICE PGOPTIONS
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/scale/lib.sh"

# start a pg_autoctl node in its own session (its process group is the node:
# pg_autoctl, its services and the postmaster it supervises)
start_node() {  # DIR ARGS...
  local dir=$1; shift
  setsid runuser -u "$TR_PG_USER" -- env "${SC_ENV[@]}" pg_autoctl "$@" >>"$dir/autoctl.log" 2>&1 </dev/null &
  echo "$! $dir" >>"$TR_SCALE/groups"
}

# wait until the monitor reports node NAME in STATE (up to $3 seconds)
wait_state() {
  local i
  for i in $(seq 1 $(( ${3:-120} * 2 ))); do
    [ "$(sc_monitor "SELECT reportedstate FROM pgautofailover.node WHERE nodename = '$1'" 2>/dev/null)" = "$2" ] && return 0
    sleep 0.5
  done
  return 1
}

up_monitor() {
  local dir=$TR_SCALE/monitor
  tr_pg_dir "$dir"
  MONITOR_PORT=$(tr_free_port)
  sc_autoctl create monitor --pgdata "$dir/data" --pgport "$MONITOR_PORT" --hostname 127.0.0.1 \
    --auth trust --no-ssl --pgctl "$PGBIN/pg_ctl" >"$dir/create.log" 2>&1 \
    || { tail -20 "$dir/create.log"; tr_die "pg_autoctl create monitor failed"; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$dir'"
    # pg_autoctl's own tuning sizes memory for a dedicated machine; here
    # several servers share one: PostgreSQL's defaults
    echo "shared_buffers = 128MB"
    echo "work_mem = 4MB"
    echo "maintenance_work_mem = 64MB"
    if [ -z "${TR_SCALE_DEFAULT_TIMEOUTS:-}" ]; then
      # Faster failure detection for tests (defaults: 5 s checks, a node is
      # unhealthy after 20 s, the old primary gets 30 s to demote itself).
      # The demote timeout stays above the keepers' network partition timeout
      # (5 s below), so an isolated old primary has stopped before the
      # standby takes writes.
      echo "pgautofailover.health_check_period = 1000"
      echo "pgautofailover.health_check_timeout = 1000"
      echo "pgautofailover.health_check_max_retries = 2"
      echo "pgautofailover.health_check_retry_delay = 1000"
      echo "pgautofailover.node_considered_unhealthy_timeout = 5000"
      echo "pgautofailover.primary_demote_timeout = 8000"
    fi
  } >>"$dir/data/postgresql.conf"
  start_node "$dir" run --pgdata "$dir/data"
  for _ in $(seq 1 60); do sc_monitor "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.5; done
  tail -20 "$dir/autoctl.log"; tr_die "the monitor did not start"
}

# shard K: formation shardK, node a (initdb'd here with ticketres's settings,
# then registered: the first node becomes the primary) and node b (cloned by
# pg_autoctl with pg_basebackup, so it has the same settings)
up_shard() {
  local k=$1 mon="postgres://autoctl_node@127.0.0.1:$MONITOR_PORT/pg_auto_failover?sslmode=disable"
  local a=$TR_SCALE/shard$k/a b=$TR_SCALE/shard$k/b pa pb
  sc_autoctl create formation --monitor "$mon" --formation "shard$k" --kind pgsql \
    --dbname "$TR_SCALE_DB" >/dev/null 2>&1 || tr_die "pg_autoctl create formation shard$k failed"
  tr_pg_dir "$a"; tr_pg_dir "$b"
  pa=$(tr_free_port); echo "$pa" >"$a/.port"
  tr_as_pg "$PGBIN/initdb" -D "$a/data" -U "$TR_PG_USER" --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$a/initdb.log" 2>&1 || { cat "$a/initdb.log"; tr_die "initdb failed"; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "unix_socket_directories = '$TR_SCALE'"
    echo "shared_preload_libraries = 'pg_cron,ticketres'"
    echo "cron.database_name = '$TR_SCALE_DB'"
    # pg_cron stores each job's target as host:port (localhost and the port
    # of the node it was scheduled on); here the standby listens on another
    # port, so after a failover the job would dial the dead primary. Jobs in
    # background workers run in whichever server is the primary.
    echo "cron.use_background_workers = on"
    # PostgreSQL's defaults otherwise; more connections than the default 100
    # because the router's PL/Proxy pool, pg_auto_failover's keeper and
    # monitor checks and the suites' concurrent buyers share each node
    echo "max_connections = 200"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
  } >>"$a/data/postgresql.conf"
  start_node "$a" create postgres --pgdata "$a/data" --pgport "$pa" --pghost 127.0.0.1 \
    --listen 127.0.0.1 --hostname 127.0.0.1 --name "shard$k-a" --formation "shard$k" \
    --monitor "$mon" --no-ssl --skip-pg-hba --dbname "$TR_SCALE_DB" --username "$TR_PG_USER" \
    --pgctl "$PGBIN/pg_ctl" --run
  wait_state "shard$k-a" single 120 || { tail -20 "$a/autoctl.log"; tr_die "shard $k: no primary"; }
  [ -n "${TR_SCALE_DEFAULT_TIMEOUTS:-}" ] || sc_autoctl config set --pgdata "$a/data" timeout.network_partition_timeout 5 >/dev/null
  sc_psql "$pa" -d "$TR_SCALE_DB" -c "CREATE EXTENSION pg_cron; CREATE EXTENSION ticketres" >/dev/null \
    || tr_die "shard $k: CREATE EXTENSION failed"
  sed 's/@API@/public/g' "$TR_ROOT/router/ticketres_shard.sql" | sc_psql "$pa" -d "$TR_SCALE_DB" >/dev/null \
    || tr_die "shard $k: ticketres_shard.sql failed"
  sc_q "$pa" "$TR_SCALE_DB" "SELECT tr_schedule_expiry()" >/dev/null || tr_die "shard $k: tr_schedule_expiry failed"
  pb=$(tr_free_port); echo "$pb" >"$b/.port"
  start_node "$b" create postgres --pgdata "$b/data" --pgport "$pb" --pghost 127.0.0.1 \
    --listen 127.0.0.1 --hostname 127.0.0.1 --name "shard$k-b" --formation "shard$k" \
    --monitor "$mon" --no-ssl --skip-pg-hba --dbname "$TR_SCALE_DB" --username "$TR_PG_USER" \
    --pgctl "$PGBIN/pg_ctl" --run
  echo "SHARD${k}_PORTS='$pa $pb'" >>"$TR_SCALE/state"
}

# wait for shard K's standby: pg_basebackup waits for a checkpoint, which a
# CHECKPOINT on the primary hurries along
wait_standby() {
  local k=$1 pa; pa=$(cat "$TR_SCALE/shard$k/a/.port")
  for _ in $(seq 1 120); do
    wait_state "shard$k-b" secondary 1 && break
    sc_q "$pa" postgres "CHECKPOINT" >/dev/null 2>&1
  done
  wait_state "shard$k-b" secondary 1 || { tail -20 "$TR_SCALE/shard$k/b/autoctl.log"; tr_die "shard $k: no standby"; }
  [ -n "${TR_SCALE_DEFAULT_TIMEOUTS:-}" ] || sc_autoctl config set --pgdata "$TR_SCALE/shard$k/b/data" timeout.network_partition_timeout 5 >/dev/null
  # every commit waits for the standby: the primary runs in state "primary"
  # with synchronous_standby_names naming it
  wait_state "shard$k-a" primary 60 || tr_die "shard $k: the primary did not reach state primary"
}

up_router() {
  local dir=$TR_SCALE/router k
  . "$TR_SCALE/state"
  tr_start_pg "$dir" "max_connections = 200"
  ROUTER_PORT=$PGPORT
  echo "ROUTER_PORT=$ROUTER_PORT" >>"$TR_SCALE/state"
  echo "ROUTER_PGDATA=$PGDATA" >>"$TR_SCALE/state"
  sc_psql "$ROUTER_PORT" -d postgres -c "CREATE DATABASE $TR_SCALE_DB" >/dev/null || tr_die "router: createdb failed"
  sc_psql "$ROUTER_PORT" -d "$TR_SCALE_DB" -c "CREATE EXTENSION ticketres_router CASCADE" >/dev/null \
    || tr_die "router: CREATE EXTENSION ticketres_router failed"
  for k in $(seq 0 $((SHARDS - 1))); do
    sc_q "$ROUTER_PORT" "$TR_SCALE_DB" "SELECT ticketres_router.add_shard('$(sc_shard_conninfo "$k")')" >/dev/null \
      || tr_die "router: add_shard $k failed"
  done
}

cmd_up() {
  local n=${1:-}
  [[ $n =~ ^[1-9][0-9]*$ ]] || tr_die "usage: cluster.sh up N (N >= 1 shards)"
  [ -f "$TR_SCALE/groups" ] && cmd_down
  tr_ensure_packages
  # a private PostgreSQL copy made before PL/Proxy or pg_auto_failover were
  # installed lacks them: make tr_private_pg copy it again
  [ -f "$PGBIN/../lib/plproxy.so" ] && [ -f "$PGBIN/../lib/pgautofailover.so" ] || rm -f "$TR_PGROOT/.stamp"
  # inside ./test/run_all.sh (TR_RUN) ticketres is built and installed already
  [ -n "${TR_RUN:-}" ] && [ -f "$TR_PGROOT/.stamp" ] || tr_build_install
  make -C "$TR_ROOT/router" -s PG_CONFIG="$PGBIN/pg_config" install >/dev/null || tr_die "router install failed"
  command -v pg_autoctl >/dev/null || tr_die "pg_autoctl is missing (pg-auto-failover-cli)"
  rm -rf "$TR_SCALE"; tr_pg_dir "$TR_SCALE"
  mkdir -p "$TR_SCALE/xdg/run"; tr_pg_dir "$TR_SCALE/xdg"; tr_pg_dir "$TR_SCALE/xdg/run"
  chmod 700 "$TR_SCALE/xdg/run"
  : >"$TR_SCALE/groups"
  tr_log "scale-out: monitor"
  up_monitor
  { echo "MONITOR_PORT=$MONITOR_PORT"; echo "SHARDS=$n"; } >"$TR_SCALE/state"
  for k in $(seq 0 $((n - 1))); do tr_log "scale-out: shard $k"; up_shard "$k"; done
  for k in $(seq 0 $((n - 1))); do wait_standby "$k"; done
  SHARDS=$n
  tr_log "scale-out: router"
  up_router
  echo "router: host=127.0.0.1 port=$ROUTER_PORT dbname=$TR_SCALE_DB user=$TR_PG_USER"
  for k in $(seq 0 $((n - 1))); do echo "shard $k: primary-pid=$(sc_primary_pid "$k")"; done
}

cmd_primary_pid() {
  [[ ${1:-} =~ ^[0-9]+$ ]] || tr_die "usage: cluster.sh primary-pid K"
  sc_load
  [ "$1" -lt "$SHARDS" ] || tr_die "no shard $1 (the cluster has $SHARDS)"
  sc_primary_pid "$1" || tr_die "shard $1 has no primary right now"
}

# stop what `up` started: the router, then every pg_autoctl node (standbys and
# primaries, the monitor last), then whatever is left of their process groups
cmd_down() {
  local pgid dir
  if [ -f "$TR_SCALE/state" ]; then
    . "$TR_SCALE/state"
    [ -n "${ROUTER_PGDATA:-}" ] && [ -f "$ROUTER_PGDATA/postmaster.pid" ] && \
      tr_as_pg "$PGBIN/pg_ctl" -D "$ROUTER_PGDATA" -m fast -w stop >/dev/null 2>&1
  fi
  if [ -f "$TR_SCALE/groups" ]; then
    tac "$TR_SCALE/groups" | while read -r pgid dir; do
      kill -0 "$pgid" 2>/dev/null || continue
      sc_autoctl stop --pgdata "$dir/data" >/dev/null 2>&1 &
    done
    wait
    for _ in $(seq 1 20); do
      alive=0
      while read -r pgid dir; do kill -0 -- "-$pgid" 2>/dev/null && alive=1; done <"$TR_SCALE/groups"
      [ $alive = 0 ] && break
      sleep 0.5
    done
    while read -r pgid dir; do kill -KILL -- "-$pgid" 2>/dev/null; done <"$TR_SCALE/groups"
  fi
  [ -n "${TR_KEEP:-}" ] || rm -rf "$TR_SCALE"
  return 0
}

case "${1:-}" in
  up) shift; cmd_up "$@" ;;
  primary-pid) shift; cmd_primary_pid "$@" ;;
  down) cmd_down ;;
  *) echo "usage: $0 up N | primary-pid K | down" >&2; exit 2 ;;
esac

# test/scale/lib.sh — the local scale-out cluster of test/scale/cluster.sh:
# a pg_auto_failover monitor, N shards (each a formation "shardK" with a
# primary and a synchronous standby, ticketres + pg_cron preloaded) and a
# router database (ticketres_router over PL/Proxy). Everything runs as the
# PostgreSQL user on 127.0.0.1, under $TR_SCALE (test/tmp/scale). Source it
# after common.sh.

TR_SCALE=${TR_SCALE:-$TR_TMP/scale}
TR_SCALE_DB=ticketres
# pg_auto_failover keeps its configuration and state under XDG directories
# (by default in the user's home): keep them with the cluster
SC_ENV=(XDG_CONFIG_HOME="$TR_SCALE/xdg/config" XDG_DATA_HOME="$TR_SCALE/xdg/data"
        XDG_RUNTIME_DIR="$TR_SCALE/xdg/run" PATH="$PGBIN:$PATH")
sc_autoctl() { tr_as_pg env "${SC_ENV[@]}" pg_autoctl "$@"; }
sc_psql() { local port=$1; shift; PGOPTIONS="-c client_min_messages=warning" tr_psql -h 127.0.0.1 -p "$port" -U "$TR_PG_USER" "$@"; }
sc_q() { local port=$1 db=$2; shift 2; sc_psql "$port" -d "$db" -Atc "$*"; }
# the state file written by `up`: MONITOR_PORT, ROUTER_PORT, SHARDS, SHARD<K>_PORTS
sc_load() {
  [ -f "$TR_SCALE/state" ] || tr_die "no scale-out cluster (run test/scale/cluster.sh up N)"
  . "$TR_SCALE/state"
}
sc_monitor() { sc_q "$MONITOR_PORT" pg_auto_failover "$@"; }

# the port of shard K's current primary (as the monitor sees it), or nothing
sc_primary_port() {
  sc_monitor "SELECT nodeport FROM pgautofailover.node WHERE formationid = 'shard$1'
                 AND goalstate IN ('single', 'primary', 'wait_primary')
                 AND reportedstate = goalstate ORDER BY nodeid LIMIT 1" 2>/dev/null
}
# the data directory of the node of shard K that listens on PORT
sc_node_dir() {
  local d
  for d in "$TR_SCALE/shard$1"/*/; do
    d=${d%/}
    [ "$(cat "$d/.port" 2>/dev/null)" = "$2" ] && { echo "$d"; return 0; }
  done
  return 1
}
# pid of shard K's current primary postmaster
sc_primary_pid() {
  local port dir
  port=$(sc_primary_port "$1"); [ -n "$port" ] || return 1
  dir=$(sc_node_dir "$1" "$port") || return 1
  head -1 "$dir/data/postmaster.pid" 2>/dev/null
}
# the router's connect string to shard K: both nodes, whichever is primary
sc_shard_conninfo() {
  local ports; ports=$(eval echo "\$SHARD$1_PORTS")
  echo "host=127.0.0.1,127.0.0.1 port=${ports/ /,} dbname=$TR_SCALE_DB user=$TR_PG_USER target_session_attrs=read-write connect_timeout=2"
}

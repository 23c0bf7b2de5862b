# test/bench/ab_lib.sh — what ab.sh and cpu_ab.sh share: one cluster with
# the benchmark's settings, and per database ticketres (plus a variant) with
# a 1,000,000-seat event and its seats in random order (table bench_seat).
# Sourced after test/lib/common.sh.

# ab_cluster DIR: build and install, start a cluster in DIR (stopped at exit)
ab_cluster() {
  tr_ensure_packages
  tr_build_install
  rm -rf "$1"
  trap tr_stop_pg EXIT
  # as test/bench/run.sh: room for a 1,000,000-row load without forced checkpoints
  tr_start_pg "$1/pg" "max_wal_size = 8GB" "checkpoint_timeout = 30min" \
    "shared_preload_libraries = 'ticketres'"
}

# ab_database DB [VARIANT.sql]: the database, ticketres, the variant, the
# event and bench_seat; prints the event id
ab_database() {
  local db=$1 variant=${2:-} ev
  tr_psql -d postgres -c "CREATE DATABASE $db" >/dev/null
  tr_psql -d "$db" -c "CREATE EXTENSION ticketres" >/dev/null
  [ -n "$variant" ] && tr_psql -d "$db" -f "$variant" >/dev/null
  ev=$(tr_psql -d "$db" -At -c "SELECT id FROM tr_create_event('ab', now() + interval '30 days', now() + interval '31 days')")
  tr_psql -d "$db" -At -c "SELECT tr_generate_seats('$ev', 'M', 1000, 1000, 100)" >/dev/null
  tr_psql -d "$db" -c "CREATE TABLE bench_seat AS SELECT row_number() OVER (ORDER BY random()) AS n, id
    FROM ticketres.seats WHERE event_id = '$ev'; ALTER TABLE bench_seat ADD PRIMARY KEY (n);
    CREATE SEQUENCE bench_seq" >/dev/null
  echo "$ev"
}

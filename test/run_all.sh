#!/usr/bin/env bash
# Every test: installs what is missing, builds and installs ticketres, starts
# a throwaway cluster under test/tmp/run-<pid> (pg_cron and ticketres
# preloaded), then runs
#   1. pg_regress  (sql/*.sql against expected/*.out)
#   2. pgTAP       (test/pgtap/*.sql with pg_prove)
#   3. suites      (test/suites/*.sh: concurrency, Redis, HTTP, ...; each
#                   prints TAP and may start its own servers)
# and ends with "N passed, M failed, K skipped" (a TAP "ok N # SKIP" line is
# a skip, never a pass). Exits non-zero on any failure.
# TR_ONLY=regex limits the suites run (e.g. TR_ONLY=concurrency).
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"

tr_ensure_packages
tr_build_install

RUN=$TR_TMP/run-$$
trap 'tr_stop_pg; [ -n "${TR_KEEP:-}" ] || rm -rf "$RUN"' EXIT
tr_start_pg "$RUN/pg" \
  "shared_preload_libraries = 'pg_cron,ticketres'" \
  "cron.database_name = 'ticketres_test'" \
  "max_prepared_transactions = 10"    # the default 0 disables PREPARE TRANSACTION, which suites test
export TR_RUN=$RUN
tr_psql -d postgres -c "CREATE DATABASE ticketres_test" || tr_die "createdb failed"
export PGDATABASE=ticketres_test

passed=0; failed=0; skipped=0; failures=()
record() {  # record NAME OK(0/1)
  if [ "$2" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}
. "$TR_ROOT/test/lib/tap_count.sh"
# count_tap NAME OUTPUT: add a TAP stream's results; sets nok to its failures
count_tap() {
  tap_count "$2"; nok=$TAP_NOT_OK
  passed=$((passed + TAP_PASSED)); skipped=$((skipped + TAP_SKIPPED)); failed=$((failed + nok))
  [ "$nok" -gt 0 ] && failures+=("$1: $nok")
}

# 1. pg_regress: one result per test file
if [ -z "${TR_ONLY:-}" ] || [[ regress =~ ${TR_ONLY} ]]; then
  tr_log "pg_regress"
  mkdir -p "$RUN/regress"
  regress_tests=$(sed -n 's/^REGRESS *= *//p' "$TR_ROOT/Makefile")
  "$("$PGBIN/pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress" \
    --inputdir="$TR_ROOT" --outputdir="$RUN/regress" --bindir="$PGBIN" \
    --host=127.0.0.1 --port="$PGPORT" --user="$TR_PG_USER" \
    --dbname=contrib_regression --load-extension=ticketres $regress_tests >"$RUN/regress/out.log" 2>&1
  cat "$RUN/regress/out.log"
  for t in $regress_tests; do
    if grep -Eq "^(ok|not ok)? *[0-9]* *[-+]? *$t +\.\.\. ok|test $t +\.\.\. ok" "$RUN/regress/out.log" \
       || grep -Eq "^ok +[0-9]+ +[-+] +$t " "$RUN/regress/out.log" \
       || grep -Eq " $t +\.\.\. ok" "$RUN/regress/out.log"; then
      record "regress/$t" 0
    else
      record "regress/$t" 1
    fi
  done
  [ -f "$RUN/regress/regression.diffs" ] && cat "$RUN/regress/regression.diffs"
fi

# 2. pgTAP: one result per assertion
if [ -z "${TR_ONLY:-}" ] || [[ pgtap =~ ${TR_ONLY} ]]; then
  tr_log "pgTAP"
  tr_psql -c "CREATE EXTENSION IF NOT EXISTS pgtap; CREATE EXTENSION IF NOT EXISTS ticketres" >/dev/null
  for f in "$TR_ROOT"/test/pgtap/*.sql; do
    [ -e "$f" ] || continue
    out=$(pg_prove --verbose --dbname "$PGDATABASE" --host 127.0.0.1 --port "$PGPORT" \
            --username "$TR_PG_USER" "$f" 2>&1); rc=$?
    echo "$out"
    count_tap "pgtap/$(basename "$f")" "$out"
    if [ "$rc" != 0 ] && [ "$nok" = 0 ]; then record "pgtap/$(basename "$f") (run)" 1; fi
  done
fi

# 3. suites: TAP from scripts, one result per assertion
for s in "$TR_ROOT"/test/suites/*.sh; do
  [ -e "$s" ] || continue
  name=$(basename "$s" .sh)
  if [ -n "${TR_ONLY:-}" ] && ! [[ $name =~ ${TR_ONLY} ]]; then continue; fi
  tr_log "suite $name"
  out=$(bash "$s" 2>"$RUN/$name.stderr"); rc=$?
  echo "$out"
  count_tap "$name" "$out"
  if [ "$rc" != 0 ]; then
    record "$name (exit $rc)" 1
    tail -30 "$RUN/$name.stderr"
  fi
done

echo
[ ${#failures[@]} -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]

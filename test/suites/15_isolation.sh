#!/usr/bin/env bash
# 15_isolation — the isolation specs (specs/*.spec, expected/*.out, ISOLATION
# in the Makefile) run by pg_isolation_regress from PGXS against the test
# cluster, one TAP line per spec. Each spec replays exact interleavings of
# concurrent transitions step by step; its expected output is the contract:
# which call wins, what the loser gets, and, through "<waiting ...>", which
# steps wait (see the comment at the top of each spec).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

# the ISOLATION list, continuation lines included
specs=$(sed -n '/^ISOLATION *=/,/[^\\]$/p' "$TR_ROOT/Makefile" | sed 's/^ISOLATION *= *//; s/\\$//' | tr -s ' \t\n' ' ')
out=${TR_RUN:-$TR_TMP}/isolation
rm -rf "$out"; mkdir -p "$out"
# a spec that hangs must not hang the run: bounded, then its prepared
# transactions (specs name them iso_*) are rolled back
timeout 600 "$("$PGBIN/pg_config" --pkglibdir)/pgxs/src/test/isolation/pg_isolation_regress" \
  --inputdir="$TR_ROOT" --outputdir="$out" --bindir="$PGBIN" \
  --host=127.0.0.1 --port="$PGPORT" --user="$TR_PG_USER" \
  --dbname=isolation_regression --load-extension=ticketres $specs >"$out/out.log" 2>&1
rc=$?
for gid in $(tr_psql -At -d postgres -c "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'iso\_%'"); do
  tr_psql -d postgres -c "ROLLBACK PREPARED '$gid'" >/dev/null
done
[ "$rc" = 124 ] && echo "# pg_isolation_regress timed out" >&2

for t in $specs; do
  if grep -Eq "^test $t +\.\.\. ok" "$out/out.log"; then
    ok "isolation spec $t"
  else
    not_ok "isolation spec $t"
    # the spec's part of the diff, as TAP comments
    [ -f "$out/regression.diffs" ] && awk -v t="/$t.out" 'index($0, "diff ") == 1 { show = index($0, t) > 0 } show' \
      "$out/regression.diffs" | head -80 | sed 's/^/# /'
  fi
done
done_testing

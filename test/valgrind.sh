#!/usr/bin/env bash
# test/valgrind.sh — the C code under valgrind memcheck (issue 7; not part of
# the test command). Copies the checkout to test/tmp/valgrind/tree (its own
# private PostgreSQL copy: the normal build is untouched), builds it with -g,
# puts a wrapper in place of that copy's postgres binary that runs the server
# under valgrind when TR_VALGRIND=1 (only the servers the suites start, not
# initdb), and runs pg_regress, pgTAP, the Redis, fuzz and security suites.
# Then counts the valgrind errors whose stack passes through ticketres.so
# (PostgreSQL itself is not built for valgrind, so its own noise is listed
# apart). Ends with the runner's "N passed, M failed" and that count (0).
# (AddressSanitizer was tried first: with libasan preloaded, PostgreSQL 15's
# postgres binary deadlocks in glibc's bindtextdomain before main runs.)
#   TR_VALGRIND_ONLY=regex   other suites (default: regress|pgtap|30_redis|fuzz|security)
set -uo pipefail
. "$(dirname "$0")/lib/common.sh"

VG_DIR=$TR_TMP/valgrind
TREE=$VG_DIR/tree
TR_APT_PACKAGES="$TR_APT_PACKAGES valgrind" tr_ensure_packages
rm -rf "$VG_DIR/logs"; mkdir -p "$VG_DIR/logs"; tr_pg_dir "$VG_DIR/logs"
tr_log "copying the checkout to $TREE"
mkdir -p "$TREE"
tar -C "$TR_ROOT" --exclude=./test/tmp --exclude='*.o' --exclude='*.bc' --exclude='*.so' -cf - . \
  | tar -C "$TREE" -xf -
export COPT="-g -O1 -fno-omit-frame-pointer"
# the tree's own private PostgreSQL copy, with the wrapper in it
(TR_TMP=$TREE/test/tmp; . "$TREE/test/lib/common.sh"; tr_private_pg)
bin=$TREE/test/tmp/pginst/usr/lib/postgresql/15/bin
[ -x "$bin/postgres" ] || tr_die "no private PostgreSQL copy in $TREE"
if [ ! -e "$bin/postgres.real" ]; then
  mv "$bin/postgres" "$bin/postgres.real"
  cat >"$bin/postgres" <<WRAP
#!/bin/sh
# valgrind wrapper (test/valgrind.sh): only for servers started with TR_VALGRIND=1
if [ "\${TR_VALGRIND:-}" = 1 ] && [ "\$1" != -V ] && [ "\$1" != --version ]; then
  exec valgrind --quiet --trace-children=no --leak-check=no --error-limit=no --num-callers=30 \\
    --log-file=$VG_DIR/logs/vg.%p.log "$bin/postgres.real" "\$@" -c jit=off
fi
exec "$bin/postgres.real" "\$@"
WRAP
  chmod 755 "$bin/postgres"
fi
export TR_PG_ENV="TR_VALGRIND=1"
TR_ONLY=${TR_VALGRIND_ONLY:-'regress|pgtap|30_redis|fuzz|security'} TR_FUZZ_CALLS=${TR_FUZZ_CALLS:-300} \
  "$TREE/test/run_all.sh" 2>&1 | tee "$VG_DIR/run.log"
rc=${PIPESTATUS[0]}

# each error block of a log: ours when a frame is in ticketres.so
ours=0; theirs=0
for f in "$VG_DIR"/logs/vg.*.log; do
  [ -s "$f" ] || continue
  o=$(awk '/^==[0-9]+== [A-Z]/ { if (blk != "") { print (mine ? "ours" : "theirs") } ; blk = $0; mine = 0; next }
           /ticketres\.so/ { mine = 1 }
           /^==[0-9]+== $/ { if (blk != "") print (mine ? "ours" : "theirs"); blk = ""; mine = 0 }
           END { if (blk != "") print (mine ? "ours" : "theirs") }' "$f")
  ours=$((ours + $(grep -c '^ours' <<<"$o"))); theirs=$((theirs + $(grep -c '^theirs' <<<"$o")))
  grep -q '^ours' <<<"$o" && { echo "== $f"; head -60 "$f"; }
done
nlogs=$(ls "$VG_DIR"/logs/vg.*.log 2>/dev/null | wc -l)
echo "valgrind: $nlogs server processes ran under memcheck; $ours errors through ticketres.so, $theirs elsewhere"
[ "$rc" = 0 ] && [ "$ours" = 0 ] && [ "$nlogs" -gt 0 ]

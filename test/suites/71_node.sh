#!/usr/bin/env bash
# 71_node.sh — the Node checkout service (examples/node) against the test
# cluster: npm ci of its pinned node-postgres, then its own tests with node's
# built-in runner (they make and drop their own database). Node's TAP has one
# "ok N" line per top-level test (subtests would be indented), so it is
# passed on as it is; a run that dies without reporting is a "not ok".
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/examples.sh"

DIR=$TR_ROOT/examples/node
tr_npm_ci "$DIR"
out=$(cd "$DIR" && node --test --test-reporter=tap test/checkout.test.js 2>&1); rc=$?
echo "$out"
if [ "$rc" != 0 ] && ! grep -qE '^not ok [0-9]+' <<<"$out"; then
  TAP_N=$(grep -cE '^ok [0-9]+' <<<"$out")
  not_ok "node --test exited $rc without a failing test"
fi

#!/usr/bin/env bash
# test/long.sh — the long reliability run (issue 7; not part of the test
# command): the torture suite for TR_TORTURE_SECONDS (default 300) with
# TR_TORTURE_CLIENTS (default 32) clients, the crash and Redis fault suites
# with as many clients, and TR_FUZZ_CALLS (default 20000) random fuzz calls.
# Ends with the runner's "N passed, M failed".
set -uo pipefail
export TR_TORTURE_SECONDS=${TR_TORTURE_SECONDS:-300}
export TR_TORTURE_CLIENTS=${TR_TORTURE_CLIENTS:-32}
export TR_FUZZ_CALLS=${TR_FUZZ_CALLS:-20000}
TR_ONLY=${TR_LONG_ONLY:-'torture|crash|redis_faults|fuzz'} exec "$(dirname "$0")/run_all.sh"

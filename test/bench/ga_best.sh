#!/usr/bin/env bash
# test/bench/ga_best.sh — only the general admission and best-available
# scenarios of the benchmark suite (test/bench/run.sh, sections 8 and 9:
# DESIGN §6 targets, baselines in the same run), with the results in
# test/tmp/bench-ga-best rather than doc/bench. About 4 minutes.
#   TR_BENCH_SECS=10 TR_BENCH_ROUNDS=3   as for run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export TR_BENCH_SKIP=reserve,hot,rush,expire,redis,http
export TR_BENCH_OUT=${TR_BENCH_OUT:-$here/../tmp/bench-ga-best}
exec "$here/run.sh"

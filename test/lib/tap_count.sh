# test/lib/tap_count.sh — how the test runner counts a TAP stream. Source it.
# tap_count OUTPUT: sets TAP_PASSED, TAP_SKIPPED and TAP_NOT_OK. An
# "ok N # SKIP reason" line is a skip, never a pass.
tap_count() {
  local ok
  ok=$(grep -cE '^ok [0-9]+' <<<"$1")
  TAP_NOT_OK=$(grep -cE '^not ok [0-9]+' <<<"$1")
  TAP_SKIPPED=$(grep -ciE '^ok [0-9]+[^#]*# *skip' <<<"$1")
  TAP_PASSED=$((ok - TAP_SKIPPED))
}

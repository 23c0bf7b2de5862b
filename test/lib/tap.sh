# test/lib/tap.sh — tiny TAP producer for suite scripts. Source it.
TAP_N=0; TAP_FAILED=0
ok()      { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1"; }
not_ok()  { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $1"; [ -n "${2:-}" ] && echo "# $2"; }
# is GOT WANT NAME
is()      { if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3" "got '$1', want '$2'"; fi; }
# cmp_ok GOT OP WANT NAME  (integers)
cmp_ok()  { if [ "$1" "$2" "$3" ]; then ok "$4"; else not_ok "$4" "got '$1', want $2 '$3'"; fi; }
done_testing() { echo "1..$TAP_N"; [ "$TAP_FAILED" = 0 ]; }

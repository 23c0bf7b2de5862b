#!/usr/bin/env bash
# 72_browser.sh — the seat-map page (examples/web) in headless Chromium,
# driven by Playwright (playwright-core, pinned; the Debian chromium, never a
# downloaded browser). A database laid out for the web as in 50_http.sh,
# PostgREST, the page server (examples/web/serve.js), an event of 72 seats
# with a few already sold, held and blocked; then alice and bob in two
# browser contexts (examples/web/test/seatmap.browser.test.js): hold,
# countdown, "taken, pick another", cancel, confirm, sold, a short hold
# running out. Screenshots go to test/tmp/browser/. Prints TAP (node's, one
# line per top-level step).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"
. "$TR_ROOT/test/lib/http.sh"
. "$TR_ROOT/test/lib/examples.sh"

DB=tr_browser_$$
ANON=tr_web_anon USER_ROLE=tr_web_user ADMIN=tr_web_admin AUTH=tr_authenticator
WORK=${TR_RUN:-$TR_TMP}/browser-$$
SHOTS=$TR_TMP/browser
SECRET=$(openssl rand -hex 24)
cleanup() {
  tr_stop_seatmap
  tr_stop_postgrest
  tr_psql -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -x /usr/bin/chromium ] || tr_die "chromium is missing (tr_ensure_packages installs it)"
tr_ensure_postgrest
tr_npm_ci "$TR_ROOT/examples/web"
tr_http_setup_db "$DB" "$ANON" "$USER_ROLE" "$ADMIN" "$AUTH"
tr_start_postgrest "$WORK" "$DB" "$ANON" "$AUTH" "$SECRET" 10
tr_start_seatmap "$WORK"
mkdir -p "$SHOTS"

# an event of 6 rows x 12 seats; carol bought four, dave holds two, two blocked
sql() { tr_psql -d "$DB" -At -c "$1"; }
EV=$(sql "SELECT id FROM api.tr_create_event('Seat map night', now() + interval '30 days',
                now() + interval '30 days 3 hours', 'Loopback Hall')")
sql "SELECT api.tr_generate_seats('$EV', 'A', 6, 12, 4500)" >/dev/null
ids() { echo "ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '$EV' AND label IN ($1))"; }
sql "SELECT api.tr_confirm((api.tr_reserve('$EV', 'carol', $(ids "'A-1-5','A-1-6','A-1-7','A-1-8'"), 'c1')).id, 'carol')" >/dev/null
sql "SELECT api.tr_reserve('$EV', 'dave', $(ids "'A-2-9','A-2-10'"), 'd1')" >/dev/null
sql "SELECT api.tr_block_seats('$EV', $(ids "'A-6-1','A-6-12'"), 'camera platform')" >/dev/null

out=$(cd "$TR_ROOT/examples/web" && \
  TR_PAGE_URL=$TR_SEATMAP_URL TR_API=$TR_HTTP_URL TR_EVENT=$EV TR_SHOTS=$SHOTS \
  TR_JWT_ALICE=$(tr_jwt_for "$SECRET" "$USER_ROLE" alice) TR_JWT_BOB=$(tr_jwt_for "$SECRET" "$USER_ROLE" bob) \
  TR_PSQL="$PGBIN/psql -d $DB" \
  node --test --test-reporter=tap test/seatmap.browser.test.js 2>&1); rc=$?
echo "$out"
if [ "$rc" != 0 ] && ! grep -qE '^not ok [0-9]+' <<<"$out"; then
  TAP_N=$(grep -cE '^ok [0-9]+' <<<"$out")
  not_ok "the browser test exited $rc without a failing step"
fi

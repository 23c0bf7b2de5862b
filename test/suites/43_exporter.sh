#!/usr/bin/env bash
# 43_exporter — contrib/postgres_exporter_queries.yaml works with the real
# prometheus-postgres-exporter: started on a free loopback port against the
# test database, its /metrics carries ticketres samples from tr_metrics(),
# and they move when a reservation is made. The exporter is stopped at the end.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

q() { tr_psql -At "$@"; }
EXP_PORT=$(tr_free_port)
DATA_SOURCE_NAME="postgresql://$PGUSER@127.0.0.1:$PGPORT/$PGDATABASE?sslmode=disable" \
  prometheus-postgres-exporter --web.listen-address="127.0.0.1:$EXP_PORT" \
  --extend.query-path="$TR_ROOT/contrib/postgres_exporter_queries.yaml" \
  --disable-default-metrics --disable-settings-metrics >"$TR_RUN/exporter.log" 2>&1 &
EXP_PID=$!
trap 'kill "$EXP_PID" 2>/dev/null; wait "$EXP_PID" 2>/dev/null' EXIT

scrape() { curl -s "http://127.0.0.1:$EXP_PORT/metrics"; }
# value of the ticketres_value series whose labels include all of "$@"
series() {
  local out; out=$(scrape | grep '^ticketres_value{')
  for l in "$@"; do out=$(grep -F "$l" <<<"$out"); done
  awk '{print $2}' <<<"$out" | head -1
}
for _ in $(seq 1 50); do scrape >/dev/null 2>&1 && break; sleep 0.2; done

is "$(series 'metric="ticketres_preloaded"')" 1 "the exporter serves ticketres_preloaded from tr_metrics()"
EV=$(q -c "SELECT id FROM tr_create_event('exporter', now() + interval '1 day', now() + interval '2 days')")
q -c "SELECT tr_generate_seats('$EV', 'X', 1, 4, 10)" >/dev/null
is "$(series 'metric="ticketres_seats_available"' "event=\"$EV\"")" 4 "per-event gauges carry the event label"
before=$(series 'metric="ticketres_reservations_total"' 'outcome="created"')
q -c "SELECT tr_reserve('$EV', 'exp', ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '$EV' LIMIT 1))" >/dev/null
after=$(series 'metric="ticketres_reservations_total"' 'outcome="created"')
is "$(awk -v a="$after" -v b="$before" 'BEGIN { print a - b }')" 1 "the created counter moves through the exporter"
is "$(series 'metric="ticketres_seats_available"' "event=\"$EV\"")" 3 "and the gauge follows"
grep -q "error" "$TR_RUN/exporter.log" && not_ok "exporter log has no errors" "$(grep error "$TR_RUN/exporter.log" | head -3)" \
  || ok "exporter log has no errors"
done_testing

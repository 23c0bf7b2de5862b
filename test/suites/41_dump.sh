#!/usr/bin/env bash
# 41_dump — pg_dump -Fc of a database using ticketres, pg_restore into a fresh
# database: every event, seat, reservation, counter and audit row comes back,
# the invariants hold in the copy, tr_available_count agrees, and the audit
# sequence continues (a new admin action in the copy gets a new id).
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

SRC=ticketres_dump_src DST=ticketres_dump_dst
DUMP=$TR_RUN/ticketres.dump
qs() { tr_psql -At -d "$SRC" "$@"; }
qd() { tr_psql -At -d "$DST" "$@"; }
cleanup() { tr_psql -d postgres -c "DROP DATABASE IF EXISTS $SRC" -c "DROP DATABASE IF EXISTS $DST" >/dev/null 2>&1; }
trap cleanup EXIT
cleanup
tr_psql -d postgres -c "CREATE DATABASE $SRC" -c "CREATE DATABASE $DST"
qs -c "CREATE EXTENSION ticketres"

# data in every state: pending, confirmed, cancelled, expired, released,
# extended, blocked seats; two events
qs >/dev/null <<'SQL'
SELECT tr_create_event('dump ' || i, now() + interval '1 day', now() + interval '2 days') FROM generate_series(1, 2) i;
SELECT tr_generate_seats(e.id, 'D', 5, 10, 250) FROM ticketres.events e;
CREATE TEMP TABLE s AS SELECT event_id, array_agg(id ORDER BY label) AS ids FROM ticketres.seats GROUP BY 1;
SELECT tr_reserve(event_id, 'u' || i, ids[i:i], 'k' || i || event_id) FROM s, generate_series(1, 12) i;
SELECT tr_confirm(r.id, r.user_id) FROM ticketres.reservations r WHERE r.user_id IN ('u1', 'u2', 'u3');
SELECT tr_cancel(r.id, r.user_id) FROM ticketres.reservations r WHERE r.user_id IN ('u4', 'u5');
SELECT tr_release_reservation(r.id, 'refund') FROM ticketres.reservations r WHERE r.user_id = 'u1';
SELECT tr_extend_hold(r.id, interval '10 minutes', 'payment') FROM ticketres.reservations r WHERE r.user_id = 'u6';
UPDATE ticketres.reservations SET expires_at = now() - interval '1 minute' WHERE user_id IN ('u7', 'u8');
SELECT tr_expire();
UPDATE ticketres.reservations SET expires_at = now() - interval '1 minute' WHERE user_id = 'u9';
SELECT tr_block_seats(event_id, ids[40:45], 'pillar') FROM s;
SQL

# row fingerprints per table, and what the API says
fingerprint() {
  "$1" -c "SELECT string_agg(t || ':' || n || ':' || h, ' ' ORDER BY t) FROM (
      SELECT 'events' t, count(*) n, md5(string_agg(x::text, ',' ORDER BY x.id)) h FROM ticketres.events x
      UNION ALL SELECT 'seats', count(*), md5(string_agg(x::text, ',' ORDER BY x.id)) FROM ticketres.seats x
      UNION ALL SELECT 'reservations', count(*), md5(string_agg(x::text, ',' ORDER BY x.id)) FROM ticketres.reservations x
      UNION ALL SELECT 'seat_counts', count(*), md5(string_agg(x::text, ',' ORDER BY x.event_id, x.stripe)) FROM ticketres.seat_counts x
      UNION ALL SELECT 'audit_log', count(*), md5(string_agg(x::text, ',' ORDER BY x.id)) FROM ticketres.audit_log x) f"
}
available() { "$1" -c "SELECT string_agg(tr_available_count(id)::text, ',' ORDER BY id) FROM ticketres.events"; }
before=$(fingerprint qs)
avail_before=$(available qs)
cmp_ok "$(qs -c "SELECT count(*) FROM ticketres.audit_log")" -ge 4 "source has audit rows"
cmp_ok "$(qs -c "SELECT count(DISTINCT status) FROM ticketres.reservations")" -eq 4 "source has reservations in all four states"

"$PGBIN/pg_dump" -Fc -d "$SRC" -f "$DUMP" 2>"$TR_RUN/dump.err"; rc=$?
is "$rc" 0 "pg_dump -Fc succeeds"
"$PGBIN/pg_restore" --exit-on-error -d "$DST" "$DUMP" 2>"$TR_RUN/restore.err"; rc=$?
is "$rc" 0 "pg_restore into a fresh database succeeds"
[ "$rc" = 0 ] || cat "$TR_RUN/restore.err" >&2

is "$(qd -c "SELECT extversion FROM pg_extension WHERE extname = 'ticketres'")" "$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$TR_ROOT/ticketres.control")" "the copy has the extension (CREATE EXTENSION from the dump)"
is "$(fingerprint qd)" "$before" "every event, seat, reservation, counter and audit row is back, unchanged"
is "$(qd -c "SELECT count(*) FROM ticketres.check_invariants() WHERE violations > 0")" 0 "invariants hold in the copy"
is "$(available qd)" "$avail_before" "tr_available_count agrees in the copy"

# the copy works: the audit sequence continues, holds move
next=$(qd -c "SELECT max(id) FROM ticketres.audit_log")
qd -c "SELECT tr_unblock_seats(event_id, ids[40:41], 'after restore') FROM (SELECT event_id, array_agg(id ORDER BY label) ids FROM ticketres.seats GROUP BY 1) s" >/dev/null
cmp_ok "$(qd -c "SELECT min(id) FROM ticketres.audit_log WHERE reason = 'after restore'")" -gt "$next" \
  "a new audit row after restore gets a new id"
is "$(qd -c "SELECT tr_expire()")" 2 "the overdue holds are expired in the copy"
is "$(qd -c "SELECT count(*) FROM ticketres.check_invariants() WHERE violations > 0")" 0 "invariants still hold"
done_testing

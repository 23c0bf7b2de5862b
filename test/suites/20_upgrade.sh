#!/usr/bin/env bash
# 20_upgrade.sh — 0.1 -> 0.2 (DESIGN §7). Installs 0.1 (the frozen script)
# with the 0.2 library, checks the library serves it, fills it (events,
# seats, holds, purchases, cancellations, expiries, audit rows), runs
# ALTER EXTENSION ticketres UPDATE, then checks: every row is still there,
# the catalog equals a fresh 0.2 install object by object, the invariants
# hold, old holds can still be confirmed, and the pg_regress and pgTAP tests
# pass on the updated database. Prints TAP.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$TR_ROOT/test/lib/tap.sh"

OLD=tr_up_old_$$ NEW=tr_up_new_$$
WORK=${TR_RUN:-$TR_TMP}/upgrade-$$
mkdir -p "$WORK"; tr_pg_dir "$WORK"
trap 'for d in $OLD $NEW; do tr_psql -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT
for d in $OLD $NEW; do tr_psql -d postgres -c "CREATE DATABASE $d" >/dev/null || tr_die "createdb $d failed"; done
qo() { tr_psql -d "$OLD" -At "$@"; }
qn() { tr_psql -d "$NEW" -At "$@"; }

qo -c "CREATE EXTENSION ticketres VERSION '0.1'" >/dev/null
is "$(qo -c "SELECT extversion FROM pg_extension WHERE extname = 'ticketres'")" 0.1 "0.1 installs from the frozen script"

# the 0.2 library serves a 0.1 database: the whole journey works before the update
qo >/dev/null <<'SQL' || tr_die "fill failed"
CREATE TABLE up_ids (name text PRIMARY KEY, id uuid);
INSERT INTO up_ids SELECT 'ev', id FROM tr_create_event('Upgrade night', now() + interval '10 days',
    now() + interval '11 days', 'Old Hall', 'before and after', '15 minutes', 10);
INSERT INTO up_ids SELECT 'ev2', id FROM tr_create_event('Second', now() + interval '20 days',
    now() + interval '21 days');
SELECT tr_generate_seats((SELECT id FROM up_ids WHERE name = 'ev'), 'A', 10, 20, 1500);
SELECT tr_add_seats((SELECT id FROM up_ids WHERE name = 'ev2'),
    '[{"label": "VIP-1", "section": "VIP", "row": "1", "number": 1, "price": 9000},
      {"label": "VIP-2", "section": "VIP", "row": "1", "number": 2, "price": 9000}]');
CREATE FUNCTION up_seats(lbl text[]) RETURNS uuid[] LANGUAGE sql AS
  $$ SELECT array_agg(id) FROM ticketres.seats WHERE label = ANY (lbl) $$;
-- a purchase, a cancellation, a pending hold, one that will be overdue, an
-- idempotent hold, and admin actions with audit rows
INSERT INTO up_ids SELECT 'bought', id FROM tr_reserve((SELECT id FROM up_ids WHERE name = 'ev'), 'alice', up_seats('{A-1-1,A-1-2}'), 'a1');
SELECT tr_confirm((SELECT id FROM up_ids WHERE name = 'bought'), 'alice');
INSERT INTO up_ids SELECT 'cancelled', id FROM tr_reserve((SELECT id FROM up_ids WHERE name = 'ev'), 'bob', up_seats('{A-2-1}'));
SELECT tr_cancel((SELECT id FROM up_ids WHERE name = 'cancelled'), 'bob');
INSERT INTO up_ids SELECT 'pending', id FROM tr_reserve((SELECT id FROM up_ids WHERE name = 'ev'), 'carol', up_seats('{A-3-1,A-3-2,A-3-3}'), 'c1');
INSERT INTO up_ids SELECT 'overdue', id FROM tr_reserve((SELECT id FROM up_ids WHERE name = 'ev'), 'dave', up_seats('{A-4-1}'), NULL, '1 second');
INSERT INTO up_ids SELECT 'released', id FROM tr_reserve((SELECT id FROM up_ids WHERE name = 'ev2'), 'erin', up_seats('{VIP-1}'));
SELECT tr_release_reservation((SELECT id FROM up_ids WHERE name = 'released'), 'refund');
SELECT tr_extend_hold((SELECT id FROM up_ids WHERE name = 'pending'), '10 minutes', 'slow bank');
SELECT tr_block_seats((SELECT id FROM up_ids WHERE name = 'ev'), up_seats('{A-10-20}'), 'broken');
SQL
sleep 1.2
is "$(qo -c "SELECT tr_expire()")" 1 "the 0.2 library sweeps a 0.1 database (tr_expire)"
is "$(qo -c "SELECT count(*) FROM ticketres.reservations")/$(qo -c "SELECT count(*) FROM ticketres.audit_log")" "5/3" \
  "0.1 database filled: 5 reservations, 3 audit rows"

tables="events seats reservations seat_counts audit_log"
snapshot() {  # one md5 per table, of all its rows (their 0.1 columns: 0.2 adds some)
  for t in $tables; do
    printf '%s %s\n' "$t" "$(qo -c "SELECT count(*) || ':' || md5(coalesce(string_agg(y, ',' ORDER BY y), '')) FROM (SELECT (to_jsonb(x) - ARRAY['rank', 'ga_area_id', 'quantity', 'best_available', 'best_free'])::text AS y FROM ticketres.$t x) z")"
  done
}
before=$(snapshot)
# the storage of reservations, seat_counts and their 0.1 indexes: the update
# retypes columns to domains (catalog only) and must not rewrite or rebuild
# them (seats is rewritten once, by design: its stored generated column
# best_free, see 00_schema.sql)
files="SELECT string_agg(relname || '=' || relfilenode, ' ' ORDER BY relname) FROM pg_class
        WHERE relnamespace = 'ticketres'::regnamespace
          AND relname IN ('reservations', 'reservations_pkey', 'seat_counts', 'seat_counts_pkey')"
files_before=$(qo -c "$files")

out=$(qo -c "ALTER EXTENSION ticketres UPDATE" 2>&1)
is "$out$(qo -c "SELECT extversion FROM pg_extension WHERE extname = 'ticketres'")" 0.2 "ALTER EXTENSION ticketres UPDATE to 0.2"
is "$(snapshot)" "$before" "every row of every table is still there, unchanged"
is "$(qo -c "$files")" "$files_before" \
  "the update rewrote neither reservations nor seat_counts and rebuilt none of their 0.1 indexes"

# the catalog of the updated database equals a fresh 0.2 install, object by object
qn -c "CREATE EXTENSION ticketres" >/dev/null
cat >"$WORK/catalog.sql" <<'SQL'
WITH ext AS (SELECT oid, extconfig FROM pg_extension WHERE extname = 'ticketres'),
members AS (
  SELECT d.classid, d.objid FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass
     AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT 'object ' || pg_describe_object(m.classid, m.objid, 0) FROM members m
UNION ALL
SELECT 'function ' || p.oid::regprocedure || E'\n' || pg_get_functiondef(p.oid)
       || ' acl=' || coalesce(p.proacl::text, '-') || ' comment=' || coalesce(obj_description(p.oid, 'pg_proc'), '-')
  FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
UNION ALL
SELECT 'relation ' || c.oid::regclass || ' ' || c.relkind::text || ' options=' || coalesce(c.reloptions::text, '-')
       || ' acl=' || coalesce(c.relacl::text, '-') || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '-')
  FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
UNION ALL
SELECT 'column ' || a.attrelid::regclass || '.' || a.attnum || ' ' || a.attname || ' '
       || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
       || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '-') || ' collation=' || a.attcollation::regcollation
  FROM pg_attribute a JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = a.attrelid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || co.conrelid::regclass || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  FROM pg_constraint co JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = co.conrelid
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = i.indrelid
UNION ALL
SELECT 'sequence ' || s.seqrelid::regclass || ' ' || format_type(s.seqtypid, NULL) || ' ' || s.seqstart
       || ' ' || s.seqmin || ' ' || s.seqmax
  FROM pg_sequence s JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = s.seqrelid
UNION ALL
SELECT 'enum ' || e.enumtypid::regtype || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_enum e JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = e.enumtypid GROUP BY e.enumtypid
UNION ALL
SELECT 'dumped ' || string_agg(c::regclass::text, ',' ORDER BY c::regclass::text) FROM ext, unnest(ext.extconfig) c
ORDER BY 1;
SQL
qo -f "$WORK/catalog.sql" >"$WORK/updated.txt" || tr_die "catalog query failed"
qn -f "$WORK/catalog.sql" >"$WORK/fresh.txt" || tr_die "catalog query failed"
cmp_ok "$(grep -c '^object ' "$WORK/fresh.txt")" -gt 50 "the catalog description lists every object of the extension"
if diff -u "$WORK/fresh.txt" "$WORK/updated.txt" >"$WORK/catalog.diff"; then
  ok "the updated catalog equals a fresh 0.2 install ($(grep -c '^object ' "$WORK/fresh.txt") objects, every definition, ACL and comment)"
else
  not_ok "the updated catalog equals a fresh 0.2 install"; sed 's/^/# /' "$WORK/catalog.diff" | head -40
fi

# the data keeps working after the update
is "$(qo -c "SELECT count(*) FROM ticketres.seats WHERE rank IS NULL OR rank <> (row_label::int - 1) * 20 + abs(2 * seat_number - 21) - (2 * seat_number < 21)::int AND section = 'A'")" 0 \
  "the update ranks the existing seats as tr_generate_seats does (front rows, centre out)"
is "$(qo -c "SELECT count(*) FROM ticketres.reservations WHERE quantity IS DISTINCT FROM cardinality(seat_ids) OR ga_area_id IS NOT NULL")" 0 \
  "the update gives every existing reservation its quantity (number of seats)"
is "$(qo -c "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()")" 0 "invariants hold on the updated database"
is "$(qo -c "SELECT status FROM tr_confirm((SELECT id FROM up_ids WHERE name = 'pending'), 'carol')")" confirmed \
  "a hold made on 0.1 is confirmed on 0.2"
qo -c "SELECT 1 FROM tr_reserve((SELECT id FROM up_ids WHERE name = 'ev'), 'dave', up_seats('{A-4-2}'), NULL, '1 second')" >/dev/null
sleep 1.2
is "$(qo -c "SELECT tr_expire()")" 1 "tr_expire sweeps on the updated database"
is "$(qo -c "SELECT status FROM tr_reserve((SELECT id FROM up_ids WHERE name = 'ev'), 'carol', up_seats('{A-3-1,A-3-2,A-3-3}'), 'c1')")" confirmed \
  "an idempotent retry of a 0.1 reservation replays it on 0.2"
is "$(qo -c "SELECT tr_available_count(id) FROM up_ids WHERE name = 'ev'")" \
   "$(qo -c "SELECT count(*) FROM ticketres.seats s JOIN up_ids u ON u.id = s.event_id AND u.name = 'ev' WHERE s.status = 'available'")" \
   "the availability count is exact after the update"
is "$(qo -c "SELECT count(*) FROM tr_add_ga_area((SELECT id FROM up_ids WHERE name = 'ev'), 'Standing', 5, 800)")/$(qo -c "SELECT quantity || ':' || total_amount FROM tr_reserve_ga((SELECT id FROM up_ids WHERE name = 'ev'), 'Standing', 3, 'gina')")/$(qo -c "SELECT tr_ga_available((SELECT id FROM up_ids WHERE name = 'ev'), 'Standing')")" "1/3:2400/2" \
  "an updated 0.1 event gains a general admission area and sells from it"
is "$(qo -c "SELECT string_agg(s.label, ',' ORDER BY s.seat_number) FROM tr_reserve_best((SELECT id FROM up_ids WHERE name = 'ev'), 2, 'hank') r JOIN ticketres.seats s ON s.id = ANY (r.seat_ids)")" "A-1-10,A-1-11" \
  "best available picks the best free pair of an updated 0.1 event"
is "$(qo -c "SELECT coalesce(sum(violations), -1) FROM ticketres.check_invariants()")" 0 "invariants hold with GA and best-available holds on the updated database"
is "$(qo -c "SELECT count(*) FROM tr_delete_event((SELECT id FROM up_ids WHERE name = 'ev2'))" 2>&1)" 1 \
  "an event without live reservations is deleted on 0.2 (its old reservations with it)"

# the pg_regress and pgTAP tests on the updated database (emptied first: they
# count what they create)
qo -c "DELETE FROM ticketres.reservations; DELETE FROM ticketres.seats; DELETE FROM ticketres.events; DELETE FROM ticketres.audit_log; DROP TABLE up_ids; DROP FUNCTION up_seats" >/dev/null
mkdir -p "$WORK/regress"; chmod 777 "$WORK/regress"
regress_tests=$(sed -n 's/^REGRESS *= *//p' "$TR_ROOT/Makefile")
"$("$PGBIN/pg_config" --pkglibdir)/pgxs/src/test/regress/pg_regress" \
  --inputdir="$TR_ROOT" --outputdir="$WORK/regress" --bindir="$PGBIN" --use-existing \
  --host=127.0.0.1 --port="$PGPORT" --user="$TR_PG_USER" --dbname="$OLD" $regress_tests >"$WORK/regress/out.log" 2>&1
for t in $regress_tests; do
  if grep -Eq " $t +\.\.\. ok" "$WORK/regress/out.log"; then ok "pg_regress $t on the updated database"
  else not_ok "pg_regress $t on the updated database"; sed 's/^/# /' "$WORK/regress/regression.diffs" 2>/dev/null | head -30; fi
done
tr_psql -d "$OLD" -c "CREATE EXTENSION IF NOT EXISTS pgtap" >/dev/null
for f in "$TR_ROOT"/test/pgtap/*.sql; do
  # 40_health creates pg_cron, which exists only in cron.database_name (the runner's database)
  [ "$(basename "$f")" = 40_health.sql ] && continue
  out=$(pg_prove --dbname "$OLD" --host 127.0.0.1 --port "$PGPORT" --username "$TR_PG_USER" "$f" 2>&1)
  if grep -q '^Result: PASS' <<<"$out"; then ok "pgTAP $(basename "$f") on the updated database"
  else not_ok "pgTAP $(basename "$f") on the updated database"; sed 's/^/# /' <<<"$out" | grep -v '^# ok' | head -20; fi
done

done_testing

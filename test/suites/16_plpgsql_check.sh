#!/usr/bin/env bash
# 16_plpgsql_check — plpgsql_check (Debian postgresql-15-plpgsql-check) over
# every PL/pgSQL function of the extension (found through pg_depend), with all
# its warnings on, one TAP line per function: no errors, and no warning that
# test/plpgsql_check_allow.txt does not list with the reason and the fix (to
# be made in src/sql/; ticketres--0.1.sql is frozen). A listed warning that
# no longer occurs fails too, so the list only shrinks to what is true.
# The check runs in one transaction that is rolled back, in the database
# pg_cron serves (cron.database_name): the expiry-job functions use pg_cron's
# tables, which exist only where pg_cron can be created.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

TR_APT_PACKAGES=postgresql-15-plpgsql-check tr_ensure_packages
# a private copy made before the package was installed lacks it: same build, copy it in
ext=usr/share/postgresql/15/extension lib=usr/lib/postgresql/15/lib
if [ ! -f "$TR_PGROOT/$ext/plpgsql_check.control" ]; then
  cp /"$ext"/plpgsql_check* "$TR_PGROOT/$ext/" && cp /"$lib"/plpgsql_check.so "$TR_PGROOT/$lib/"
fi
allow=$TR_ROOT/test/plpgsql_check_allow.txt

# function <TAB> level|sqlstate|message|detail (empty when clean)
findings=$(tr_psql -At -F $'\t' -d "${PGDATABASE:-ticketres_test}" <<'SQL' 2>&1
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ticketres;
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS plpgsql_check;
WITH f AS (
  SELECT p.oid, p.oid::regprocedure::text AS fn
    FROM pg_depend d
    JOIN pg_proc p ON p.oid = d.objid
    JOIN pg_language l ON l.oid = p.prolang
   WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
     AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ticketres')
     AND d.deptype = 'e' AND l.lanname = 'plpgsql')
SELECT DISTINCT f.fn, coalesce(c.level || '|' || c.sqlstate || '|' || c.message || '|' || coalesce(c.detail, ''), '')
  FROM f LEFT JOIN LATERAL plpgsql_check_function_tb(f.oid, all_warnings => true) c ON true
 ORDER BY 1, 2;
ROLLBACK;
SQL
) || { not_ok "plpgsql_check ran" "$findings"; done_testing; exit 1; }

fns=$(cut -f1 <<<"$findings" | sort -u)
cmp_ok "$(wc -l <<<"$fns")" -ge 20 "found the extension's PL/pgSQL functions"
allowed=$(grep -v '^#' "$allow" | grep .)
used=""
while IFS= read -r fn; do
  bad="" nallowed=0
  while IFS=$'\t' read -r f finding; do
    [ "$f" = "$fn" ] && [ -n "$finding" ] || continue
    if [[ $finding != error\|* ]] && grep -Fxq "$fn|$finding" <<<"$allowed"; then
      nallowed=$((nallowed + 1)); used+="$fn|$finding"$'\n'
    else
      bad+="$finding; "
    fi
  done <<<"$findings"
  note=""; [ "$nallowed" -gt 0 ] && note=" ($nallowed allow-listed warning(s))"
  if [ -z "$bad" ]; then
    ok "plpgsql_check $fn$note"
  else
    not_ok "plpgsql_check $fn" "$bad"
  fi
done <<<"$fns"
while IFS= read -r entry; do
  grep -Fxq "$entry" <<<"$used" && ok "allow-list entry still needed: ${entry%%|*}" \
    || not_ok "allow-list entry still needed: ${entry%%|*}" "no longer reported: $entry (remove it)"
done <<<"$allowed"
done_testing

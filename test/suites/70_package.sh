#!/usr/bin/env bash
# 70_package — the Debian package postgresql-15-ticketres: builds it (make deb,
# test/build_deb.sh), checks its metadata and that it ships what `make install`
# installs, then overlays its files on a fresh copy of the private PostgreSQL
# installation (never the system one), starts a cluster on that copy and
# creates the extension from the packaged files: the default version, and
# 0.1 updated to it when the package has upgrade scripts.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

TR_APT_PACKAGES="postgresql-server-dev-all debhelper dpkg-dev" tr_ensure_packages
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$TR_ROOT/ticketres.control")

deb=$("$TR_ROOT/test/build_deb.sh" 2>"$TR_TMP/build_deb.err" | tail -1)
if [ -f "$deb" ]; then ok "make deb builds $(basename "$deb")"; else
  not_ok "make deb builds the package" "$(tail -5 "$TR_TMP/build_deb.err")"; done_testing; exit 1; fi

field() { dpkg-deb -f "$deb" "$1"; }
is "$(field Package)" postgresql-15-ticketres "package name"
is "$(field Version | sed 's/-[^-]*$//')" "$version" "package version is default_version of ticketres.control"
depends=$(field Depends)
if grep -Eq '(^|, )postgresql-15( |,|$)' <<<"$depends"; then ok "depends on postgresql-15"; else not_ok "depends on postgresql-15" "$depends"; fi
if grep -Eq '(^|, )libhiredis[0-9.]+( |,|$)' <<<"$depends"; then ok "depends on libhiredis"; else not_ok "depends on libhiredis" "$depends"; fi

# the package ships exactly the extension files make install put into the
# private installation (run_all.sh installed this same tree there)
ext=usr/share/postgresql/15/extension
pkg_files=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed -n "s|^\./$ext/||p" | grep . | sort)
inst_files=$(cd "$TR_PGROOT/$ext" && ls ticketres.control ticketres--*.sql | sort)
is "$pkg_files" "$inst_files" "extension files are what make install installs ($(echo $pkg_files))"
listing=$(dpkg-deb -c "$deb")
if grep -q '\./usr/lib/postgresql/15/lib/ticketres\.so$' <<<"$listing"; then ok "ships ticketres.so"; else not_ok "ships ticketres.so"; fi

# a copy of the private installation without ticketres, then the package on top
dir=$TR_TMP/pkg-$$
trap 'tr_stop_pg; rm -rf "$dir"' EXIT
rm -rf "$dir"; mkdir -p "$dir"
cp -al "$TR_PGROOT" "$dir/pginst"     # hard links: removing a link below leaves the original alone
rm -rf "$dir/pginst/$ext"/ticketres* "$dir/pginst/usr/lib/postgresql/15/lib"/ticketres* \
       "$dir/pginst/usr/lib/postgresql/15/lib/bitcode"/ticketres*
dpkg-deb -x "$deb" "$dir/pginst"
chmod -R o+rX "$dir/pginst"
PGBIN=$dir/pginst/usr/lib/postgresql/15/bin
tr_start_pg "$dir/pg"
is "$("$PGBIN/pg_config" --sharedir)" "$dir/pginst/usr/share/postgresql/15" "the cluster runs from the copy"
q() { tr_psql -At -d "$1" -c "$2" 2>&1; }

tr_psql -d postgres -c "CREATE DATABASE pkg_fresh" -c "CREATE DATABASE pkg_update" >/dev/null
is "$(q pkg_fresh "CREATE EXTENSION ticketres; SELECT extversion FROM pg_extension WHERE extname = 'ticketres'")" \
   "$version" "CREATE EXTENSION ticketres from the package gives $version"
ev=$(q pkg_fresh "SELECT id FROM tr_create_event('pkg', now() + interval '1 day', now() + interval '2 days')")
q pkg_fresh "SELECT tr_generate_seats('$ev', 'A', 1, 3, 100)" >/dev/null
got=$(q pkg_fresh "SELECT status || ' ' || total_amount FROM tr_reserve('$ev', 'u', ARRAY(SELECT id FROM ticketres.seats WHERE event_id = '$ev' AND label = 'A-1-1'), 'k')")
is "$got" "pending 100" "the packaged library works: event, seats and a hold"

upgrades=$(cd "$dir/pginst/$ext" && ls ticketres--0.1--*.sql 2>/dev/null)
if [ -z "$upgrades" ] || [ "$version" = 0.1 ]; then
  ok "# SKIP no upgrade script from 0.1 in the package yet (default_version $version)"
else
  is "$(q pkg_update "CREATE EXTENSION ticketres VERSION '0.1'; SELECT extversion FROM pg_extension WHERE extname = 'ticketres'")" \
     0.1 "CREATE EXTENSION ticketres VERSION '0.1' from the package"
  is "$(q pkg_update "ALTER EXTENSION ticketres UPDATE; SELECT extversion FROM pg_extension WHERE extname = 'ticketres'")" \
     "$version" "ALTER EXTENSION ticketres UPDATE reaches $version ($(echo $upgrades))"
fi
done_testing

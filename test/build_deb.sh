#!/usr/bin/env bash
# test/build_deb.sh — build the Debian package postgresql-15-ticketres
# (also: make deb). Builds in a copy of the tree under test/tmp/deb, so the
# checkout stays clean, and prints the path of the .deb it made.
# The package version is the extension's default_version (ticketres.control)
# plus a Debian revision: when debian/changelog's newest entry is for another
# version, the copy gets an entry for this one.
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

TR_APT_PACKAGES="postgresql-server-dev-all postgresql-server-dev-15 libhiredis-dev debhelper dpkg-dev make gcc"
tr_ensure_packages

version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$TR_ROOT/ticketres.control")
[ -n "$version" ] || tr_die "no default_version in ticketres.control"
out=$TR_TMP/deb
src=$out/ticketres-$version
rm -rf "$out"; mkdir -p "$src"
# the files git knows about, committed or not (not what is ignored: builds, test/tmp)
(cd "$TR_ROOT" && git ls-files -co --exclude-standard -z | xargs -0 tar -cf - --no-recursion 2>/dev/null) \
  | tar -xf - -C "$src"
cd "$src"
if [ "$(dpkg-parsechangelog -S Version | sed 's/-[^-]*$//')" != "$version" ]; then
  { printf 'ticketres (%s-1) unstable; urgency=medium\n\n  * ticketres %s.\n\n' "$version" "$version"
    printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -S Maintainer)" "$(date -R)"
    cat debian/changelog; } >debian/changelog.new
  mv debian/changelog.new debian/changelog
fi
tr_log "building postgresql-15-ticketres $version"
dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; tr_die "dpkg-buildpackage failed (log: $out/build.log)"; }
ls "$out"/postgresql-15-ticketres_"$version"-*_*.deb

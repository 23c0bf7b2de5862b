#!/usr/bin/env bash
# 73_pgxn — META.json against the PGXN Meta Spec 1.0.0 (https://pgxn.org/spec/):
# Debian has no META validator (only pgxnclient), so the spec's rules are checked
# with jq: required keys and their types, a semantic version that matches
# default_version of ticketres.control, a known license, provided extensions with
# existing files, prereq phases/relations and version ranges. Then `make dist`
# must give the archive PGXN takes: ticketres-X.Y.Z.zip of HEAD with one top
# directory holding META.json, the control file and the install scripts, and it
# must build and install with PGXS.
set -uo pipefail
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tap.sh"

TR_APT_PACKAGES="jq unzip git" tr_ensure_packages
meta=$TR_ROOT/META.json
control=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$TR_ROOT/ticketres.control")
semver=$control; [ "$(tr -cd . <<<"$control" | wc -c)" -ge 2 ] || semver=$control.0
j() { jq -r --arg semver_re "$semver_re" "$@" "$meta" 2>&1; }
semver_re='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+)?$'
# a version range of the spec: 0, a version, or comma-separated "op version"
range_ok() {
  local r=$1 part
  [ "$r" = 0 ] && return 0
  IFS=, read -ra parts <<<"$r"
  for part in "${parts[@]}"; do
    part=$(sed 's/^ *//; s/ *$//; s/^\(>=\|<=\|==\|!=\|>\|<\) *//' <<<"$part")
    [[ $part =~ $semver_re ]] || return 1
  done
}

if jq -e . "$meta" >/dev/null 2>&1; then ok "META.json is JSON"; else not_ok "META.json is JSON"; done_testing; exit 1; fi
is "$(j '[("name","abstract","version","maintainer","license","provides","meta-spec") as $k | select(has($k) | not) | $k] | join(",")')" "" \
   "required keys present"
is "$(j '.name')" ticketres "name"
is "$(j '.name | test("^[A-Za-z][A-Za-z0-9_-]*$") and length >= 2')" true "name is a valid term"
is "$(j '.abstract | type == "string" and length > 0')" true "abstract is a non-empty string"
is "$(j '.["meta-spec"].version')" 1.0.0 "meta-spec version 1.0.0"
is "$(j '.version')" "$semver" "version is default_version ($control) of ticketres.control as a semantic version"
is "$(j '.version | test($semver_re)')" true "version is a semantic version"
is "$(j '.maintainer | (type == "string") or (type == "array" and length > 0 and all(type == "string"))')" true "maintainer is a string or list of strings"
is "$(j '.license | if type == "string" then [.] elif type == "array" then . else keys end | all(IN("postgresql","bsd","mit","apache_2_0","gpl_2","gpl_3","lgpl_2_1","lgpl_3_0","artistic_2","mozilla_1_1","open_source","unrestricted","restricted","unknown") or startswith("http"))')" true \
   "license is one the spec knows"
is "$(j '.license')" postgresql "license is PostgreSQL, as LICENSE says"
if grep -q "PostgreSQL License" "$TR_ROOT/LICENSE"; then ok "LICENSE file"; else not_ok "LICENSE file"; fi
is "$(j '.provides | keys | join(",")')" ticketres "provides the ticketres extension"
is "$(j '.provides.ticketres.version')" "$semver" "provided version matches"
is "$(j '[.provides[] | select((has("file") and has("version")) | not)] | length')" 0 "every provided extension has file and version"
for f in $(j '.provides[] | .file, .docfile // empty'); do
  if [ -f "$TR_ROOT/$f" ]; then ok "provided file $f exists"; else not_ok "provided file $f exists"; fi
done
is "$(j '[.prereqs | to_entries[] | select(.key | IN("configure","build","test","runtime","develop") | not) | .key] | join(",")')" "" "prereq phases are the spec's"
is "$(j '[.prereqs[] | to_entries[] | select(.key | IN("requires","recommends","suggests","conflicts") | not) | .key] | join(",")')" "" "prereq relations are the spec's"
bad=""
while IFS=$'\t' read -r name range; do range_ok "$range" || bad+=" $name=$range"; done \
  < <(j '.prereqs[][] | to_entries[] | [.key, (.value | tostring)] | @tsv')
is "$bad" "" "every prereq version is a version range"
is "$(j '.prereqs.runtime.requires.PostgreSQL | test("15\\.0\\.0")')" true "runtime requires PostgreSQL 15"
is "$(j '.prereqs.runtime.requires | has("hiredis")')" true "runtime requires hiredis (noted)"
is "$(j '.prereqs.runtime.recommends | has("pg_cron") and has("PostgREST")')" true "pg_cron and PostgREST recommended"
is "$(j '[keys[] | select(IN("name","abstract","description","version","maintainer","license","provides","prereqs","meta-spec","no_index","release_status","resources","tags","generated_by") | not) | select(test("^[xX]_") | not)] | join(",")')" "" \
   "no unknown keys (custom ones start with x_)"
is "$(j '.release_status // "stable" | IN("stable","testing","unstable")')" true "release_status"

# make dist: HEAD as the archive PGXN takes
dir=$TR_TMP/dist-$$
trap 'rm -rf "$dir"' EXIT
rm -rf "$dir"; mkdir -p "$dir"
zip=$dir/ticketres-$semver.zip
make -s -C "$TR_ROOT" dist DIST_DIR="$dir" >/dev/null 2>"$dir/err"
if [ -f "$zip" ]; then ok "make dist makes ticketres-$semver.zip"; else not_ok "make dist makes ticketres-$semver.zip" "$(cat "$dir/err")"; done_testing; exit 1; fi
names=$(zipinfo -1 "$zip")
is "$(grep -cv "^ticketres-$semver/" <<<"$names")" 0 "every entry is under ticketres-$semver/"
head_scripts=$(git -C "$TR_ROOT" ls-tree --name-only HEAD | grep -E '^ticketres(--[^/]*\.sql|\.control)$')
missing=""
for f in META.json LICENSE Makefile README.md $head_scripts; do grep -qx "ticketres-$semver/$f" <<<"$names" || missing+=" $f"; done
is "$missing" "" "the archive holds META.json, LICENSE, Makefile, README.md, the control file and install scripts ($(echo $head_scripts))"
is "$(unzip -p "$zip" "ticketres-$semver/META.json" | jq -r .version)" "$semver" "the archived META.json has this version (committed)"
# a PGXN user unpacks it and runs make && make install (no bitcode: faster, same files otherwise)
(cd "$dir" && unzip -q "$zip")
if make -s -C "$dir/ticketres-$semver" PG_CONFIG="$PGBIN/pg_config" with_llvm=no >"$dir/build.log" 2>&1 \
   && make -s -C "$dir/ticketres-$semver" PG_CONFIG="$PGBIN/pg_config" with_llvm=no install DESTDIR="$dir/inst" >>"$dir/build.log" 2>&1; then
  ok "the unpacked archive builds and installs with PGXS"
else
  not_ok "the unpacked archive builds and installs with PGXS" "$(tail -5 "$dir/build.log")"
fi
is "$(cd "$dir/inst$("$PGBIN/pg_config" --sharedir)/extension" 2>/dev/null && ls ticketres.control ticketres--*.sql | sort | tr '\n' ' ')" \
   "$(cd "$TR_PGROOT/usr/share/postgresql/15/extension" && ls ticketres.control ticketres--*.sql | sort | tr '\n' ' ')" \
   "it installs the same extension files as the tree"
done_testing

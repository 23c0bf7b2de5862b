# test/lib/examples.sh — the example clients (examples/node, examples/web)
# for their suites and the demo: npm ci of their pinned packages, and the
# seat-map page server. Source it after common.sh.

# tr_npm_ci DIR: install DIR's package-lock.json exactly, unless the
# node_modules there already came from this very lockfile.
tr_npm_ci() {
  local dir=$1 sum
  command -v npm >/dev/null || tr_die "npm is missing (tr_ensure_packages installs nodejs npm)"
  sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  [ "$(cat "$dir/node_modules/.tr-lock" 2>/dev/null)" = "$sum" ] && return 0
  tr_log "npm ci in $dir"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || tr_die "npm ci failed in $dir"
  echo "$sum" >"$dir/node_modules/.tr-lock"
}

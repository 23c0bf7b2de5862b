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

# tr_start_seatmap DIR: the seat-map page server (examples/web/serve.js) on a
# free 127.0.0.1 port; sets TR_SEATMAP_URL (the page) and TR_SEATMAP_PID.
tr_start_seatmap() {
  local dir=$1
  mkdir -p "$dir"
  node "$TR_ROOT/examples/web/serve.js" >"$dir/seatmap.log" 2>&1 &
  TR_SEATMAP_PID=$!
  for _ in $(seq 1 50); do
    TR_SEATMAP_URL=$(head -1 "$dir/seatmap.log")
    if [[ $TR_SEATMAP_URL == http://127.0.0.1:* ]] && curl -sf -o /dev/null "$TR_SEATMAP_URL"; then
      export TR_SEATMAP_URL TR_SEATMAP_PID
      return 0
    fi
    kill -0 "$TR_SEATMAP_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/seatmap.log" >&2
  tr_die "the seat-map page server did not start"
}

tr_stop_seatmap() {
  if [ -n "${TR_SEATMAP_PID:-}" ]; then
    kill "$TR_SEATMAP_PID" 2>/dev/null && { wait "$TR_SEATMAP_PID" 2>/dev/null || true; }
    TR_SEATMAP_PID=
  fi
  return 0
}

# test/lib/redis.sh — a real redis-server for suites and benchmarks. Source
# it after common.sh.
#
#   tr_start_redis NAME [extra redis-server args...]
#       starts redis-server on a free 127.0.0.1 port (no persistence), data
#       and log under $TR_RUN (or $TR_TMP)/redis-NAME; sets REDIS_PORT_<NAME>
#       and REDIS_PID_<NAME>. Starting NAME again reuses its port (a restart).
#       With --requirepass PW among the args, REDIS_PASS_<NAME> keeps PW.
#   tr_stop_redis NAME     SIGKILL, as a crash would (and wait)
#   tr_freeze_redis NAME / tr_thaw_redis NAME    SIGSTOP / SIGCONT
#   tr_redis NAME ARGS...  redis-cli against it (raw output; logged in with
#                          its password, if it has one)
#   tr_stop_all_redis      for EXIT traps

TR_REDIS_NAMES=()

tr_start_redis() {
  local name=$1 dir port pidvar=REDIS_PID_$1 portvar=REDIS_PORT_$1 extra
  shift
  dir=${TR_RUN:-$TR_TMP}/redis-$name
  mkdir -p "$dir"
  port=${!portvar:-$(tr_free_port)}
  extra=("$@")
  while [ $# -gt 1 ]; do
    [ "$1" = --requirepass ] && printf -v "REDIS_PASS_$name" '%s' "$2"
    shift
  done
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --protected-mode no --daemonize no --dir "$dir" --logfile "$dir/redis.log" "${extra[@]}" &
  printf -v "$pidvar" '%s' "$!"
  printf -v "$portvar" '%s' "$port"
  TR_REDIS_NAMES+=("$name")
  # (20 s: on a loaded 2-core machine a start has taken more than 5)
  for _ in $(seq 1 400); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q -E 'PONG|NOAUTH'; then
      return 0
    fi
    kill -0 "${!pidvar}" 2>/dev/null || break
    sleep 0.05
  done
  tail -5 "$dir/redis.log" >&2
  tr_die "redis-server $name did not start on port $port"
}

tr_stop_redis() {
  local pidvar=REDIS_PID_$1
  [ -n "${!pidvar:-}" ] || return 0
  kill -CONT "${!pidvar}" 2>/dev/null
  kill -KILL "${!pidvar}" 2>/dev/null
  wait "${!pidvar}" 2>/dev/null || true
  printf -v "$pidvar" '%s' ''
  return 0
}

tr_freeze_redis() { local pidvar=REDIS_PID_$1; kill -STOP "${!pidvar}"; }
tr_thaw_redis() { local pidvar=REDIS_PID_$1; kill -CONT "${!pidvar}"; }

tr_redis() {
  local portvar=REDIS_PORT_$1 passvar=REDIS_PASS_$1
  shift
  if [ -n "${!passvar:-}" ]; then
    REDISCLI_AUTH=${!passvar} redis-cli -p "${!portvar}" --raw "$@"
  else
    redis-cli -p "${!portvar}" --raw "$@"
  fi
}

tr_stop_all_redis() {
  local n
  for n in "${TR_REDIS_NAMES[@]}"; do tr_stop_redis "$n"; done
  return 0
}

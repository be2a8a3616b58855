#!/usr/bin/env bash
# Durable writes with 50 connections and pipelining, side by side on this machine: Redis 7 with appendonly yes and
# appendfsync always (one node, no replication: each write is fsynced on one disk before it is answered), driven by
# redis-benchmark -c 50 -P 16 -t set; then a 3-node raftkv (each put fsynced on a majority before it is answered), driven
# by raftkv-bench with 50 connections and 16 puts in flight on each (800 in all), warm. Same key and value sizes. The
# systems run alone and in turn, --repeats times (redis, raftkv, raftkv, redis, ...), so a drifting machine shows.
#
#   bench/redis.sh [--seconds N] [--repeats N] [--value-size B]
#
# Defaults: 15 s per run, 2 runs each, 100-byte values, 16-byte keys from a space of 100,000. Installs Debian's
# redis-server and redis-tools when missing (needs root). Builds under /tmp/raftkv-mvn.lock when the classes are stale.
# Redis on port 16379, raftkv on 23791-23793; everything it starts is stopped by pid when it exits.
set -euo pipefail
ROOT="$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")"
SECONDS_PER_RUN=15
REPEATS=2
VALUE_SIZE=100
KEY_SPACE=100000
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
    --repeats) REPEATS="$2"; shift 2 ;;
    --value-size) VALUE_SIZE="$2"; shift 2 ;;
    *) sed -n '2,14p' "$0" >&2; exit 2 ;;
  esac
done
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  echo "installing redis-server and redis-tools (Debian)..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server redis-tools >/dev/null
fi
"$ROOT/bin/build-if-needed"
[[ -d "$ROOT/bench/target/lib" ]] || flock /tmp/raftkv-mvn.lock mvn -q -B -o -DskipTests package -pl bench -am
WORK_PREFIX=raftkv-redis
# shellcheck source=lib/local-cluster.sh
source "$ROOT/bench/lib/local-cluster.sh"
REDIS_PORT=16379
REDIS_PID=""
stop_redis() {
  if [[ -n "$REDIS_PID" ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; REDIS_PID=""; fi
}
trap 'stop_redis; cleanup' EXIT

redis_run() {
  local rep="$1"
  rm -rf "$WORK/redis" && mkdir -p "$WORK/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" --appendonly yes --appendfsync always --save "" \
    --daemonize no --logfile "$WORK/redis.log" &
  REDIS_PID=$!
  for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
  # A first pass to warm the server and fill the key space, then the measured one, sized to last about SECONDS_PER_RUN.
  redis-benchmark -p "$REDIS_PORT" -c 50 -P 16 -t set -d "$VALUE_SIZE" -r "$KEY_SPACE" -n 200000 -q > /dev/null
  local probe n
  probe="$(redis-benchmark -p "$REDIS_PORT" -c 50 -P 16 -t set -d "$VALUE_SIZE" -r "$KEY_SPACE" -n 200000 --csv | awk -F'"' '/SET/ {print $4}')"
  n="$(awk -v r="$probe" -v s="$SECONDS_PER_RUN" 'BEGIN {printf "%d", r * s}')"
  local line
  line="$(redis-benchmark -p "$REDIS_PORT" -c 50 -P 16 -t set -d "$VALUE_SIZE" -r "$KEY_SPACE" -n "$n" --csv | grep '"SET"')"
  REDIS_OPS[$rep]="$(echo "$line" | awk -F'"' '{printf "%d", $4}')"
  REDIS_P99[$rep]="$(echo "$line" | awk -F'"' '{print $14}')"
  echo "  redis   run $rep: $(printf "%'d" "${REDIS_OPS[$rep]}") sets/s, p99 ${REDIS_P99[$rep]} ms ($n sets, fsync always, aof $(du -sh "$WORK/redis" | cut -f1))"
  stop_redis
}

raftkv_run() {
  local rep="$1"
  stop_all
  rm -rf "$WORK"/node[1-3]
  for i in 1 2 3; do start_node "$i"; done
  await_leader > /dev/null
  local json="$WORK/raftkv-$rep.json"
  bench --workload put --connections 50 --concurrency 800 --key-size 16 --value-size "$VALUE_SIZE" --keyspace "$KEY_SPACE" \
    --warmup-max-seconds 30 --warmup-window-seconds 2 --duration "$SECONDS_PER_RUN" --pids "$(IFS=,; echo "${PIDS[*]}")" \
    --clock-ticks "$(getconf CLK_TCK)" --json "$json" > "$WORK/raftkv-$rep.log" 2>&1
  RAFTKV_OPS[$rep]="$(jq -r '.throughput | floor' "$json")"
  RAFTKV_P99[$rep]="$(jq -r '.p99_ms' "$json")"
  echo "  raftkv  run $rep: $(printf "%'d" "${RAFTKV_OPS[$rep]}") puts/s, p99 ${RAFTKV_P99[$rep]} ms (3 nodes, 50 connections, 800 in flight)"
  stop_all
}

declare -A REDIS_OPS=() REDIS_P99=() RAFTKV_OPS=() RAFTKV_P99=()
echo "machine: $(nproc) cores, $(redis-server --version | awk '{print $1, $2, $3}'), $(java -version 2>&1 | head -n 1)"
echo "durable writes, ${VALUE_SIZE}-byte values, ${SECONDS_PER_RUN} s a run:"
for rep in $(seq 1 "$REPEATS"); do
  if (( rep % 2 == 1 )); then redis_run "$rep"; raftkv_run "$rep"; else raftkv_run "$rep"; redis_run "$rep"; fi
done
awk -v r="${REDIS_OPS[*]}" -v k="${RAFTKV_OPS[*]}" 'BEGIN {
  n = split(r, a, " "); split(k, b, " "); for (i = 1; i <= n; i++) { sr += a[i]; sk += b[i] }
  printf "mean: redis %d sets/s, raftkv %d puts/s: raftkv/redis %.2f\n", sr / n, sk / n, sk / sr }'

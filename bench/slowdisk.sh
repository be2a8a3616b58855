#!/usr/bin/env bash
# Reads while the disks are slow (issue 15): a 3-node raftkv whose every WAL sync takes 50 ms longer
# (-Draftkv.test.walSyncDelayMs), lease reads on, a put load running alongside (8 in flight); meanwhile one
# linearizable get at a time (served from the leader's read lease), then one serializable get at a time at the leader.
# Prints each read case's throughput and latency, the puts' rate, and whether the leader and its term stayed the same.
# The same cases with the disks at full speed come first, for the baseline of the same run.
#
#   bench/slowdisk.sh [--seconds N] [--delay-ms N]
#
# Defaults: 15 s per read case, 50 ms per sync. Nodes on 23791-23793; everything it starts is stopped by pid when it exits.
set -euo pipefail
ROOT="$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")"
SECONDS_PER_RUN=15
DELAY_MS=50
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) SECONDS_PER_RUN="$2"; shift 2 ;;
    --delay-ms) DELAY_MS="$2"; shift 2 ;;
    *) sed -n '2,10p' "$0" >&2; exit 2 ;;
  esac
done
"$ROOT/bin/build-if-needed"
[[ -d "$ROOT/bench/target/lib" ]] || flock /tmp/raftkv-mvn.lock mvn -q -B -o -DskipTests package -pl bench -am
WORK_PREFIX=raftkv-slowdisk
# shellcheck source=lib/local-cluster.sh
source "$ROOT/bench/lib/local-cluster.sh"
LOAD_PID=""
trap '[[ -n "$LOAD_PID" ]] && kill "$LOAD_PID" 2>/dev/null; cleanup' EXIT

# "ID TERM" of the leader, from its own status line.
leader_and_term() {
  local id
  id="$(await_leader)"
  echo "$id $(ctl status | awk -v id="$id" '$1 == id {print $4}')"
}

read_case() {
  local name="$1" leader="$2"; shift 2
  local json="$WORK/$name.json"
  "$ROOT/bin/raftkv-bench" --endpoints "127.0.0.1:${PORTS[$((leader - 1))]}" --concurrency 1 --connections 1 --keyspace 1000 \
    --warmup-max-seconds 20 --warmup-window-seconds 1 --duration "$SECONDS_PER_RUN" --json "$json" "$@" > "$WORK/$name.log" 2>&1
  printf "  %-28s %9.0f reads/s   p50 %7.3f ms   p99 %7.3f ms   p99.9 %7.3f ms   max %8.3f ms\n" "$name" \
    "$(jq -r .throughput "$json")" "$(jq -r .p50_ms "$json")" "$(jq -r .p99_ms "$json")" "$(jq -r .p999_ms "$json")" "$(jq -r .max_ms "$json")"
}

run_cluster() {
  local label="$1"; shift
  stop_all
  rm -rf "$WORK"/node[1-3]
  for i in 1 2 3; do start_node "$i" -Draftkv.leaseReads=true "$@"; done
  local before leader
  before="$(leader_and_term)"
  leader="${before%% *}"
  echo "$label: leader node $leader (term ${before#* })"
  bench --workload put --keyspace 1000 --preload --ops 1000 --concurrency 16 > "$WORK/preload.log" 2>&1
  "$ROOT/bin/raftkv-bench" --endpoints "$ENDPOINTS" --workload put --keyspace 1000 --concurrency 8 --connections 1 \
    --duration $((2 * SECONDS_PER_RUN + 60)) --json "$WORK/puts-$label.json" > "$WORK/puts-$label.log" 2>&1 &
  LOAD_PID=$!
  read_case "$label lease get" "$leader" --workload get
  read_case "$label serializable get" "$leader" --workload get-serializable
  kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=""
  local after
  after="$(leader_and_term)"
  if [[ "$after" == "$before" ]]; then echo "  leader and term unchanged ($after)"; else echo "  LEADER CHANGED: $before -> $after"; fi
}

echo "machine: $(nproc) cores; reads one at a time at the leader, 8 puts in flight alongside, ${SECONDS_PER_RUN} s per read case"
run_cluster "disk at full speed"
run_cluster "every sync +${DELAY_MS} ms" "-Draftkv.test.walSyncDelayMs=$DELAY_MS"

#!/usr/bin/env bash
# The membership targets of docs/benchmarks.md ("Membership changes"), each on a fresh 3-node cluster of real node
# processes on loopback (ports 23791-23794, data in a temp directory, every process stopped by its pid at the end):
#   bench/membership.sh transfer [ROUNDS]   a put load at 16 in flight for 20 s, twice: alone, then with ROUNDS
#                                           (default 8) leader transfers (raftkvctl move-leader) spread over it; the
#                                           load's max latency and errors in each run (the pause a transfer costs)
#   bench/membership.sh rolling             a put load at 16 in flight while each node in turn is stopped with SIGTERM
#                                           and started again (waiting until it follows the leader again); the load's
#                                           errors and max latency
#   bench/membership.sh join [KEYS]         KEYS keys of 256 B (default 4 M, about 1 GiB of keys and values), then node 4
#                                           added as a learner, started with an empty disk and --join, and promoted as
#                                           soon as the leader allows: the time from its start to voter
# Node JVM options in NODE_JAVA_OPTS (default -Xmx4g).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK_PREFIX=raftkv-memberbench
CTL_TIMEOUT=5
# shellcheck source=lib/local-cluster.sh
source "$ROOT/bench/lib/local-cluster.sh"

# Waits until node $1 answers STATUS and names a leader (up to 60 s).
await_following() {
  local deadline=$((SECONDS + 60))
  while (( SECONDS < deadline )); do
    if "$JAVA" -cp "$CP" io.raftkv.client.RaftKvCtl --endpoints "127.0.0.1:${PORTS[$(($1 - 1))]}" --timeout 1 status -w json 2>/dev/null \
        | grep -q '"leader":[1-9]'; then return 0; fi
    sleep 0.05
  done
  echo "node $1 follows no leader within 60 s" >&2; exit 1
}

summary() {
  grep -A1 '^case' "$1" | tail -1
}

mode="${1:-}"
shift || true
case "$mode" in
  transfer)
    rounds="${1:-8}"
    for id in 1 2 3; do start_node "$id"; done
    await_leader > /dev/null
    bench --workload put --ops 30000 --concurrency 16 --keyspace 10000 > /dev/null 2>&1 # warm the client and nodes
    bench --workload put --duration 20 --warmup-seconds 2 --concurrency 16 --keyspace 10000 --name no-transfer > "$WORK/base.out" 2>&1
    bench --workload put --duration 20 --warmup-seconds 2 --concurrency 16 --keyspace 10000 --name "$rounds-transfers" > "$WORK/moves.out" 2>&1 &
    loadpid=$!
    sleep 3
    for _ in $(seq "$rounds"); do
      leader="$(await_leader)"
      target=$(( leader % 3 + 1 ))
      ctl move-leader "$target" > /dev/null
      sleep $(echo "16 / $rounds" | bc -l)
    done
    wait "$loadpid"
    echo "case                              ops  seconds        ops/s    p50 ms    p90 ms    p99 ms  p99.9 ms    max ms  errors"
    summary "$WORK/base.out"
    summary "$WORK/moves.out"
    echo "leader changes seen by node 1: $(grep -c 'leader is node' "$WORK/node1.log")"
    ;;
  rolling)
    for id in 1 2 3; do start_node "$id"; done
    await_leader > /dev/null
    bench --workload put --ops 30000 --concurrency 16 --keyspace 10000 > /dev/null 2>&1
    bench --workload put --duration 40 --concurrency 16 --keyspace 10000 --name rolling-restart > "$WORK/rolling.out" 2>&1 &
    loadpid=$!
    sleep 3
    for id in 1 2 3; do
      kill -TERM "${PIDS[$id]}"; wait "${PIDS[$id]}" 2>/dev/null || true
      start_node "$id"
      await_following "$id"
      sleep 3
    done
    wait "$loadpid"
    summary "$WORK/rolling.out"
    grep -h "handing leadership" "$WORK"/node*.log || true
    ;;
  join)
    keys="${1:-4000000}"
    for id in 1 2 3; do start_node "$id"; done
    await_leader > /dev/null
    bench --workload put --preload --keyspace "$keys" --key-size 16 --value-size 256 --ops 1 --concurrency 256 > "$WORK/bench.out" 2>&1
    sleep 2
    leader="$(await_leader)"
    echo "the cluster holds $keys keys; leader $leader: $(du -sb "$WORK/node$leader/snap" | cut -f1) snapshot bytes"
    ctl member add 4 "127.0.0.1:${PORTS[3]}" --learner > /dev/null
    start=$(date +%s.%N)
    join_node 4
    deadline=$((SECONDS + 300))
    until ctl member promote 4 > /dev/null 2>&1; do
      (( SECONDS < deadline )) || { echo "node 4 not promoted within 300 s" >&2; tail -5 "$WORK/node4.log" >&2; exit 1; }
      sleep 0.2
    done
    end=$(date +%s.%N)
    echo "node 4 joined with an empty disk and became a voter $(echo "$end - $start" | bc) s after its process started"
    grep -h "snapshot" "$WORK/node4.log" | tail -3
    ;;
  *)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

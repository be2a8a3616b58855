#!/usr/bin/env bash
# The snapshot and log-compaction targets of docs/benchmarks.md ("Snapshots and log compaction"), each on a fresh
# 3-node cluster of real node processes on loopback (ports 23791-23793, data in a temp directory, every process
# stopped by its pid at the end):
#   bench/snapshots.sh heap [WRITES]        puts over 100,000 keys (16 B + 256 B) at 256 in flight; every 1 M writes
#                                           the leader's heap after a full GC, its WAL and snapshot bytes (default 10 M)
#   bench/snapshots.sh restart [KEYS]       KEYS keys of 256 B (default 1 M), kill -9 of every node, then the time from
#                                           starting the processes to the first linearizable read answered
#   bench/snapshots.sh catchup [KEYS]       a follower down while KEYS keys (default 4 M, about 1 GiB) are written comes
#                                           back through a snapshot; the time it takes, and the leader's put throughput
#                                           and latency meanwhile against the same load just before
#   bench/snapshots.sh latency [KEYS]       put latency over KEYS keys (default 1 M): snapshots never (snapshotEntries
#                                           10^12), back to back (every 20,000 entries whatever their size), and with the
#                                           default policy, twice each, interleaved
# Node JVM options in NODE_JAVA_OPTS (default -Xmx4g).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK_PREFIX=raftkv-snapbench
# shellcheck source=lib/local-cluster.sh
source "$ROOT/bench/lib/local-cluster.sh"

# Heap used after a full GC, in MiB, of node $1.
heap_mib() {
  local pid="${PIDS[$1]}"
  jcmd "$pid" GC.run > /dev/null
  jcmd "$pid" GC.heap_info | awk '/garbage-first heap|def new generation|total/ && /used/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K,?/, "", v); print int(v / 1024); exit } }'
}

bytes_of() { du -sb "$@" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }

# Applied index of node $1 (from raftkvctl status -w json).
applied_of() {
  ctl status -w json 2>/dev/null | tr '{' '\n' | grep "\"member_id\":$1," -A1 | grep -o '"raftAppliedIndex":[0-9]*' | head -1 | cut -d: -f2
}

mode="${1:-}"
shift || true
case "$mode" in
  heap)
    writes="${1:-10000000}"
    for id in 1 2 3; do start_node "$id"; done
    leader="$(await_leader)"
    echo "writes,leader_heap_mib_after_gc,leader_wal_bytes,leader_snapshot_bytes,leader_snapshot_files"
    echo "0,$(heap_mib "$leader"),$(bytes_of "$WORK"/node"$leader"/wal-*.log),0,0"
    done_writes=0
    while (( done_writes < writes )); do
      bench --workload put --ops 1000000 --concurrency 256 --keyspace 100000 > "$WORK/bench.out" 2>&1 \
        || { cat "$WORK/bench.out" >&2; exit 1; }
      done_writes=$((done_writes + 1000000))
      echo "$done_writes,$(heap_mib "$leader"),$(bytes_of "$WORK"/node"$leader"/wal-*.log),$(bytes_of "$WORK"/node"$leader"/snap/*.snap),$(ls "$WORK"/node"$leader"/snap/*.snap 2>/dev/null | wc -l)"
    done
    ;;
  restart)
    keys="${1:-1000000}"
    for id in 1 2 3; do start_node "$id"; done
    await_leader > /dev/null
    bench --workload put --preload --keyspace "$keys" --key-size 16 --value-size 256 --ops 1 --concurrency 256 > "$WORK/bench.out" 2>&1
    sleep 2 # let every node apply and snapshot what the preload wrote
    for id in 1 2 3; do echo "node $id before the kill: $(bytes_of "$WORK"/node"$id"/snap/*.snap) snapshot bytes, $(bytes_of "$WORK"/node"$id"/wal-*.log) WAL bytes"; done
    stop_all
    start=$(date +%s.%N)
    echo "processes started at $(date -u +%H:%M:%S.%N)"
    for id in 1 2 3; do start_node "$id"; done
    deadline=$((SECONDS + 120))
    until ctl get "$(printf 'k%015d' 0)" > /dev/null 2>&1; do
      (( SECONDS < deadline )) || { echo "not serving within 120 s" >&2; exit 1; }
      sleep 0.02
    done
    end=$(date +%s.%N)
    echo "serving again $(echo "$end - $start" | bc) s after the processes were started ($keys keys)"
    grep -h "started from snapshot\|recovered\|leader is" "$WORK"/node*.log | tail -9
    ;;
  catchup)
    keys="${1:-4000000}"
    for id in 1 2 3; do start_node "$id"; done
    leader="$(await_leader)"
    behind=$(( leader % 3 + 1 ))
    kill -9 "${PIDS[$behind]}"; wait "${PIDS[$behind]}" 2>/dev/null || true; unset "PIDS[$behind]"
    bench --workload put --preload --keyspace "$keys" --key-size 16 --value-size 256 --ops 1 --concurrency 256 > "$WORK/bench.out" 2>&1
    sleep 2
    echo "node $behind missed $keys keys; leader $leader holds $(bytes_of "$WORK"/node"$leader"/snap/*.snap) snapshot bytes"
    bench --workload put --duration 15 --warmup-seconds 3 --concurrency 64 --keyspace 100000 --name baseline > "$WORK/base.out" 2>&1
    grep -A1 '^case' "$WORK/base.out" | tail -2
    target="$(ctl status -w json | grep -o '"raftAppliedIndex":[0-9]*' | cut -d: -f2 | sort -n | tail -1)"
    bench --workload put --duration 40 --concurrency 64 --keyspace 100000 --name during > "$WORK/during.out" 2>&1 &
    loadpid=$!
    sleep 1
    start=$(date +%s.%N)
    start_node "$behind"
    until [[ "$(applied_of "$behind")" -ge "$target" ]] 2>/dev/null; do sleep 0.2; done
    end=$(date +%s.%N)
    echo "node $behind caught up to index $target in $(echo "$end - $start" | bc) s (process start included)"
    wait "$loadpid"
    grep -A1 '^case' "$WORK/during.out" | tail -1
    grep -h "snapshot" "$WORK/node$behind.log" "$WORK/node$leader.log" | tail -6
    ;;
  latency)
    keys="${1:-1000000}"
    for policy in ${POLICIES:-never back-to-back default never back-to-back default}; do
      rm -rf "$WORK"/node[0-9]*
      case "$policy" in
        never) opts="-Draftkv.snapshotEntries=1000000000000" ;;
        back-to-back) opts="-Draftkv.snapshotEntries=20000 -Draftkv.snapshotLogPercentMin=0" ;;
        default) opts="" ;;
      esac
      # shellcheck disable=SC2086
      for id in 1 2 3; do start_node "$id" $opts; done
      await_leader > /dev/null
      bench --workload put --preload --keyspace "$keys" --ops 1 --concurrency 256 > /dev/null 2>&1
      before=$(cat "$WORK"/node*.log | grep -c 'snapshot snap-.* written' || true)
      bench --workload put --duration 20 --warmup-seconds 5 --concurrency 64 --keyspace "$keys" --name "$policy" > "$WORK/lat.out" 2>&1
      after=$(cat "$WORK"/node*.log | grep -c 'snapshot snap-.* written' || true)
      echo "$(grep -A1 '^case' "$WORK/lat.out" | tail -1)   snapshots written meanwhile: $((after - before))"
      stop_all
    done
    ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

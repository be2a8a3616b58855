#!/usr/bin/env bash
# A/B of two builds of raftkv, raftkv alone: checkout A's nodes, then B's, B's, A's (interleaved, so a drifting machine
# weighs on both), each a fresh 3-node cluster on ports 25791-25793 with 100,000 keys preloaded, then put at 1, 64 and
# 256 in flight for 10 s each after a warm-up that settles, driven by this checkout's load generator.
#
#   bench/ab.sh TREE_A TREE_B      two checkouts whose protocol, core and client classes are built
#                                  (mvn -o -DskipTests -pl client -am package in each)
#   CASES="range:256 mix:64" bench/ab.sh ...   other cases, WORKLOAD:IN_FLIGHT (default: put at 1, 64 and 256)
#   NODE_OPTS_B="-XX:+UseTransparentHugePages" bench/ab.sh T T   JVM options of A's or B's nodes (NODE_OPTS_A too):
#                                  the same build with and without a flag
#
# Prints a line per run: throughput, p50, p99 and the nodes' CPU per put. Everything it starts is stopped by pid.
set -uo pipefail
ROOT="$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")"
[[ $# -eq 2 ]] || { sed -n '2,11p' "$0" >&2; exit 2; }
A="$(readlink -f "$1")" B="$(readlink -f "$2")"
"$ROOT/bin/build-if-needed"
OUT="$(mktemp -d /tmp/raftkv-ab.XXXXXX)"
CONF="$OUT/nodes.conf"
printf "1 127.0.0.1 25791\n2 127.0.0.1 25792\n3 127.0.0.1 25793\n" > "$CONF"
EP=127.0.0.1:25791,127.0.0.1:25792,127.0.0.1:25793
PIDS=()
# Heaps of a fixed size, touched at start: on a virtual machine that hands freed memory back to its host, a heap's first
# touch of each page is a fault in the host, and a run while the heap still grows measured 2 to 4 times slower.
NODE_HEAP=(-Xms2g -Xmx2g -XX:+AlwaysPreTouch)
# And what bin/raftkv gives its nodes.
read -r -a NODE_DEFAULTS <<< "$("$ROOT/bin/node-jvm-options")"
trap 'kill -9 "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$OUT"' EXIT

run_tree() {
  local tree="$1" tag="$2" c conn opts
  opts="NODE_OPTS_${tag:0:1}"; read -r -a opts <<< "${!opts:-}"
  rm -rf "$OUT/data"; mkdir -p "$OUT/data"
  PIDS=()
  for i in 1 2 3; do
    java "${NODE_HEAP[@]}" "${NODE_DEFAULTS[@]}" "${opts[@]}" -cp "$tree/protocol/target/classes:$tree/core/target/classes:$tree/client/target/classes" io.raftkv.server.NodeMain \
      --id "$i" --config "$CONF" --data-dir "$OUT/data/node$i" >> "$OUT/data/node$i.log" 2>&1 &
    PIDS+=($!)
  done
  # Touching the heaps takes a few seconds: wait until every node answers.
  local deadline=$((SECONDS + 120))
  until "$ROOT/bin/raftkvctl" --endpoints "$EP" endpoint health >/dev/null 2>&1; do
    (( SECONDS < deadline )) || { echo "$tag: the cluster did not come up" >&2; break; }
    sleep 1
  done
  "$ROOT/bin/raftkv-bench" --endpoints "$EP" --workload put --keyspace 100000 --preload --ops 100000 --concurrency 256 --connections 4 \
    > "$OUT/preload-$tag.log" 2>&1
  for case in ${CASES:-put:1 put:64 put:256}; do
    w="${case%%:*}" c="${case##*:}"
    conn=4; [[ $c == 1 ]] && conn=1
    "$ROOT/bin/raftkv-bench" --endpoints "$EP" --workload "$w" --keyspace 100000 --concurrency "$c" --connections "$conn" --duration 10 \
      --warmup-max-seconds 30 --warmup-window-seconds 2 --pids "$(IFS=,; echo "${PIDS[*]}")" --clock-ticks "$(getconf CLK_TCK)" \
      --json "$OUT/$tag-$w-c$c.json" > "$OUT/$tag-$w-c$c.log" 2>&1
    echo "$tag $w-c$c $(jq -r '"\(.throughput|floor) ops/s p50 \(.p50_ms) p99 \(.p99_ms) ms, nodes \(.node_cpu_us_per_op) µs/op"' "$OUT/$tag-$w-c$c.json")"
  done
  kill -9 "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null
  PIDS=()
}

run_tree "$A" A1; run_tree "$B" B1; run_tree "$B" B2; run_tree "$A" A2

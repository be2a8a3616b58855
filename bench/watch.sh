#!/usr/bin/env bash
# Watch fan-out, raftkv vs etcd on this machine in the same run (issue 12): a 3-member etcd and a 3-node raftkv on
# loopback (data on the same disk, fsync on in both); against each in turn, one writer puts at a fixed rate on keys
# under one prefix while W watchers of that prefix, spread evenly over the 3 nodes, count every event and time it from
# put issued to event delivered (io.raftkv.bench.WatchFanout). Then a table, raftkv next to etcd.
#
#   bench/watch.sh [--seconds N] [--watchers N] [--rate N] [--warmup-seconds N] [--clients N] [--value-size B]
#                  [--systems etcd,raftkv] [--out DIR]
#
# Defaults: 20 s measured after 5 s of warm-up, 1,000 watchers on 30 clients, 1,000 puts/s of 32 B values; results in
# bench/target/watch (each JVM's GC log there too). --systems runs one of them alone (no table). Installs Debian's etcd-server, etcd-client and jq when missing (needs root). Everything it starts
# is stopped by pid when it exits. BENCH_JAVA_OPTS adds options to the benchmark's JVM (e.g. -XX:StartFlightRecording=...).
set -euo pipefail
ROOT="$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")"
MEASURE_SECONDS=20
WARMUP_SECONDS=5
WATCHERS=1000
CLIENTS=30
RATE=1000
VALUE_SIZE=32
SYSTEMS="etcd,raftkv"
OUT="$ROOT/bench/target/watch"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) MEASURE_SECONDS="$2"; shift 2 ;;
    --warmup-seconds) WARMUP_SECONDS="$2"; shift 2 ;;
    --watchers) WATCHERS="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --value-size) VALUE_SIZE="$2"; shift 2 ;;
    --systems) SYSTEMS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
  esac
done

# Ports of their own, so that a compare.sh running at the same time does not collide.
ETCD_ENDPOINTS="127.0.0.1:14379,127.0.0.1:14479,127.0.0.1:14579"
RAFTKV_ENDPOINTS="127.0.0.1:15379,127.0.0.1:15380,127.0.0.1:15381"
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [[ -d "$OUT/raftkv" ]] && "$ROOT/bin/raftkv" stop --data-dir "$OUT/raftkv" >/dev/null 2>&1 || true
}
trap cleanup EXIT

install_missing() {
  local missing=()
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  command -v jq >/dev/null || missing+=(jq)
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing ${missing[*]} from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_etcd() {
  local cluster="e1=http://127.0.0.1:14380,e2=http://127.0.0.1:14480,e3=http://127.0.0.1:14580"
  for i in 1 2 3; do
    local client=$((14279 + i * 100)) peer=$((14280 + i * 100))
    etcd --name "e$i" --data-dir "$OUT/etcd/e$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-token raftkv-watch-bench --initial-cluster-state new \
      --logger zap --log-level error > "$OUT/etcd-e$i.log" 2>&1 &
    PIDS+=($!)
    ETCD_PIDS+="${ETCD_PIDS:+,}$!"
  done
  for _ in $(seq 1 300); do
    if ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint health >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "etcd did not become healthy; see $OUT/etcd-e*.log" >&2
  exit 1
}

start_raftkv() {
  cat > "$OUT/nodes.conf" <<EOF
1 127.0.0.1 15379
2 127.0.0.1 15380
3 127.0.0.1 15381
EOF
  "$ROOT/bin/raftkv" start --config "$OUT/nodes.conf" --data-dir "$OUT/raftkv"
  RAFTKV_PIDS="$(cat "$OUT"/raftkv/node1.pid),$(cat "$OUT"/raftkv/node2.pid),$(cat "$OUT"/raftkv/node3.pid)"
}

fanout() {
  local system="$1" endpoints="$2" pids="$3"
  echo
  echo "== $system: load average $(cut -d' ' -f1-3 /proc/loadavg) before"
  if [[ "$system" == etcd ]]; then
    echo "leader: $(ETCDCTL_API=3 etcdctl --endpoints "$endpoints" endpoint status 2>/dev/null | awk -F', ' '$5 == "true" {print $1}')"
  else
    echo "leader: $("${JAVA_HOME:+$JAVA_HOME/bin/}java" -cp "$ROOT/protocol/target/classes:$ROOT/client/target/classes" io.raftkv.client.RaftKvCtl \
      --endpoints "$endpoints" --timeout 2 leader 2>/dev/null)"
  fi
  # shellcheck disable=SC2086
  "${JAVA_HOME:+$JAVA_HOME/bin/}java" -Xmx2g -Xlog:gc:file="$OUT/$system-gc.log" ${BENCH_JAVA_OPTS:-} -cp "$ROOT/bench/target/classes:$ROOT/bench/target/lib/*" io.raftkv.bench.WatchFanout \
    --target "$system" --endpoints "$endpoints" --pids "$pids" --clock-ticks "$(getconf CLK_TCK)" \
    --watchers "$WATCHERS" --clients "$CLIENTS" --rate "$RATE" --seconds "$MEASURE_SECONDS" --warmup-seconds "$WARMUP_SECONDS" \
    --value-size "$VALUE_SIZE" --json "$OUT/$system.json" --hgrm-dir "$OUT/hgrm" || STATUS=1
  echo "== $system: load average $(cut -d' ' -f1-3 /proc/loadavg) after"
}

install_missing
"$ROOT/bin/build-if-needed"
rm -rf "$OUT"
mkdir -p "$OUT/hgrm"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(java -version 2>&1 | head -n 1), etcd $(etcd --version | head -n 1 | awk '{print $3}')"
ETCD_PIDS=""
RAFTKV_PIDS=""
STATUS=0
[[ ",$SYSTEMS," == *",etcd,"* ]] && start_etcd
[[ ",$SYSTEMS," == *",raftkv,"* ]] && start_raftkv

# etcd first, then raftkv, as compare.sh does; the other cluster stays up and idle meanwhile.
[[ ",$SYSTEMS," == *",etcd,"* ]] && fanout etcd "$ETCD_ENDPOINTS" "$ETCD_PIDS"
[[ ",$SYSTEMS," == *",raftkv,"* ]] && fanout raftkv "$RAFTKV_ENDPOINTS" "$RAFTKV_PIDS"

[[ -f "$OUT/etcd.json" && -f "$OUT/raftkv.json" ]] || { echo "no table: it needs a result from both systems" >&2; exit "$STATUS"; }
echo
jq -r -s '
  def f(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
  def n(x): x | tostring;
  (map({(.target): .}) | add) as $r
  | ["| | raftkv | etcd |", "|---|---:|---:|",
     "| watchers (clients, \($r.raftkv.clients)) | \($r.raftkv.watchers) | \($r.etcd.watchers) |",
     "| puts/s measured (target \($r.raftkv.rate)) | \($r.raftkv.puts_per_s | round) | \($r.etcd.puts_per_s | round) |",
     "| puts failed; writer waits at \(10000) in flight; latest start ms | \($r.raftkv.puts_failed); \($r.raftkv.writer_waits); \(f($r.raftkv.writer_late_ms_max)) | \($r.etcd.puts_failed); \($r.etcd.writer_waits); \(f($r.etcd.writer_late_ms_max)) |",
     "| events delivered / expected | \($r.raftkv.events_delivered) / \($r.raftkv.events_expected) | \($r.etcd.events_delivered) / \($r.etcd.events_expected) |",
     "| missing / duplicate / out of order | \($r.raftkv.missing) / \($r.raftkv.duplicates) / \($r.raftkv.out_of_order) | \($r.etcd.missing) / \($r.etcd.duplicates) / \($r.etcd.out_of_order) |",
     "| events/s delivered (measured) | \($r.raftkv.events_per_s | round) | \($r.etcd.events_per_s | round) |",
     "| event p50 ms (put issued → delivered) | \(f($r.raftkv.event_p50_ms)) | \(f($r.etcd.event_p50_ms)) |",
     "| event p99 ms | \(f($r.raftkv.event_p99_ms)) | \(f($r.etcd.event_p99_ms)) |",
     "| event p99.9 ms | \(f($r.raftkv.event_p999_ms)) | \(f($r.etcd.event_p999_ms)) |",
     "| event max ms | \(f($r.raftkv.event_max_ms)) | \(f($r.etcd.event_max_ms)) |",
     "| event p50 / p99 ms by node watched | \($r.raftkv.event_by_node | map("\(f(.p50_ms)) / \(f(.p99_ms))") | join(", ")) | \($r.etcd.event_by_node | map("\(f(.p50_ms)) / \(f(.p99_ms))") | join(", ")) |",
     "| fan-out spread p50 / p99 / max ms (first watcher → each) | \(f($r.raftkv.spread_p50_ms)) / \(f($r.raftkv.spread_p99_ms)) / \(f($r.raftkv.spread_max_ms)) | \(f($r.etcd.spread_p50_ms)) / \(f($r.etcd.spread_p99_ms)) / \(f($r.etcd.spread_max_ms)) |",
     "| put p50 / p99 / max ms | \(f($r.raftkv.put_p50_ms)) / \(f($r.raftkv.put_p99_ms)) / \(f($r.raftkv.put_max_ms)) | \(f($r.etcd.put_p50_ms)) / \(f($r.etcd.put_p99_ms)) / \(f($r.etcd.put_max_ms)) |",
     "| nodes CPU, % of one core (each node) | \($r.raftkv.node_cpu_percent_total | round) (\($r.raftkv.node_cpu_percent | map(round | tostring) | join(", "))) | \($r.etcd.node_cpu_percent_total | round) (\($r.etcd.node_cpu_percent | map(round | tostring) | join(", "))) |",
     "| benchmark JVM CPU, % of one core | \($r.raftkv.bench_cpu_percent | round) | \($r.etcd.bench_cpu_percent | round) |",
     "| whole machine CPU meanwhile, all cores | \($r.raftkv.machine_cpu) | \($r.etcd.machine_cpu) |"]
  | .[]' "$OUT/raftkv.json" "$OUT/etcd.json" | tee "$OUT/table.md"
echo "table: $OUT/table.md   histograms: $OUT/hgrm/"
exit "$STATUS"

#!/usr/bin/env bash
# raftkv vs etcd, side by side, on this machine: a 3-member etcd and a 3-node raftkv on loopback (data on
# the same disk, fsync on in both), the same cases against each in turn with one load generator, then a
# table with the ratio raftkv/etcd per case, the disk's fsync latency, and a latency chart.
#
#   bench/compare.sh [--seconds N] [--warmup-seconds N] [--workloads LIST] [--out DIR]
#
# Defaults: 10 s measured per case after 3 s of warm-up, every workload (LIST is a comma-separated subset of
# put,get,get-serializable,txn-cas,range,mix), results in bench/target/compare. Installs Debian's etcd-server,
# etcd-client, fio and jq when missing (needs root). Everything it starts is stopped by pid when it exits.
set -euo pipefail
ROOT="$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")"
SECONDS_PER_CASE=10
WARMUP_SECONDS=3
ALL_WORKLOADS="put,get,get-serializable,txn-cas,range,mix"
WORKLOADS="$ALL_WORKLOADS"
OUT="$ROOT/bench/target/compare"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) SECONDS_PER_CASE="$2"; shift 2 ;;
    --warmup-seconds) WARMUP_SECONDS="$2"; shift 2 ;;
    --workloads) WORKLOADS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) sed -n '2,10p' "$0" >&2; exit 2 ;;
  esac
done
for w in ${WORKLOADS//,/ }; do
  if [[ ",$ALL_WORKLOADS," != *",$w,"* ]]; then echo "unknown workload '$w': choose from $ALL_WORKLOADS" >&2; exit 2; fi
done

KEYS=100000
KEY_SIZE=16
VALUE_SIZE=256
ETCD_ENDPOINTS="127.0.0.1:12379,127.0.0.1:12479,127.0.0.1:12579"
RAFTKV_ENDPOINTS="127.0.0.1:13379,127.0.0.1:13380,127.0.0.1:13381"
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
  command -v fio >/dev/null || missing+=(fio)
  command -v jq >/dev/null || missing+=(jq)
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing ${missing[*]} from Debian's packages..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

fsync_p50_ms() {
  local dir="$OUT/fio"
  mkdir -p "$dir"
  fio --name=fsync --directory="$dir" --rw=write --bs=4k --size=64m --fdatasync=1 --iodepth=1 \
      --runtime=10 --time_based --output-format=json > "$OUT/fio.json" 2>/dev/null
  rm -rf "$dir"
  jq -r '.jobs[0].sync.lat_ns.percentile["50.000000"] / 1000000' "$OUT/fio.json"
}

start_etcd() {
  local cluster="e1=http://127.0.0.1:12380,e2=http://127.0.0.1:12480,e3=http://127.0.0.1:12580"
  for i in 1 2 3; do
    local client=$((12279 + i * 100)) peer=$((12280 + i * 100))
    etcd --name "e$i" --data-dir "$OUT/etcd/e$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-token raftkv-bench --initial-cluster-state new \
      --logger zap --log-level error > "$OUT/etcd-e$i.log" 2>&1 &
    PIDS+=($!)
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
1 127.0.0.1 13379
2 127.0.0.1 13380
3 127.0.0.1 13381
EOF
  "$ROOT/bin/raftkv" start --config "$OUT/nodes.conf" --data-dir "$OUT/raftkv"
}

bench() {
  local system="$1" name="$2"; shift 2
  local endpoints="$RAFTKV_ENDPOINTS"
  [[ "$system" == etcd ]] && endpoints="$ETCD_ENDPOINTS"
  "$ROOT/bin/raftkv-bench" --target "$system" --endpoints "$endpoints" --name "$name" \
    --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --keyspace "$KEYS" \
    --json "$OUT/results/$system-$name.json" --hgrm-dir "$OUT/hgrm-tmp" "$@" | tail -n 1
  mv "$OUT/hgrm-tmp/$name.hgrm" "$OUT/hgrm/$system-$name.hgrm"
}

install_missing
"$ROOT/bin/build-if-needed"
rm -rf "$OUT"
mkdir -p "$OUT/results" "$OUT/hgrm" "$OUT/hgrm-tmp"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(java -version 2>&1 | head -n 1), etcd $(etcd --version | head -n 1 | awk '{print $3}')"
echo "measuring the disk's fsync latency (fio, 10 s)..."
FSYNC_MS="$(fsync_p50_ms)"
echo "fsync p50: $FSYNC_MS ms"
start_etcd
start_raftkv

# Each case runs against etcd, then raftkv, so that both see the same machine state in turn. The first field is
# the workload the case belongs to (for --workloads). txn-cas increments 8 hot counters (read, then a txn on the
# counter's mod revision, retried on a failed compare); range reads 100 keys under a prefix; mix is 50 % get,
# 30 % put, 10 % range, 10 % txn-cas (LoadGenerator's Javadoc says how each is counted).
CASES=(
  "put put-c1 --workload put --concurrency 1 --connections 1"
  "put put-c16 --workload put --concurrency 16 --connections 1"
  "put put-c64 --workload put --concurrency 64 --connections 4"
  "put put-c256 --workload put --concurrency 256 --connections 4"
  "get get-c1 --workload get --concurrency 1 --connections 1"
  "get get-c256 --workload get --concurrency 256 --connections 4"
  "get-serializable get-serializable-c1 --workload get-serializable --concurrency 1 --connections 1"
  "get-serializable get-serializable-c256 --workload get-serializable --concurrency 256 --connections 4"
  "txn-cas txn-cas-c64 --workload txn-cas --concurrency 64 --connections 4"
  "txn-cas txn-cas-c256 --workload txn-cas --concurrency 256 --connections 4"
  "range range-c64 --workload range --concurrency 64 --connections 4"
  "range range-c256 --workload range --concurrency 256 --connections 4"
  "mix mix-c64 --workload mix --concurrency 64 --connections 4"
  "mix mix-c256 --workload mix --concurrency 256 --connections 4"
)
PRELOADED=""
for spec in "${CASES[@]}"; do
  read -r workload name args <<< "$spec"
  [[ ",$WORKLOADS," == *",$workload,"* ]] || continue
  for system in etcd raftkv; do
    extra=()
    # Reads, ranges and the mix need the keys: written once per system, before the first case that reads.
    if [[ "$workload" =~ ^(get|get-serializable|range|mix)$ && "$PRELOADED" != *"$system"* ]]; then extra+=(--preload); PRELOADED+=" $system"; fi
    # shellcheck disable=SC2086
    bench "$system" "$name" $args --duration "$SECONDS_PER_CASE" --warmup 200 --warmup-seconds "$WARMUP_SECONDS" "${extra[@]}"
  done
done

echo
java -cp "$ROOT/bench/target/classes:$ROOT/bench/target/lib/*" io.raftkv.bench.CompareReport "$OUT/results" "$FSYNC_MS"
java -cp "$ROOT/bench/target/classes:$ROOT/bench/target/lib/*" io.raftkv.bench.LatencyChart "$OUT/hgrm" "$OUT/latency.png"
echo "table: $OUT/results/table.md   chart: $OUT/latency.png"

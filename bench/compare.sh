#!/usr/bin/env bash
# raftkv vs etcd, side by side, on this machine: a 3-member etcd and a 3-node raftkv on loopback (data on the same disk,
# fsync on in both), the same cases against each with one load generator JVM per system for all its cases (warm, after a
# preload of every key), each case run several times with the systems interleaved (raftkv, etcd, etcd, raftkv...), then
# a table with every run, the spread and the ratio raftkv/etcd per case, each side's CPU per operation (load generator
# and nodes) and the machine's steal time; the disk's fsync latency; a latency chart; and a latency-vs-throughput curve
# (open loop, both systems, 10 % to 120 % of each one's closed-loop maximum) as CSV and PNG.
#
#   bench/compare.sh [--quick] [--seconds N] [--repeats N] [--warmup-seconds N] [--warmup-max-seconds N]
#                    [--warmup-window-seconds N] [--workloads LIST] [--keys N] [--curve WORKLOAD|none] [--curve-steps LIST]
#                    [--curve-in-flight N] [--etcd-port BASE] [--raftkv-port BASE] [--raftkv-lease-reads] [--out DIR]
#
# Defaults: 10 s measured per run, 2 runs per case and system, a warm-up per run until the load generator's CPU per
# operation settles (2 s windows, two within 10 %; at least --warmup-seconds, 0; at most 60 s), every workload (LIST: a
# comma-separated subset of put,get,get-serializable,txn-cas,range,mix), 100,000 keys, the curve for put at 10, 20, ...
# 120 % with at most 1,024 in flight; etcd on ports BASE..BASE+5 (12379), raftkv on BASE..BASE+2 (13379); results in
# bench/target/compare. --quick: every case, short (2 s runs, 0.5 s windows, at most 8 s of warm-up, 10,000 keys, the
# curve at 25, 50, 100, 120 %), about 5 minutes. Builds under /tmp/raftkv-mvn.lock when the classes are stale (mvn -o -pl
# bench -am package, no tests). Installs Debian's etcd-server, etcd-client, fio and jq when missing (needs root).
# --raftkv-lease-reads: raftkv's nodes serve linearizable reads from the leader's read lease (-Draftkv.leaseReads=true; off
# by default, as in a node). Everything it starts is stopped by pid when it exits.
set -euo pipefail
ROOT="$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")"
ALL_WORKLOADS="put,get,get-serializable,txn-cas,range,mix"
declare -A OPT=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) OPT[quick]=1; shift ;;
    --seconds) OPT[seconds]="$2"; shift 2 ;;
    --repeats) OPT[repeats]="$2"; shift 2 ;;
    --warmup-seconds) OPT[warmup_min]="$2"; shift 2 ;;
    --warmup-max-seconds) OPT[warmup_max]="$2"; shift 2 ;;
    --warmup-window-seconds) OPT[window]="$2"; shift 2 ;;
    --workloads) OPT[workloads]="$2"; shift 2 ;;
    --keys) OPT[keys]="$2"; shift 2 ;;
    --curve) OPT[curve]="$2"; shift 2 ;;
    --curve-steps) OPT[curve_steps]="$2"; shift 2 ;;
    --curve-in-flight) OPT[curve_in_flight]="$2"; shift 2 ;;
    --etcd-port) OPT[etcd_port]="$2"; shift 2 ;;
    --raftkv-port) OPT[raftkv_port]="$2"; shift 2 ;;
    --out) OPT[out]="$2"; shift 2 ;;
    --raftkv-lease-reads) export RAFTKV_NODE_JAVA_OPTS="${RAFTKV_NODE_JAVA_OPTS:-} -Draftkv.leaseReads=true"; shift ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
  esac
done
if [[ -n "${OPT[quick]:-}" ]]; then
  DEFAULTS=(seconds=2 repeats=2 warmup_max=8 window=0.5 keys=10000 curve_steps=25,50,100,120)
else
  DEFAULTS=(seconds=10 repeats=2 warmup_max=60 window=2 keys=100000 curve_steps=10,20,30,40,50,60,70,80,90,100,110,120)
fi
DEFAULTS+=(warmup_min=0 workloads="$ALL_WORKLOADS" curve=put curve_in_flight=1024 etcd_port=12379 raftkv_port=13379 out="$ROOT/bench/target/compare")
for d in "${DEFAULTS[@]}"; do [[ -n "${OPT[${d%%=*}]:-}" ]] || OPT[${d%%=*}]="${d#*=}"; done
SECONDS_PER_RUN="${OPT[seconds]}"
REPEATS="${OPT[repeats]}"
KEYS="${OPT[keys]}"
WORKLOADS="${OPT[workloads]}"
CURVE="${OPT[curve]}"
OUT="${OPT[out]}"
for w in ${WORKLOADS//,/ } ${CURVE/none/}; do
  if [[ ",$ALL_WORKLOADS," != *",$w,"* ]]; then echo "unknown workload '$w': choose from $ALL_WORKLOADS" >&2; exit 2; fi
done

KEY_SIZE=16
VALUE_SIZE=256
EP="${OPT[etcd_port]}"
RP="${OPT[raftkv_port]}"
ETCD_ENDPOINTS="127.0.0.1:$EP,127.0.0.1:$((EP + 2)),127.0.0.1:$((EP + 4))"
RAFTKV_ENDPOINTS="127.0.0.1:$RP,127.0.0.1:$((RP + 1)),127.0.0.1:$((RP + 2))"
PIDS=()
declare -A LG_IN=() LG_OUT=() NODE_PIDS=() PRELOADED=()
FAILED=0

cleanup() {
  for fd in "${LG_IN[@]}"; do exec {fd}>&- || true; done
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

# bin/build-if-needed's test, but the build offline and under the shared lock (the machine's 2 cores are shared); its
# stamp is touched after, so that bin/raftkv and bin/raftkv-bench do not build again (without the lock).
build_if_needed() {
  local stamp="$ROOT/client/target/.raftkv-built"
  if [[ -f "$stamp" && -d "$ROOT/bench/target/lib" && -z "$(find "$ROOT/protocol/src/main" "$ROOT/core/src/main" "$ROOT/client/src/main" "$ROOT/bench/src/main" \
        "$ROOT/pom.xml" "$ROOT/protocol/pom.xml" "$ROOT/core/pom.xml" "$ROOT/client/pom.xml" "$ROOT/bench/pom.xml" -newer "$stamp" -print -quit)" ]]; then
    return 0
  fi
  echo "building (mvn -o -pl bench -am package, under /tmp/raftkv-mvn.lock)..." >&2
  (cd "$ROOT" && flock /tmp/raftkv-mvn.lock mvn -o -q -B -pl bench -am package -DskipTests)
  touch "$stamp"
}

fsync_p50_ms() {
  local dir="$OUT/fio"
  mkdir -p "$dir"
  fio --name=fsync --directory="$dir" --rw=write --bs=4k --size=64m --fdatasync=1 --iodepth=1 \
      --runtime="$1" --time_based --output-format=json > "$OUT/fio.json" 2>/dev/null
  rm -rf "$dir"
  jq -r '.jobs[0].sync.lat_ns.percentile["50.000000"] / 1000000' "$OUT/fio.json"
}

# The machine's steal time (the hypervisor running someone else on this VM's CPUs) as % of all CPU time since $1, a
# "cpu" line of /proc/stat; 'steal_now' gives one.
steal_now() { head -n 1 /proc/stat; }
steal_since() {
  read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ <<< "$1"
  read -r _ u2 n2 s2 i2 w2 q2 sq2 st2 _ <<< "$(steal_now)"
  local total=$(( (u2 + n2 + s2 + i2 + w2 + q2 + sq2 + st2) - (u1 + n1 + s1 + i1 + w1 + q1 + sq1 + st1) ))
  awk -v st=$((st2 - st1)) -v t="$total" 'BEGIN { printf "%.1f", (t > 0 ? 100 * st / t : 0) }'
}

start_etcd() {
  local cluster="e1=http://127.0.0.1:$((EP + 1)),e2=http://127.0.0.1:$((EP + 3)),e3=http://127.0.0.1:$((EP + 5))" pids=()
  for i in 1 2 3; do
    local client=$((EP + 2 * (i - 1))) peer=$((EP + 2 * (i - 1) + 1))
    etcd --name "e$i" --data-dir "$OUT/etcd/e$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-token raftkv-bench --initial-cluster-state new \
      --logger zap --log-level error > "$OUT/etcd-e$i.log" 2>&1 &
    PIDS+=($!)
    pids+=($!)
  done
  NODE_PIDS[etcd]="$(IFS=,; echo "${pids[*]}")"
  for _ in $(seq 1 300); do
    if ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint health >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "etcd did not become healthy; see $OUT/etcd-e*.log" >&2
  exit 1
}

start_raftkv() {
  for i in 1 2 3; do echo "$i 127.0.0.1 $((RP + i - 1))"; done > "$OUT/nodes.conf"
  "$ROOT/bin/raftkv" start --config "$OUT/nodes.conf" --data-dir "$OUT/raftkv"
  NODE_PIDS[raftkv]="$(cat "$OUT"/raftkv/node{1,2,3}.pid | paste -sd,)"
  PIDS+=($(cat "$OUT"/raftkv/node{1,2,3}.pid))
}

# One load generator JVM per system, for all of that system's runs (LoadGenerator --serve): a line of flags per run on
# its standard input, a line back when the run is done ("ok SUMMARY" or "failed WHY"); its tables and progress go to
# lg-SYSTEM.log. Flags common to every run are given once here.
start_load_generator() {
  local system="$1" endpoints="$2" fd
  mkfifo "$OUT/lg-$system.in" "$OUT/lg-$system.out"
  "$ROOT/bin/raftkv-bench" --serve --target "$system" --endpoints "$endpoints" --pids "${NODE_PIDS[$system]}" --clock-ticks "$(getconf CLK_TCK)" \
    --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --keyspace "$KEYS" \
    --warmup-seconds "${OPT[warmup_min]}" --warmup-max-seconds "${OPT[warmup_max]}" --warmup-window-seconds "${OPT[window]}" \
    < "$OUT/lg-$system.in" > "$OUT/lg-$system.out" 2> "$OUT/lg-$system.log" &
  PIDS+=($!)
  exec {fd}> "$OUT/lg-$system.in"
  LG_IN[$system]=$fd
  exec {fd}< "$OUT/lg-$system.out"
  LG_OUT[$system]=$fd
}

# run SYSTEM FLAGS...: one run in SYSTEM's load generator; the first run of each system writes every key first.
run() {
  local system="$1" reply; shift
  local extra=""
  if [[ -z "${PRELOADED[$system]:-}" ]]; then extra="--preload"; PRELOADED[$system]=1; fi
  echo "$* $extra" >&"${LG_IN[$system]}"
  if ! read -r reply <&"${LG_OUT[$system]}"; then
    echo "the $system load generator ended; see $OUT/lg-$system.log" >&2
    exit 1
  fi
  echo "  $reply"
  [[ "$reply" == ok* ]] || FAILED=$((FAILED + 1))
}

# The order of the systems in repeat N: raftkv first in odd repeats, etcd first in even ones (raftkv, etcd, etcd,
# raftkv...), so that a machine drifting one way during a case weighs on both alike.
order() { if (( $1 % 2 == 1 )); then echo "raftkv etcd"; else echo "etcd raftkv"; fi; }

install_missing
build_if_needed
rm -rf "$OUT"
mkdir -p "$OUT/results" "$OUT/hgrm/all" "$OUT/hgrm-tmp/raftkv" "$OUT/hgrm-tmp/etcd" "$OUT/curve"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(java -version 2>&1 | head -n 1), etcd $(etcd --version | head -n 1 | awk '{print $3}')"
FIO_SECONDS=10
[[ -n "${OPT[quick]:-}" ]] && FIO_SECONDS=3
echo "measuring the disk's fsync latency (fio, $FIO_SECONDS s)..."
FSYNC_MS="$(fsync_p50_ms "$FIO_SECONDS")"
echo "fsync p50: $FSYNC_MS ms"
START_STAT="$(steal_now)"
start_etcd
start_raftkv
start_load_generator raftkv "$RAFTKV_ENDPOINTS"
start_load_generator etcd "$ETCD_ENDPOINTS"
echo "etcd on $ETCD_ENDPOINTS (pids ${NODE_PIDS[etcd]}), raftkv on $RAFTKV_ENDPOINTS (pids ${NODE_PIDS[raftkv]}${RAFTKV_NODE_JAVA_OPTS:+, node JVM flags:$RAFTKV_NODE_JAVA_OPTS}); load generators' logs: $OUT/lg-*.log"

# The first field is the workload the case belongs to (for --workloads). txn-cas increments 8 hot counters (read, then a
# txn on the counter's mod revision, retried on a failed compare); range reads 100 keys under a prefix; mix is 50 % get,
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
for spec in "${CASES[@]}"; do
  read -r workload name args <<< "$spec"
  [[ ",$WORKLOADS," == *",$workload,"* ]] || continue
  echo "$name:"
  for rep in $(seq 1 "$REPEATS"); do
    for system in $(order "$rep"); do
      run "$system" --name "$name" $args --duration "$SECONDS_PER_RUN" --json "$OUT/results/$system-$name.$rep.json" --hgrm-dir "$OUT/hgrm-tmp/$system"
      if (( rep == 1 )); then mv "$OUT/hgrm-tmp/$system/$name.hgrm" "$OUT/hgrm/$system-$name.hgrm"
      else mv "$OUT/hgrm-tmp/$system/$name.hgrm" "$OUT/hgrm/all/$system-$name.$rep.hgrm"; fi
    done
  done
done

# The curve: the open loop at steps of each system's own closed-loop maximum for the workload (the highest throughput of
# its cases above, or of a run at 256 in flight when none ran), the systems interleaved step by step.
if [[ "$CURVE" != none ]]; then
  declare -A MAX=()
  for system in raftkv etcd; do
    MAX[$system]="$(cat "$OUT"/results/"$system-$CURVE"-c*.json 2>/dev/null | jq -s 'map(.throughput) | max // empty' || true)"
    if [[ -z "${MAX[$system]}" ]]; then
      echo "$CURVE-max ($system, closed loop, for the curve):"
      run "$system" --name "$CURVE-max" --workload "$CURVE" --concurrency 256 --connections 4 --duration "$SECONDS_PER_RUN" --json "$OUT/curve/$system-$CURVE-max.json.closed"
      MAX[$system]="$(jq .throughput "$OUT/curve/$system-$CURVE-max.json.closed")"
    fi
  done
  echo "curve: $CURVE, open loop at ${OPT[curve_steps]} % of the closed-loop maximum (raftkv ${MAX[raftkv]}/s, etcd ${MAX[etcd]}/s), at most ${OPT[curve_in_flight]} in flight:"
  i=0
  for step in ${OPT[curve_steps]//,/ }; do
    i=$((i + 1))
    for system in $(order "$i"); do
      rate="$(awk -v m="${MAX[$system]}" -v s="$step" 'BEGIN { r = m * s / 100; printf "%.0f", (r < 1 ? 1 : r) }')"
      run "$system" --name "$CURVE-rate$step" --workload "$CURVE" --rate "$rate" --concurrency "${OPT[curve_in_flight]}" --connections 4 \
        --duration "$SECONDS_PER_RUN" --json "$OUT/curve/$system-$CURVE-rate$step.json"
    done
  done
fi

for fd in "${LG_IN[@]}"; do exec {fd}>&-; done
LG_IN=()
echo
echo "steal over the whole run: $(steal_since "$START_STAT") % of the machine's CPU time (each run's own is in its line above and in the table)"
CP="$ROOT/bench/target/classes:$ROOT/bench/target/lib/*"
java -cp "$CP" io.raftkv.bench.CompareReport "$OUT/results" "$FSYNC_MS"
java -cp "$CP" io.raftkv.bench.LatencyChart "$OUT/hgrm" "$OUT/latency.png"
outputs="table: $OUT/results/table.md   every run: $OUT/results/runs.md   chart: $OUT/latency.png"
if [[ "$CURVE" != none ]]; then
  java -cp "$CP" io.raftkv.bench.LatencyCurve "$OUT/curve" "$OUT/curve.csv" "$OUT/curve.png"
  outputs+="   curve: $OUT/curve.csv, $OUT/curve.png"
fi
echo "$outputs"
if (( FAILED > 0 )); then echo "$FAILED run(s) failed: see $OUT/lg-*.log" >&2; exit 1; fi

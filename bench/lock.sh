#!/usr/bin/env bash
# Lock acquisitions, raftkv vs etcd on this machine in the same run (issue 12): a 3-member etcd, then a 3-node raftkv, on
# loopback (data on the same disk, fsync on in both); against each, C clients, each with its own client object and its own
# lease, lock one name over and over, run a tiny critical section that checks mutual exclusion, and unlock
# (io.raftkv.bench.LockContention): raftkv's Mutex, etcd's concurrency.Mutex through jetcd's Lock client. Then each
# client on a name of its own (uncontended). Then a table, raftkv next to etcd.
#
#   bench/lock.sh [--seconds N] [--warmup-seconds N] [--clients N] [--ttl S] [--cases contended,uncontended]
#                 [--systems etcd,raftkv] [--out DIR]
#
# Defaults: 16 clients, sessions (leases) of 60 s, 20 s measured per case after 5 s of warm-up; results in
# bench/target/lock. Each system's cluster runs alone: etcd is stopped before raftkv starts. Builds under
# /tmp/raftkv-mvn.lock when the classes are stale (mvn -o -pl bench -am package, no tests). Installs Debian's
# etcd-server, etcd-client and jq when missing (needs root). Everything it starts is stopped by pid when it exits.
# BENCH_JAVA_OPTS adds options to the benchmark's JVM (e.g. -XX:StartFlightRecording=...).
set -euo pipefail
ROOT="$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")"
MEASURE_SECONDS=20
WARMUP_SECONDS=5
CLIENTS=16
TTL=60
CASES="contended,uncontended"
SYSTEMS="etcd,raftkv"
OUT="$ROOT/bench/target/lock"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) MEASURE_SECONDS="$2"; shift 2 ;;
    --warmup-seconds) WARMUP_SECONDS="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --ttl) TTL="$2"; shift 2 ;;
    --cases) CASES="$2"; shift 2 ;;
    --systems) SYSTEMS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
  esac
done

# Ports of their own, so that compare.sh, watch.sh or lease.sh can run meanwhile.
ETCD_ENDPOINTS="127.0.0.1:18379,127.0.0.1:18479,127.0.0.1:18579"
RAFTKV_ENDPOINTS="127.0.0.1:19379,127.0.0.1:19380,127.0.0.1:19381"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
CTL_CP="$ROOT/protocol/target/classes:$ROOT/client/target/classes:$ROOT/client/target/lib/*"
PIDS=()

stop_pids() {
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
cleanup() {
  [[ ${#PIDS[@]} -gt 0 ]] && stop_pids "${PIDS[@]}"
  return 0
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

# bin/build-if-needed's test, but the build offline and under the shared lock (the machine's 2 cores are shared); its
# stamp is touched after, so that bin/raftkv start does not build again (without the lock).
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

start_etcd() {
  local cluster="e1=http://127.0.0.1:18380,e2=http://127.0.0.1:18480,e3=http://127.0.0.1:18580"
  ETCD_PIDS=()
  for i in 1 2 3; do
    local client=$((18279 + i * 100)) peer=$((18280 + i * 100))
    etcd --name "e$i" --data-dir "$OUT/etcd/e$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-token raftkv-lock-bench --initial-cluster-state new \
      --logger zap --log-level error > "$OUT/etcd-e$i.log" 2>&1 &
    PIDS+=($!)
    ETCD_PIDS+=($!)
  done
  for _ in $(seq 1 300); do
    if ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint health >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "etcd did not become healthy; see $OUT/etcd-e*.log" >&2
  exit 1
}

start_raftkv() {
  cat > "$OUT/nodes.conf" <<CONF
1 127.0.0.1 19379
2 127.0.0.1 19380
3 127.0.0.1 19381
CONF
  local status=0
  "$ROOT/bin/raftkv" start --config "$OUT/nodes.conf" --data-dir "$OUT/raftkv" || status=$?
  RAFTKV_PIDS=()
  for i in 1 2 3; do
    [[ -f "$OUT/raftkv/node$i.pid" ]] && RAFTKV_PIDS+=("$(cat "$OUT/raftkv/node$i.pid")")
  done
  [[ ${#RAFTKV_PIDS[@]} -gt 0 ]] && PIDS+=("${RAFTKV_PIDS[@]}")
  [[ $status -eq 0 ]] || { echo "raftkv did not start; see $OUT/raftkv/node*.log" >&2; exit 1; }
}

# The leader's client endpoint.
leader_of() {
  if [[ "$1" == etcd ]]; then
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint status 2>/dev/null | awk -F', ' '$5 == "true" {print $1}'
  else
    "$JAVA" -cp "$CTL_CP" io.raftkv.client.RaftKvCtl --endpoints "$RAFTKV_ENDPOINTS" --timeout 2 leader 2>/dev/null | awk '{print $NF}'
  fi
}

# Keys left under the benchmark's prefix (every session closed: must be 0), from the cluster itself.
keys_left() {
  if [[ "$1" == etcd ]]; then
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" --command-timeout 10s get --prefix --keys-only lockbench/ 2>&1 | grep -c . || true
  else
    "$JAVA" -cp "$CTL_CP" io.raftkv.client.RaftKvCtl --endpoints "$RAFTKV_ENDPOINTS" --timeout 10 get --prefix --keys-only lockbench/ 2>&1 | grep -c . || true
  fi
}

locks() {
  local system="$1" endpoints="$2" pids="$3" leader
  leader="$(leader_of "$system")"
  echo
  echo "== $system: load average $(cut -d' ' -f1-3 /proc/loadavg) before; leader $leader"
  # shellcheck disable=SC2086
  "$JAVA" -Xmx1g -Xlog:gc:file="$OUT/$system-gc.log" ${BENCH_JAVA_OPTS:-} -cp "$ROOT/bench/target/classes:$ROOT/bench/target/lib/*" io.raftkv.bench.LockContention \
    --target "$system" --endpoints "$endpoints" --pids "$pids" --clock-ticks "$(getconf CLK_TCK)" \
    --clients "$CLIENTS" --ttl "$TTL" --seconds "$MEASURE_SECONDS" --warmup-seconds "$WARMUP_SECONDS" --cases "$CASES" \
    --json "$OUT/$system.json" || STATUS=1
  local left
  left="$(keys_left "$system")"
  echo "$system keys left under lockbench/ after every session closed: $left"
  [[ -f "$OUT/$system.json" ]] && jq --arg l "$left" --arg leader "$leader" '. + {keys_left: $l, leader: $leader}' "$OUT/$system.json" > "$OUT/$system.json.tmp" \
    && mv "$OUT/$system.json.tmp" "$OUT/$system.json"
  echo "== $system: load average $(cut -d' ' -f1-3 /proc/loadavg) after"
}

install_missing
build_if_needed
rm -rf "$OUT"
mkdir -p "$OUT"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $("$JAVA" -version 2>&1 | head -n 1), etcd $(etcd --version | head -n 1 | awk '{print $3}')"
STATUS=0
if [[ ",$SYSTEMS," == *",etcd,"* ]]; then
  start_etcd
  locks etcd "$ETCD_ENDPOINTS" "$(IFS=,; echo "${ETCD_PIDS[*]}")"
  stop_pids "${ETCD_PIDS[@]}"
fi
if [[ ",$SYSTEMS," == *",raftkv,"* ]]; then
  start_raftkv
  locks raftkv "$RAFTKV_ENDPOINTS" "$(IFS=,; echo "${RAFTKV_PIDS[*]}")"
  stop_pids "${RAFTKV_PIDS[@]}"
fi

[[ -f "$OUT/etcd.json" && -f "$OUT/raftkv.json" ]] || { echo "no table: it needs a result from both systems" >&2; exit "$STATUS"; }
echo
jq -r -s '
  def f(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
  def r(x): if x == null then "-" else (x | round | tostring) end;
  def cpu(c): "\(r(c.node_cpu_percent_total)) (\(c.node_cpu_percent | map(round | tostring) | join(", ")))";
  def busiest(c): c.busiest_threads | map("\(.name) \(.cpu_percent | round)") | join(", ");
  def kase(k): .cases | map(select(.case == k)) | first;
  (map({(.target): .}) | add) as $r
  | def row(name; g): "| \(name) | \($r.raftkv | g) | \($r.etcd | g) |";
  ["| | raftkv (Mutex) | etcd (jetcd Lock) |", "|---|---:|---:|",
   row("clients, lease TTL; leader"; "\(.clients), \(.ttl_s) s; \(.leader)"),
   row("nodes CPU idle (sessions open, nothing locked), % of one core"; f(.idle_node_cpu_percent_total)),
   (($r.raftkv.cases | map(.case))[] as $k
   | ( "| **\($k)** (\(($r.raftkv | kase($k)).names) name\(if ($r.raftkv | kase($k)).names > 1 then "s" else "" end)) | | |",
       row("**acquisitions/s**"; r((kase($k) | .acquisitions_per_s))),
       row("acquire (lock call → held) p50 / p99 / max ms"; kase($k) | "\(f(.acquire_p50_ms)) / \(f(.acquire_p99_ms)) / \(f(.acquire_max_ms))"),
       row("release (unlock call → answered) p50 / p99 / max ms"; kase($k) | "\(f(.release_p50_ms)) / \(f(.release_p99_ms)) / \(f(.release_max_ms))"),
       (if $k == "contended" then row("lock free while wanted (unlock call → next held) p50 / p99 / max ms"; kase($k) | "\(f(.free_p50_ms)) / \(f(.free_p99_ms)) / \(f(.free_max_ms))") else empty end),
       row("fairness: acquisitions per client min / max"; kase($k) | "\(.per_client_min) / \(.per_client_max)"),
       row("mutual exclusion violations; lock / unlock errors; sessions lost"; kase($k) | "**\(.violations)**; \(.lock_errors) / \(.unlock_errors); \(.sessions_lost)"),
       row("nodes CPU, % of one core (each)"; cpu(kase($k))),
       row("busiest thread per node, %"; busiest(kase($k))),
       row("CPU per acquisition, µs: nodes (beyond idle) / client JVM"; kase($k) | "\(r(.node_cpu_us_per_acquisition)) (\(r(.node_cpu_us_per_acquisition_above_idle))) / \(r(.bench_cpu_us_per_acquisition))"),
       row("client JVM CPU, % of one core"; r((kase($k) | .bench_cpu_percent))),
       row("machine meanwhile (/proc/stat)"; (kase($k) | .machine_cpu)) )),
   row("keys left under lockbench/ after the sessions closed"; .keys_left)]
  | .[]' "$OUT/raftkv.json" "$OUT/etcd.json" | tee "$OUT/table.md"
echo "table: $OUT/table.md   each run: $OUT/{raftkv,etcd}.json"
exit "$STATUS"

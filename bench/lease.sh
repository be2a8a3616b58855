#!/usr/bin/env bash
# Lease keepalives, raftkv vs etcd on this machine in the same run (issue 12): a 3-member etcd, then a 3-node raftkv, on
# loopback (data on the same disk, fsync on in both); against each, C clients grant L leases between them and keep them
# all alive (io.raftkv.bench.LeaseKeepalives): first at the rate their client library renews them (every TTL/3), then
# flat out with a bounded number of keepalives in flight per client. Then a table, raftkv next to etcd.
#
#   bench/lease.sh [--seconds N] [--warmup-seconds N] [--leases N] [--clients N] [--ttl S] [--in-flight N]
#                  [--systems etcd,raftkv] [--out DIR]
#
# Defaults: 10,000 leases of 30 s on 10 clients, 20 s measured per case after 5 s of warm-up, 64 keepalives in flight per
# client flat out; results in bench/target/lease. Each system's cluster runs alone: etcd is stopped before raftkv starts.
# Builds under /tmp/raftkv-mvn.lock when the classes are stale (mvn -o -pl bench -am package, no tests). Installs Debian's
# etcd-server, etcd-client and jq when missing (needs root). Everything it starts is stopped by pid when it exits.
# BENCH_JAVA_OPTS adds options to the benchmark's JVM (e.g. -XX:StartFlightRecording=...).
set -euo pipefail
ROOT="$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")"
MEASURE_SECONDS=20
WARMUP_SECONDS=5
LEASES=10000
CLIENTS=10
TTL=30
IN_FLIGHT=64
SYSTEMS="etcd,raftkv"
OUT="$ROOT/bench/target/lease"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) MEASURE_SECONDS="$2"; shift 2 ;;
    --warmup-seconds) WARMUP_SECONDS="$2"; shift 2 ;;
    --leases) LEASES="$2"; shift 2 ;;
    --clients) CLIENTS="$2"; shift 2 ;;
    --ttl) TTL="$2"; shift 2 ;;
    --in-flight) IN_FLIGHT="$2"; shift 2 ;;
    --systems) SYSTEMS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    *) sed -n '2,15p' "$0" >&2; exit 2 ;;
  esac
done

# Ports of their own, so that compare.sh or watch.sh can run meanwhile.
ETCD_ENDPOINTS="127.0.0.1:16379,127.0.0.1:16479,127.0.0.1:16579"
RAFTKV_ENDPOINTS="127.0.0.1:17379,127.0.0.1:17380,127.0.0.1:17381"
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
  local cluster="e1=http://127.0.0.1:16380,e2=http://127.0.0.1:16480,e3=http://127.0.0.1:16580"
  ETCD_PIDS=()
  for i in 1 2 3; do
    local client=$((16279 + i * 100)) peer=$((16280 + i * 100))
    etcd --name "e$i" --data-dir "$OUT/etcd/e$i" \
      --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
      --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
      --initial-cluster "$cluster" --initial-cluster-token raftkv-lease-bench --initial-cluster-state new \
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
  cat > "$OUT/nodes.conf" <<EOF
1 127.0.0.1 17379
2 127.0.0.1 17380
3 127.0.0.1 17381
EOF
  "$ROOT/bin/raftkv" start --config "$OUT/nodes.conf" --data-dir "$OUT/raftkv"
  RAFTKV_PIDS=("$(cat "$OUT"/raftkv/node1.pid)" "$(cat "$OUT"/raftkv/node2.pid)" "$(cat "$OUT"/raftkv/node3.pid)")
  PIDS+=("${RAFTKV_PIDS[@]}")
}

# The leader's client endpoint.
leader_of() {
  if [[ "$1" == etcd ]]; then
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint status 2>/dev/null | awk -F', ' '$5 == "true" {print $1}'
  else
    "$JAVA" -cp "$CTL_CP" io.raftkv.client.RaftKvCtl --endpoints "$RAFTKV_ENDPOINTS" --timeout 2 leader 2>/dev/null | awk '{print $NF}'
  fi
}

# "found N leases", from the cluster's own list (etcdctl lease list, raftkvctl lease list).
lease_count() {
  if [[ "$1" == etcd ]]; then
    ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" --command-timeout 10s lease list 2>&1 | sed -n 1p
  else
    "$JAVA" -cp "$CTL_CP" io.raftkv.client.RaftKvCtl --endpoints "$RAFTKV_ENDPOINTS" --timeout 10 lease list 2>&1 | sed -n 1p
  fi
}

keepalives() {
  local system="$1" endpoints="$2" pids="$3" leader
  leader="$(leader_of "$system")"
  echo
  echo "== $system: load average $(cut -d' ' -f1-3 /proc/loadavg) before; leader $leader"
  local extra=()
  # etcd's pipelined streams go to the leader: etcd at its best (a follower forwards each keepalive to the leader over HTTP,
  # one at a time per stream). jetcd's keepAliveOnce and keepAlive spread over the endpoints, as jetcd does.
  [[ "$system" == etcd ]] && extra+=(--stream-endpoints "$leader")
  # shellcheck disable=SC2086
  "$JAVA" -Xmx1g -Xlog:gc:file="$OUT/$system-gc.log" ${BENCH_JAVA_OPTS:-} -cp "$ROOT/bench/target/classes:$ROOT/bench/target/lib/*" io.raftkv.bench.LeaseKeepalives \
    --target "$system" --endpoints "$endpoints" --pids "$pids" --clock-ticks "$(getconf CLK_TCK)" \
    --leases "$LEASES" --clients "$CLIENTS" --ttl "$TTL" --seconds "$MEASURE_SECONDS" --warmup-seconds "$WARMUP_SECONDS" \
    --in-flight "$IN_FLIGHT" --json "$OUT/$system.json" "${extra[@]}" || STATUS=1
  local listed
  listed="$(lease_count "$system")"
  echo "$system lease list right after: $listed"
  [[ -f "$OUT/$system.json" ]] && jq --arg l "$listed" --arg leader "$leader" '. + {listed: $l, leader: $leader}' "$OUT/$system.json" > "$OUT/$system.json.tmp" \
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
  keepalives etcd "$ETCD_ENDPOINTS" "$(IFS=,; echo "${ETCD_PIDS[*]}")"
  stop_pids "${ETCD_PIDS[@]}"
fi
if [[ ",$SYSTEMS," == *",raftkv,"* ]]; then
  start_raftkv
  keepalives raftkv "$RAFTKV_ENDPOINTS" "$(IFS=,; echo "${RAFTKV_PIDS[*]}")"
  stop_pids "${RAFTKV_PIDS[@]}"
fi

[[ -f "$OUT/etcd.json" && -f "$OUT/raftkv.json" ]] || { echo "no table: it needs a result from both systems" >&2; exit "$STATUS"; }
echo
jq -r -s '
  def f(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
  def r(x): if x == null then "-" else (x | round | tostring) end;
  def cpu(c): "\(r(c.node_cpu_percent_total)) (\(c.node_cpu_percent | map(round | tostring) | join(", ")))";
  def busiest(c): c.busiest_threads | map("\(.name) \(.cpu_percent | round)") | join(", ");
  (map({(.target): .}) | add) as $r
  | ($r.raftkv.flat | map(select(.variant == "once")) | first) as $rf
  | ($r.etcd.flat | map(select(.variant == "once")) | first) as $eo
  | ($r.etcd.flat | map(select(.variant == "stream")) | first) as $es
  | ["| | raftkv | etcd |", "|---|---:|---:|",
     "| leases × TTL, clients; leader | \($r.raftkv.leases) × \($r.raftkv.ttl_s) s, \($r.raftkv.clients); \($r.raftkv.leader) | \($r.etcd.leases) × \($r.etcd.ttl_s) s, \($r.etcd.clients); \($r.etcd.leader) |",
     "| grants/s (before the cases) | \(r($r.raftkv.grants_per_s)) | \(r($r.etcd.grants_per_s)) |",
     "| nodes CPU idle (warm, leases held, none renewed), % of one core | \(f($r.raftkv.idle_node_cpu_percent_total)) | \(f($r.etcd.idle_node_cpu_percent_total)) |",
     "| **sustained**: keepalives/s (required \(r($r.raftkv.sustained.required_per_s))) | \(r($r.raftkv.sustained.keepalives_per_s)) | \(r($r.etcd.sustained.keepalives_per_s)) |",
     "| leases lost (library) / not found at the end (time-to-live) | \($r.raftkv.sustained.leases_lost) / \($r.raftkv.sustained.check.not_found) | \($r.etcd.sustained.leases_lost) / \($r.etcd.sustained.check.not_found) |",
     "| longest any lease went unrenewed, ms (TTL \($r.raftkv.ttl_s * 1000)) | \(r($r.raftkv.sustained.longest_without_ms)) | \(r($r.etcd.sustained.longest_without_ms)) |",
     "| gap between renewals p50 / p99 / max ms | \(r($r.raftkv.sustained.gap_p50_ms)) / \(r($r.raftkv.sustained.gap_p99_ms)) / \(r($r.raftkv.sustained.gap_max_ms)) | \(r($r.etcd.sustained.gap_p50_ms)) / \(r($r.etcd.sustained.gap_p99_ms)) / \(r($r.etcd.sustained.gap_max_ms)) |",
     "| nodes CPU, % of one core (each) | \(cpu($r.raftkv.sustained)) | \(cpu($r.etcd.sustained)) |",
     "| busiest thread per node, % | \(busiest($r.raftkv.sustained)) | \(busiest($r.etcd.sustained)) |",
     "| client JVM CPU, % of one core | \(r($r.raftkv.sustained.bench_cpu_percent)) | \(r($r.etcd.sustained.bench_cpu_percent)) |",
     "| CPU per keepalive, µs: nodes (beyond idle) / client | \(r($r.raftkv.sustained.node_cpu_us_per_keepalive)) (\(r($r.raftkv.sustained.node_cpu_us_per_keepalive_above_idle))) / \(r($r.raftkv.sustained.bench_cpu_us_per_keepalive)) | \(r($r.etcd.sustained.node_cpu_us_per_keepalive)) (\(r($r.etcd.sustained.node_cpu_us_per_keepalive_above_idle))) / \(r($r.etcd.sustained.bench_cpu_us_per_keepalive)) |",
     "| machine meanwhile | \($r.raftkv.sustained.machine_cpu) | \($r.etcd.sustained.machine_cpu) |",
     "| **flat out**, \($rf.in_flight_per_client) in flight per client: keepalives/s | \(r($rf.keepalives_per_s)) | \(r($eo.keepalives_per_s)) (keepAliveOnce); \(r($es.keepalives_per_s)) (streams to the leader) |",
     "| latency p50 / p99 / p99.9 / max ms | \(f($rf.p50_ms)) / \(f($rf.p99_ms)) / \(f($rf.p999_ms)) / \(f($rf.max_ms)) | \(f($eo.p50_ms)) / \(f($eo.p99_ms)) / \(f($eo.p999_ms)) / \(f($eo.max_ms)); \(f($es.p50_ms)) / \(f($es.p99_ms)) / \(f($es.p999_ms)) / \(f($es.max_ms)) |",
     "| errors / not found | \($rf.errors) / \($rf.not_found) | \($eo.errors) / \($eo.not_found); \($es.errors) / \($es.not_found) |",
     "| nodes CPU, % of one core (each) | \(cpu($rf)) | \(cpu($eo)); \(cpu($es)) |",
     "| busiest thread per node, % | \(busiest($rf)) | \(busiest($eo)); \(busiest($es)) |",
     "| client JVM CPU, % of one core | \(r($rf.bench_cpu_percent)) | \(r($eo.bench_cpu_percent)); \(r($es.bench_cpu_percent)) |",
     "| CPU per keepalive, nodes / client, µs | \(r($rf.node_cpu_us_per_keepalive)) / \(r($rf.bench_cpu_us_per_keepalive)) | \(r($eo.node_cpu_us_per_keepalive)) / \(r($eo.bench_cpu_us_per_keepalive)); \(r($es.node_cpu_us_per_keepalive)) / \(r($es.bench_cpu_us_per_keepalive)) |",
     "| machine meanwhile | \($rf.machine_cpu) | \($eo.machine_cpu); \($es.machine_cpu) |",
     "| leases found after flat out (time-to-live); lease list | \($r.raftkv.check_after_flat.found) of \($r.raftkv.leases); \($r.raftkv.listed) | \($r.etcd.check_after_flat.found) of \($r.etcd.leases); \($r.etcd.listed) |"]
  | .[]' "$OUT/raftkv.json" "$OUT/etcd.json" | tee "$OUT/table.md"
echo "table: $OUT/table.md   each run: $OUT/{raftkv,etcd}.json"
exit "$STATUS"

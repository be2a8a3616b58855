# Shared by the bench scripts that run a local cluster of real node processes: source it after setting ROOT and
# WORK_PREFIX. Nodes 1-3 listen on 23791-23793 (nodes.conf in a temp directory); a 4th port, 23794, is kept for a
# node that joins. Every process started is stopped by its pid, and the directory removed, when the script exits.
CP="$ROOT/protocol/target/classes:$ROOT/core/target/classes:$ROOT/client/target/classes:$ROOT/client/target/lib/*"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
NODE_JAVA_OPTS="${NODE_JAVA_OPTS:--Xmx4g}"
CTL_TIMEOUT="${CTL_TIMEOUT:-2}"
PORTS=(23791 23792 23793 23794)
ENDPOINTS="127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793"
"$ROOT/bin/build-if-needed"
[[ -d "$ROOT/bench/target/lib" ]] || mvn -q -B -o -DskipTests package -pl bench -am

WORK="$(mktemp -d "/tmp/$WORK_PREFIX.XXXXXX")"
CONF="$WORK/nodes.conf"
for i in 1 2 3; do echo "$i 127.0.0.1 ${PORTS[$((i - 1))]}"; done > "$CONF"
declare -A PIDS=()

stop_all() {
  for id in "${!PIDS[@]}"; do kill -9 "${PIDS[$id]}" 2>/dev/null || true; done
  for id in "${!PIDS[@]}"; do wait "${PIDS[$id]}" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_all
  rm -rf "$WORK"
}
trap cleanup EXIT

# start_node ID [JAVA OPTIONS...]: a node of nodes.conf.
start_node() {
  local id="$1"; shift
  run_node "$id" "$@" -- --config "$CONF"
}

# join_node ID: a node added with 'member add' starts with an empty data directory and --join.
join_node() {
  run_node "$1" -- --join "$ENDPOINTS"
}

# run_node ID [JAVA OPTIONS...] -- [NodeMain OPTIONS...]
run_node() {
  local id="$1"; shift
  local java_opts=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do java_opts+=("$1"); shift; done
  shift
  # shellcheck disable=SC2086
  "$JAVA" $NODE_JAVA_OPTS "${java_opts[@]}" -cp "$CP" io.raftkv.server.NodeMain --id "$id" --data-dir "$WORK/node$id" "$@" \
    >> "$WORK/node$id.log" 2>&1 < /dev/null &
  PIDS[$id]=$!
}

ctl() {
  "$JAVA" -cp "$CP" io.raftkv.client.RaftKvCtl --endpoints "$ENDPOINTS" --timeout "$CTL_TIMEOUT" "$@"
}

# Prints the leader's id once a leader answers (up to 60 s).
await_leader() {
  local deadline=$((SECONDS + 60)) line
  while (( SECONDS < deadline )); do
    if line="$(ctl leader 2>/dev/null)"; then echo "${line%% *}"; return 0; fi
    sleep 0.05
  done
  echo "no leader within 60 s" >&2; exit 1
}

bench() {
  "$ROOT/bin/raftkv-bench" --endpoints "$ENDPOINTS" "$@"
}

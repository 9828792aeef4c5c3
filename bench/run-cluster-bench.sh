#!/usr/bin/env bash
# Cluster load benchmark (issue 3, "Benchmark"): quorumbox against etcd 3.4,
# same machine, same disk, same payloads and concurrency, in one run.
# quorumbox always speaks mutual TLS, so etcd runs twice per case: over plain
# HTTP (as etcd is often deployed) and with mutual TLS on its client and peer
# ports (like for like). A third line measures the ceiling: gRPC + mutual TLS
# alone, one process that stores nothing.
#
#   bench/run-cluster-bench.sh            default cases, ~7 minutes
#   DURATION=60 WARMUP=5 bench/run-cluster-bench.sh
#   CASES="4096:64" bench/run-cluster-bench.sh      only the target case
#   BUILD=build-mine bench/run-cluster-bench.sh      another build directory
#   QBOX_NODE_FLAGS="--snapshot-every 0" ...          diagnostics: extra qbox-node flags
#   SKIP_BUILD=1 ...                                  use the binaries already in $BUILD
#                                                     (SKIP_BUILD=0 or unset: build)
#   ETCD_MODES="tls" ...      etcd modes to run, in order: plain, tls (default "plain tls")
#   CEILING=0 ...             skip the gRPC+mTLS ceiling run (default 1: run it)
#
# What it does:
#  1. installs missing Debian packages (scripts/deps.sh: etcd-server too) and
#     builds qbox-node, qboxctl, qbox-load and qbox-rpc-ceiling in build/;
#  2. for every case: starts a fresh three-site quorumbox cluster under
#     build/bench-cluster/ (credentials and genesis exactly as
#     scripts/dev-cluster.sh makes them, but on ports 7201-7203 / metrics
#     9201-9203 so a running dev cluster is left alone), runs qbox-load
#     (AppendMessage to one account's INBOX), saves each node's /metrics,
#     and stops it; with CEILING=1, starts qbox-rpc-ceiling (one process,
#     MailStore over mutual TLS with that cluster's site-a node certificate
#     and CA bundle, AppendMessage answered at once: no storage, no
#     replication), runs the same qbox-load against it, and stops it; then,
#     for every etcd mode, starts a fresh three-member etcd cluster on
#     loopback (data in the same build/bench-cluster/ directory, so the
#     same disk; "tls": a throwaway bench CA made with openssl, P-256 keys
#     as qboxctl makes them, client and peer certificates required and
#     checked, and the script checks that etcd refuses plain HTTP and
#     certificate-less TLS before measuring), runs qbox-load --target etcd
#     with the same payload size and clients (Puts to the leader), and
#     stops it;
#  3. prints, per quorumbox case, each node's CPU by thread kind (apply, raft
#     loop, senders, gRPC, RocksDB, ...) in % of a core and microseconds per
#     request (also in build/bench-cluster/out/threads-<case>.txt; threads
#     that ended during the run, such as a snapshot's, in one row); then
#     one line per system and case with qbox's ratio against each
#     etcd mode (and against the ceiling), and PASS/MISS per etcd mode
#     against the target: 4 KiB x 64 clients, qbox >= 2x etcd's ops/s with
#     p99 <= etcd's.
#
# Each system runs alone: the other is stopped before it starts. Progress
# goes to stderr, the comparison to stdout; the raw JSON lines, node logs and
# metrics stay in build/bench-cluster/out/. All processes it started are stopped
# on exit, whatever the exit. Exit status: 0 when the target is met against
# every etcd mode that ran, 3 when it is missed against any, anything else
# on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD="${BUILD:-$ROOT/build}"
WORK="${WORK:-$BUILD/bench-cluster}"
OUT="$WORK/out"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
# size_bytes:clients, the first is the one the target applies to.
CASES="${CASES:-4096:64 1024:16 65536:16}"
TARGET_CASE="4096:64"
ETCD_MODES="${ETCD_MODES:-plain tls}"
CEILING="${CEILING:-1}"
for mode in $ETCD_MODES; do
  case "$mode" in
    plain | tls) ;;
    *) echo "error: ETCD_MODES: '$mode' is not one of plain, tls" >&2; exit 2 ;;
  esac
done
case "$CEILING" in
  0 | 1) ;;
  *) echo "error: CEILING: '$CEILING' must be 0 or 1" >&2; exit 2 ;;
esac

SITES=(site-a site-b site-c)
QBOX_PORTS=(7201 7202 7203)
QBOX_METRICS=(9201 9202 9203)
ETCD_CLIENT_PORTS=(2379 22379 32379)
ETCD_PEER_PORTS=(2380 22380 32380)

# QBOXCTL=path uses that qboxctl instead of building one.
BUILD_TARGETS=(qbox-node qbox-load)
[ "$CEILING" = 1 ] && BUILD_TARGETS+=(qbox-rpc-ceiling)
if [ -z "${QBOXCTL:-}" ]; then
  QBOXCTL="$BUILD/ctl/qboxctl"
  BUILD_TARGETS+=(qboxctl)
fi
QBOXNODE="$BUILD/node/server/qbox-node"
LOAD="$BUILD/bench/qbox-load"
CEILINGSERVER="$BUILD/bench/qbox-rpc-ceiling"
ETCD_TLS="$WORK/etcd-tls"

PIDS=()
say() { echo "==> $*" >&2; }

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_all() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}

port_free() {
  ! ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":$1\$"
}

build() {
  if [ "${SKIP_BUILD:-0}" != 0 ]; then
    say "SKIP_BUILD: using the binaries already in $BUILD"
    return 0
  fi
  # shellcheck source=/dev/null
  source scripts/deps.sh
  qbox_install_deps >&2
  say "building ${BUILD_TARGETS[*]} in $BUILD"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" -j "${JOBS:-$(nproc)}" "${BUILD_TARGETS[@]}" >&2
}

machine_info() {
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    lscpu | head -20
    echo "disk of $WORK: $(df -h "$WORK" | tail -1)"
    echo "etcd: $(etcd --version | head -1)"
  } >"$OUT/machine.txt"
}

load_now() { cut -d' ' -f1-3 /proc/loadavg; }

# CPU time (user + system, in clock ticks) the servers have used so far: on
# a machine this small the CPU each request costs decides the throughput.
server_cpu_ticks() {
  local total=0 pid
  for pid in "${PIDS[@]}"; do
    # Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends
    # the command name (which may contain spaces).
    local fields
    fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + $(echo "$fields" | awk '{print $12 + $13}')))
  done
  echo "$total"
}

# measure LABEL TARGET ARGS...: runs qbox-load --target TARGET with the
# given arguments and appends its JSON line, with the load average before
# the run and the servers' CPU per request, to results.jsonl; its table also
# goes to $OUT/<label>.txt.
measure() {
  local label=$1 target=$2
  shift 2
  local load_before cpu_before cpu_after line
  load_before=$(load_now)
  cpu_before=$(server_cpu_ticks)
  # `times` in the subshell reports its children's CPU: the generator's own,
  # which shares these two cores with the servers.
  line=$( ("$LOAD" --target "$target" --label "$label" --json "$@"; times >"$OUT/.load-times") |
    tee -a "$OUT/$label.txt" | grep '^{') || true
  cpu_after=$(server_cpu_ticks)
  if [ -z "$line" ]; then
    # Recorded as a failed case so the other system and cases still run.
    say "$label: qbox-load failed (see above); recorded as failed"
    line="{\"label\":\"$label\",\"target\":\"$target\",\"failed\":true,\"size\":$CASE_SIZE,\"clients\":$CASE_CLIENTS,\"all_requests\":0}"
  fi
  python3 -c '
import json, sys
r = json.loads(sys.argv[1])
ticks = int(sys.argv[3]) - int(sys.argv[2])
r["load_before"] = sys.argv[4]
r["server_cpu_s"] = ticks / int(sys.argv[5])
# Over every request of the run (warm-up and the first one included), as the
# CPU time covers them all.
r["server_cpu_ms_per_op"] = 1000 * r["server_cpu_s"] / max(1, r["all_requests"])
# times: "0m0.01s 0m0.00s" (the shell), then the same for its children.
try:
    lines = open(sys.argv[6]).read().split("\n")
    seconds = 0.0
    for part in lines[1].split():
        minutes, secs = part.rstrip("s").split("m")
        seconds += 60 * float(minutes) + float(secs)
    r["load_cpu_ms_per_op"] = 1000 * seconds / max(1, r["all_requests"])
except (OSError, IndexError, ValueError):
    pass
print(json.dumps(r))
' "$line" "$cpu_before" "$cpu_after" "$load_before" "$(getconf CLK_TCK)" "$OUT/.load-times" \
    >>"$OUT/results.jsonl"
  rm -f "$OUT/.load-times"
}

# Every thread of every server process with its CPU so far: "node tid name
# ticks" (node = position in PIDS, so 0-2 are site-a..site-c for quorumbox),
# and each process's own total as tid 0, name _process_: it also counts
# threads that have exited since (a snapshot's, say), which no task lists.
thread_ticks() {
  local i pid task stat name rest
  for i in "${!PIDS[@]}"; do
    pid=${PIDS[$i]}
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    rest=${stat##*) }
    # shellcheck disable=SC2086
    set -- $rest
    echo "$i 0 _process_ $((${12} + ${13}))"
    for task in /proc/"$pid"/task/*; do
      stat=$(cat "$task/stat" 2>/dev/null) || continue
      name=${stat#*(}
      name=${name%)*}
      rest=${stat##*) }
      # shellcheck disable=SC2086
      set -- $rest
      echo "$i ${task##*/} ${name// /_} $((${12} + ${13}))"
    done
  done
}

# thread_table BEFORE AFTER SECONDS REQUESTS: per node, CPU by thread kind
# (qbox-send-1 and qbox-send-2 count as qbox-send, and so on) in % of one
# core over the run and in microseconds per request.
thread_table() {
  python3 - "$@" "$(getconf CLK_TCK)" <<'PYEOF'
import collections, re, sys
before_file, after_file, seconds, requests, hz = sys.argv[1:6]
seconds, requests, hz = float(seconds), max(1, int(requests)), int(hz)
def read(path):
    out = {}
    for line in open(path):
        node, tid, name, ticks = line.split()
        out[(node, tid)] = (name, int(ticks))
    return out
before, after = read(before_file), read(after_file)
by = collections.defaultdict(float)
process = collections.defaultdict(float)
for key, (name, ticks) in after.items():
    used = ticks - before.get(key, (name, 0))[1]
    if name == "_process_":
        process[key[0]] = used / hz
        continue
    kind = re.sub(r"[-_]?\d+$", "", name)
    by[(key[0], kind)] += used / hz
# Threads that ended during the run are in the process's total only.
for n in process:
    live = sum(v for (m, _), v in by.items() if m == n)
    by[(n, "(threads ended)")] = max(0.0, process[n] - live)
nodes = sorted({n for n, _ in by})
kinds = sorted({k for _, k in by}, key=lambda k: -sum(by[(n, k)] for n in nodes))
print(f'{"thread kind":<18}' + "".join(f'{"node " + n + " %core":>14}{"us/req":>8}' for n in nodes))
for k in kinds:
    if sum(by[(n, k)] for n in nodes) * 100 / seconds < 0.5:
        continue
    print(f'{k:<18}' + "".join(f'{100 * by[(n, k)] / seconds:>14.1f}{1e6 * by[(n, k)] / requests:>8.0f}' for n in nodes))
print(f'{"total":<18}' + "".join(
    f'{100 * sum(v for (m, _), v in by.items() if m == n) / seconds:>14.1f}'
    f'{1e6 * sum(v for (m, _), v in by.items() if m == n) / requests:>8.0f}' for n in nodes))
PYEOF
}

# --- quorumbox ---------------------------------------------------------------

start_qbox() {
  local dir="$WORK/qbox"
  rm -rf "$dir"
  local -a NODE_FLAGS
  read -r -a NODE_FLAGS <<<"${QBOX_NODE_FLAGS:-}"
  mkdir -p "$dir/data" "$OUT/logs"
  for i in 0 1 2; do
    local site=${SITES[$i]}
    "$QBOXCTL" site init "$site" --out "$dir/$site" --node n1 --admin ops --frontend imap \
      --node-host 127.0.0.1 --node-host localhost >/dev/null
  done
  cat "$dir"/site-{a,b,c}/ca.crt >"$dir/ca-bundle.crt"
  "$QBOXCTL" cluster init --out "$dir/cluster.json" --name qbox-bench \
    --site-ca "site-a=$dir/site-a/ca.crt" --site-ca "site-b=$dir/site-b/ca.crt" \
    --site-ca "site-c=$dir/site-c/ca.crt" \
    --node "1=site-a/n1@127.0.0.1:${QBOX_PORTS[0]}" \
    --node "2=site-b/n1@127.0.0.1:${QBOX_PORTS[1]}" \
    --node "3=site-c/n1@127.0.0.1:${QBOX_PORTS[2]}" >/dev/null
  for i in 0 1 2; do
    local site=${SITES[$i]}
    "$QBOXNODE" --cluster "$dir/cluster.json" --node "$site/n1" --data-dir "$dir/data/$site-n1" \
      --cert "$dir/$site/nodes/n1.crt" --key "$dir/$site/nodes/n1.key" \
      --metrics-listen "127.0.0.1:${QBOX_METRICS[$i]}" "${NODE_FLAGS[@]}" \
      >"$OUT/logs/qbox-${CASE_SIZE}x${CASE_CLIENTS}-$site.log" 2>&1 &
    PIDS+=($!)
  done
  say "started quorumbox nodes (pids ${PIDS[*]}) on 127.0.0.1:${QBOX_PORTS[0]}-${QBOX_PORTS[2]}"
  local deadline=$((SECONDS + 60))
  while :; do
    local ready=0
    for i in 0 1 2; do
      curl -fs "http://127.0.0.1:${QBOX_METRICS[$i]}/readyz" >/dev/null 2>&1 && ready=$((ready + 1))
    done
    [ $ready -eq 3 ] && break
    for pid in "${PIDS[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "error: a quorumbox node exited; see $OUT/logs/" >&2
        tail -n 20 "$OUT"/logs/qbox-*.log >&2
        exit 1
      fi
    done
    if [ $SECONDS -ge $deadline ]; then
      echo "error: quorumbox not ready within 60s; see $OUT/logs/" >&2
      exit 1
    fi
    sleep 0.5
  done
  say "quorumbox ready"
}

run_qbox_case() {
  local size=$1 clients=$2
  local dir="$WORK/qbox"
  say "quorumbox: ${size} B x ${clients} clients (load average $(load_now))"
  local threads_before="$OUT/.threads-before" started=$SECONDS
  thread_ticks >"$threads_before"
  measure qbox qbox \
    --endpoints "127.0.0.1:${QBOX_PORTS[0]},127.0.0.1:${QBOX_PORTS[1]},127.0.0.1:${QBOX_PORTS[2]}" \
    --cacert "$dir/ca-bundle.crt" \
    --cert "$dir/site-a/frontends/imap.crt" --key "$dir/site-a/frontends/imap.key" \
    --admin-cert "$dir/site-a/admins/ops.crt" --admin-key "$dir/site-a/admins/ops.key" \
    --account "bench${size}x${clients}" \
    --size "$size" --clients "$clients" --duration "$DURATION" --warmup "$WARMUP"
  thread_ticks >"$OUT/.threads-after"
  local requests
  requests=$(tail -1 "$OUT/results.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("all_requests", 0))')
  {
    echo "quorumbox ${size} B x ${clients}: CPU by thread over the whole run (warm-up included)"
    echo "(node 0-2 = site-a..site-c; the leader is the one with the busiest gRPC server threads)"
    thread_table "$threads_before" "$OUT/.threads-after" "$((SECONDS - started))" "$requests"
  } >"$OUT/threads-${size}x${clients}.txt"
  rm -f "$threads_before" "$OUT/.threads-after"
  for i in 0 1 2; do
    curl -fs "http://127.0.0.1:${QBOX_METRICS[$i]}/metrics" \
      >"$OUT/metrics-${size}x${clients}-${SITES[$i]}.txt" 2>/dev/null || true
  done
}

# --- the gRPC+mTLS ceiling --------------------------------------------------

# Starts qbox-rpc-ceiling with site-a's node credentials from the quorumbox
# run just before (same certificate, same CA bundle as a node), on a free
# port that it reports; sets CEILING_ENDPOINT.
start_ceiling() {
  local dir="$WORK/qbox"
  local log="$OUT/logs/ceiling-${CASE_SIZE}x${CASE_CLIENTS}.log"
  "$CEILINGSERVER" --listen 127.0.0.1:0 --cacert "$dir/ca-bundle.crt" \
    --cert "$dir/site-a/nodes/n1.crt" --key "$dir/site-a/nodes/n1.key" >"$log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local deadline=$((SECONDS + 30))
  until grep -q '^listening on ' "$log"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "error: qbox-rpc-ceiling exited; see $log" >&2
      cat "$log" >&2
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "error: qbox-rpc-ceiling not listening within 30s; see $log" >&2
      exit 1
    fi
    sleep 0.1
  done
  CEILING_ENDPOINT=$(sed -n 's/^listening on //p' "$log" | head -1)
  say "started the gRPC+mTLS ceiling (pid $pid) on $CEILING_ENDPOINT"
}

run_ceiling_case() {
  local size=$1 clients=$2
  local dir="$WORK/qbox"
  say "ceiling: ${size} B x ${clients} clients (load average $(load_now))"
  # No admin credentials: the ceiling has no Admin service and no accounts.
  measure ceiling qbox --endpoints "$CEILING_ENDPOINT" \
    --cacert "$dir/ca-bundle.crt" \
    --cert "$dir/site-a/frontends/imap.crt" --key "$dir/site-a/frontends/imap.key" \
    --account "bench${size}x${clients}" \
    --size "$size" --clients "$clients" --duration "$DURATION" --warmup "$WARMUP"
}

# --- etcd --------------------------------------------------------------------

# A throwaway CA for etcd and three certificates it signs: the members'
# client-port certificate, their peer certificate (both also for client use:
# members dial each other, and etcd's own gateway dials its client port) and
# qbox-load's client certificate. P-256 keys, as qboxctl makes for
# quorumbox, so both pay the same handshake and signature costs.
make_etcd_certs() {
  local d=$ETCD_TLS
  rm -rf "$d"
  mkdir -p "$d"
  printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" \
    "keyUsage=critical,keyCertSign,cRLSign" "subjectKeyIdentifier=hash" >"$d/ca.ext"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" >"$d/member.ext"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=clientAuth" "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid:always" >"$d/client.ext"
  local name subject
  for name in ca server peer client; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$name.key" 2>/dev/null
    chmod 600 "$d/$name.key"
  done
  openssl req -new -key "$d/ca.key" -subj "/CN=qbox-bench etcd CA" -out "$d/ca.csr"
  openssl x509 -req -in "$d/ca.csr" -signkey "$d/ca.key" -days 2 -sha256 \
    -extfile "$d/ca.ext" -out "$d/ca.crt" 2>/dev/null
  for name in server peer client; do
    subject="/CN=qbox-bench etcd $name"
    openssl req -new -key "$d/$name.key" -subj "$subject" -out "$d/$name.csr"
    local ext="$d/member.ext"
    [ "$name" = client ] && ext="$d/client.ext"
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
      -days 2 -sha256 -extfile "$ext" -out "$d/$name.crt" 2>/dev/null
    openssl verify -CAfile "$d/ca.crt" "$d/$name.crt" >/dev/null
  done
  say "made the etcd bench CA and server/peer/client certificates in $d"
}

# start_etcd MODE: a fresh three-member cluster, MODE plain or tls.
start_etcd() {
  local mode=$1 cluster="" i scheme=http
  local -a tls_flags=()
  if [ "$mode" = tls ]; then
    scheme=https
    tls_flags=(
      --cert-file "$ETCD_TLS/server.crt" --key-file "$ETCD_TLS/server.key"
      --client-cert-auth --trusted-ca-file "$ETCD_TLS/ca.crt"
      --peer-cert-file "$ETCD_TLS/peer.crt" --peer-key-file "$ETCD_TLS/peer.key"
      --peer-client-cert-auth --peer-trusted-ca-file "$ETCD_TLS/ca.crt"
    )
  fi
  rm -rf "$WORK/etcd"
  for i in 0 1 2; do
    cluster+="${cluster:+,}e$((i + 1))=$scheme://127.0.0.1:${ETCD_PEER_PORTS[$i]}"
  done
  for i in 0 1 2; do
    local name="e$((i + 1))"
    # Quota raised from 2 GiB so the 64 KiB case cannot hit it; everything
    # else is etcd's default (no auto-compaction, fsync on every commit).
    etcd --name "$name" --data-dir "$WORK/etcd/$name" \
      --listen-client-urls "$scheme://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
      --advertise-client-urls "$scheme://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
      --listen-peer-urls "$scheme://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
      --initial-advertise-peer-urls "$scheme://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token qbox-bench \
      --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) "${tls_flags[@]}" \
      >"$OUT/logs/etcd-$mode-${CASE_SIZE}x${CASE_CLIENTS}-$name.log" 2>&1 &
    PIDS+=($!)
  done
  say "started etcd ($mode) members (pids ${PIDS[*]}) on 127.0.0.1:${ETCD_CLIENT_PORTS[*]}"
  local -a ctl_tls=()
  [ "$mode" = tls ] &&
    ctl_tls=(--cacert "$ETCD_TLS/ca.crt" --cert "$ETCD_TLS/client.crt" --key "$ETCD_TLS/client.key")
  local deadline=$((SECONDS + 60))
  until ETCDCTL_API=3 etcdctl --endpoints "$(etcd_urls "$scheme")" "${ctl_tls[@]}" \
    endpoint health >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "error: etcd ($mode) not healthy within 60s; see $OUT/logs/etcd-$mode-*.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  [ "$mode" = tls ] && check_etcd_tls
  say "etcd ($mode) ready"
}

# Proves the tls mode is what it claims before measuring it: on every
# member, the client and peer ports refuse plain HTTP and refuse TLS without
# a client certificate, and accept the bench certificates. What it saw goes
# to $OUT/etcd-tls-check.txt. HTTP/1.1 because etcd's peer port ends curl's
# HTTP/2 streams uncleanly (curl exit 18) even on success.
check_etcd_tls() {
  local report="$OUT/etcd-tls-check.txt" i port ca="$ETCD_TLS/ca.crt"
  echo "case ${CASE_SIZE}x${CASE_CLIENTS}:" >>"$report"
  for i in 0 1 2; do
    for port in "${ETCD_CLIENT_PORTS[$i]}" "${ETCD_PEER_PORTS[$i]}"; do
      local path=/health who=client
      if [ "$port" = "${ETCD_PEER_PORTS[$i]}" ]; then path=/members who=peer; fi
      if curl -fs --http1.1 -m 5 "http://127.0.0.1:$port$path" >/dev/null 2>&1; then
        echo "error: etcd $who port $port answers plain HTTP in tls mode" >&2
        exit 1
      fi
      if curl -fs --http1.1 -m 5 --cacert "$ca" "https://127.0.0.1:$port$path" >/dev/null 2>&1; then
        echo "error: etcd $who port $port accepts TLS without a client certificate" >&2
        exit 1
      fi
      if ! curl -fs --http1.1 -m 5 --cacert "$ca" \
        --cert "$ETCD_TLS/$who.crt" --key "$ETCD_TLS/$who.key" \
        "https://127.0.0.1:$port$path" >/dev/null 2>&1; then
        echo "error: etcd $who port $port refuses the bench $who certificate" >&2
        exit 1
      fi
      echo "  $who port $port: plain HTTP refused, TLS without a client certificate refused," \
        "TLS with the bench $who certificate accepted" >>"$report"
    done
  done
  say "etcd TLS checked: client and peer ports of all members require client certificates"
}

# host:port list for qbox-load (which picks credentials by flag)
etcd_endpoints() {
  echo "127.0.0.1:${ETCD_CLIENT_PORTS[0]},127.0.0.1:${ETCD_CLIENT_PORTS[1]},127.0.0.1:${ETCD_CLIENT_PORTS[2]}"
}

# URL list for etcdctl, whose scheme decides plain or TLS
etcd_urls() {
  local scheme=$1
  echo "$scheme://127.0.0.1:${ETCD_CLIENT_PORTS[0]},$scheme://127.0.0.1:${ETCD_CLIENT_PORTS[1]},$scheme://127.0.0.1:${ETCD_CLIENT_PORTS[2]}"
}

run_etcd_case() {
  local mode=$1 size=$2 clients=$3
  local -a tls=()
  [ "$mode" = tls ] && tls=(--etcd-cacert "$ETCD_TLS/ca.crt" --etcd-cert "$ETCD_TLS/client.crt"
    --etcd-key "$ETCD_TLS/client.key")
  say "etcd ($mode): ${size} B x ${clients} clients (load average $(load_now))"
  measure "etcd-$mode" etcd --endpoints "$(etcd_endpoints)" "${tls[@]}" \
    --size "$size" --clients "$clients" --duration "$DURATION" --warmup "$WARMUP"
}

# --- report ------------------------------------------------------------------

report() {
  python3 - "$OUT/results.jsonl" "$TARGET_CASE" "$ETCD_MODES" <<'EOF'
import json, math, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
target = tuple(int(x) for x in sys.argv[2].split(":"))
modes = sys.argv[3].split()
by = {(r["label"], r["size"], r["clients"]): r for r in rows}
cases = []
for r in rows:
    c = (r["size"], r["clients"])
    if c not in cases:
        cases.append(c)
names = {"qbox": "quorumbox: 3 sites, mutual TLS",
         "etcd-plain": "etcd 3.4: 3 members, plain HTTP",
         "etcd-tls": "etcd 3.4: 3 members, mutual TLS (client and peer)",
         "ceiling": "gRPC+mTLS ceiling on this machine (one process, no storage, no replication)"}
labels = ["qbox"] + [f"etcd-{m}" for m in modes] + ["ceiling"]
nan = float("nan")
print(f'{"case":>12} | {"ops/s":>8} {"MiB/s":>7} {"p50":>7} {"p99":>7} {"p999":>7} {"err":>4}'
      f' {"cpu ms/op":>9} {"gen ms/op":>9} | {"qbox ops/x":>10} {"qbox p99/x":>10} | run')
verdicts = {m: "MISS (not measured)" for m in modes}
for size, clients in cases:
    q = by.get(("qbox", size, clients))
    q = None if q and q.get("failed") else q
    for label in labels:
        r = by.get((label, size, clients))
        if r is None:
            continue
        name = names[label]
        if r.get("failed"):
            print(f'{str(size) + " B x " + str(clients):>12} | {"FAILED":>8} {"-":>7} {"-":>7}'
                  f' {"-":>7} {"-":>7} {"-":>4} {"-":>9} {"-":>9} | {"-":>10} {"-":>10} | {name}')
            continue
        cpu = f'{r["server_cpu_ms_per_op"]:.2f}' if "server_cpu_ms_per_op" in r else "-"
        gen = f'{r["load_cpu_ms_per_op"]:.2f}' if "load_cpu_ms_per_op" in r else "-"
        if label == "qbox":
            ratios = f'{"":>10} {"":>10}'
        else:
            ratio = q["ops_per_sec"] / r["ops_per_sec"] if q and r["ops_per_sec"] else nan
            p99r = q["p99_ms"] / r["p99_ms"] if q and r["p99_ms"] else nan
            ratios = f'{ratio:>9.2f}x {p99r:>9.2f}x'
        print(f'{str(size) + " B x " + str(clients):>12} | {r["ops_per_sec"]:>8.0f}'
              f' {r["mib_per_sec"]:>7.1f} {r["p50_ms"]:>7.2f} {r["p99_ms"]:>7.2f}'
              f' {r["p999_ms"]:>7.2f} {r["errors"]:>4} {cpu:>9} {gen:>9} | {ratios} | {name}')
        if label.startswith("etcd-") and (size, clients) == target and q:
            ratio = q["ops_per_sec"] / r["ops_per_sec"] if r["ops_per_sec"] else nan
            ok_tput = ratio >= 2.0
            ok_p99 = q["p99_ms"] <= r["p99_ms"]
            verdicts[label[5:]] = ("PASS" if ok_tput and ok_p99 else "MISS") + (
                f' (4 KiB x 64: throughput {ratio:.2f}x etcd, target >= 2x:'
                f' {"met" if ok_tput else "missed"};'
                f' p99 {q["p99_ms"]:.2f} ms vs etcd {r["p99_ms"]:.2f} ms:'
                f' {"met" if ok_p99 else "missed"})')
print("latencies in ms; qbox ops/x = qbox ops/s / that line's ops/s (target >= 2 against etcd);")
print("qbox p99/x = qbox p99 / that line's p99 (target <= 1 against etcd); against the ceiling,")
print("qbox ops/x is the share of the RPC layer's ceiling that quorumbox reaches.")
print("cpu ms/op = CPU time of that line's server processes per request (etcd, qbox: all three);")
print("gen ms/op = the load generator's own CPU per request, on the same two cores")
for r in rows:
    print(f'  {r["label"]} {r["size"]} B x {r["clients"]}: load average before {r.get("load_before", "?")}')
if not modes:
    print("target: MISS (no etcd mode run)")
for m in modes:
    print(f'target vs etcd {m}:'.ljust(21), verdicts[m])
sys.exit(0 if modes and all(v.startswith("PASS") for v in verdicts.values()) else 3)
EOF
}

# --- main --------------------------------------------------------------------

build
for p in "${QBOX_PORTS[@]}" "${QBOX_METRICS[@]}" "${ETCD_CLIENT_PORTS[@]}" "${ETCD_PEER_PORTS[@]}"; do
  port_free "$p" || { echo "error: port $p is in use; stop what uses it first" >&2; exit 1; }
done
rm -rf "$WORK/qbox" "$WORK/etcd" "$ETCD_TLS" "$OUT"
mkdir -p "$OUT/logs"
machine_info
: >"$OUT/results.jsonl"
case " $ETCD_MODES " in *" tls "*) make_etcd_certs ;; esac

# Every case gets fresh, empty clusters, and the systems take turns case by
# case, so all see the same state size and, as nearly as a shared machine
# allows, the same background load.
for c in $CASES; do
  CASE_SIZE=${c%%:*} CASE_CLIENTS=${c##*:}
  start_qbox
  run_qbox_case "$CASE_SIZE" "$CASE_CLIENTS"
  stop_all
  say "quorumbox stopped; data was $(du -sh "$WORK/qbox/data" | cut -f1)"
  if [ "$CEILING" = 1 ]; then
    start_ceiling
    run_ceiling_case "$CASE_SIZE" "$CASE_CLIENTS"
    stop_all
    say "ceiling stopped"
  fi
  for mode in $ETCD_MODES; do
    start_etcd "$mode"
    run_etcd_case "$mode" "$CASE_SIZE" "$CASE_CLIENTS"
    stop_all
    say "etcd ($mode) stopped; data was $(du -sh "$WORK/etcd" | cut -f1)"
  done
done

echo
grep -E '^(date|nproc|Model name|disk|etcd)' "$OUT/machine.txt"
echo "load average at the end: $(load_now)"
echo
for f in "$OUT"/threads-*.txt; do
  [ -f "$f" ] && { cat "$f"; echo; }
done
report

#!/usr/bin/env bash
# Cluster load benchmark (issue 3, "Benchmark"): quorumbox against etcd 3.4,
# same machine, same disk, same payloads and concurrency, in one run.
#
#   bench/run-cluster-bench.sh            default cases, ~4 minutes
#   DURATION=60 WARMUP=5 bench/run-cluster-bench.sh
#   CASES="4096:64" bench/run-cluster-bench.sh      only the target case
#   BUILD=build-mine bench/run-cluster-bench.sh      another build directory
#   QBOX_NODE_FLAGS="--snapshot-every 0" ...          diagnostics: extra qbox-node flags
#   SKIP_BUILD=1 ...                                  use the binaries already in $BUILD
#
# What it does:
#  1. installs missing Debian packages (scripts/deps.sh: etcd-server too) and
#     builds qbox-node, qboxctl and qbox-load in build/;
#  2. for every case: starts a fresh three-site quorumbox cluster under
#     build/bench-cluster/ (credentials and genesis exactly as
#     scripts/dev-cluster.sh makes them, but on ports 7201-7203 / metrics
#     9201-9203 so a running dev cluster is left alone), runs qbox-load
#     (AppendMessage to one account's INBOX), saves each node's /metrics,
#     and stops it; then starts a fresh three-member etcd cluster on
#     loopback (plain HTTP, data in the same build/bench-cluster/
#     directory, so the same disk), runs qbox-load --target etcd with the
#     same payload size and clients (Puts to the leader), and stops it;
#  3. prints both side by side with the ratio and PASS/MISS against the
#     target: 4 KiB x 64 clients, qbox >= 2x etcd's ops/s with p99 <= etcd's.
#
# Each system runs alone: the other is stopped before it starts. Progress
# goes to stderr, the comparison to stdout; the raw JSON lines, node logs and
# metrics stay in build/bench-cluster/out/. All processes it started are stopped
# on exit, whatever the exit. Exit status: 0 when the target is met, 3 when
# it is missed, anything else on failure.
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

SITES=(site-a site-b site-c)
QBOX_PORTS=(7201 7202 7203)
QBOX_METRICS=(9201 9202 9203)
ETCD_CLIENT_PORTS=(2379 22379 32379)
ETCD_PEER_PORTS=(2380 22380 32380)

# QBOXCTL=path uses that qboxctl instead of building one.
BUILD_TARGETS=(qbox-node qbox-load)
if [ -z "${QBOXCTL:-}" ]; then
  QBOXCTL="$BUILD/ctl/qboxctl"
  BUILD_TARGETS+=(qboxctl)
fi
QBOXNODE="$BUILD/node/server/qbox-node"
LOAD="$BUILD/bench/qbox-load"

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
  if [ -n "${SKIP_BUILD:-}" ]; then
    say "SKIP_BUILD: using the binaries already in $BUILD"
    return 0
  fi
  # shellcheck source=/dev/null
  source scripts/deps.sh
  qbox_install_deps >&2
  say "building ${BUILD_TARGETS[*]} in $BUILD"
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$BUILD" "${BUILD_TARGETS[@]}" >&2
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

# Runs qbox-load with the given arguments and appends its JSON line, with
# the load average before the run and the servers' CPU per request, to
# results.jsonl; its table also goes to $OUT/<target>.txt.
measure() {
  local target=$1
  shift
  local load_before cpu_before cpu_after line
  load_before=$(load_now)
  cpu_before=$(server_cpu_ticks)
  line=$("$LOAD" --target "$target" --label "$target" --json "$@" | tee -a "$OUT/$target.txt" |
    grep '^{') || true
  cpu_after=$(server_cpu_ticks)
  if [ -z "$line" ]; then
    # Recorded as a failed case so the other system and cases still run.
    say "$target: qbox-load failed (see above); recorded as failed"
    line="{\"target\":\"$target\",\"failed\":true,\"size\":$CASE_SIZE,\"clients\":$CASE_CLIENTS,\"all_requests\":0}"
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
print(json.dumps(r))
' "$line" "$cpu_before" "$cpu_after" "$load_before" "$(getconf CLK_TCK)" >>"$OUT/results.jsonl"
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
  measure qbox \
    --endpoints "127.0.0.1:${QBOX_PORTS[0]},127.0.0.1:${QBOX_PORTS[1]},127.0.0.1:${QBOX_PORTS[2]}" \
    --cacert "$dir/ca-bundle.crt" \
    --cert "$dir/site-a/frontends/imap.crt" --key "$dir/site-a/frontends/imap.key" \
    --admin-cert "$dir/site-a/admins/ops.crt" --admin-key "$dir/site-a/admins/ops.key" \
    --account "bench${size}x${clients}" \
    --size "$size" --clients "$clients" --duration "$DURATION" --warmup "$WARMUP"
  for i in 0 1 2; do
    curl -fs "http://127.0.0.1:${QBOX_METRICS[$i]}/metrics" \
      >"$OUT/metrics-${size}x${clients}-${SITES[$i]}.txt" 2>/dev/null || true
  done
}

# --- etcd --------------------------------------------------------------------

start_etcd() {
  local cluster="" i
  rm -rf "$WORK/etcd"
  for i in 0 1 2; do
    cluster+="${cluster:+,}e$((i + 1))=http://127.0.0.1:${ETCD_PEER_PORTS[$i]}"
  done
  for i in 0 1 2; do
    local name="e$((i + 1))"
    # Quota raised from 2 GiB so the 64 KiB case cannot hit it; everything
    # else is etcd's default (no auto-compaction, fsync on every commit).
    etcd --name "$name" --data-dir "$WORK/etcd/$name" \
      --listen-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
      --advertise-client-urls "http://127.0.0.1:${ETCD_CLIENT_PORTS[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${ETCD_PEER_PORTS[$i]}" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token qbox-bench \
      --quota-backend-bytes $((8 * 1024 * 1024 * 1024)) \
      >"$OUT/logs/etcd-${CASE_SIZE}x${CASE_CLIENTS}-$name.log" 2>&1 &
    PIDS+=($!)
  done
  say "started etcd members (pids ${PIDS[*]}) on 127.0.0.1:${ETCD_CLIENT_PORTS[*]}"
  local deadline=$((SECONDS + 60))
  until ETCDCTL_API=3 etcdctl --endpoints "$(etcd_endpoints)" endpoint health >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "error: etcd not healthy within 60s; see $OUT/logs/etcd-*.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  say "etcd ready"
}

etcd_endpoints() {
  echo "127.0.0.1:${ETCD_CLIENT_PORTS[0]},127.0.0.1:${ETCD_CLIENT_PORTS[1]},127.0.0.1:${ETCD_CLIENT_PORTS[2]}"
}

run_etcd_case() {
  local size=$1 clients=$2
  say "etcd: ${size} B x ${clients} clients (load average $(load_now))"
  measure etcd --endpoints "$(etcd_endpoints)" \
    --size "$size" --clients "$clients" --duration "$DURATION" --warmup "$WARMUP"
}

# --- report ------------------------------------------------------------------

report() {
  python3 - "$OUT/results.jsonl" "$TARGET_CASE" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
target = tuple(int(x) for x in sys.argv[2].split(":"))
by = {(r["target"], r["size"], r["clients"]): r for r in rows}
cases = []
for r in rows:
    c = (r["size"], r["clients"])
    if c not in cases:
        cases.append(c)
print(f'{"case":>12} | {"qbox ops/s":>10} {"MiB/s":>7} {"p50":>7} {"p99":>7} {"p999":>7} {"err":>4} |'
      f' {"etcd ops/s":>10} {"MiB/s":>7} {"p50":>7} {"p99":>7} {"p999":>7} {"err":>4} |'
      f' {"ops ratio":>9} {"p99 q/e":>8} | {"cpu ms/op q":>11} {"e":>5}')
verdict = "MISS (not measured)"
for size, clients in cases:
    q = by.get(("qbox", size, clients))
    e = by.get(("etcd", size, clients))
    failed = {k for k, r in (("q", q), ("e", e)) if r and r.get("failed")}
    q = None if "q" in failed else q
    e = None if "e" in failed else e
    def cols(r, key):
        if not r:
            mark = "FAILED" if key in failed else "-"
            return f'{mark:>10} {"-":>7} {"-":>7} {"-":>7} {"-":>7} {"-":>4}'
        return (f'{r["ops_per_sec"]:>10.0f} {r["mib_per_sec"]:>7.1f} {r["p50_ms"]:>7.2f}'
                f' {r["p99_ms"]:>7.2f} {r["p999_ms"]:>7.2f} {r["errors"]:>4}')
    ratio = q["ops_per_sec"] / e["ops_per_sec"] if q and e and e["ops_per_sec"] else float("nan")
    p99r = q["p99_ms"] / e["p99_ms"] if q and e and e["p99_ms"] else float("nan")
    def cpu(r):
        return f'{r["server_cpu_ms_per_op"]:.2f}' if r and "server_cpu_ms_per_op" in r else "-"
    print(f'{str(size) + " B x " + str(clients):>12} | {cols(q, "q")} | {cols(e, "e")} | {ratio:>8.2f}x {p99r:>7.2f}x'
          f' | {cpu(q):>11} {cpu(e):>5}')
    if (size, clients) == target and q and e:
        ok_tput = ratio >= 2.0
        ok_p99 = q["p99_ms"] <= e["p99_ms"]
        verdict = ("PASS" if ok_tput and ok_p99 else "MISS") + (
            f' (4 KiB x 64: throughput {ratio:.2f}x etcd, target >= 2x: {"met" if ok_tput else "missed"};'
            f' p99 {q["p99_ms"]:.2f} ms vs etcd {e["p99_ms"]:.2f} ms: {"met" if ok_p99 else "missed"})')
print("latencies in ms; p99 q/e = qbox p99 / etcd p99 (<= 1 is the target);")
print("cpu ms/op = CPU time of all three servers per request (q = qbox, e = etcd)")
for r in rows:
    print(f'  {r["target"]} {r["size"]} B x {r["clients"]}: load average before {r.get("load_before", "?")}')
print("target:", verdict)
sys.exit(0 if verdict.startswith("PASS") else 3)
EOF
}

# --- main --------------------------------------------------------------------

build
for p in "${QBOX_PORTS[@]}" "${QBOX_METRICS[@]}" "${ETCD_CLIENT_PORTS[@]}" "${ETCD_PEER_PORTS[@]}"; do
  port_free "$p" || { echo "error: port $p is in use; stop what uses it first" >&2; exit 1; }
done
rm -rf "$WORK/qbox" "$WORK/etcd" "$OUT"
mkdir -p "$OUT/logs"
machine_info
: >"$OUT/results.jsonl"

# Every case gets fresh, empty clusters, and the two systems take turns
# case by case, so both see the same state size and, as nearly as a shared
# machine allows, the same background load.
for c in $CASES; do
  CASE_SIZE=${c%%:*} CASE_CLIENTS=${c##*:}
  start_qbox
  run_qbox_case "${c%%:*}" "${c##*:}"
  stop_all
  say "quorumbox stopped; data was $(du -sh "$WORK/qbox/data" | cut -f1)"
  start_etcd
  run_etcd_case "${c%%:*}" "${c##*:}"
  stop_all
  say "etcd stopped; data was $(du -sh "$WORK/etcd" | cut -f1)"
done

echo
grep -E '^(date|nproc|Model name|disk|etcd)' "$OUT/machine.txt"
echo "load average at the end: $(load_now)"
echo
report

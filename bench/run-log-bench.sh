#!/usr/bin/env bash
# Builds and runs the log append benchmark on the disk that holds --dir
# (default: /tmp). Prints the machine description first so a pasted result
# says where it was measured. Extra arguments go to log_bench, e.g.
#   bench/run-log-bench.sh --dir=/var/lib/qbox --seconds=8
#   bench/run-log-bench.sh --variants=unmerged,walbps0   # A/B RocksDB options
# BUILD_DIR picks the build directory (default build-bench, configured Release).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$repo/build-bench}"

if [[ ! -f "$build/build.ninja" ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQBOX_BUILD_TESTS=OFF >&2
fi
ninja -C "$build" -j"${JOBS:-2}" log_bench >&2

dir="/tmp"
for arg in "$@"; do
  case "$arg" in --dir=*) dir="${arg#--dir=}" ;; esac
done

echo "== machine"
echo "nproc: $(nproc)"
lscpu | head -n 15
df -h "$dir"
echo
echo "== log_bench $*"
# Disk rates on a shared machine move with its load: say what it was.
echo "start: $(date -u '+%F %T UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/log_bench" "$@"
echo "end: $(date -u '+%F %T UTC'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"

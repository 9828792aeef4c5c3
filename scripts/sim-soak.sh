#!/usr/bin/env bash
# Runs many fresh seeds of the seeded simulation, on every core, and lists
# the seeds that failed with the command that replays each one.
#
#   scripts/sim-soak.sh SEEDS [--filter GTEST_FILTER] [--base N] [--jobs N] [--chunk N]
#
# SEEDS      how many seeds in all (e.g. 50000)
# --filter   which randomised test to run (default 'SimRandom.*'; the
#            Byzantine adversary is 'SimByzantine.*')
# --base     first seed (default: a random 32-bit number, printed, so that
#            every soak tries seeds nobody ran before)
# --jobs     parallel processes (default: the number of cores)
# --chunk    seeds per process run (default 500)
#
# Builds build/tests/sim/sim_test if it is missing. Prints one progress line
# per finished chunk and exits non-zero if any seed failed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
SEEDS="$1"
shift
[[ "$SEEDS" =~ ^[1-9][0-9]*$ ]] || { echo "sim-soak: SEEDS must be a positive number, got '$SEEDS'" >&2; exit 2; }
FILTER='SimRandom.*'
BASE=""
JOBS="$(nproc)"
CHUNK=500
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) FILTER="${2:?--filter needs a value}"; shift 2 ;;
    --base) BASE="${2:?--base needs a value}"; shift 2 ;;
    --jobs) JOBS="${2:?--jobs needs a value}"; shift 2 ;;
    --chunk) CHUNK="${2:?--chunk needs a value}"; shift 2 ;;
    *) echo "sim-soak: unknown argument '$1'" >&2; usage ;;
  esac
done
for pair in "--base:$BASE" "--jobs:$JOBS" "--chunk:$CHUNK"; do
  value="${pair#*:}"
  if [ -n "$value" ] && ! [[ "$value" =~ ^[0-9]+$ ]]; then
    echo "sim-soak: ${pair%%:*} must be a number, got '$value'" >&2
    exit 2
  fi
done
[ "$JOBS" -ge 1 ] && [ "$CHUNK" -ge 1 ] || { echo "sim-soak: --jobs and --chunk must be at least 1" >&2; exit 2; }
if [ -z "$BASE" ]; then
  BASE=$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') + 1 ))
fi

BIN=build/tests/sim/sim_test
if [ ! -x "$BIN" ]; then
  echo "==> building $BIN"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build sim_test
fi

OUT="$(mktemp -d /tmp/sim-soak.XXXXXX)"
CHUNKS=$(( (SEEDS + CHUNK - 1) / CHUNK ))
echo "==> $SEEDS seeds of '$FILTER' from $BASE, $CHUNKS chunks of $CHUNK on $JOBS processes; logs in $OUT"
start=$(date +%s)

run_chunk() {
  local i="$1" first count
  first=$(( BASE + i * CHUNK ))
  count=$(( SEEDS - i * CHUNK ))
  [ "$count" -gt "$CHUNK" ] && count="$CHUNK"
  SIM_SEED_BASE="$first" SIM_SEEDS="$count" "$BIN" --gtest_filter="$FILTER" \
    >"$OUT/chunk-$i.log" 2>&1 || true
  local summary
  summary=$(grep -h "sim summary" "$OUT/chunk-$i.log" | tail -1)
  [ -n "$summary" ] || summary="chunk $i: NO SUMMARY (crashed?), see $OUT/chunk-$i.log"
  echo "  [$(( $(date +%s) - start ))s] chunk $(( i + 1 ))/$CHUNKS: ${summary#sim summary: }" | cut -c1-160
}
export -f run_chunk
export BASE CHUNK SEEDS BIN FILTER OUT CHUNKS start

seq 0 $(( CHUNKS - 1 )) | xargs -P "$JOBS" -I{} bash -c 'run_chunk {}'

failed=$(grep -ho "failing seeds (replay with SIM_SEED=n): .*" "$OUT"/chunk-*.log |
  sed 's/.*: //' | tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n | uniq || true)
crashed=$(grep -L "sim summary" "$OUT"/chunk-*.log || true)
passed=$(grep -ho "sim summary: [^:]*: [0-9]* passed" "$OUT"/chunk-*.log |
  awk '{s += $(NF-1)} END {print s + 0}')
elapsed=$(( $(date +%s) - start ))
echo "==> $passed of $SEEDS seeds passed in ${elapsed}s (from $BASE, '$FILTER')"
if [ -n "$failed" ] || [ -n "$crashed" ]; then
  for seed in $failed; do
    echo "FAILED seed $seed: replay with SIM_SEED=$seed $BIN --gtest_filter='$FILTER'"
  done
  for log in $crashed; do echo "CRASHED: $log" >&2; done
  exit 1
fi

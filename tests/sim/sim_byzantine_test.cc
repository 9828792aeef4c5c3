// Random schedules with one hostile site (sim_adversary.h, sim_byzantine.cc),
// one per seed. Environment as in sim_test.cc:
//   SIM_SEEDS=n      number of seeds (default 50; CI runs at least 200)
//   SIM_SEED_BASE=b  first seed (default 1)
//   SIM_SEED=s       replay exactly seed s
//   SIM_TAIL=k       events printed with a failure (default 60)
// Odd seeds run 3 nodes (node 1 hostile), even seeds 5 (nodes 1 and 2
// hostile); every third seed the adversary also equivocates.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/sim/sim_cluster.h"
#include "tests/sim/sim_env.h"

namespace qbox::sim {
namespace {

constexpr uint64_t kActiveTicks = 1500;
constexpr uint64_t kQuietTicks = 1500;
constexpr int kStallTicks = 60;  // G7 on, as in production (10 s over 1 s elections)
constexpr size_t kReportsPrinted = 5;

SimOptions ByzantineOptions(uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  options.num_nodes = seed % 2 == 1 ? 3 : 5;
  options.byzantine = true;
  options.equivocate = seed % 3 == 0;
  options.stall_ticks = kStallTicks;
  options.event_tail = EnvOr("SIM_TAIL", 60);
  return options;
}

TEST(SimByzantine, Seeds) {
  uint64_t first = EnvOr("SIM_SEED_BASE", 1);
  uint64_t count = EnvOr("SIM_SEEDS", 50);
  if (std::getenv("SIM_SEED") != nullptr) {
    first = EnvOr("SIM_SEED", 1);
    count = 1;
  }
  const auto started = std::chrono::steady_clock::now();
  std::vector<uint64_t> failed;
  ByzantineStats total;
  uint64_t committed = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SimCluster cluster(ByzantineOptions(seed));
    ASSERT_TRUE(cluster.Start().ok()) << "seed " << seed;
    cluster.RunByzantineSchedule(kActiveTicks, kQuietTicks);
    if (!cluster.ok()) {
      failed.push_back(seed);
      if (failed.size() <= kReportsPrinted) std::cout << cluster.FailureReport() << std::flush;
    }
    const ByzantineStats& s = cluster.byzantine_stats();
    total.adversary.forwarded += s.adversary.forwarded;
    total.adversary.mutated += s.adversary.mutated;
    total.adversary.fabricated += s.adversary.fabricated;
    total.adversary.replayed += s.adversary.replayed;
    total.adversary.forged_snapshots += s.adversary.forged_snapshots;
    total.liveness_windows += s.liveness_windows;
    total.divergences_detected += s.divergences_detected;
    total.alarms_against_hostile += s.alarms_against_hostile;
    total.snapshots_refused += s.snapshots_refused;
    committed += cluster.checker().max_committed_index();
    const uint64_t done = seed - first + 1;
    if (done % 100 == 0) {
      std::cout << "sim: " << done << "/" << count << " seeds, " << failed.size() << " failed"
                << std::endl;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "sim summary: seeds " << first << ".." << first + count - 1 << ": "
            << count - failed.size() << " passed, " << failed.size() << " failed in " << seconds
            << " s; hostile messages forwarded " << total.adversary.forwarded << ", mutated "
            << total.adversary.mutated << ", made up " << total.adversary.fabricated
            << ", replayed " << total.adversary.replayed << ", forged snapshots "
            << total.adversary.forged_snapshots << " (refused " << total.snapshots_refused
            << "); alarms against the hostile site " << total.alarms_against_hostile
            << "; liveness windows checked " << total.liveness_windows
            << "; equivocation splits (detected) " << total.divergences_detected << std::endl;
  if (count >= 50) {
    // The adversary must keep reaching the defences it is there to test.
    EXPECT_GT(total.adversary.forged_snapshots, 0u);
    EXPECT_GT(total.liveness_windows, count / 4);
    EXPECT_GT(total.alarms_against_hostile, 0u);
  }
  EXPECT_TRUE(failed.empty()) << "failing seeds (replay with SIM_SEED=n): "
                              << absl::StrJoin(failed, " ");
}

}  // namespace
}  // namespace qbox::sim

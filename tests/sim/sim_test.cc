// Random schedules of the simulated cluster, one per seed (see
// sim_cluster.h). Environment:
//   SIM_SEEDS=n      number of seeds (default 50; CI runs at least 500)
//   SIM_SEED_BASE=b  first seed (default 1)
//   SIM_SEED=s       replay exactly seed s (overrides the two above)
//   SIM_TAIL=k       events printed with a failure (default 60)
//   SIM_BATCHED_READY=0|1  several Steps per Ready (default 1)
//   SIM_COMPACT_LAG=0|1  compaction short of the snapshot index (default 1)
// Odd seeds run 3 nodes, even seeds 5.
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

constexpr uint64_t kFaultTicks = 1500;
constexpr uint64_t kQuietTicks = 1500;
constexpr size_t kReportsPrinted = 5;

TEST(SimRandom, Seeds) {
  uint64_t first = EnvOr("SIM_SEED_BASE", 1);
  uint64_t count = EnvOr("SIM_SEEDS", 50);
  if (std::getenv("SIM_SEED") != nullptr) {
    first = EnvOr("SIM_SEED", 1);
    count = 1;
  }
  const size_t tail = EnvOr("SIM_TAIL", 60);
  const auto started = std::chrono::steady_clock::now();
  std::vector<uint64_t> failed;
  SimStats total;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SimOptions options;
    options.seed = seed;
    options.num_nodes = seed % 2 == 1 ? 3 : 5;
    options.event_tail = tail;
    options.batched_ready = EnvOr("SIM_BATCHED_READY", 1) != 0;
    options.compact_behind_snapshot = EnvOr("SIM_COMPACT_LAG", 1) != 0;
    SimCluster cluster(options);
    absl::Status started_ok = cluster.Start();
    ASSERT_TRUE(started_ok.ok()) << "seed " << seed << ": " << started_ok;
    cluster.RunRandomSchedule(kFaultTicks, kQuietTicks);
    if (!cluster.ok()) {
      failed.push_back(seed);
      if (failed.size() <= kReportsPrinted) std::cout << cluster.FailureReport() << std::flush;
    }
    const SimStats& s = cluster.stats();
    total.deliveries += s.deliveries;
    total.committed_commands += s.committed_commands;
    total.crashes += s.crashes;
    total.wipes += s.wipes;
    total.partitions += s.partitions;
    total.conf_changes += s.conf_changes;
    total.transfers += s.transfers;
    total.reads += s.reads;
    total.reads_answered += s.reads_answered;
    total.snapshots_installed += s.snapshots_installed;
    total.snapshots_written_for_followers += s.snapshots_written_for_followers;
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
            << " s; messages " << total.deliveries << ", commands committed "
            << total.committed_commands << ", crashes " << total.crashes << ", wipes "
            << total.wipes << ", partitions " << total.partitions << ", conf changes "
            << total.conf_changes << ", transfers " << total.transfers << ", reads " << total.reads
            << " (answered " << total.reads_answered << "), snapshots installed "
            << total.snapshots_installed << " (written for followers behind a held one "
            << total.snapshots_written_for_followers << ")" << std::endl;
  if (count >= 50) {
    // The schedule must keep reaching both kinds of snapshot transfer.
    EXPECT_GT(total.snapshots_written_for_followers, 0u);
    EXPECT_GT(total.snapshots_installed, total.snapshots_written_for_followers);
  }
  EXPECT_TRUE(failed.empty()) << "failing seeds (replay with SIM_SEED=n): "
                              << absl::StrJoin(failed, " ");
}

}  // namespace
}  // namespace qbox::sim

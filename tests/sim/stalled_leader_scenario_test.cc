// G7 in the simulation: the first node to lead turns hostile and, whenever
// it leads, sends heartbeats but withholds every entry. Its followers must
// stop following it, elect one of themselves and commit again, with every
// invariant holding throughout. One run per seed (SIM_SEEDS, SIM_SEED_BASE,
// SIM_SEED as in sim_test.cc; default 20 here); odd seeds run 3 nodes, even
// seeds 5.
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/sim/sim_cluster.h"
#include "tests/sim/sim_env.h"

namespace qbox::sim {
namespace {

constexpr int kStallTicks = 60;  // election_ticks is 10 in the simulation

// Runs one seed; returns an empty string on success, else what went wrong.
std::string RunStalledLeaderSeed(uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  options.num_nodes = seed % 2 == 1 ? 3 : 5;
  options.stall_ticks = kStallTicks;
  SimCluster cluster(options);
  if (absl::Status s = cluster.Start(); !s.ok()) return s.ToString();
  // A settled first leader: every node follows it (two elections that
  // overlap at start-up can leave an older leader for a moment).
  if (!cluster.RunUntil([&] { return cluster.Converged().ok(); }, 300)) {
    return "no first leader\n" + cluster.FailureReport();
  }
  const raft::NodeId hostile = cluster.Leader();
  const uint64_t hostile_term = cluster.node(hostile)->raft()->Status().hard_state.term;
  cluster.SetStallingLeader(hostile);
  // Proposals it accepts but never replicates.
  for (int i = 0; i < 5; ++i) (void)cluster.Propose(hostile, absl::StrCat("k", i, "=stalled"));

  // Replaced within the stall window plus a few election rounds.
  auto replaced = [&] {
    raft::NodeId leader = cluster.Leader();
    return leader != raft::kNoNode && leader != hostile &&
           cluster.node(leader)->raft()->Status().hard_state.term > hostile_term;
  };
  if (!cluster.RunUntil(replaced, kStallTicks + 200)) {
    return absl::StrCat("stalling leader ", hostile, " was not replaced\n",
                        cluster.FailureReport());
  }
  if (cluster.withheld_messages() == 0) {
    return "the stalling leader withheld nothing\n" + cluster.FailureReport();
  }

  // Proposals commit again, and every node agrees in the end.
  uint64_t index = 0;
  auto proposed = [&] {
    raft::NodeId leader = cluster.Leader();
    if (leader == raft::kNoNode || leader == hostile) return false;
    absl::StatusOr<uint64_t> at = cluster.Propose(leader, "k0=after");
    if (at.ok()) index = *at;
    return at.ok();
  };
  if (!cluster.RunUntil(proposed, 300)) return "no proposal accepted\n" + cluster.FailureReport();
  if (!cluster.RunUntil([&] { return cluster.checker().max_committed_index() >= index; }, 300)) {
    return absl::StrCat("index ", index, " did not commit\n", cluster.FailureReport());
  }
  // The hostile node may lead again later (it is hostile only while it
  // leads, and gets replaced again); stop that to let the cluster settle.
  cluster.SetStallingLeader(raft::kNoNode);
  if (!cluster.RunUntil([&] { return cluster.Converged().ok(); }, 1500)) {
    return absl::StrCat("did not converge: ", cluster.Converged().ToString(), "\n",
                        cluster.FailureReport());
  }
  // Every honest voter that followed it raised the alarm.
  int alarmed = 0;
  for (raft::NodeId id : cluster.node_ids()) {
    if (id != hostile && cluster.node(id)->raft()->Status().stalled_leaders_left > 0) ++alarmed;
  }
  if (alarmed < options.num_nodes / 2) {
    return absl::StrCat("only ", alarmed, " followers left the stalling leader\n",
                        cluster.FailureReport());
  }
  if (!cluster.ok()) return cluster.FailureReport();
  return "";
}

TEST(StalledLeaderScenario, StallingLeaderIsReplacedAndCommitsResume) {
  uint64_t first = EnvOr("SIM_SEED_BASE", 1);
  uint64_t count = EnvOr("SIM_SEEDS", 20);
  if (std::getenv("SIM_SEED") != nullptr) {
    first = EnvOr("SIM_SEED", 1);
    count = 1;
  }
  std::vector<uint64_t> failed;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    std::string failure = RunStalledLeaderSeed(seed);
    if (failure.empty()) continue;
    failed.push_back(seed);
    if (failed.size() <= 3) ADD_FAILURE() << "seed " << seed << ": " << failure;
  }
  EXPECT_TRUE(failed.empty()) << "failing seeds (replay with SIM_SEED=n): "
                              << absl::StrJoin(failed, " ");
}

}  // namespace
}  // namespace qbox::sim

// The schedule that loses committed entries in naive Raft (issue 2, G4):
// 3 nodes A, B, C; B is partitioned away; A (leader) and C commit entries;
// C's disk is wiped and C restarts; A crashes; B's partition heals. A naive C
// votes for B, whose log lacks the committed entries. Here C must refuse to
// vote while it rebuilds, so no leader arises until A returns, and then the
// cluster converges with every committed entry intact.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sim/sim_cluster.h"

namespace qbox::sim {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

struct Roles {
  raft::NodeId a = 0, b = 0, c = 0;
};

// Runs the schedule up to the point where B heals; returns the roles and
// the committed positions A and C agreed on.
Roles RunUpToHeal(SimCluster& cluster, std::map<uint64_t, LogPosition>* committed) {
  Roles roles;
  EXPECT_TRUE(cluster.Start().ok());
  EXPECT_TRUE(cluster.RunUntil([&] { return cluster.Leader() != raft::kNoNode; }, 300));
  roles.a = cluster.Leader();
  for (raft::NodeId id : cluster.node_ids()) {
    if (id == roles.a) continue;
    (roles.b == 0 ? roles.b : roles.c) = id;
  }
  cluster.Isolate(roles.b);

  uint64_t last = 0;
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<uint64_t> index = cluster.Propose(roles.a, absl::StrCat("k", i, "=committed"));
    EXPECT_TRUE(index.ok()) << index.status();
    if (index.ok()) last = *index;
  }
  auto commit_of = [&](raft::NodeId id) {
    return cluster.node(id)->raft()->Status().hard_state.commit;
  };
  EXPECT_TRUE(cluster.RunUntil(
      [&] { return commit_of(roles.a) >= last && commit_of(roles.c) >= last; }, 300))
      << "A and C did not commit index " << last;
  *committed = cluster.checker().committed();
  EXPECT_GE(cluster.checker().max_committed_index(), last);
  // B never saw them.
  EXPECT_LT(cluster.node(roles.b)->storage().LastIndex(), last);

  EXPECT_TRUE(cluster.WipeAndRestart(roles.c).ok());
  cluster.CrashNode(roles.a);
  cluster.HealNetwork();
  return roles;
}

TEST(WipedNodeScenario, RecoveringNodeDoesNotElectAStaleLeader) {
  SimOptions options;
  options.seed = 42;
  options.num_nodes = 3;
  SimCluster cluster(options);
  std::map<uint64_t, LogPosition> committed;
  Roles roles = RunUpToHeal(cluster, &committed);
  ASSERT_TRUE(cluster.ok()) << cluster.FailureReport();

  // B and C alone: C is rebuilding and must not vote, so nobody leads.
  EXPECT_FALSE(cluster.RunUntil([&] { return cluster.Leader() != raft::kNoNode; }, 400))
      << "a leader arose while A was down:\n"
      << cluster.FailureReport();
  ASSERT_TRUE(cluster.ok()) << cluster.FailureReport();
  EXPECT_TRUE(cluster.node(roles.c)->raft()->Status().hard_state.recovering);

  // A returns: it leads again, C catches up, all three converge.
  ASSERT_TRUE(cluster.RestartNode(roles.a).ok());
  EXPECT_TRUE(cluster.RunUntil(
      [&] {
        raft::NodeId leader = cluster.Leader();
        return leader != raft::kNoNode && cluster.Propose(leader, "k0=after").ok();
      },
      400));
  EXPECT_TRUE(cluster.RunUntil([&] { return cluster.Converged().ok(); }, 1000))
      << cluster.Converged() << "\n"
      << cluster.FailureReport();
  ASSERT_TRUE(cluster.ok()) << cluster.FailureReport();
  EXPECT_FALSE(cluster.node(roles.c)->raft()->Status().hard_state.recovering);

  // Every entry committed before the wipe is still committed, unchanged.
  const auto& now_committed = cluster.checker().committed();
  for (const auto& [index, position] : committed) {
    auto it = now_committed.find(index);
    ASSERT_NE(it, now_committed.end()) << "index " << index;
    EXPECT_EQ(it->second.term, position.term) << "index " << index;
    EXPECT_EQ(it->second.chain, position.chain) << "index " << index;
  }
  for (raft::NodeId id : {roles.a, roles.b, roles.c}) {
    EXPECT_GE(cluster.node(id)->state().applied_index(), committed.rbegin()->first)
        << "node " << id;
  }
}

// The same schedule with a naive wipe (C re-bootstraps as a genesis voter)
// must be caught by the checker: this proves the schedule is the dangerous
// one and that the checker sees the loss.
TEST(WipedNodeScenario, NaiveRejoinIsCaughtByTheChecker) {
  SimOptions options;
  options.seed = 42;
  options.num_nodes = 3;
  options.naive_wipe = true;
  SimCluster cluster(options);
  std::map<uint64_t, LogPosition> committed;
  RunUpToHeal(cluster, &committed);
  ASSERT_TRUE(cluster.ok()) << cluster.FailureReport();
  cluster.RunTicks(400);
  ASSERT_FALSE(cluster.ok()) << "naive rejoin lost nothing?";
  EXPECT_THAT(cluster.checker().first_violation(),
              AnyOf(HasSubstr("[leader completeness]"), HasSubstr("[committed entry changed]")))
      << cluster.FailureReport();
}

}  // namespace
}  // namespace qbox::sim

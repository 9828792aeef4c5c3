// Seeds of the random schedule that once failed, replayed as named tests,
// each with what its schedule does, and the checks behind their diagnosis.
// A seed replays the same schedule only while the simulation and the core
// draw the same random numbers, so each seed also has a scripted or unit
// test of its own cause (named below).
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sim/sim_cluster.h"

namespace qbox::sim {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kFaultTicks = 1500;
constexpr uint64_t kQuietTicks = 1500;

void ExpectSeedPasses(uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  options.num_nodes = seed % 2 == 1 ? 3 : 5;
  SimCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok());
  cluster.RunRandomSchedule(kFaultTicks, kQuietTicks);
  EXPECT_TRUE(cluster.ok()) << cluster.FailureReport();
}

// 6 crashes, a wipe, 7 partitions and 8 membership changes leave: node 1
// with the longest log of term 8, ending in its uncommitted promotion of
// learner 102 (so it needs 3 of {1,2,3,102}); node 3 wiped and recovering
// (no vote); learner 102 holding uncommitted entries of term 9 from node 3
// that nobody else has, so it refuses node 1, and, not a voter in its own
// configuration, never campaigned. No election could succeed. Now 102
// stands in (raft.cc; StandInTest in tests/raft/raft_election_test.cc),
// wins with the votes of 1 and 2, and steps down once its log commits.
TEST(SimRegression, Seed594449449LearnerWithTheNewestLogStandsForElection) {
  ExpectSeedPasses(594449449);
}

TEST(SimRegression, ElectionDeadlockNamesWhyNobodyCanWin) {
  SimOptions options;
  options.seed = 7;
  SimCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.Leader() != raft::kNoNode; }, 300));
  EXPECT_EQ(cluster.ElectionDeadlock(), "");
  cluster.CrashNode(2);
  cluster.CrashNode(3);
  const std::string why = cluster.ElectionDeadlock();
  EXPECT_THAT(why, HasSubstr("n1 gets 1 of 2 votes (2 down, 3 down)"));
}

}  // namespace
}  // namespace qbox::sim

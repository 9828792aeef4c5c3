// G7 in the core: a leader that commits nothing is replaced, an idle honest
// leader is not, and one follower's complaint alone deposes nobody.
#include <gtest/gtest.h>

#include "tests/raft/raft_test_util.h"

namespace qbox::raft::testing {
namespace {

constexpr int kStallTicks = 30;

RaftConfig StallConfig() {
  RaftConfig config;
  config.election_ticks = 10;
  config.stall_ticks = kStallTicks;
  return config;
}

int CountAlarms(TestCluster& c, NodeId id, Alarm::Kind kind, NodeId from) {
  int n = 0;
  for (const Alarm& a : c.alarms(id)) {
    if (a.kind == kind && a.from == from) ++n;
  }
  return n;
}

TEST(RaftStall, LeaderThatOnlyHeartbeatsIsReplaced) {
  TestCluster c(3, StallConfig());
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("before").ok());
  c.Deliver();
  const uint64_t term = c.node(1).Status().hard_state.term;
  const uint64_t commit = c.node(2).Status().hard_state.commit;

  // Node 1 turns hostile: heartbeats go out, entries never do.
  c.filter = [](const Message& m) {
    return !(m.from == 1 && (m.type == MessageType::kAppend ||
                             m.type == MessageType::kSnapshotChunk));
  };
  for (int i = 0; i < 5; ++i) (void)c.node(1).Propose("never replicated");
  NodeId leader = 1;
  for (int tick = 0; tick < kStallTicks + 6 * 10 && leader == 1; ++tick) {
    c.TickAll();
    NodeId now = c.Leader();
    if (now != kNoNode && now != 1) leader = now;
  }
  ASSERT_NE(leader, 1u) << "the stalled leader was not replaced";
  EXPECT_GT(c.node(leader).Status().hard_state.term, term);
  EXPECT_EQ(CountAlarms(c, 2, Alarm::Kind::kLeaderStalled, 1), 1);
  EXPECT_EQ(CountAlarms(c, 3, Alarm::Kind::kLeaderStalled, 1), 1);
  EXPECT_EQ(c.node(2).Status().stalled_leaders_left, 1u);

  // The new leader commits proposals again.
  ASSERT_TRUE(c.node(leader).Propose("after").ok());
  c.TickAll(3);
  EXPECT_GT(c.node(2).Status().hard_state.commit, commit + 1);
  EXPECT_EQ(c.applied(3).back().data, "after");
}

TEST(RaftStall, HealthyIdleLeaderKeepsLeadingThanksToEmptyEntries) {
  TestCluster c(3, StallConfig());
  c.Elect(1);
  const uint64_t term = c.node(1).Status().hard_state.term;
  const uint64_t commit = c.node(1).Status().hard_state.commit;
  c.TickAll(10 * kStallTicks);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).Status().hard_state.term, term);
  EXPECT_TRUE(c.alarms(2).empty());
  EXPECT_TRUE(c.alarms(3).empty());
  // About one empty entry per stall_ticks/3 ticks kept commit moving.
  EXPECT_GE(c.node(2).Status().hard_state.commit, commit + 25);
}

TEST(RaftStall, LeaderStaysWhenOneFollowerAloneSeesNoProgress) {
  TestCluster c(3, StallConfig());
  c.Elect(1);
  const uint64_t term = c.node(1).Status().hard_state.term;
  // Node 3 hears heartbeats but never receives entries, so its commit index
  // stands still; node 2 keeps committing with the leader.
  c.filter = [](const Message& m) { return !(m.to == 3 && m.type == MessageType::kAppend); };
  c.TickAll(5 * kStallTicks);
  EXPECT_GE(CountAlarms(c, 3, Alarm::Kind::kLeaderStalled, 1), 1);
  EXPECT_TRUE(c.alarms(2).empty());
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).Status().hard_state.term, term);
  EXPECT_EQ(c.node(2).Status().hard_state.term, term);
  ASSERT_TRUE(c.node(1).Propose("still commits").ok());
  c.TickAll(2);
  EXPECT_EQ(c.applied(2).back().data, "still commits");
}

TEST(RaftStall, StallWindowShorterThanTwoElectionTimeoutsIsRefused) {
  MemoryLogStorage storage;
  ASSERT_TRUE(Raft::Bootstrap(&storage, {1}).ok());
  RaftConfig config;
  config.id = 1;
  config.election_ticks = 10;
  config.stall_ticks = 15;
  auto raft = Raft::Create(config, &storage);
  ASSERT_FALSE(raft.ok());
  EXPECT_EQ(raft.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(raft.status().message().find("stall_ticks"), std::string::npos);
}

TEST(RaftAttestation, RecoveredNodeWaitsForConfirmRecoveryBeforeVoting) {
  RaftConfig config;
  config.recovery_needs_attestation = true;
  TestCluster c(3, config);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("committed").ok());
  c.Deliver();
  c.AddEmptyNode(3);  // lost its disk
  // Confirming before the target is reached changes nothing.
  absl::Status early = c.node(3).ConfirmRecovery();
  EXPECT_EQ(early.code(), absl::StatusCode::kFailedPrecondition) << early;
  EXPECT_TRUE(c.node(3).Status().hard_state.recovering);

  c.TickAll(30);
  RaftStatus s = c.node(3).Status();
  EXPECT_TRUE(s.hard_state.recovering);
  EXPECT_TRUE(s.awaiting_attestation);
  EXPECT_GE(s.recovery_target, 3u);
  EXPECT_GE(s.hard_state.commit, s.recovery_target);
  // The leader does not count it: its responses still say recovering.
  EXPECT_TRUE(c.node(1).Status().progress.at(3).recovering);

  // Awaiting attestation survives a restart (it is in the hard state).
  c.Restart(3);
  EXPECT_TRUE(c.node(3).Status().awaiting_attestation);

  ASSERT_TRUE(c.node(3).ConfirmRecovery().ok());
  c.Deliver();
  s = c.node(3).Status();
  EXPECT_FALSE(s.hard_state.recovering);
  EXPECT_FALSE(s.awaiting_attestation);
  // Persisted: a restart does not bring recovery back.
  c.Restart(3);
  EXPECT_FALSE(c.node(3).Status().hard_state.recovering);
  // A second confirmation is a no-op.
  EXPECT_TRUE(c.node(3).ConfirmRecovery().ok());
}

TEST(RaftAttestation, WithoutTheGateRecoveryEndsAtTheTarget) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("committed").ok());
  c.Deliver();
  c.AddEmptyNode(3);
  c.TickAll(30);
  EXPECT_FALSE(c.node(3).Status().hard_state.recovering);
  EXPECT_FALSE(c.node(3).Status().awaiting_attestation);
}

}  // namespace
}  // namespace qbox::raft::testing

// Elections: pre-vote, check-quorum, leader lease, transfer, and the G4 rule
// that a node which lost its storage does not vote.
#include <gtest/gtest.h>

#include "tests/raft/raft_test_util.h"

namespace qbox::raft::testing {
namespace {

TEST(RaftElection, ElectsOneLeaderByTicks) {
  TestCluster c(3);
  c.TickAll(40);
  NodeId leader = c.Leader();
  ASSERT_NE(leader, kNoNode);
  int leaders = 0;
  for (NodeId id = 1; id <= 3; ++id) {
    if (c.node(id).Status().role == Role::kLeader) ++leaders;
    EXPECT_EQ(c.node(id).Status().leader, leader);
  }
  EXPECT_EQ(leaders, 1);
}

TEST(RaftElection, PreVoteKeepsAnIsolatedNodeFromInflatingItsTerm) {
  TestCluster c(3);
  c.Elect(1);
  uint64_t term = c.node(1).Status().hard_state.term;
  c.Isolate(3);
  c.TickAll(100);
  // Node 3 never won a pre-vote, so it never raised its term...
  EXPECT_EQ(c.node(3).Status().hard_state.term, term);
  c.Heal();
  c.TickAll(5);
  // ...and rejoining does not depose the healthy leader.
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).Status().hard_state.term, term);
}

TEST(RaftElection, CheckQuorumMakesAPartitionedLeaderStepDown) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  c.TickAll(30);
  EXPECT_NE(c.node(1).Status().role, Role::kLeader);
  NodeId other = c.Leader();
  EXPECT_TRUE(other == 2 || other == 3);
}

TEST(RaftElection, LeaderLeaseIgnoresADisruptiveVoteRequest) {
  TestCluster c(3);
  c.Elect(1);
  uint64_t term = c.node(2).Status().hard_state.term;
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 3;
  vote.to = 2;
  vote.term = term + 5;
  vote.index = 100;
  vote.log_term = term + 4;
  ASSERT_TRUE(c.node(2).Step(vote).ok());
  EXPECT_EQ(c.node(2).Status().hard_state.term, term);
  EXPECT_EQ(c.node(2).Status().leader, 1u);
}

TEST(RaftElection, StaleLogDoesNotWinVotes) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Deliver();
  c.Heal();
  c.Stop(1);
  // Node 3 lacks the committed entry: node 2 refuses it.
  c.TickAll(60);
  EXPECT_EQ(c.Leader(), 2u);
}

TEST(RaftElection, TransferLeadershipHandsOverToACaughtUpVoter) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Deliver();
  ASSERT_TRUE(c.node(1).TransferLeadership(3).ok());
  c.Deliver();
  EXPECT_EQ(c.Leader(), 3u);
  EXPECT_NE(c.node(1).Status().role, Role::kLeader);
}

TEST(RaftElection, TransferLeadershipRefusesBadTargets) {
  TestCluster c(3);
  c.Elect(1);
  EXPECT_EQ(c.node(1).TransferLeadership(9).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.node(2).TransferLeadership(3).code(), absl::StatusCode::kUnavailable);
}

TEST(RaftElection, NodeWithWipedStorageRefusesToVoteUntilCaughtUp) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("committed").ok());
  c.Deliver();
  c.AddEmptyNode(3);  // lost its disk
  EXPECT_TRUE(c.node(3).Status().hard_state.recovering);
  Message vote;
  vote.type = MessageType::kVote;
  vote.from = 2;
  vote.to = 3;
  vote.term = c.node(3).Status().hard_state.term + 1;
  ASSERT_TRUE(c.node(3).Step(vote).ok());
  Ready rd = c.node(3).GetReady();
  ASSERT_EQ(rd.messages_after_persist.size(), 1u);
  EXPECT_TRUE(rd.messages_after_persist[0].reject);
  c.node(3).Advance(rd);
  // Once it heard the leader and caught up to the confirmed index it votes.
  c.TickAll(30);
  EXPECT_FALSE(c.node(3).Status().hard_state.recovering);
  EXPECT_GE(c.node(3).Status().hard_state.commit, 3u);
}

}  // namespace
}  // namespace qbox::raft::testing

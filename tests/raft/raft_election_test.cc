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

// A learner whose log holds entries no voter has, from a leader that never
// replicated the learner's promotion to it, while a candidate's log does
// count it as a voter: the candidate cannot win without it, and it refuses
// the candidate because its log is newer. It stands for election itself
// (in its own configuration, where its own vote does not count).
class StandInTest : public ::testing::Test {
 protected:
  // Node 4's storage: genesis voters {1,2,3}, learner 4 added at index 2,
  // then entries 3 and 4 of term `last_term`.
  std::unique_ptr<Raft> LearnerWithLog(MemoryLogStorage* storage, uint64_t last_term) {
    EXPECT_TRUE(Raft::Bootstrap(storage, {1, 2, 3}).ok());
    ConfChange add;
    add.kind = ConfChange::Kind::kAddLearner;
    add.node = 4;
    std::vector<Entry> entries(3);
    entries[0].type = EntryType::kConfChange;
    entries[0].data = add.Encode();
    entries[0].term = 1;
    entries[1].term = last_term;
    entries[2].term = last_term;
    ChainHash prev = *storage->Chain(1);
    for (size_t i = 0; i < entries.size(); ++i) {
      entries[i].index = 2 + i;
      entries[i].chain =
          ComputeChain(prev, entries[i].term, entries[i].index, entries[i].type, entries[i].data);
      prev = entries[i].chain;
    }
    HardState hs;
    hs.term = last_term;
    hs.commit = 2;
    EXPECT_TRUE(storage->Persist(entries, &hs).ok());
    RaftConfig config;
    config.id = 4;
    auto raft = Raft::Create(config, storage);
    EXPECT_TRUE(raft.ok()) << raft.status();
    return raft.ok() ? std::move(*raft) : nullptr;
  }

  // Steps a pre-vote from node 1 claiming `last_index`/`last_term`, then
  // ticks past the election timeout; returns the first round of pre-votes node
  // 4 sent (none if it stayed quiet).
  std::vector<Message> AskThenTick(Raft& raft, uint64_t last_index, uint64_t last_term) {
    Message pre;
    pre.type = MessageType::kPreVote;
    pre.from = 1;
    pre.to = 4;
    pre.term = raft.Term() + 1;
    pre.index = last_index;
    pre.log_term = last_term;
    EXPECT_TRUE(raft.Step(pre).ok());
    std::vector<Message> campaign;
    for (int i = 0; i < 40 && campaign.empty(); ++i) {
      raft.Tick();
      if (!raft.HasReady()) continue;
      Ready rd = raft.GetReady();
      for (const auto* list : {&rd.messages_now, &rd.messages_after_persist}) {
        for (const Message& m : *list) {
          if (m.type == MessageType::kPreVote) campaign.push_back(m);
        }
      }
      raft.Advance(rd);
    }
    return campaign;
  }
};

TEST_F(StandInTest, LearnerWhoseLogIsNewerThanACandidatesStandsForElection) {
  MemoryLogStorage storage;
  auto raft = LearnerWithLog(&storage, 3);
  ASSERT_NE(raft, nullptr);
  std::vector<Message> campaign = AskThenTick(*raft, 4, 2);
  ASSERT_EQ(campaign.size(), 3u) << "the learner should ask voters 1, 2 and 3";
  for (const Message& m : campaign) EXPECT_EQ(m.index, 4u);
}

TEST_F(StandInTest, LearnerBehindTheCandidateGrantsAndStaysQuiet) {
  MemoryLogStorage storage;
  auto raft = LearnerWithLog(&storage, 2);
  ASSERT_NE(raft, nullptr);
  EXPECT_TRUE(AskThenTick(*raft, 9, 3).empty());
}

TEST_F(StandInTest, StandInsOwnVoteDoesNotCount) {
  // Alone, a stand-in never wins: two of the three voters must grant.
  MemoryLogStorage storage;
  auto raft = LearnerWithLog(&storage, 3);
  ASSERT_NE(raft, nullptr);
  ASSERT_FALSE(AskThenTick(*raft, 4, 2).empty());
  Message grant;
  grant.type = MessageType::kPreVoteResp;
  grant.from = 2;
  grant.to = 4;
  grant.term = raft->Term() + 1;
  ASSERT_TRUE(raft->Step(grant).ok());
  EXPECT_NE(raft->Status().role, Role::kCandidate);
  grant.from = 3;
  ASSERT_TRUE(raft->Step(grant).ok());
  EXPECT_EQ(raft->Status().role, Role::kCandidate);
}

}  // namespace
}  // namespace qbox::raft::testing

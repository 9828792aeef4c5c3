// Replication: commit, batching, fast back-off, snapshots in chunks,
// membership changes and ReadIndex.
#include <gtest/gtest.h>

#include "tests/raft/raft_test_util.h"

namespace qbox::raft::testing {
namespace {

std::vector<std::string> Payloads(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) {
    if (e.type == EntryType::kNormal) out.push_back(e.data);
  }
  return out;
}

TEST(RaftReplication, CommittedEntriesReachEveryNodeInOrder) {
  TestCluster c(3);
  c.Elect(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.node(1).Propose("e" + std::to_string(i)).ok());
  c.Deliver();
  for (NodeId id = 1; id <= 3; ++id) {
    auto p = Payloads(c.applied(id));
    ASSERT_EQ(p.size(), 10u) << "node " << id;
    EXPECT_EQ(p.front(), "e0");
    EXPECT_EQ(p.back(), "e9");
  }
}

TEST(RaftReplication, ProposalsBetweenReadiesGoOutAsOneBatch) {
  TestCluster c(3);
  c.Elect(1);
  int appends_with_entries = 0;
  size_t max_batch = 0;
  c.filter = [&](const Message& m) {
    if (m.type == MessageType::kAppend && !m.entries.empty() && m.to == 2) {
      ++appends_with_entries;
      max_batch = std::max(max_batch, m.entries.size());
    }
    return true;
  };
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Deliver();
  EXPECT_EQ(appends_with_entries, 1);
  EXPECT_EQ(max_batch, 50u);
}

TEST(RaftReplication, FollowerWithLongDivergentTailIsRepairedInFewRoundTrips) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  // The old leader appends 200 entries that never commit.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(c.node(1).Propose("lost").ok());
  c.Deliver();
  c.TickAll(40);  // node 1's lease runs out; 2 or 3 is elected
  NodeId leader = c.Leader();
  ASSERT_TRUE(leader == 2 || leader == 3);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.node(leader).Propose("kept").ok());
  c.Deliver();
  int rejections = 0;
  c.filter = [&](const Message& m) {
    if (m.type == MessageType::kAppendResp && m.reject) ++rejections;
    return true;
  };
  c.Heal();
  c.TickAll(3);
  EXPECT_LE(rejections, 3);
  EXPECT_EQ(c.node(1).Status().last_index, c.node(leader).Status().last_index);
  EXPECT_EQ(Payloads(c.applied(1)), Payloads(c.applied(leader)));
  EXPECT_EQ(Payloads(c.applied(1)).back(), "kept");
}

TEST(RaftReplication, LaggingFollowerCatchesUpBySnapshotInChunks) {
  RaftConfig config;
  config.snapshot_chunk_bytes = 7;
  TestCluster c(3, config);
  c.Elect(1);
  c.Stop(3);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.node(1).Propose("p" + std::to_string(i)).ok());
  c.Deliver();
  uint64_t applied = c.applied(1).back().index;
  SnapshotMeta meta;
  meta.index = applied;
  meta.term = c.node(1).Status().hard_state.term;
  meta.chain = *c.storage(1).Chain(applied);
  meta.conf = *c.node(1).ConfStateAt(applied);
  ASSERT_TRUE(c.storage(1).SaveSnapshot(meta, "state-of-the-mailboxes").ok());
  ASSERT_TRUE(c.storage(1).Compact(applied).ok());
  int chunks = 0;
  c.filter = [&](const Message& m) {
    if (m.type == MessageType::kSnapshotChunk) ++chunks;
    return true;
  };
  c.Start(3);
  c.TickAll(5);
  EXPECT_GE(chunks, 4);
  EXPECT_EQ(c.storage(3).SnapshotData(), "state-of-the-mailboxes");
  EXPECT_EQ(c.node(3).Status().hard_state.commit, c.node(1).Status().hard_state.commit);
  ASSERT_TRUE(c.node(1).Propose("after").ok());
  c.Deliver();
  EXPECT_EQ(Payloads(c.applied(3)).back(), "after");
}

TEST(RaftReplication, LearnerIsAddedCaughtUpAndPromoted) {
  TestCluster c(3);
  c.Elect(1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Deliver();
  c.AddEmptyNode(4);
  ASSERT_TRUE(c.node(1).ProposeConfChange({ConfChange::Kind::kAddLearner, 4, {}, {}}).ok());
  c.TickAll(30);
  RaftStatus s = c.node(1).Status();
  EXPECT_TRUE(s.conf.IsLearner(4));
  EXPECT_EQ(s.progress.at(4).match, s.last_index);
  EXPECT_FALSE(s.progress.at(4).recovering);
  ASSERT_TRUE(c.node(1).ProposeConfChange({ConfChange::Kind::kPromoteLearner, 4, {}, {}}).ok());
  c.Deliver();
  EXPECT_TRUE(c.node(4).Status().conf.IsVoter(4));
  // One change at a time.
  ASSERT_TRUE(c.node(1).ProposeConfChange({ConfChange::Kind::kRemoveNode, 2, {}, {}}).ok());
  EXPECT_EQ(c.node(1).ProposeConfChange({ConfChange::Kind::kRemoveNode, 3, {}, {}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  c.Deliver();
  EXPECT_FALSE(c.node(1).Status().conf.Contains(2));
}

TEST(RaftReplication, PromotionOfALaggingLearnerIsRefused) {
  RaftConfig config;
  config.promote_max_lag = 2;
  TestCluster c(3, config);
  c.Elect(1);
  c.AddEmptyNode(4);
  c.Stop(4);
  ASSERT_TRUE(c.node(1).ProposeConfChange({ConfChange::Kind::kAddLearner, 4, {}, {}}).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Deliver();
  EXPECT_EQ(c.node(1).ProposeConfChange({ConfChange::Kind::kPromoteLearner, 4, {}, {}}).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(RaftReplication, ReadIndexIsConfirmedByAQuorum) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Deliver();
  ASSERT_TRUE(c.node(1).ReadIndex("leader-read").ok());
  ASSERT_TRUE(c.node(2).ReadIndex("follower-read").ok());
  c.Deliver();
  ASSERT_EQ(c.read_states(1).size(), 1u);
  EXPECT_EQ(c.read_states(1)[0].context, "leader-read");
  EXPECT_EQ(c.read_states(1)[0].index, c.node(1).Status().hard_state.commit);
  ASSERT_EQ(c.read_states(2).size(), 1u);
  EXPECT_EQ(c.read_states(2)[0].context, "follower-read");
}

TEST(RaftReplication, ReadIndexAskedOfANewLeaderIsAnsweredOnceItsFirstEntryCommits) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Deliver();
  // Node 2 becomes leader but its no-op cannot commit while it is cut off.
  bool hold = true;
  c.filter = [&](const Message& m) {
    return !(hold && m.from == 2 && m.type == MessageType::kAppend);
  };
  ASSERT_TRUE(c.node(1).TransferLeadership(2).ok());
  c.Deliver();
  ASSERT_EQ(c.Leader(), 2u);
  c.TickAll(1);  // a heartbeat tells node 3 who leads; appends stay held
  ASSERT_TRUE(c.node(2).ReadIndex("early").ok());
  ASSERT_TRUE(c.node(3).ReadIndex("early-follower").ok());
  c.Deliver();
  EXPECT_TRUE(c.read_states(2).empty());
  hold = false;
  c.TickAll(2);
  ASSERT_EQ(c.read_states(2).size(), 1u);
  EXPECT_EQ(c.read_states(2)[0].context, "early");
  EXPECT_GE(c.read_states(2)[0].index, 3u);
  ASSERT_EQ(c.read_states(3).size(), 1u);
}

TEST(RaftReplication, ReadIndexIsNotConfirmedWithoutAQuorum) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  ASSERT_TRUE(c.node(1).ReadIndex("r").ok());
  c.Deliver();
  EXPECT_TRUE(c.read_states(1).empty());
}

TEST(RaftReplication, RestartRecoversTermVoteAndLog) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Deliver();
  RaftStatus before = c.node(2).Status();
  c.Restart(2);
  RaftStatus after = c.node(2).Status();
  EXPECT_EQ(after.hard_state.term, before.hard_state.term);
  EXPECT_EQ(after.hard_state.vote, before.hard_state.vote);
  EXPECT_EQ(after.last_index, before.last_index);
  EXPECT_FALSE(after.hard_state.recovering);
}

}  // namespace
}  // namespace qbox::raft::testing

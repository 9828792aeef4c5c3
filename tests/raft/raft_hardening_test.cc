// Hardening and bad input: G1 (no truncation at or below commit), G5 (hash
// chain verified on append), malformed messages refused without effect.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "tests/raft/raft_test_util.h"

namespace qbox::raft::testing {
namespace {

// A cluster with some committed entries, led by node 1, and node 2's state.
class RaftHardening : public ::testing::Test {
 protected:
  RaftHardening() : c_(3) {
    c_.Elect(1);
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(c_.node(1).Propose("m" + std::to_string(i)).ok());
    c_.Deliver();
    before_ = c_.node(2).Status();
  }

  // An append from the leader, node 1, turned hostile. (A node that is not
  // node 2's leader is not even listened to while node 2 hears its leader:
  // see RaftLease in raft_lease_test.cc.)
  Message HostileAppend(uint64_t prev_index) {
    Message m;
    m.type = MessageType::kAppend;
    m.from = 1;
    m.to = 2;
    m.term = before_.hard_state.term;
    m.index = prev_index;
    m.log_term = *c_.storage(2).Term(prev_index);
    m.prev_chain = *c_.storage(2).Chain(prev_index);
    m.commit = before_.hard_state.commit;
    return m;
  }

  Entry ChainedEntry(const Message& m, uint64_t index, std::string data) {
    Entry e;
    e.term = m.term;
    e.index = index;
    e.data = std::move(data);
    auto stored = c_.storage(2).Chain(index - 1);
    ChainHash prev = stored.ok() ? *stored : ChainHash{};
    e.chain = ComputeChain(prev, e.term, e.index, e.type, e.data);
    return e;
  }

  void ExpectUnchanged() {
    RaftStatus now = c_.node(2).Status();
    EXPECT_EQ(now.last_index, before_.last_index);
    EXPECT_EQ(now.hard_state.commit, before_.hard_state.commit);
    Ready rd = c_.node(2).GetReady();
    EXPECT_TRUE(rd.entries.empty());
    c_.node(2).Advance(rd);
  }

  TestCluster c_;
  RaftStatus before_;
};

TEST_F(RaftHardening, RefusesToOverwriteCommittedEntriesAndRaisesAnAlarm) {
  uint64_t commit = before_.hard_state.commit;
  ASSERT_GE(commit, 4u);
  Message m = HostileAppend(commit - 2);
  m.entries.push_back(ChainedEntry(m, commit - 1, "forged"));
  absl::Status s = c_.node(2).Step(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("committed"), std::string::npos) << s;
  EXPECT_EQ(c_.node(2).Status().refused_truncations, 1u);
  Ready rd = c_.node(2).GetReady();
  ASSERT_EQ(rd.alarms.size(), 1u);
  EXPECT_EQ(rd.alarms[0].kind, Alarm::Kind::kRefusedTruncation);
  EXPECT_EQ(rd.alarms[0].from, 1u);
  c_.node(2).Advance(rd);
  ExpectUnchanged();
}

TEST_F(RaftHardening, RefusesEntriesWhoseChainDoesNotVerify) {
  Message m = HostileAppend(before_.last_index);
  Entry e = ChainedEntry(m, before_.last_index + 1, "honest");
  e.data = "tampered";  // chain no longer covers the payload
  m.entries.push_back(e);
  absl::Status s = c_.node(2).Step(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c_.node(2).Status().chain_mismatches, 1u);
  ExpectUnchanged();
}

TEST_F(RaftHardening, RefusesAPrevChainThatDiffersFromOurs) {
  Message m = HostileAppend(before_.last_index);
  m.prev_chain[0] ^= 1;
  EXPECT_EQ(c_.node(2).Step(m).code(), absl::StatusCode::kFailedPrecondition);
  ExpectUnchanged();
}

TEST_F(RaftHardening, AcceptsAProperlyChainedAppend) {
  Message m = HostileAppend(before_.last_index);
  m.entries.push_back(ChainedEntry(m, before_.last_index + 1, "fine"));
  ASSERT_TRUE(c_.node(2).Step(m).ok());
  EXPECT_EQ(c_.node(2).Status().last_index, before_.last_index + 1);
}

TEST_F(RaftHardening, MessageForAnotherNodeIsRefused) {
  Message m = HostileAppend(before_.last_index);
  m.to = 7;
  absl::Status s = c_.node(2).Step(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("message.to"), std::string::npos) << s;
  ExpectUnchanged();
}

TEST_F(RaftHardening, NonContiguousEntriesAreRefused) {
  Message m = HostileAppend(before_.last_index);
  m.entries.push_back(ChainedEntry(m, before_.last_index + 2, "gap"));
  absl::Status s = c_.node(2).Step(m);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("entries[0].index"), std::string::npos) << s;
  ExpectUnchanged();
}

TEST_F(RaftHardening, EntryFromAFutureTermIsRefused) {
  Message m = HostileAppend(before_.last_index);
  Entry e = ChainedEntry(m, before_.last_index + 1, "x");
  e.term = m.term + 3;
  m.entries.push_back(e);
  EXPECT_EQ(c_.node(2).Step(m).code(), absl::StatusCode::kInvalidArgument);
  ExpectUnchanged();
}

TEST_F(RaftHardening, IndexBeyondTheLogIsRejectedWithAHint) {
  Message m = HostileAppend(before_.last_index);
  m.index = before_.last_index + 50;
  m.log_term = m.term;
  ASSERT_TRUE(c_.node(2).Step(m).ok());
  Ready rd = c_.node(2).GetReady();
  ASSERT_FALSE(rd.messages_after_persist.empty());
  const Message& resp = rd.messages_after_persist.back();
  EXPECT_TRUE(resp.reject);
  EXPECT_EQ(resp.reject_hint, before_.last_index);
  EXPECT_TRUE(rd.entries.empty());
  c_.node(2).Advance(rd);
  EXPECT_EQ(c_.node(2).Status().last_index, before_.last_index);
}

TEST_F(RaftHardening, VoteFromTheFutureWithAStaleLogChangesNothingDuringTheLease) {
  Message m;
  m.type = MessageType::kPreVote;
  m.from = 3;
  m.to = 2;
  m.term = before_.hard_state.term + 10;
  m.index = 1;
  m.log_term = 1;
  ASSERT_TRUE(c_.node(2).Step(m).ok());
  EXPECT_EQ(c_.node(2).Status().hard_state.term, before_.hard_state.term);
  EXPECT_EQ(c_.node(2).Status().hard_state.vote, before_.hard_state.vote);
}

TEST_F(RaftHardening, SnapshotWhoseChainContradictsOurLogIsRefused) {
  Message m;
  m.type = MessageType::kSnapshotChunk;
  m.from = 1;
  m.to = 2;
  m.term = before_.hard_state.term;
  m.snapshot.index = before_.last_index;
  m.snapshot.term = *c_.storage(2).Term(before_.last_index);
  m.snapshot.chain = *c_.storage(2).Chain(before_.last_index);
  m.snapshot.chain[5] ^= 0xff;
  m.snapshot.conf.voters = {1, 2, 3};
  m.snapshot.data_size = 4;
  m.chunk_data = "evil";
  m.chunk_last = true;
  EXPECT_EQ(c_.node(2).Step(m).code(), absl::StatusCode::kFailedPrecondition);
  Ready rd = c_.node(2).GetReady();
  ASSERT_EQ(rd.alarms.size(), 1u);
  EXPECT_EQ(rd.alarms[0].kind, Alarm::Kind::kSnapshotMismatch);
  EXPECT_FALSE(rd.install_snapshot.has_value());
  c_.node(2).Advance(rd);
}

TEST_F(RaftHardening, SnapshotChunkBeyondItsSizeIsRefused) {
  Message m;
  m.type = MessageType::kSnapshotChunk;
  m.from = 1;
  m.to = 2;
  m.term = before_.hard_state.term;
  m.snapshot.index = before_.last_index + 10;
  m.snapshot.term = before_.hard_state.term;
  m.snapshot.conf.voters = {1, 2, 3};
  m.snapshot.data_size = 2;
  m.chunk_data = "too long";
  EXPECT_EQ(c_.node(2).Step(m).code(), absl::StatusCode::kInvalidArgument);
  ExpectUnchanged();
}

// A snapshot above our commit index from our own leader, with a digest that
// matches its data: all a hostile leader needs to replace a follower's
// state with an empty one. Without the guard's word it is refused.
class RaftSnapshotGuard : public ::testing::Test {
 protected:
  Message ForgedSnapshot(TestCluster& c) {
    RaftStatus st = c.node(2).Status();
    Message m;
    m.type = MessageType::kSnapshotChunk;
    m.from = 1;
    m.to = 2;
    m.term = st.hard_state.term;
    m.snapshot.index = st.last_index + 50;
    m.snapshot.term = st.hard_state.term;
    m.snapshot.conf.voters = {1, 2, 3};
    m.chunk_data = "empty store";
    m.snapshot.data_size = m.chunk_data.size();
    m.snapshot.data_digest = Sha256Of(m.chunk_data);
    m.chunk_last = true;
    return m;
  }
  static ChainHash Sha256Of(const std::string& data) {
    ChainHash out{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
  }
};

TEST_F(RaftSnapshotGuard, RefusedWithoutTheGuardsWordAndReportedOnce) {
  RaftConfig config;
  int asked = 0;
  config.snapshot_guard = [&](const SnapshotMeta&, NodeId leader, bool recovering) {
    EXPECT_FALSE(recovering);
    ++asked;
    EXPECT_EQ(leader, 1u);
    return absl::FailedPreconditionError("no other site attested it");
  };
  TestCluster c(3, config);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("mail").ok());
  c.Deliver();
  const RaftStatus before = c.node(2).Status();
  Message m = ForgedSnapshot(c);
  ASSERT_TRUE(c.node(2).Step(m).ok());
  ASSERT_TRUE(c.node(2).Step(m).ok());
  EXPECT_EQ(asked, 2);
  Ready rd = c.node(2).GetReady();
  EXPECT_FALSE(rd.install_snapshot.has_value());
  EXPECT_TRUE(rd.snapshot_chunks.empty());
  ASSERT_EQ(rd.alarms.size(), 1u);
  EXPECT_EQ(rd.alarms[0].kind, Alarm::Kind::kRefusedSnapshot);
  EXPECT_NE(rd.alarms[0].detail.find("no other site attested it"), std::string::npos);
  c.node(2).Advance(rd);
  EXPECT_EQ(c.node(2).Status().last_index, before.last_index);
  EXPECT_EQ(c.node(2).Status().hard_state.commit, before.hard_state.commit);
}

TEST_F(RaftSnapshotGuard, InstalledWhenTheGuardVouches) {
  RaftConfig config;
  config.snapshot_guard = [](const SnapshotMeta&, NodeId, bool) { return absl::OkStatus(); };
  TestCluster c(3, config);
  c.Elect(1);
  c.Deliver();
  Message m = ForgedSnapshot(c);
  ASSERT_TRUE(c.node(2).Step(m).ok());
  Ready rd = c.node(2).GetReady();
  ASSERT_TRUE(rd.install_snapshot.has_value());
  EXPECT_EQ(rd.install_snapshot->index, m.snapshot.index);
}

TEST(RaftBootstrap, RefusesNonEmptyStorageAndBadVoters) {
  MemoryLogStorage storage;
  EXPECT_EQ(Raft::Bootstrap(&storage, {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Raft::Bootstrap(&storage, {1, 1}).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Raft::Bootstrap(&storage, {1, 2, 3}).ok());
  EXPECT_EQ(Raft::Bootstrap(&storage, {1, 2, 3}).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(RaftBootstrap, RefusesBadConfig) {
  MemoryLogStorage storage;
  RaftConfig config;
  config.id = 0;
  EXPECT_EQ(Raft::Create(config, &storage).status().code(), absl::StatusCode::kInvalidArgument);
  config.id = 1;
  config.election_ticks = 1;
  EXPECT_EQ(Raft::Create(config, &storage).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qbox::raft::testing

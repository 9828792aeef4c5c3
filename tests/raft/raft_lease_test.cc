// G7 while a hostile node keeps talking (lease.cc): one node holding only
// its own key cannot depose a leader that commits with the others, cannot
// keep voters from campaigning, and cannot forge a leadership transfer; an
// operator's transfer still works.
#include <gtest/gtest.h>

#include "tests/raft/raft_test_util.h"

namespace qbox::raft::testing {
namespace {

constexpr uint64_t kHugeIndex = 1000000000;

// Node 1 leads nodes 2 and 3, which have committed a few entries; node 3 is
// the hostile one in every test.
class RaftLease : public ::testing::Test {
 protected:
  RaftLease() : c_(3) {
    c_.Elect(1);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(c_.node(1).Propose("m" + std::to_string(i)).ok());
    c_.Deliver();
    term_ = c_.node(1).Term();
  }

  Message FromHostile(MessageType type, NodeId to, uint64_t term) {
    Message m;
    m.type = type;
    m.from = 3;
    m.to = to;
    m.term = term;
    return m;
  }

  // A vote request that claims a log nobody can check.
  Message ForgedVote(MessageType type, NodeId to, uint64_t term) {
    Message m = FromHostile(type, to, term);
    m.index = kHugeIndex;
    m.log_term = term - 1;
    m.context = "qbox:transfer";
    return m;
  }

  // Steps `m` into `to` and returns every message `to` answered with.
  std::vector<Message> StepAndCollect(NodeId to, const Message& m) {
    EXPECT_TRUE(c_.node(to).Step(m).ok());
    std::vector<Message> out;
    if (c_.node(to).HasReady()) {
      Ready rd = c_.node(to).GetReady();
      out = rd.messages_now;
      out.insert(out.end(), rd.messages_after_persist.begin(), rd.messages_after_persist.end());
      for (const Alarm& a : rd.alarms) alarms_.push_back(a);
      c_.node(to).Advance(rd);
    }
    return out;
  }

  TestCluster c_;
  uint64_t term_ = 0;
  std::vector<Alarm> alarms_;
};

TEST_F(RaftLease, ForgedTransferVotesAreIgnoredByLeaderAndFollower) {
  for (MessageType type : {MessageType::kPreVote, MessageType::kVote}) {
    EXPECT_TRUE(StepAndCollect(1, ForgedVote(type, 1, term_ + 1)).empty());
    EXPECT_TRUE(StepAndCollect(2, ForgedVote(type, 2, term_ + 1)).empty());
  }
  EXPECT_EQ(c_.node(1).Status().role, Role::kLeader);
  EXPECT_EQ(c_.node(1).Term(), term_);
  EXPECT_EQ(c_.node(2).Term(), term_);
  EXPECT_EQ(c_.node(2).Status().hard_state.vote, 1u);
  // And the leader still commits with node 2.
  c_.Isolate(3);
  ASSERT_TRUE(c_.node(1).Propose("after").ok());
  c_.Deliver();
  EXPECT_EQ(c_.node(2).Status().hard_state.commit, c_.node(1).Status().last_index);
}

TEST_F(RaftLease, HigherTermFromANodeOtherThanTheLeaderIsIgnoredDuringTheLease) {
  Message hb = FromHostile(MessageType::kHeartbeat, 2, term_ + 5);
  StepAndCollect(2, hb);
  EXPECT_EQ(c_.node(2).Term(), term_);
  EXPECT_EQ(c_.node(2).Status().leader, 1u);
  // Once node 2 has not heard node 1 for an election timeout it listens.
  c_.Isolate(1);
  c_.Isolate(3);
  for (int i = 0; i < 10; ++i) c_.node(2).Tick();
  StepAndCollect(2, hb);
  EXPECT_EQ(c_.node(2).Term(), term_ + 5);
}

TEST_F(RaftLease, TimeoutNowCountsOnlyFromTheLeader) {
  StepAndCollect(2, FromHostile(MessageType::kTimeoutNow, 2, term_));
  EXPECT_EQ(c_.node(2).Status().role, Role::kFollower);
  StepAndCollect(2, FromHostile(MessageType::kTimeoutNow, 2, term_ + 1));
  EXPECT_EQ(c_.node(2).Term(), term_);
}

TEST_F(RaftLease, ASecondLeaderOfOurTermIsRefusedAndReported) {
  Message append = FromHostile(MessageType::kAppend, 2, term_);
  append.index = c_.node(2).Status().last_index;
  append.log_term = term_;
  append.prev_chain = *c_.storage(2).Chain(append.index);
  StepAndCollect(2, append);
  EXPECT_EQ(c_.node(2).Status().leader, 1u);
  ASSERT_EQ(alarms_.size(), 1u);
  EXPECT_EQ(alarms_[0].kind, Alarm::Kind::kTwoLeaders);
  EXPECT_EQ(alarms_[0].from, 3u);
  // Reported once per term and sender, not once per message.
  StepAndCollect(2, append);
  EXPECT_EQ(alarms_.size(), 1u);
}

TEST_F(RaftLease, AnOperatorsTransferStillWorks) {
  ASSERT_TRUE(c_.node(1).TransferLeadership(2).ok());
  c_.Deliver();
  EXPECT_EQ(c_.Leader(), 2u);
  EXPECT_EQ(c_.node(3).Status().leader, 2u);
}

TEST_F(RaftLease, VotesForAClaimedLogDoNotKeepAVoterFromCampaigning) {
  // Node 1 is gone; node 3 sends node 2 a vote request for a new term at
  // every tick, claiming a log far ahead of everyone's.
  c_.Stop(1);
  bool campaigned = false;
  for (int tick = 0; tick < 60 && !campaigned; ++tick) {
    c_.node(2).Tick();
    const uint64_t term = c_.node(2).Term() + 1;
    for (const Message& m : StepAndCollect(2, ForgedVote(MessageType::kVote, 2, term))) {
      campaigned |= m.type == MessageType::kPreVote || m.type == MessageType::kVote;
    }
  }
  EXPECT_TRUE(campaigned) << "node 2 never campaigned while node 3 kept asking for votes";
}

TEST_F(RaftLease, ALeaderAnsweredFromAHigherTermStandsForReElectionAtMostOncePerTimeout) {
  Message resp = FromHostile(MessageType::kAppendResp, 1, term_ + 7);
  resp.index = c_.node(1).Status().last_index;
  c_.Isolate(3);
  ASSERT_TRUE(c_.node(1).Step(resp).ok());
  EXPECT_EQ(c_.node(1).Term(), term_ + 8);
  EXPECT_EQ(c_.node(1).Status().role, Role::kCandidate);
  // Node 2 follows its own leader into the new term, and node 1 leads again.
  c_.Deliver();
  EXPECT_EQ(c_.Leader(), 1u);
  EXPECT_EQ(c_.node(2).Term(), term_ + 8);
  // A second such answer right away changes nothing.
  resp.term = term_ + 20;
  ASSERT_TRUE(c_.node(1).Step(resp).ok());
  EXPECT_EQ(c_.node(1).Term(), term_ + 8);
  EXPECT_EQ(c_.node(1).Status().role, Role::kLeader);
}

TEST_F(RaftLease, ATermFarAboveOursIsRefusedAsMalformed) {
  Message hb = FromHostile(MessageType::kHeartbeat, 2, term_ + (uint64_t{1} << 40));
  absl::Status s = c_.node(2).Step(hb);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("message.term"), std::string::npos) << s;
  EXPECT_EQ(c_.node(2).Term(), term_);
}

}  // namespace
}  // namespace qbox::raft::testing

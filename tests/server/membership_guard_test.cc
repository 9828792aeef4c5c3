// G2 in the consensus core's hands (node/server/membership_guard.h): what a
// follower lets a leader do to the membership, decided by the charter this
// node applied, on a real state machine with a real three-site charter.
#include "node/server/membership_guard.h"

#include <string>

#include "tests/mailbox/guard_test_util.h"

namespace qbox::server {
namespace {

using mailbox::MembershipChange;

class MembershipGuardTest : public mailbox::testing::GuardMailboxTest {
 protected:
  void SetUp() override {
    GuardMailboxTest::SetUp();
    ASSERT_TRUE(Genesis(TestCharter()).ok());
    before_.voters = {1, 2, 3};
  }

  // Records `id` of `site` as a learner in the charter, as applying the
  // add-learner entry does.
  void AddLearner(uint64_t id, const std::string& site) {
    v1::CharterNode node;
    node.set_id(id);
    node.set_site(site);
    node.set_name("n" + std::to_string(id));
    node.set_address("127.0.0.1:1");
    MembershipChange change;
    change.kind = MembershipChange::Kind::kAddLearner;
    change.node = id;
    change.context = node.SerializeAsString();
    ASSERT_TRUE(sm_->ApplyMembership(++index_, change).ok());
    before_.learners.push_back(id);
  }

  absl::Status Allows(raft::ConfChange::Kind kind, uint64_t node) {
    raft::ConfChange change;
    change.kind = kind;
    change.node = node;
    return CharterAllowsMembershipChange(*sm_, change, before_);
  }

  raft::ConfState before_;
};

TEST_F(MembershipGuardTest, APromotionThatWouldGiveOneSiteAMajorityOfVotersIsRefused) {
  AddLearner(4, "site-a");
  AddLearner(5, "site-a");
  // 2 of 4 voters is no majority.
  ASSERT_TRUE(Allows(raft::ConfChange::Kind::kPromoteLearner, 4).ok());
  MembershipChange promote;
  promote.kind = MembershipChange::Kind::kPromoteLearner;
  promote.node = 4;
  ASSERT_TRUE(sm_->ApplyMembership(++index_, promote).ok());
  before_.voters.push_back(4);
  // 3 of 5 would be: whatever the leader sends, this node does not follow.
  absl::Status refused = Allows(raft::ConfChange::Kind::kPromoteLearner, 5);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("site-a"), absl::string_view::npos) << refused;
}

TEST_F(MembershipGuardTest, TwoPromotionsInOneBatchAreJudgedByTheConfigurationTheyProduce) {
  AddLearner(4, "site-a");
  AddLearner(5, "site-a");
  // The core hands the guard the configuration with the earlier changes of
  // the same AppendEntries already in it; the charter has applied neither
  // promotion yet, so judging against the charter alone would pass both.
  ASSERT_TRUE(Allows(raft::ConfChange::Kind::kPromoteLearner, 4).ok());
  raft::ConfChange first;
  first.kind = raft::ConfChange::Kind::kPromoteLearner;
  first.node = 4;
  ASSERT_TRUE(first.ApplyTo(&before_));
  absl::Status refused = Allows(raft::ConfChange::Kind::kPromoteLearner, 5);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("site 'site-a' would hold 3 of 5"), absl::string_view::npos)
      << refused;
}

TEST_F(MembershipGuardTest, AVoterTheCharterDoesNotListBlocksFurtherPromotions) {
  AddLearner(4, "site-b");
  // A configuration a hostile leader got a follower to hold earlier: node 9
  // votes without being in the charter. Nothing more is promoted on top.
  before_.voters.push_back(9);
  absl::Status refused = Allows(raft::ConfChange::Kind::kPromoteLearner, 4);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("node 9 would vote"), absl::string_view::npos) << refused;
}

TEST_F(MembershipGuardTest, AChangeThatDoesNotFitIsLeftToTheCore) {
  // Promoting a voter does not fit the configuration: the core refuses it
  // with its own message, the charter has nothing to add.
  EXPECT_TRUE(Allows(raft::ConfChange::Kind::kPromoteLearner, 1).ok());
}

TEST_F(MembershipGuardTest, PromotingANodeTheCharterDoesNotListIsRefused) {
  before_.learners.push_back(9);  // a learner of the raft configuration only
  absl::Status refused = Allows(raft::ConfChange::Kind::kPromoteLearner, 9);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("does not list"), absl::string_view::npos) << refused;
}

TEST_F(MembershipGuardTest, RemovingAVoterNeedsTheExecutedProposalRemovingALearnerDoesNot) {
  absl::Status refused = Allows(raft::ConfChange::Kind::kRemoveNode, 2);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_NE(refused.message().find("executed proposal"), absl::string_view::npos) << refused;

  AddLearner(4, "site-b");
  EXPECT_TRUE(Allows(raft::ConfChange::Kind::kRemoveNode, 4).ok());
  // Adding learners is not the charter's to refuse here (Admin checks the
  // site before proposing it).
  EXPECT_TRUE(Allows(raft::ConfChange::Kind::kAddLearner, 6).ok());
}

}  // namespace
}  // namespace qbox::server

// Admin through real stubs over mutual TLS against a single-node cluster.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/service_test_fixture.h"

namespace qbox::server::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using AS = v1::Admin::Stub;

TEST_F(ServiceTest, ClusterStatusShowsThisNodeAsTheOneLeader) {
  v1::GetClusterStatusRequest req;
  v1::GetClusterStatusResponse status;
  grpc::Status s = Call(*admin_, &AS::GetClusterStatus, req, &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.leader(), "site-a/n1");
  EXPECT_GT(status.term(), 0u);
  ASSERT_EQ(status.nodes_size(), 1);
  const v1::NodeStatus& me = status.nodes(0);
  EXPECT_EQ(me.site(), "site-a");
  EXPECT_EQ(me.node_id(), "n1");
  EXPECT_EQ(me.role(), v1::NODE_ROLE_LEADER);
  EXPECT_EQ(me.term(), status.term());
  EXPECT_GT(me.commit_index(), 0u);
  EXPECT_EQ(me.applied_index(), me.commit_index());
  EXPECT_TRUE(me.reachable());
  EXPECT_EQ(me.alarms_size(), 0);
}

TEST_F(ServiceTest, AccountsAreCreatedListedAndValidated) {
  CreateAccount("zoe", 1 << 20, 100);
  CreateAccount("adam");

  v1::ListAccountsResponse accounts;
  ASSERT_TRUE(Call(*admin_, &AS::ListAccounts, v1::ListAccountsRequest(), &accounts).ok());
  ASSERT_EQ(accounts.accounts_size(), 2);
  EXPECT_EQ(accounts.accounts(0).account(), "adam");
  EXPECT_EQ(accounts.accounts(1).account(), "zoe");
  EXPECT_EQ(accounts.accounts(1).quota_bytes(), 1u << 20);
  EXPECT_EQ(accounts.accounts(1).quota_messages(), 100u);

  const auto before = Digest();
  const std::string accounts_before = Accounts();
  const uint64_t proposals = node_->runtime()->Status().proposals;
  v1::CreateAccountRequest bad;
  bad.set_account("with\ncontrol");
  v1::CreateAccountResponse created;
  grpc::Status s = Call(*admin_, &AS::CreateAccount, bad, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("account"));
  bad.set_account("big");
  bad.set_max_message_bytes(1ull << 40);
  s = Call(*admin_, &AS::CreateAccount, bad, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("max_message_bytes"));
  EXPECT_EQ(Digest(), before);
  EXPECT_EQ(node_->runtime()->Status().proposals, proposals);

  // A second account of the same name is refused by the state machine.
  v1::CreateAccountRequest again;
  again.set_account("zoe");
  s = Call(*admin_, &AS::CreateAccount, again, &created);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
  // The state machine refused it: the accounts are as they were, and the
  // attempt is in the audit log (G5), which is the only thing that changed.
  EXPECT_EQ(Accounts(), accounts_before);
  EXPECT_NE(LastAuditDetail().find(": refused: "), std::string::npos) << LastAuditDetail();

  v1::SetQuotaRequest quota;
  quota.set_account("nobody");
  v1::SetQuotaResponse quota_resp;
  s = Call(*admin_, &AS::SetQuota, quota, &quota_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(Accounts(), accounts_before);
  EXPECT_NE(LastAuditDetail().find(": refused: "), std::string::npos) << LastAuditDetail();
}

TEST_F(ServiceTest, OnlyAdminsMayCallAdmin) {
  const auto before = Digest();
  for (const guard::PemCredential* wrong : {&credentials_.frontend, &credentials_.node}) {
    auto stub = v1::Admin::NewStub(node_->Channel(*wrong));
    v1::CreateAccountRequest req;
    req.set_account("mallory");
    v1::CreateAccountResponse resp;
    grpc::Status s = Call(*stub, &AS::CreateAccount, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), HasSubstr("'admin'"));
    v1::GetClusterStatusResponse status;
    EXPECT_EQ(
        Call(*stub, &AS::GetClusterStatus, v1::GetClusterStatusRequest(), &status).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(Digest(), before);
}

TEST_F(ServiceTest, LeadershipTransferNamesItsTarget) {
  v1::TransferLeadershipRequest req;
  v1::TransferLeadershipResponse resp;
  req.set_target("n1");
  grpc::Status s = Call(*admin_, &AS::TransferLeadership, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("target"));

  req.set_target("site-z/n9");
  s = Call(*admin_, &AS::TransferLeadership, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("site-z/n9 is not in the cluster configuration"));

  // A single voter has nobody to hand over to.
  req.set_target("");
  s = Call(*admin_, &AS::TransferLeadership, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();

  // Transferring to itself is a no-op that reports the leader.
  req.set_target("site-a/n1");
  s = Call(*admin_, &AS::TransferLeadership, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.leader(), "site-a/n1");
}

TEST_F(ServiceTest, MembershipChangesNeedAConfiguredNode) {
  const uint64_t proposals = node_->runtime()->Status().proposals;
  v1::AddLearnerRequest add;
  add.set_site("site-d");
  add.set_node_id("n4");
  v1::AddLearnerResponse added;
  grpc::Status s = Call(*admin_, &AS::AddLearner, add, &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "site-d/n4 is not in the cluster configuration");

  add.set_site("");
  s = Call(*admin_, &AS::AddLearner, add, &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), StartsWith("site"));

  v1::PromoteLearnerRequest promote;
  promote.set_site("site-a");
  promote.set_node_id("n7");
  v1::PromoteLearnerResponse promoted;
  s = Call(*admin_, &AS::PromoteLearner, promote, &promoted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);

  // n1 is already a voter: the core refuses the change.
  add.set_site("site-a");
  add.set_node_id("n1");
  s = Call(*admin_, &AS::AddLearner, add, &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_EQ(node_->runtime()->Status().proposals, proposals);
  EXPECT_EQ(node_->runtime()->Status().raft.conf.voters, std::vector<raft::NodeId>{1});
}

}  // namespace
}  // namespace qbox::server::testing

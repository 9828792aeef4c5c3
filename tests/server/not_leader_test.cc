// A node that is not the leader: node 2 of a two-voter cluster whose other
// voter (node 1) never answers. Writes are refused with UNAVAILABLE and a
// LeaderHint in the status details, first with no leader known (empty hint:
// retry later, anywhere), then, once node 1's heartbeat arrived, pointing at
// node 1. Linearizable reads wait for a leader that never confirms them;
// stale reads are served locally.
#include <chrono>
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/raft/types.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "qbox/v1/errors.pb.h"
#include "qbox/v1/mailstore.grpc.pb.h"
#include "tests/server/in_process_node.h"

namespace qbox::server::testing {
namespace {

using ::testing::HasSubstr;

class NotLeaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("not-leader-test");
    ASSERT_FALSE(dir_.empty());
    auto credentials = SiteCredentials::Create(dir_ + "/credentials");
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    credentials_ = *credentials;
    InProcessNodeOptions options;
    options.id = 2;
    options.voters = {1, 2};
    options.directory = {{1, "site-a", "n1", "127.0.0.1:7101"},
                         {2, "site-a", "n2", "127.0.0.1:7102"}};
    // An election timeout far beyond the test: node 2 stays a follower and
    // keeps whatever leader it last heard of.
    options.election_ticks = 100000;
    auto node = InProcessNode::Start(dir_ + "/node", credentials_, options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    mail_ = v1::MailStore::NewStub(node_->Channel(credentials_.frontend));
    admin_ = v1::Admin::NewStub(node_->Channel(credentials_.admin));
  }

  void TearDown() override {
    mail_.reset();
    admin_.reset();
    node_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  grpc::Status Append(absl::Duration timeout = absl::Seconds(10)) {
    v1::AppendMessageRequest req;
    req.set_account("alice");
    req.set_mailbox("INBOX");
    req.set_body("hello");
    v1::AppendMessageResponse resp;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    return mail_->AppendMessage(&context, req, &resp);
  }

  // Node 1 tells node 2 that it leads term 1.
  void HeartbeatFromNode1() {
    raft::Message heartbeat;
    heartbeat.type = raft::MessageType::kHeartbeat;
    heartbeat.from = 1;
    heartbeat.to = 2;
    heartbeat.term = 1;
    node_->runtime()->Deliver({heartbeat});
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (node_->runtime()->leader() != 1 && absl::Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(node_->runtime()->leader(), 1u);
  }

  std::string dir_;
  SiteCredentials credentials_;
  std::unique_ptr<InProcessNode> node_;
  std::unique_ptr<v1::MailStore::Stub> mail_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

TEST_F(NotLeaderTest, WriteWithNoKnownLeaderCarriesAnEmptyHint) {
  ASSERT_EQ(node_->runtime()->leader(), raft::kNoNode);
  grpc::Status s = Append();
  ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("no leader is known"));
  v1::LeaderHint hint;
  ASSERT_TRUE(hint.ParseFromString(s.error_details()));
  EXPECT_EQ(hint.leader_id(), 0u);
  EXPECT_EQ(hint.leader_name(), "");
  EXPECT_EQ(hint.leader_address(), "");
}

TEST_F(NotLeaderTest, WriteOnAFollowerPointsAtTheLeader) {
  HeartbeatFromNode1();
  const auto digest = node_->mailbox()->Digest();
  ASSERT_TRUE(digest.ok()) << digest.status();
  grpc::Status s = Append();
  ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("site-a/n1 at 127.0.0.1:7101"));
  v1::LeaderHint hint;
  ASSERT_FALSE(s.error_details().empty());
  ASSERT_TRUE(hint.ParseFromString(s.error_details()));
  EXPECT_EQ(hint.leader_id(), 1u);
  EXPECT_EQ(hint.leader_name(), "site-a/n1");
  EXPECT_EQ(hint.leader_address(), "127.0.0.1:7101");
  EXPECT_EQ(*node_->mailbox()->Digest(), *digest);

  // Admin writes that must run on the leader say the same.
  v1::TransferLeadershipRequest transfer;
  v1::TransferLeadershipResponse transferred;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  s = admin_->TransferLeadership(&context, transfer, &transferred);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  ASSERT_TRUE(hint.ParseFromString(s.error_details()));
  EXPECT_EQ(hint.leader_name(), "site-a/n1");
}

TEST_F(NotLeaderTest, LinearizableReadWaitsForTheLeaderButStaleReadDoesNot) {
  HeartbeatFromNode1();
  // The ReadIndex request goes to node 1, which never answers.
  v1::GetChangesRequest req;
  req.set_account("alice");
  req.set_mailbox("INBOX");
  v1::GetChangesResponse resp;
  {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Milliseconds(300)));
    grpc::Status s = mail_->GetChanges(&context, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  }
  // A stale read answers from local state at once: no such account here.
  req.set_stale_read_ok(true);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status s = mail_->GetChanges(&context, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("account"));
}

TEST_F(NotLeaderTest, ClusterStatusFromAFollower) {
  HeartbeatFromNode1();
  v1::GetClusterStatusResponse status;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status s = admin_->GetClusterStatus(&context, v1::GetClusterStatusRequest(), &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.leader(), "site-a/n1");
  EXPECT_EQ(status.term(), 1u);
  ASSERT_EQ(status.nodes_size(), 2);
  EXPECT_EQ(status.nodes(0).node_id(), "n2");
  EXPECT_EQ(status.nodes(0).role(), v1::NODE_ROLE_FOLLOWER);
  EXPECT_TRUE(status.nodes(0).reachable());
  EXPECT_EQ(status.nodes(1).node_id(), "n1");
  EXPECT_EQ(status.nodes(1).role(), v1::NODE_ROLE_LEADER);
  EXPECT_EQ(status.nodes(1).address(), "127.0.0.1:7101");
  EXPECT_FALSE(status.nodes(1).reachable());  // a follower cannot tell
}

}  // namespace
}  // namespace qbox::server::testing

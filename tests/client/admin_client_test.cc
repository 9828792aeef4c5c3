// AdminClient runs through the same retry loop as Client: check that it
// reaches the Admin service, follows hints and keys its creates.
#include "qbox/admin_client.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/fake_node.h"
#include "tests/client/test_credentials.h"

namespace qbox {
namespace {

using testing::FakeNode;
using ::testing::SizeIs;

class AdminClientTest : public ::testing::Test {
 protected:
  testing::TestCredentials credentials_;
};

TEST_F(AdminClientTest, GetsClusterStatus) {
  FakeNode node(credentials_);
  absl::StatusOr<std::unique_ptr<AdminClient>> admin =
      AdminClient::Open(credentials_.AdminOptions({node.address()}));
  ASSERT_TRUE(admin.ok()) << admin.status();
  absl::StatusOr<v1::GetClusterStatusResponse> status =
      (*admin)->GetClusterStatus(v1::GetClusterStatusRequest());
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->leader(), "site-a/n1");
  EXPECT_EQ(status->term(), 3u);
  EXPECT_EQ(node.admin().log().Calls("GetClusterStatus"), 1);
}

TEST_F(AdminClientTest, CreateAccountFollowsTheHintWithOneKey) {
  FakeNode follower(credentials_);
  FakeNode leader(credentials_);
  follower.admin().SetUnaryAnswer(
      [&](grpc::ServerContext*, int) { return testing::NotLeader(leader.address()); });
  absl::StatusOr<std::unique_ptr<AdminClient>> admin =
      AdminClient::Open(credentials_.AdminOptions({follower.address()}));
  ASSERT_TRUE(admin.ok()) << admin.status();

  v1::CreateAccountRequest create;
  create.set_account("alice");
  absl::StatusOr<v1::CreateAccountResponse> created = (*admin)->CreateAccount(create);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->account(), "alice");
  ASSERT_THAT(follower.admin().log().Keys("CreateAccount"), SizeIs(1));
  ASSERT_THAT(leader.admin().log().Keys("CreateAccount"), SizeIs(1));
  EXPECT_EQ(follower.admin().log().Keys("CreateAccount")[0],
            leader.admin().log().Keys("CreateAccount")[0]);
  EXPECT_EQ((*admin)->PreferredEndpoint(), leader.address());
}

}  // namespace
}  // namespace qbox

// What is retried and what is not, and idempotency keys that make retries
// safe: checked on what the server actually received.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qbox/client.h"
#include "tests/client/fake_node.h"
#include "tests/client/test_credentials.h"

namespace qbox {
namespace {

using ::testing::Each;
using ::testing::Eq;
using testing::FakeNode;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

v1::AppendMessageRequest SomeAppend() {
  v1::AppendMessageRequest request;
  request.set_account("alice");
  request.set_mailbox("INBOX");
  request.set_body("Subject: hi\r\n\r\nhello\r\n");
  return request;
}

class ClientRetryPolicyTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> OpenClient(const std::string& endpoint) {
    absl::StatusOr<std::unique_ptr<Client>> client =
        Client::Open(credentials_.FrontendOptions({endpoint}));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  testing::TestCredentials credentials_;
};

TEST_F(ClientRetryPolicyTest, RetriedAppendSendsTheSameGeneratedKeyEveryTime) {
  FakeNode node(credentials_);
  // Three unavailable answers (no hint), then success.
  node.mailstore().SetUnaryAnswer([](grpc::ServerContext*, int call) {
    if (call <= 3) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "electing");
    return grpc::Status::OK;
  });
  std::unique_ptr<Client> client = OpenClient(node.address());
  ASSERT_NE(client, nullptr);

  absl::StatusOr<v1::AppendMessageResponse> appended = client->AppendMessage(SomeAppend());
  ASSERT_TRUE(appended.ok()) << appended.status();
  std::vector<std::string> keys = node.mailstore().log().Keys("AppendMessage");
  ASSERT_THAT(keys, SizeIs(4));
  EXPECT_THAT(keys[0], MatchesRegex("[0-9a-f]{32}"));
  EXPECT_THAT(keys, Each(Eq(keys[0])));

  // The next logical call gets a key of its own.
  ASSERT_TRUE(client->AppendMessage(SomeAppend()).ok());
  keys = node.mailstore().log().Keys("AppendMessage");
  ASSERT_THAT(keys, SizeIs(5));
  EXPECT_NE(keys[4], keys[0]);
}

TEST_F(ClientRetryPolicyTest, KeyFollowsTheLeaderHintToo) {
  FakeNode follower(credentials_);
  FakeNode leader(credentials_);
  follower.mailstore().SetUnaryAnswer(
      [&](grpc::ServerContext*, int) { return testing::NotLeader(leader.address()); });
  std::unique_ptr<Client> client = OpenClient(follower.address());
  ASSERT_NE(client, nullptr);

  v1::CreateMailboxRequest create;
  create.set_account("alice");
  create.set_name("Archive");
  ASSERT_TRUE(client->CreateMailbox(create).ok());
  std::vector<std::string> at_follower = follower.mailstore().log().Keys("CreateMailbox");
  std::vector<std::string> at_leader = leader.mailstore().log().Keys("CreateMailbox");
  ASSERT_THAT(at_follower, SizeIs(1));
  ASSERT_THAT(at_leader, SizeIs(1));
  EXPECT_FALSE(at_leader[0].empty());
  EXPECT_EQ(at_follower[0], at_leader[0]);
}

TEST_F(ClientRetryPolicyTest, CallersKeyIsSentUnchanged) {
  FakeNode node(credentials_);
  node.mailstore().SetUnaryAnswer([](grpc::ServerContext*, int call) {
    if (call == 1) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "electing");
    return grpc::Status::OK;
  });
  std::unique_ptr<Client> client = OpenClient(node.address());
  ASSERT_NE(client, nullptr);

  v1::AppendMessageRequest append = SomeAppend();
  append.set_idempotency_key("lmtp-queue-id-4711");
  ASSERT_TRUE(client->AppendMessage(append).ok());
  EXPECT_THAT(node.mailstore().log().Keys("AppendMessage"),
              ::testing::ElementsAre("lmtp-queue-id-4711", "lmtp-queue-id-4711"));
}

class NonRetryableCodeTest : public ClientRetryPolicyTest,
                             public ::testing::WithParamInterface<grpc::StatusCode> {};

TEST_P(NonRetryableCodeTest, IsReturnedAtOnceWithCodeAndMessage) {
  FakeNode node(credentials_);
  const grpc::StatusCode code = GetParam();
  node.mailstore().SetUnaryAnswer([code](grpc::ServerContext*, int) {
    return grpc::Status(code, "mailbox: \"Nope\" is not what you think");
  });
  std::unique_ptr<Client> client = OpenClient(node.address());
  ASSERT_NE(client, nullptr);

  absl::StatusOr<v1::AppendMessageResponse> appended = client->AppendMessage(SomeAppend());
  ASSERT_FALSE(appended.ok());
  EXPECT_EQ(static_cast<int>(appended.status().code()), static_cast<int>(code));
  EXPECT_EQ(appended.status().message(), "mailbox: \"Nope\" is not what you think");
  EXPECT_EQ(node.mailstore().log().Calls("AppendMessage"), 1);

  absl::StatusOr<v1::ListMailboxesResponse> listed =
      client->ListMailboxes(v1::ListMailboxesRequest());
  EXPECT_EQ(static_cast<int>(listed.status().code()), static_cast<int>(code));
  EXPECT_EQ(node.mailstore().log().Calls("ListMailboxes"), 1);
}

INSTANTIATE_TEST_SUITE_P(
    Codes, NonRetryableCodeTest,
    ::testing::Values(grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::NOT_FOUND,
                      grpc::StatusCode::FAILED_PRECONDITION, grpc::StatusCode::RESOURCE_EXHAUSTED,
                      grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::ALREADY_EXISTS,
                      grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::INTERNAL,
                      grpc::StatusCode::ABORTED));

TEST_F(ClientRetryPolicyTest, NonPositiveCallTimeoutIsRejectedBeforeSending) {
  FakeNode node(credentials_);
  std::unique_ptr<Client> client = OpenClient(node.address());
  ASSERT_NE(client, nullptr);
  CallOptions call;
  call.timeout = absl::ZeroDuration();
  absl::StatusOr<v1::AppendMessageResponse> appended = client->AppendMessage(SomeAppend(), call);
  EXPECT_EQ(appended.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(appended.status().message(), ::testing::HasSubstr("timeout"));
  EXPECT_EQ(node.mailstore().log().TotalCalls(), 0);
}

}  // namespace
}  // namespace qbox

// Finding the leader: hints followed and remembered, dead or silent nodes
// skipped, and every call back by its deadline whatever the cluster does.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qbox/client.h"
#include "tests/client/fake_node.h"
#include "tests/client/test_credentials.h"

namespace qbox {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;
using testing::FakeNode;
using ::testing::HasSubstr;
using testing::NotLeader;

// Scheduling noise allowed on top of a deadline.
constexpr absl::Duration kSlack = absl::Milliseconds(500);

v1::AppendMessageRequest SomeAppend() {
  v1::AppendMessageRequest request;
  request.set_account("alice");
  request.set_mailbox("INBOX");
  request.set_body("Subject: hi\r\n\r\nhello\r\n");
  return request;
}

std::unique_ptr<Client> OpenClient(const ClientOptions& options) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

class ClientLeaderTest : public ::testing::Test {
 protected:
  testing::TestCredentials credentials_;
};

TEST_F(ClientLeaderTest, FollowsLeaderHintAndRemembersTheLeader) {
  FakeNode follower(credentials_);
  FakeNode leader(credentials_);
  follower.mailstore().SetUnaryAnswer(
      [&](grpc::ServerContext*, int) { return NotLeader(leader.address()); });

  // Only the follower is configured: the leader is learned from the hint.
  std::unique_ptr<Client> client = OpenClient(credentials_.FrontendOptions({follower.address()}));
  ASSERT_NE(client, nullptr);
  absl::StatusOr<v1::AppendMessageResponse> first = client->AppendMessage(SomeAppend());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->uid(), 1u);
  EXPECT_EQ(follower.mailstore().log().Calls("AppendMessage"), 1);
  EXPECT_EQ(leader.mailstore().log().Calls("AppendMessage"), 1);
  EXPECT_EQ(client->PreferredEndpoint(), leader.address());

  // Later calls go straight to the leader.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client->AppendMessage(SomeAppend()).ok());
  ASSERT_TRUE(client->ListMailboxes(v1::ListMailboxesRequest()).ok());
  EXPECT_EQ(follower.mailstore().log().TotalCalls(), 1);
  EXPECT_EQ(leader.mailstore().log().Calls("AppendMessage"), 4);
}

TEST_F(ClientLeaderTest, HintWithoutAddressBacksOffAndTriesTheNextNode) {
  FakeNode electing(credentials_);
  FakeNode leader(credentials_);
  electing.mailstore().SetUnaryAnswer([](grpc::ServerContext*, int) { return NotLeader(""); });

  std::unique_ptr<Client> client =
      OpenClient(credentials_.FrontendOptions({electing.address(), leader.address()}));
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->AppendMessage(SomeAppend()).ok());
  EXPECT_EQ(electing.mailstore().log().Calls("AppendMessage"), 1);
  EXPECT_EQ(leader.mailstore().log().Calls("AppendMessage"), 1);
  EXPECT_EQ(client->PreferredEndpoint(), leader.address());
}

TEST_F(ClientLeaderTest, RefusedConnectionMovesToTheNextEndpoint) {
  FakeNode alive(credentials_);
  std::unique_ptr<Client> client =
      OpenClient(credentials_.FrontendOptions({testing::RefusingAddress(), alive.address()}));
  ASSERT_NE(client, nullptr);
  absl::StatusOr<v1::AppendMessageResponse> appended = client->AppendMessage(SomeAppend());
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(alive.mailstore().log().Calls("AppendMessage"), 1);
  EXPECT_EQ(client->PreferredEndpoint(), alive.address());
}

TEST_F(ClientLeaderTest, NodeThatHangsInTheHandshakeCostsAtMostTheConnectTimeout) {
  testing::SilentListener silent;
  FakeNode alive(credentials_);
  ClientOptions options = credentials_.FrontendOptions({silent.address(), alive.address()});
  options.connect_timeout = absl::Milliseconds(300);
  std::unique_ptr<Client> client = OpenClient(options);
  ASSERT_NE(client, nullptr);

  const absl::Time start = absl::Now();
  absl::StatusOr<v1::AppendMessageResponse> appended = client->AppendMessage(SomeAppend());
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_LT(elapsed, options.connect_timeout + absl::Seconds(1));
  EXPECT_EQ(alive.mailstore().log().Calls("AppendMessage"), 1);
}

TEST_F(ClientLeaderTest, UnavailableWithoutHintFailsNoLaterThanTheDeadline) {
  FakeNode down(credentials_);
  down.mailstore().SetUnaryAnswer([](grpc::ServerContext*, int) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "shutting down");
  });
  std::unique_ptr<Client> client = OpenClient(credentials_.FrontendOptions({down.address()}));
  ASSERT_NE(client, nullptr);

  CallOptions call;
  call.timeout = absl::Milliseconds(600);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::AppendMessageResponse> appended = client->AppendMessage(SomeAppend(), call);
  const absl::Duration elapsed = absl::Now() - start;
  ASSERT_FALSE(appended.ok());
  EXPECT_THAT(appended.status().code(),
              AnyOf(Eq(absl::StatusCode::kUnavailable), Eq(absl::StatusCode::kDeadlineExceeded)));
  EXPECT_THAT(appended.status().message(), HasSubstr("shutting down"));
  EXPECT_THAT(appended.status().message(), HasSubstr(down.address()));
  EXPECT_LE(elapsed, *call.timeout + kSlack);
  // It did retry (back-off is 10-100 ms), it did not give up at once.
  EXPECT_GE(down.mailstore().log().Calls("AppendMessage"), 3);
}

TEST_F(ClientLeaderTest, NodesPointingAtEachOtherDoNotSpinPastTheDeadline) {
  FakeNode a(credentials_);
  FakeNode b(credentials_);
  a.mailstore().SetUnaryAnswer([&](grpc::ServerContext*, int) { return NotLeader(b.address()); });
  b.mailstore().SetUnaryAnswer([&](grpc::ServerContext*, int) { return NotLeader(a.address()); });
  std::unique_ptr<Client> client = OpenClient(credentials_.FrontendOptions({a.address()}));
  ASSERT_NE(client, nullptr);

  CallOptions call;
  call.timeout = absl::Milliseconds(500);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::AppendMessageResponse> appended = client->AppendMessage(SomeAppend(), call);
  EXPECT_LE(absl::Now() - start, *call.timeout + kSlack);
  EXPECT_EQ(appended.status().code(), absl::StatusCode::kUnavailable);
  // Back-off between repeated hints: bounded attempts, not a busy loop
  // (0.5 s / 5 ms minimum wait would be 100).
  const int attempts =
      a.mailstore().log().Calls("AppendMessage") + b.mailstore().log().Calls("AppendMessage");
  EXPECT_GE(attempts, 3);
  EXPECT_LE(attempts, 60);
}

TEST_F(ClientLeaderTest, NodeThatNeverAnswersEndsTheCallAtItsDeadline) {
  FakeNode stuck(credentials_);
  stuck.mailstore().SetUnaryAnswer([](grpc::ServerContext* context, int) {
    // Holds the call until the client's deadline cancels it.
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!context->IsCancelled() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
    return grpc::Status::OK;
  });
  std::unique_ptr<Client> client = OpenClient(credentials_.FrontendOptions({stuck.address()}));
  ASSERT_NE(client, nullptr);

  CallOptions call;
  call.timeout = absl::Milliseconds(400);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::AppendMessageResponse> appended = client->AppendMessage(SomeAppend(), call);
  EXPECT_LE(absl::Now() - start, *call.timeout + kSlack);
  EXPECT_EQ(appended.status().code(), absl::StatusCode::kDeadlineExceeded);
  // The header's promise: the node it came from and how hard we tried.
  EXPECT_THAT(appended.status().message(), HasSubstr(stuck.address()));
  EXPECT_THAT(appended.status().message(), HasSubstr("1 attempt"));
  EXPECT_EQ(stuck.mailstore().log().Calls("AppendMessage"), 1);
}

TEST_F(ClientLeaderTest, ManyThreadsShareOneClient) {
  FakeNode follower(credentials_);
  FakeNode leader(credentials_);
  follower.mailstore().SetUnaryAnswer(
      [&](grpc::ServerContext*, int) { return NotLeader(leader.address()); });
  std::unique_ptr<Client> client =
      OpenClient(credentials_.FrontendOptions({follower.address(), leader.address()}));
  ASSERT_NE(client, nullptr);

  constexpr int kThreads = 8;
  constexpr int kAppendsPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAppendsPerThread; ++i) {
        if (!client->AppendMessage(SomeAppend()).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<std::string> keys = leader.mailstore().log().Keys("AppendMessage");
  EXPECT_EQ(keys.size(), static_cast<size_t>(kThreads * kAppendsPerThread));
  // Every logical append had its own key.
  EXPECT_EQ(absl::flat_hash_set<std::string>(keys.begin(), keys.end()).size(), keys.size());
  // At most the calls that started before the leader was learned went to
  // the follower.
  EXPECT_LE(follower.mailstore().log().TotalCalls(), kThreads);
}

}  // namespace
}  // namespace qbox

// FetchMessages streams: messages arrive in order, one at a time while the
// server is still sending, and a stream that broke after delivering some
// is never replayed.
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qbox/client.h"
#include "tests/client/fake_node.h"
#include "tests/client/test_credentials.h"

namespace qbox {
namespace {

using ::testing::ElementsAre;
using testing::FakeNode;

v1::FetchMessagesResponse Message(uint32_t uid) {
  v1::FetchMessagesResponse response;
  response.set_uidvalidity(7);
  response.mutable_message()->set_uid(uid);
  response.mutable_message()->set_body("body of " + std::to_string(uid));
  return response;
}

// Sends UIDs 1..count, then returns `then`.
testing::FetchAnswer SendThen(uint32_t count, grpc::Status then) {
  return
      [count, then](grpc::ServerContext*, grpc::ServerWriter<v1::FetchMessagesResponse>* writer) {
        for (uint32_t uid = 1; uid <= count; ++uid) {
          if (!writer->Write(Message(uid)))
            return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
        }
        return then;
      };
}

v1::FetchMessagesRequest FetchAll() {
  v1::FetchMessagesRequest request;
  request.set_account("alice");
  request.set_mailbox("INBOX");
  request.set_uid_set("1:*");
  request.set_include_body(true);
  return request;
}

class ClientFetchTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> OpenClient(std::vector<std::string> endpoints) {
    absl::StatusOr<std::unique_ptr<Client>> client =
        Client::Open(credentials_.FrontendOptions(std::move(endpoints)));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  testing::TestCredentials credentials_;
};

TEST_F(ClientFetchTest, DeliversEveryMessageInOrder) {
  FakeNode node(credentials_);
  node.mailstore().SetFetchAnswer(SendThen(200, grpc::Status::OK));
  std::unique_ptr<Client> client = OpenClient({node.address()});
  ASSERT_NE(client, nullptr);

  std::vector<uint32_t> uids;
  absl::Status fetched =
      client->FetchMessages(FetchAll(), [&](const v1::FetchMessagesResponse& response) {
        EXPECT_EQ(response.message().body(), "body of " + std::to_string(response.message().uid()));
        uids.push_back(response.message().uid());
        return absl::OkStatus();
      });
  ASSERT_TRUE(fetched.ok()) << fetched;
  ASSERT_EQ(uids.size(), 200u);
  for (uint32_t i = 0; i < uids.size(); ++i) EXPECT_EQ(uids[i], i + 1);
}

TEST_F(ClientFetchTest, FirstMessageReachesTheCallerBeforeTheServerSendsTheRest) {
  FakeNode node(credentials_);
  absl::Notification first_delivered;
  // The server sends one message and waits for the caller to have it: a
  // client that buffered the whole stream would never let it continue.
  node.mailstore().SetFetchAnswer(
      [&](grpc::ServerContext*, grpc::ServerWriter<v1::FetchMessagesResponse>* writer) {
        writer->Write(Message(1));
        if (!first_delivered.WaitForNotificationWithTimeout(absl::Seconds(5))) {
          return grpc::Status(grpc::StatusCode::ABORTED, "the client did not stream");
        }
        writer->Write(Message(2));
        return grpc::Status::OK;
      });
  std::unique_ptr<Client> client = OpenClient({node.address()});
  ASSERT_NE(client, nullptr);

  std::vector<uint32_t> uids;
  absl::Status fetched =
      client->FetchMessages(FetchAll(), [&](const v1::FetchMessagesResponse& response) {
        uids.push_back(response.message().uid());
        if (response.message().uid() == 1) first_delivered.Notify();
        return absl::OkStatus();
      });
  ASSERT_TRUE(fetched.ok()) << fetched;
  EXPECT_THAT(uids, ElementsAre(1, 2));
}

TEST_F(ClientFetchTest, StreamBrokenAfterDeliveringIsNotRetried) {
  FakeNode follower(credentials_);
  FakeNode leader(credentials_);
  leader.mailstore().SetFetchAnswer(SendThen(5, grpc::Status::OK));
  follower.mailstore().SetFetchAnswer(SendThen(3, testing::NotLeader(leader.address())));
  std::unique_ptr<Client> client = OpenClient({follower.address()});
  ASSERT_NE(client, nullptr);

  std::vector<uint32_t> uids;
  absl::Status fetched =
      client->FetchMessages(FetchAll(), [&](const v1::FetchMessagesResponse& response) {
        uids.push_back(response.message().uid());
        return absl::OkStatus();
      });
  EXPECT_EQ(fetched.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(uids, ElementsAre(1, 2, 3));
  EXPECT_EQ(follower.mailstore().log().Calls("FetchMessages"), 1);
  EXPECT_EQ(leader.mailstore().log().Calls("FetchMessages"), 0);
}

TEST_F(ClientFetchTest, AStreamCutByTheDeadlineSaysWhereAndAfterHowManyAttempts) {
  FakeNode slow(credentials_);
  slow.mailstore().SetFetchAnswer(
      [](grpc::ServerContext* context, grpc::ServerWriter<v1::FetchMessagesResponse>* writer) {
        writer->Write(Message(1));
        // Holds the rest until the client's deadline cancels the stream.
        const absl::Time give_up = absl::Now() + absl::Seconds(10);
        while (!context->IsCancelled() && absl::Now() < give_up) {
          absl::SleepFor(absl::Milliseconds(5));
        }
        return grpc::Status::OK;
      });
  std::unique_ptr<Client> client = OpenClient({slow.address()});
  ASSERT_NE(client, nullptr);

  CallOptions call;
  call.timeout = absl::Milliseconds(400);
  std::vector<uint32_t> uids;
  absl::Status fetched = client->FetchMessages(
      FetchAll(),
      [&](const v1::FetchMessagesResponse& response) {
        uids.push_back(response.message().uid());
        return absl::OkStatus();
      },
      call);
  EXPECT_EQ(fetched.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(fetched.message()), ::testing::HasSubstr(slow.address()));
  EXPECT_THAT(std::string(fetched.message()), ::testing::HasSubstr("1 attempt"));
  EXPECT_THAT(uids, ElementsAre(1));
  EXPECT_EQ(slow.mailstore().log().Calls("FetchMessages"), 1);
}

TEST_F(ClientFetchTest, StreamRefusedBeforeAnyMessageFollowsTheHint) {
  FakeNode follower(credentials_);
  FakeNode leader(credentials_);
  leader.mailstore().SetFetchAnswer(SendThen(4, grpc::Status::OK));
  follower.mailstore().SetFetchAnswer(SendThen(0, testing::NotLeader(leader.address())));
  std::unique_ptr<Client> client = OpenClient({follower.address()});
  ASSERT_NE(client, nullptr);

  std::vector<uint32_t> uids;
  absl::Status fetched =
      client->FetchMessages(FetchAll(), [&](const v1::FetchMessagesResponse& response) {
        uids.push_back(response.message().uid());
        return absl::OkStatus();
      });
  ASSERT_TRUE(fetched.ok()) << fetched;
  EXPECT_THAT(uids, ElementsAre(1, 2, 3, 4));
  EXPECT_EQ(client->PreferredEndpoint(), leader.address());
}

TEST_F(ClientFetchTest, CallbackErrorStopsTheFetchAndIsReturned) {
  FakeNode node(credentials_);
  node.mailstore().SetFetchAnswer(SendThen(1000, grpc::Status::OK));
  std::unique_ptr<Client> client = OpenClient({node.address()});
  ASSERT_NE(client, nullptr);

  int seen = 0;
  absl::Status fetched = client->FetchMessages(FetchAll(), [&](const v1::FetchMessagesResponse&) {
    return ++seen == 2 ? absl::ResourceExhaustedError("front end buffer full") : absl::OkStatus();
  });
  EXPECT_EQ(fetched, absl::ResourceExhaustedError("front end buffer full"));
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(node.mailstore().log().Calls("FetchMessages"), 1);
}

TEST_F(ClientFetchTest, ServerErrorKeepsCodeAndMessage) {
  FakeNode node(credentials_);
  node.mailstore().SetFetchAnswer(SendThen(
      0, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "uid_set: \"1:x\" does not parse")));
  std::unique_ptr<Client> client = OpenClient({node.address()});
  ASSERT_NE(client, nullptr);
  absl::Status fetched = client->FetchMessages(
      FetchAll(), [](const v1::FetchMessagesResponse&) { return absl::OkStatus(); });
  EXPECT_EQ(fetched, absl::InvalidArgumentError("uid_set: \"1:x\" does not parse"));
  EXPECT_EQ(node.mailstore().log().Calls("FetchMessages"), 1);
}

}  // namespace
}  // namespace qbox

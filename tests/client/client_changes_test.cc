// Client::GetAllChanges: loops over GetChanges pages from each page's
// changes_through_modseq until has_more_changes is false, under one
// deadline, and stops where going on would be wrong.
#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qbox/client.h"
#include "tests/client/fake_node.h"
#include "tests/client/test_credentials.h"

namespace qbox {
namespace {

using ::testing::ElementsAre;
using testing::FakeNode;
using ::testing::HasSubstr;

// A mailbox whose changes are UIDs 1..total at MODSEQs 1..total: each page
// lists the next `max_changes` of them after since_modseq.
struct PagedMailbox {
  uint64_t total = 10;
  uint32_t uidvalidity = 7;

  grpc::Status Answer(const v1::GetChangesRequest& request, v1::GetChangesResponse* response) {
    {
      absl::MutexLock lock(&mutex);
      requested_since.push_back(request.since_modseq());
      requested_max.push_back(request.max_changes());
    }
    const uint64_t through = std::min(total, request.since_modseq() + request.max_changes());
    for (uint64_t modseq = request.since_modseq() + 1; modseq <= through; ++modseq) {
      v1::MessageInfo* m = response->add_changed();
      m->set_uid(static_cast<uint32_t>(modseq));
      m->set_modseq(modseq);
    }
    response->set_highest_modseq(total);
    response->set_uidvalidity(uidvalidity);
    response->set_has_more_changes(through < total);
    response->set_changes_through_modseq(through);
    return grpc::Status::OK;
  }
  std::vector<uint64_t> Since() {
    absl::MutexLock lock(&mutex);
    return requested_since;
  }

  absl::Mutex mutex;
  std::vector<uint64_t> requested_since ABSL_GUARDED_BY(mutex);
  std::vector<uint32_t> requested_max ABSL_GUARDED_BY(mutex);
};

v1::GetChangesRequest ChangesSince(uint64_t since, uint32_t max_changes) {
  v1::GetChangesRequest request;
  request.set_account("alice");
  request.set_mailbox("INBOX");
  request.set_since_modseq(since);
  request.set_max_changes(max_changes);
  return request;
}

class ClientChangesTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> OpenClient(const std::string& endpoint) {
    ClientOptions options = credentials_.FrontendOptions({endpoint});
    options.initial_backoff = absl::Milliseconds(5);
    options.max_backoff = absl::Milliseconds(20);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // GetAllChanges from `endpoint`, counting the pages handed over.
  absl::Status GetAllCountingPages(const std::string& endpoint, const v1::GetChangesRequest& request,
                                   int* pages) {
    std::unique_ptr<Client> client = OpenClient(endpoint);
    if (client == nullptr) return absl::InternalError("no client");
    return client->GetAllChanges(request, [pages](const auto&) {
      ++*pages;
      return absl::OkStatus();
    });
  }

  testing::TestCredentials credentials_;
};

TEST_F(ClientChangesTest, FollowsThePagesFromEachChangesThroughModseqToTheEnd) {
  PagedMailbox mailbox;  // outlives the server, whose handlers use it
  FakeNode node(credentials_);
  node.mailstore().SetChangesAnswer([&](const auto& request, auto* response) {
    // A client that does not advance would loop here for ever.
    if (node.mailstore().log().Calls("GetChanges") > 20) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "too many pages");
    }
    return mailbox.Answer(request, response);
  });
  std::unique_ptr<Client> client = OpenClient(node.address());
  ASSERT_NE(client, nullptr);

  std::vector<uint32_t> uids;
  int pages = 0;
  absl::Status status = client->GetAllChanges(ChangesSince(2, 3), [&](const auto& page) {
    ++pages;
    for (const v1::MessageInfo& m : page.changed()) uids.push_back(m.uid());
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_THAT(uids, ElementsAre(3, 4, 5, 6, 7, 8, 9, 10));
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(mailbox.Since(), ElementsAre(2, 5, 8));
  absl::MutexLock lock(&mailbox.mutex);
  EXPECT_THAT(mailbox.requested_max, ElementsAre(3, 3, 3));  // passed through unchanged
}

TEST_F(ClientChangesTest, RetriesAPageThatFoundNoLeaderAndGoesOnFromThere) {
  PagedMailbox mailbox;  // outlives the server, whose handlers use it
  std::atomic<int> calls{0};
  FakeNode node(credentials_);
  node.mailstore().SetChangesAnswer([&](const auto& request, auto* response) {
    if (++calls == 2) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "no leader yet");
    return mailbox.Answer(request, response);
  });
  int pages = 0;
  absl::Status status = GetAllCountingPages(node.address(), ChangesSince(0, 4), &pages);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(mailbox.Since(), ElementsAre(0, 4, 8));  // the refused call never reached it
  EXPECT_EQ(calls.load(), 4);
}

TEST_F(ClientChangesTest, AUidvalidityChangeBetweenPagesIsAbortedForAFullResync) {
  PagedMailbox mailbox;  // outlives the server, whose handlers use it
  FakeNode node(credentials_);
  node.mailstore().SetChangesAnswer([&](const auto& request, auto* response) {
    // The mailbox is deleted and re-created under its name after page 1.
    if (request.since_modseq() > 0) mailbox.uidvalidity = 8;
    return mailbox.Answer(request, response);
  });
  int pages = 0;
  absl::Status status = GetAllCountingPages(node.address(), ChangesSince(0, 4), &pages);
  EXPECT_EQ(status.code(), absl::StatusCode::kAborted) << status;
  EXPECT_THAT(status.message(), HasSubstr("UIDVALIDITY"));
  EXPECT_EQ(pages, 1);  // the page of the new mailbox is not handed over
}

TEST_F(ClientChangesTest, TheCallbacksErrorStopsTheLoop) {
  PagedMailbox mailbox;  // outlives the server, whose handlers use it
  FakeNode node(credentials_);
  node.mailstore().SetChangesAnswer(
      [&](const auto& request, auto* response) { return mailbox.Answer(request, response); });
  std::unique_ptr<Client> client = OpenClient(node.address());
  ASSERT_NE(client, nullptr);
  absl::Status status = client->GetAllChanges(
      ChangesSince(0, 4), [&](const auto&) { return absl::CancelledError("front end went away"); });
  EXPECT_EQ(status, absl::CancelledError("front end went away"));
  EXPECT_EQ(node.mailstore().log().Calls("GetChanges"), 1);
}

TEST_F(ClientChangesTest, AServerThatClaimsMoreWithoutProgressIsNotLoopedOnForEver) {
  FakeNode node(credentials_);
  node.mailstore().SetChangesAnswer([&](const auto& request, auto* response) {
    response->set_uidvalidity(7);
    response->set_has_more_changes(true);
    response->set_changes_through_modseq(request.since_modseq());
    return grpc::Status::OK;
  });
  std::unique_ptr<Client> client = OpenClient(node.address());
  ASSERT_NE(client, nullptr);
  absl::Status status =
      client->GetAllChanges(ChangesSince(5, 4), [&](const auto&) { return absl::OkStatus(); });
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_EQ(node.mailstore().log().Calls("GetChanges"), 1);
}

TEST_F(ClientChangesTest, OneDeadlineCoversEveryPage) {
  PagedMailbox mailbox;  // outlives the server, whose handlers use it
  mailbox.total = 1000;
  FakeNode node(credentials_);
  node.mailstore().SetChangesAnswer([&](const auto& request, auto* response) {
    // Two pages that use most of the deadline, then slow ones: the third
    // starts with little of the deadline left. The margins are wide so
    // that a loaded machine does not decide the outcome.
    const bool slow = node.mailstore().log().Calls("GetChanges") > 2;
    absl::SleepFor(slow ? absl::Seconds(4) : absl::Milliseconds(600));
    return mailbox.Answer(request, response);
  });
  std::unique_ptr<Client> client = OpenClient(node.address());
  ASSERT_NE(client, nullptr);
  CallOptions call;
  call.timeout = absl::Seconds(2);
  int pages = 0;
  const absl::Time start = absl::Now();
  absl::Status status = client->GetAllChanges(
      ChangesSince(0, 10),
      [&](const auto&) {
        ++pages;
        return absl::OkStatus();
      },
      call);
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  // The third page gets what is left (about 0.8 s, so about 2 s in all),
  // not two whole seconds of its own (about 3.2 s in all).
  EXPECT_LT(took, absl::Milliseconds(2800));
  EXPECT_EQ(pages, 2);
}

}  // namespace
}  // namespace qbox

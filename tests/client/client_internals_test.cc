// The library's small private parts, checked directly: endpoint syntax,
// leader hints read from status details, back-off bounds, key format.
#include <grpcpp/support/status.h>

#include "absl/container/flat_hash_set.h"
#include "client/endpoint_syntax.h"
#include "client/grpc_status_conversion.h"
#include "client/idempotency_key.h"
#include "client/retry_backoff.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qbox/v1/errors.pb.h"

namespace qbox::internal {
namespace {

TEST(EndpointSyntaxTest, AcceptsHostPortForms) {
  for (const char* good : {"127.0.0.1:7101", "localhost:1", "node-a.example:65535", "[::1]:7101"}) {
    EXPECT_TRUE(CheckEndpointSyntax(good).ok()) << good;
  }
}

TEST(EndpointSyntaxTest, RejectsEverythingElse) {
  for (const char* bad : {"", "7101", ":7101", "host:", "host:0", "host:65536", "host:+80",
                          "host:80x", "::1:80", "[::1:80", "[]:80", "ho st:80", "host:80\n"}) {
    absl::Status status = CheckEndpointSyntax(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "\"" << bad << "\"";
  }
}

TEST(GrpcStatusConversionTest, KeepsCodeAndMessage) {
  EXPECT_TRUE(ToAbslStatus(grpc::Status::OK).ok());
  EXPECT_EQ(ToAbslStatus(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "name: INBOX")),
            absl::FailedPreconditionError("name: INBOX"));
  EXPECT_EQ(ToAbslStatus(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "who?")),
            absl::UnauthenticatedError("who?"));
}

TEST(GrpcStatusConversionTest, ReadsLeaderHint) {
  v1::LeaderHint hint;
  hint.set_leader_id(3);
  hint.set_leader_name("site-c/n1");
  hint.set_leader_address("10.0.2.1:7103");
  std::optional<v1::LeaderHint> read = LeaderHintOf(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "not leader", hint.SerializeAsString()));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->leader_address(), "10.0.2.1:7103");
  EXPECT_EQ(read->leader_name(), "site-c/n1");

  EXPECT_FALSE(LeaderHintOf(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down")).has_value());
  EXPECT_FALSE(
      LeaderHintOf(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x", "\xff\xff\xff")).has_value());
}

TEST(GrpcStatusConversionTest, DropsAnAddressThatIsNotHostPort) {
  v1::LeaderHint hint;
  hint.set_leader_name("site-c/n1");
  hint.set_leader_address("evil host:80/../x");
  std::optional<v1::LeaderHint> read =
      LeaderHintOf(grpc::Status(grpc::StatusCode::UNAVAILABLE, "x", hint.SerializeAsString()));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->leader_address(), "");
  EXPECT_EQ(read->leader_name(), "site-c/n1");
}

TEST(RetryBackoffTest, OnlyUnavailableIsRetried) {
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable));
  for (int code = 0; code <= 16; ++code) {
    if (code == static_cast<int>(absl::StatusCode::kUnavailable)) continue;
    EXPECT_FALSE(IsRetryable(static_cast<absl::StatusCode>(code))) << code;
  }
}

TEST(RetryBackoffTest, GrowsWithJitterAndStaysCapped) {
  Backoff backoff(absl::Milliseconds(10), absl::Milliseconds(80));
  absl::Duration bound = absl::Milliseconds(10);
  for (int i = 0; i < 20; ++i) {
    const absl::Duration wait = backoff.Next();
    EXPECT_GE(wait, bound / 2) << i;
    EXPECT_LE(wait, bound) << i;
    bound = std::min(bound * 2, absl::Milliseconds(80));
  }
}

TEST(IdempotencyKeyTest, IsRandomHex) {
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = NewIdempotencyKey();
    EXPECT_THAT(key, ::testing::MatchesRegex("[0-9a-f]{32}"));
    seen.insert(key);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(IdempotencyKeyTest, EnsureKeepsTheCallersKey) {
  // Stands in for any request with `optional string idempotency_key`.
  struct FakeRequest {
    bool has = false;
    std::string key;
    bool has_idempotency_key() const { return has; }
    const std::string& idempotency_key() const { return key; }
    void set_idempotency_key(std::string k) {
      has = true;
      key = std::move(k);
    }
  };
  FakeRequest unset;
  EnsureIdempotencyKey(unset);
  EXPECT_EQ(unset.key.size(), 32u);
  FakeRequest empty{true, ""};
  EnsureIdempotencyKey(empty);
  EXPECT_EQ(empty.key.size(), 32u);
  FakeRequest given{true, "mine"};
  EnsureIdempotencyKey(given);
  EXPECT_EQ(given.key, "mine");
}

}  // namespace
}  // namespace qbox::internal

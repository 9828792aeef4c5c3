// Opening a client: bad options and TLS files are reported by name at
// once, and mutual TLS really is mutual.
#include <filesystem>
#include <fstream>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "qbox/admin_client.h"
#include "qbox/client.h"
#include "tests/client/fake_node.h"
#include "tests/client/test_credentials.h"

namespace qbox {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;

class ClientOpenTest : public ::testing::Test {
 protected:
  ClientOptions Options() const { return credentials_.FrontendOptions({"127.0.0.1:7101"}); }

  testing::TestCredentials credentials_;
};

TEST_F(ClientOpenTest, OpensWithGoodOptionsWithoutTouchingTheNetwork) {
  // Nothing listens at the endpoint; Open must not care.
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(Options());
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->PreferredEndpoint(), "127.0.0.1:7101");
}

TEST_F(ClientOpenTest, MissingFilesAreNamed) {
  const std::string missing = credentials_.dir() + "/nowhere/fe1.key";
  struct Case {
    std::string ClientOptions::*field;
    std::string name;
  };
  for (const Case& c : {Case{&ClientOptions::ca_bundle_file, "ca_bundle_file"},
                        Case{&ClientOptions::certificate_file, "certificate_file"},
                        Case{&ClientOptions::private_key_file, "private_key_file"}}) {
    ClientOptions options = Options();
    options.*c.field = missing;
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
    ASSERT_FALSE(client.ok()) << c.name;
    EXPECT_EQ(client.status().code(), absl::StatusCode::kNotFound) << client.status();
    EXPECT_THAT(client.status().message(), AllOf(HasSubstr(c.name), HasSubstr(missing)));

    options.*c.field = "";
    client = Client::Open(options);
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument) << client.status();
    EXPECT_THAT(client.status().message(), HasSubstr(c.name));
  }
}

TEST_F(ClientOpenTest, UnreadableFileIsNamed) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  ClientOptions options = Options();
  const std::string locked = credentials_.dir() + "/locked.key";
  std::filesystem::copy_file(options.private_key_file, locked);
  std::filesystem::permissions(locked, std::filesystem::perms::none);
  options.private_key_file = locked;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kPermissionDenied) << client.status();
  EXPECT_THAT(client.status().message(), HasSubstr(locked));
}

TEST_F(ClientOpenTest, SwappedFilesAreCaughtHere) {
  ClientOptions options = Options();
  options.private_key_file = options.certificate_file;  // a certificate, not a key
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client.status().message(),
              AllOf(HasSubstr("private_key_file"), HasSubstr("PRIVATE KEY")));
}

TEST_F(ClientOpenTest, BadEndpointsAndDurationsAreNamed) {
  struct Case {
    std::function<void(ClientOptions&)> spoil;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](ClientOptions& o) { o.endpoints.clear(); }, "endpoints"},
      {[](ClientOptions& o) { o.endpoints.push_back("no-port"); }, "endpoints[1]"},
      {[](ClientOptions& o) { o.endpoints.push_back("host:99999"); }, "endpoints[1]"},
      {[](ClientOptions& o) { o.endpoints.push_back("::1:80"); }, "endpoints[1]"},
      {[](ClientOptions& o) { o.endpoints.push_back("bad host:80"); }, "endpoints[1]"},
      {[](ClientOptions& o) { o.default_timeout = absl::ZeroDuration(); }, "default_timeout"},
      {[](ClientOptions& o) { o.connect_timeout = -absl::Seconds(1); }, "connect_timeout"},
      {[](ClientOptions& o) { o.initial_backoff = absl::Seconds(5); }, "initial_backoff"},
      {[](ClientOptions& o) { o.max_receive_message_bytes = 0; }, "max_receive_message_bytes"},
  };
  for (const Case& c : cases) {
    ClientOptions options = Options();
    c.spoil(options);
    absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
    EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_THAT(client.status().message(), HasSubstr(c.field + ":")) << client.status();
  }
  ClientOptions ipv6 = Options();
  ipv6.endpoints.push_back("[::1]:7101");
  EXPECT_TRUE(Client::Open(ipv6).ok());
}

TEST_F(ClientOpenTest, AdminClientChecksTheSameWay) {
  ClientOptions options = credentials_.AdminOptions({"127.0.0.1:7101"});
  EXPECT_TRUE(AdminClient::Open(options).ok());
  options.certificate_file = credentials_.dir() + "/missing.crt";
  absl::StatusOr<std::unique_ptr<AdminClient>> admin = AdminClient::Open(options);
  EXPECT_EQ(admin.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(admin.status().message(), HasSubstr("missing.crt"));
}

TEST_F(ClientOpenTest, CertificateFromAnUntrustedCaIsRefused) {
  testing::FakeNode node(credentials_);
  ClientOptions options = credentials_.FrontendOptions({node.address()});
  options.certificate_file = credentials_.UntrustedFrontendCertificateFile();
  options.private_key_file = credentials_.UntrustedFrontendKeyFile();
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
  ASSERT_TRUE(client.ok()) << client.status();

  CallOptions call;
  call.timeout = absl::Seconds(1);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::ListMailboxesResponse> listed =
      (*client)->ListMailboxes(v1::ListMailboxesRequest(), call);
  EXPECT_LE(absl::Now() - start, *call.timeout + absl::Milliseconds(500));
  EXPECT_THAT(listed.status().code(),
              AnyOf(Eq(absl::StatusCode::kUnavailable), Eq(absl::StatusCode::kUnauthenticated)))
      << listed.status();
  EXPECT_EQ(node.mailstore().log().TotalCalls(), 0);
}

TEST_F(ClientOpenTest, ServerOutsideTheBundleIsNotTrusted) {
  testing::FakeNode node(credentials_);
  // The client trusts only site-z, which did not sign the node.
  ClientOptions options = credentials_.FrontendOptions({node.address()});
  options.ca_bundle_file = credentials_.dir() + "/site-z/ca.crt";
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
  ASSERT_TRUE(client.ok()) << client.status();
  CallOptions call;
  call.timeout = absl::Seconds(1);
  absl::StatusOr<v1::ListMailboxesResponse> listed =
      (*client)->ListMailboxes(v1::ListMailboxesRequest(), call);
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kUnavailable) << listed.status();
  EXPECT_EQ(node.mailstore().log().TotalCalls(), 0);
}

}  // namespace
}  // namespace qbox

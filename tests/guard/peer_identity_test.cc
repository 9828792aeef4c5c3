#include "node/guard/peer_identity.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/identity_names.h"

namespace qbox::guard {
namespace {

using ::testing::HasSubstr;

TEST(IdentityNamesTest, AcceptsWellFormedNames) {
  EXPECT_TRUE(ValidateSiteName("site-a").ok());
  EXPECT_TRUE(ValidateSiteName("a").ok());
  EXPECT_TRUE(ValidateSiteName("0").ok());
  EXPECT_TRUE(ValidateSiteName(std::string(63, 'x')).ok());
  EXPECT_TRUE(ValidateEntityName("n1").ok());
  EXPECT_TRUE(ValidateEntityName("alice.smith_2").ok());
  for (const char* role : {"node", "frontend", "admin"}) EXPECT_TRUE(ValidateRole(role).ok());
}

TEST(IdentityNamesTest, RejectsBadSiteNamesNamingTheField) {
  for (const std::string& bad :
       {std::string(""), std::string("Site-A"), std::string("-a"), std::string("a_b"),
        std::string("a/b"), std::string("a.b"), std::string(64, 'x'), std::string("a b")}) {
    absl::Status status = ValidateSiteName(bad, "SITE");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("SITE: '" + bad + "'")) << bad;
  }
}

TEST(IdentityNamesTest, RejectsBadEntityNamesAndRoles) {
  for (const char* bad : {"", ".", "..", "../x", "N1", "n 1", "n1/x", "n%2f", "_x"}) {
    absl::Status status = ValidateEntityName(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(status.message(), HasSubstr("name:")) << bad;
  }
  absl::Status role = ValidateRole("root");
  EXPECT_EQ(role.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(role.message(), HasSubstr("role: 'root' is not a known role"));
  EXPECT_THAT(role.message(), HasSubstr("node, frontend, admin"));
}

TEST(PeerIdentityTest, FormatsAndParsesSpiffeUri) {
  PeerIdentity id{"site-a", "node", "n1"};
  EXPECT_EQ(id.SpiffeUri(), "spiffe://site-a/node/n1");
  EXPECT_EQ(id.ToString(), "site-a/node/n1");
  absl::StatusOr<PeerIdentity> parsed = ParseSpiffeUri("spiffe://site-a/node/n1");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, id);
  EXPECT_EQ(TrustDomainUri("site-b"), "spiffe://site-b");
}

TEST(PeerIdentityTest, RejectsMalformedSpiffeUris) {
  for (const char* bad :
       {"", "https://site-a/node/n1", "spiffe://site-a", "spiffe://site-a/node",
        "spiffe://site-a/node/n1/extra", "spiffe://site-a//n1", "spiffe://site-a/node/",
        "spiffe://SITE-A/node/n1", "spiffe://site-a:443/node/n1", "spiffe://u@site-a/node/n1",
        "spiffe://site-a/node/n1?x=1", "spiffe://site-a/node/n1#f", "spiffe://site-a/node/n%31",
        "SPIFFE://site-a/node/n1"}) {
    absl::StatusOr<PeerIdentity> parsed = ParseSpiffeUri(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::StatusOr<PeerIdentity> unknown_role = ParseSpiffeUri("spiffe://site-a/root/n1");
  EXPECT_THAT(unknown_role.status().message(), HasSubstr("'root' is not a known role"));
}

TEST(PeerIdentityTest, RequireRole) {
  PeerIdentity frontend{"site-c", "frontend", "imap1"};
  EXPECT_TRUE(RequireRole(frontend, "frontend").ok());
  absl::Status denied = RequireRole(frontend, "node");
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(denied.message(), HasSubstr("site-c/frontend/imap1 has role 'frontend'"));
  EXPECT_THAT(denied.message(), HasSubstr("needs role 'node'"));
}

}  // namespace
}  // namespace qbox::guard

// `qboxctl propose` flag parsing: each kind builds its action, and bad
// input is refused naming the flag.
#include "ctl/proposal_action_flags.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/site_ca.h"

namespace qbox::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

ProposeActionFlags Kind(const std::string& kind) {
  ProposeActionFlags flags;
  flags.kind = kind;
  return flags;
}

std::string ErrorOf(const ProposeActionFlags& flags) {
  absl::StatusOr<v1::ProposedAction> action = BuildProposedAction(flags);
  EXPECT_FALSE(action.ok());
  return action.ok() ? "" : std::string(action.status().message());
}

TEST(ProposalActionFlagsTest, BuildsEachKind) {
  ProposeActionFlags f = Kind("purge-vault");
  f.account = "alice";
  EXPECT_EQ(BuildProposedAction(f)->purge_vault().account(), "alice");
  f = Kind("delete-account");
  f.account = "bob";
  EXPECT_EQ(BuildProposedAction(f)->delete_account().account(), "bob");
  f = Kind("set-retention");
  f.retention = "720h";
  EXPECT_EQ(BuildProposedAction(f)->set_retention().retention_ms(), 720LL * 3600 * 1000);
  f = Kind("set-delay");
  f.delay = "0s";
  ASSERT_TRUE(BuildProposedAction(f).ok());
  EXPECT_TRUE(BuildProposedAction(f)->has_set_delay());
  EXPECT_EQ(BuildProposedAction(f)->set_delay().delay_ms(), 0);
  f = Kind("set-required-sites");
  f.sites = "2";
  EXPECT_EQ(BuildProposedAction(f)->set_required_sites().required_sites(), 2u);
  f = Kind("set-proposal-ttl");
  f.ttl = "168h";
  EXPECT_EQ(BuildProposedAction(f)->set_proposal_ttl().proposal_ttl_ms(), 168LL * 3600 * 1000);
  f = Kind("remove-node");
  f.node = "site-b/n2";
  EXPECT_EQ(BuildProposedAction(f)->remove_node().site(), "site-b");
  EXPECT_EQ(BuildProposedAction(f)->remove_node().node(), "n2");
  f = Kind("remove-site");
  f.site = "site-c";
  EXPECT_EQ(BuildProposedAction(f)->remove_site().site(), "site-c");
}

TEST(ProposalActionFlagsTest, CaCertificateIsReadAndChecked) {
  std::string dir = ::testing::TempDir() + "/proposal-flags-ca";
  std::filesystem::create_directories(dir);
  guard::PemCredential ca = guard::CreateSiteCa("site-d").value();
  std::ofstream(dir + "/ca.crt") << ca.certificate_pem;
  std::ofstream(dir + "/ca.key") << ca.private_key_pem;

  ProposeActionFlags f = Kind("add-site");
  f.site = "site-d";
  f.ca_cert = dir + "/ca.crt";
  absl::StatusOr<v1::ProposedAction> action = BuildProposedAction(f);
  ASSERT_TRUE(action.ok()) << action.status();
  EXPECT_EQ(action->add_site().ca_cert_pem(), ca.certificate_pem);

  f.kind = "replace-site-ca";
  EXPECT_EQ(BuildProposedAction(f)->replace_site_ca().site(), "site-d");

  f.site = "site-e";  // the CA is site-d's
  EXPECT_THAT(ErrorOf(f), HasSubstr("is the CA of site 'site-d', not of 'site-e'"));
  f.site = "site-d";
  f.ca_cert = dir + "/ca.key";
  EXPECT_THAT(ErrorOf(f), StartsWith("--ca-cert: "));
  EXPECT_THAT(ErrorOf(f), HasSubstr("private key"));
  f.ca_cert = dir + "/missing.crt";
  absl::StatusOr<v1::ProposedAction> missing = BuildProposedAction(f);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), StartsWith("--ca-cert: "));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing.crt"));
  std::filesystem::remove_all(dir);
}

TEST(ProposalActionFlagsTest, RefusesBadInputNamingTheFlag) {
  EXPECT_THAT(ErrorOf(Kind("wipe-everything")), StartsWith("KIND: unknown proposal kind"));
  EXPECT_THAT(ErrorOf(Kind("purge-vault")), StartsWith("--account: needed by purge-vault"));

  ProposeActionFlags f = Kind("set-proposal-ttl");
  f.ttl = "abc";
  EXPECT_THAT(ErrorOf(f), StartsWith("--ttl: 'abc' is not a duration"));
  f.ttl = "0s";
  EXPECT_THAT(ErrorOf(f), StartsWith("--ttl: "));
  f.ttl = "-5h";
  EXPECT_THAT(ErrorOf(f), StartsWith("--ttl: "));

  f = Kind("set-required-sites");
  for (const char* bad : {"0", "-1", "two", "2.5"}) {
    f.sites = bad;
    EXPECT_THAT(ErrorOf(f), StartsWith("--sites: ")) << bad;
  }

  f = Kind("set-delay");
  f.delay = "72h";
  f.account = "alice";
  EXPECT_THAT(ErrorOf(f), StartsWith("--account: not used by set-delay"));

  f = Kind("remove-node");
  f.node = "n2";
  EXPECT_THAT(ErrorOf(f), StartsWith("--node: "));
  f = Kind("remove-site");
  f.site = "Site_C";
  EXPECT_THAT(ErrorOf(f), StartsWith("--site"));
}

}  // namespace
}  // namespace qbox::ctl

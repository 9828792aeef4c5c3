// ValidateAction, ApplyCharterAction and DescribeAction (charter.h).
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/charter.h"
#include "tests/guard/charter_fixtures.h"

namespace qbox::guard {
namespace {

using ::testing::HasSubstr;
using testing::NewSiteCa;

class CharterActionTest : public ::testing::Test {
 protected:
  testing::CharterWorld world_;
  const v1::Charter& charter_ = world_.charter;
};

v1::ProposedAction RemoveNode(const std::string& site, const std::string& node) {
  v1::ProposedAction action;
  action.mutable_remove_node()->set_site(site);
  action.mutable_remove_node()->set_node(node);
  return action;
}

v1::ProposedAction RemoveSite(const std::string& site) {
  v1::ProposedAction action;
  action.mutable_remove_site()->set_site(site);
  return action;
}

v1::ProposedAction AddSite(const std::string& site, const std::string& ca_pem) {
  v1::ProposedAction action;
  action.mutable_add_site()->set_site(site);
  action.mutable_add_site()->set_ca_cert_pem(ca_pem);
  return action;
}

v1::ProposedAction SetRequiredSites(uint32_t m) {
  v1::ProposedAction action;
  action.mutable_set_required_sites()->set_required_sites(m);
  return action;
}

TEST_F(CharterActionTest, UnknownKindIsRefused) {
  absl::Status status = ValidateAction(charter_, v1::ProposedAction());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "action: unknown kind");
  EXPECT_FALSE(ChangesCharter(v1::ProposedAction()));
  EXPECT_EQ(ApplyCharterAction(charter_, v1::ProposedAction()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CharterActionTest, RefusesEachBadFieldNamingIt) {
  struct Case {
    std::string expected;
    v1::ProposedAction action;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"action.purge_vault.account: account name must not be empty", testing::PurgeVault("")});
  cases.push_back({"action.purge_vault.account: account name must not contain '/'",
                   testing::PurgeVault("a/b")});
  v1::ProposedAction del;
  del.mutable_delete_account()->set_account(std::string(256, 'x'));
  cases.push_back({"action.delete_account.account: account name is 256 bytes", del});
  v1::ProposedAction retention;
  retention.mutable_set_retention()->set_retention_ms(0);
  cases.push_back({"action.set_retention.retention_ms: must be positive", retention});
  v1::ProposedAction delay;
  delay.mutable_set_delay()->set_delay_ms(-1);
  cases.push_back({"action.set_delay.delay_ms: must not be negative", delay});
  cases.push_back({"action.set_required_sites.required_sites: 5 is more than the 3 sites",
                   SetRequiredSites(5)});
  cases.push_back(
      {"action.set_required_sites.required_sites: must be at least 1", SetRequiredSites(0)});
  v1::ProposedAction ttl;
  ttl.mutable_set_proposal_ttl()->set_proposal_ttl_ms(0);
  cases.push_back({"action.set_proposal_ttl.proposal_ttl_ms: must be positive", ttl});
  cases.push_back({"action.remove_node: no node site-a/n7", RemoveNode("site-a", "n7")});
  cases.push_back({"action.remove_node.site", RemoveNode("", "n1")});
  cases.push_back({"action.remove_site.site: 'site-x' is not a site", RemoveSite("site-x")});
  cases.push_back({"action.add_site.site: 'site-b' is already a site",
                   AddSite("site-b", NewSiteCa("site-b").certificate_pem)});
  cases.push_back({"action.add_site.ca_cert_pem", AddSite("site-d", "not a pem")});
  cases.push_back({"action.add_site.ca_cert_pem: is the CA of site 'site-e'",
                   AddSite("site-d", NewSiteCa("site-e").certificate_pem)});
  cases.push_back({"action.add_site.site", AddSite("Site D", NewSiteCa("site-d").certificate_pem)});
  v1::ProposedAction same_ca;
  same_ca.mutable_replace_site_ca()->set_site("site-b");
  same_ca.mutable_replace_site_ca()->set_ca_cert_pem(world_.sites.b.certificate_pem);
  cases.push_back({"action.replace_site_ca.ca_cert_pem: is already the site's CA", same_ca});
  v1::ProposedAction unknown_site_ca;
  unknown_site_ca.mutable_replace_site_ca()->set_site("site-q");
  unknown_site_ca.mutable_replace_site_ca()->set_ca_cert_pem(NewSiteCa("site-q").certificate_pem);
  cases.push_back({"action.replace_site_ca.site: 'site-q' is not a site", unknown_site_ca});

  for (const Case& c : cases) {
    absl::Status status = ValidateAction(charter_, c.action);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(status.message(), HasSubstr(c.expected));
  }
}

TEST_F(CharterActionTest, RefusesAChangeThatWouldLeaveAnInvalidCharter) {
  // M = 3, then removing a site would leave 3 required of 2.
  v1::Charter strict = charter_;
  strict.set_required_sites(3);
  absl::Status status = ValidateAction(strict, RemoveSite("site-c"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("action.remove_site: would leave an invalid charter: "
                                          "charter.required_sites: 3 is outside 1..2"));

  // Four voters (a, a, b, c): removing c's would give site-a 2 of 3.
  v1::Charter four = charter_;
  v1::CharterNode* extra = four.add_nodes();
  extra->set_id(4);
  extra->set_site("site-a");
  extra->set_name("n2");
  extra->set_address("127.0.0.1:7004");
  extra->set_voter(true);
  ASSERT_TRUE(ValidateCharter(four).ok());
  status = ValidateAction(four, RemoveNode("site-c", "n1"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("site 'site-a' would hold 2 of 3 voters"));

  // Executing it once the charter changed: FAILED_PRECONDITION.
  absl::StatusOr<v1::Charter> applied = ApplyCharterAction(four, RemoveNode("site-c", "n1"));
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(applied.status().message(), HasSubstr("would hold 2 of 3"));
}

TEST_F(CharterActionTest, AccountActionsDoNotChangeTheCharter) {
  EXPECT_TRUE(ValidateAction(charter_, testing::PurgeVault("alice@example.org")).ok());
  EXPECT_FALSE(ChangesCharter(testing::PurgeVault("alice")));
  absl::StatusOr<v1::Charter> applied = ApplyCharterAction(charter_, testing::PurgeVault("alice"));
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(applied.status().message(), HasSubstr("does not change the charter"));
}

TEST_F(CharterActionTest, AppliesEachCharterChangeAndBumpsTheVersion) {
  v1::ProposedAction action;
  action.mutable_set_retention()->set_retention_ms(1000);
  absl::StatusOr<v1::Charter> next = ApplyCharterAction(charter_, action);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->retention_ms(), 1000);
  EXPECT_EQ(next->version(), 2u);

  action.Clear();
  action.mutable_set_delay()->set_delay_ms(0);
  next = ApplyCharterAction(charter_, action);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->delay_ms(), 0);

  next = ApplyCharterAction(charter_, SetRequiredSites(1));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->required_sites(), 1u);

  action.Clear();
  action.mutable_set_proposal_ttl()->set_proposal_ttl_ms(60000);
  next = ApplyCharterAction(charter_, action);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->proposal_ttl_ms(), 60000);

  next = ApplyCharterAction(charter_, RemoveNode("site-b", "n1"));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->nodes(1).removed());
  EXPECT_FALSE(next->nodes(0).removed());

  next = ApplyCharterAction(charter_, RemoveSite("site-c"));
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->sites_size(), 2);
  EXPECT_EQ(next->sites(1).name(), "site-b");
  EXPECT_TRUE(next->nodes(2).removed());  // kept, so its id is never reused
  EXPECT_TRUE(ValidateCharter(*next).ok()) << ValidateCharter(*next);

  PemCredential site_d = NewSiteCa("site-d");
  next = ApplyCharterAction(charter_, AddSite("site-d", site_d.certificate_pem));
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_EQ(next->sites_size(), 4);
  EXPECT_EQ(next->sites(3).name(), "site-d");
  absl::StatusOr<SiteTrustStore> trust = TrustStoreOf(*next);
  ASSERT_TRUE(trust.ok()) << trust.status();
  PemCredential dave = testing::Issue(site_d, "site-d", "admin", "dave");
  EXPECT_TRUE(trust->Identify(dave.certificate_pem).ok());

  // Replacing site-b's CA: its old certificates stop counting, new ones do.
  PemCredential new_b = NewSiteCa("site-b");
  action.Clear();
  action.mutable_replace_site_ca()->set_site("site-b");
  action.mutable_replace_site_ca()->set_ca_cert_pem(new_b.certificate_pem);
  next = ApplyCharterAction(charter_, action);
  ASSERT_TRUE(next.ok()) << next.status();
  trust = TrustStoreOf(*next);
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_EQ(trust->Identify(world_.bob.certificate_pem).status().code(),
            absl::StatusCode::kUnauthenticated);
  PemCredential new_bob = testing::Issue(new_b, "site-b", "admin", "bob");
  EXPECT_TRUE(trust->Identify(new_bob.certificate_pem).ok());
}

TEST_F(CharterActionTest, RefusesRemovingTheLastVoterOrSite) {
  v1::Charter one = charter_;
  one.mutable_nodes(1)->set_removed(true);
  one.mutable_nodes(2)->set_removed(true);
  absl::Status status = ValidateAction(one, RemoveNode("site-a", "n1"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("would leave no voting node"));

  v1::Charter single = charter_;
  single.mutable_sites()->DeleteSubrange(1, 2);
  single.mutable_nodes()->DeleteSubrange(1, 2);
  single.set_required_sites(1);
  ASSERT_TRUE(ValidateCharter(single).ok()) << ValidateCharter(single);
  EXPECT_THAT(ValidateAction(single, RemoveSite("site-a")).message(), HasSubstr("the only site"));
}

TEST_F(CharterActionTest, DescribesActionsInOneLine) {
  EXPECT_EQ(DescribeAction(charter_, testing::PurgeVault("alice")),
            "purge the vault of account alice");
  EXPECT_EQ(DescribeAction(charter_, SetRequiredSites(1)), "set M (required sites) from 2 to 1");
  v1::ProposedAction retention;
  retention.mutable_set_retention()->set_retention_ms(7LL * 24 * 3600 * 1000);
  EXPECT_EQ(DescribeAction(charter_, retention), "set R (retention) from 30d to 7d");
  EXPECT_EQ(DescribeAction(charter_, RemoveNode("site-b", "n1")), "remove node site-b/n1 (id 2)");
  EXPECT_EQ(DescribeAction(charter_, RemoveSite("site-c")), "remove site site-c and its 1 node");
  EXPECT_EQ(DescribeAction(charter_, v1::ProposedAction()), "an action of unknown kind");
}

}  // namespace
}  // namespace qbox::guard

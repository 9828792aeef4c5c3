#include "node/guard/charter.h"

#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/guard/charter_fixtures.h"

namespace qbox::guard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Issue;
using testing::NewSiteCa;

// A CA certificate that names no site (no spiffe:// URI SAN).
PemCredential AnonymousCa() {
  CertificateTemplate tmpl;
  tmpl.common_name = "anonymous CA";
  tmpl.not_before = absl::Now() - absl::Minutes(5);
  tmpl.not_after = absl::Now() + absl::Hours(24);
  tmpl.is_ca = true;
  absl::StatusOr<PemCredential> ca = SignCertificate(tmpl, nullptr);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : PemCredential{};
}

class CharterTest : public ::testing::Test {
 protected:
  v1::CharterNode* AddNode(v1::Charter* charter, uint64_t id, const std::string& site,
                           const std::string& name, bool voter = true) {
    v1::CharterNode* node = charter->add_nodes();
    node->set_id(id);
    node->set_site(site);
    node->set_name(name);
    node->set_address("127.0.0.1:1");
    node->set_voter(voter);
    return node;
  }

  testing::CharterWorld world_;
  const v1::Charter& charter_ = world_.charter;
};

TEST_F(CharterTest, AcceptsAWellFormedCharterAndBuildsItsTrustStore) {
  ASSERT_TRUE(ValidateCharter(charter_).ok()) << ValidateCharter(charter_);
  absl::StatusOr<SiteTrustStore> trust = TrustStoreOf(charter_);
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_THAT(trust->Sites(), ElementsAre("site-a", "site-b", "site-c"));
  absl::StatusOr<PeerIdentity> bob = trust->Identify(world_.bob.certificate_pem);
  ASSERT_TRUE(bob.ok()) << bob.status();
  EXPECT_EQ(bob->site, "site-b");
}

TEST_F(CharterTest, RefusesEachMalformedFieldNamingIt) {
  PemCredential leaf = Issue(world_.sites.a, "site-a", "node", "n9");
  PemCredential anonymous_ca = AnonymousCa();
  struct Case {
    std::string expected;
    std::function<void(v1::Charter*)> spoil;
  };
  const std::vector<Case> cases = {
      {"charter.cluster: must not be empty", [](v1::Charter* c) { c->clear_cluster(); }},
      {"charter.sites: at least one", [](v1::Charter* c) { c->clear_sites(); }},
      {"charter.sites[1].name", [](v1::Charter* c) { c->mutable_sites(1)->set_name("Site B"); }},
      {"charter.sites[2].name: 'site-a' is listed twice",
       [](v1::Charter* c) { c->mutable_sites(2)->set_name("site-a"); }},
      {"charter.sites[1].ca_cert_pem",
       [](v1::Charter* c) { c->mutable_sites(1)->set_ca_cert_pem("garbage"); }},
      {"charter.sites[0].ca_cert_pem: is not a CA",
       [&](v1::Charter* c) { c->mutable_sites(0)->set_ca_cert_pem(leaf.certificate_pem); }},
      {"charter.sites[1].ca_cert_pem: is the same CA as site 'site-a'",
       [&](v1::Charter* c) {
         // A CA without a spiffe:// SAN names no site, so only the shared
         // key can give the sharing away.
         c->mutable_sites(0)->set_ca_cert_pem(anonymous_ca.certificate_pem);
         c->mutable_sites(1)->set_ca_cert_pem(anonymous_ca.certificate_pem);
       }},
      {"charter.nodes[0].id: must not be 0",
       [](v1::Charter* c) { c->mutable_nodes(0)->set_id(0); }},
      {"charter.nodes[1].id: 1 is used twice",
       [](v1::Charter* c) { c->mutable_nodes(1)->set_id(1); }},
      {"charter.nodes[1].site: 'site-x' is not a site",
       [](v1::Charter* c) { c->mutable_nodes(1)->set_site("site-x"); }},
      {"charter.nodes[2].name", [](v1::Charter* c) { c->mutable_nodes(2)->set_name("../n1"); }},
      {"charter.nodes[3].name: 'site-a/n1' is listed twice",
       [](v1::Charter* c) {
         v1::CharterNode* copy = c->add_nodes();
         *copy = c->nodes(0);
         copy->set_id(9);
         copy->set_voter(false);
       }},
      {"charter.nodes[0].address: must not be empty",
       [](v1::Charter* c) { c->mutable_nodes(0)->clear_address(); }},
      {"charter.required_sites: 0 is outside 1..3",
       [](v1::Charter* c) { c->set_required_sites(0); }},
      {"charter.required_sites: 4 is outside 1..3",
       [](v1::Charter* c) { c->set_required_sites(4); }},
      {"charter.delay_ms: must not be negative", [](v1::Charter* c) { c->set_delay_ms(-1); }},
      {"charter.retention_ms: must be positive", [](v1::Charter* c) { c->set_retention_ms(0); }},
      {"charter.proposal_ttl_ms: must be positive",
       [](v1::Charter* c) { c->set_proposal_ttl_ms(-5); }},
      {"charter.checkpoint_every: must be positive",
       [](v1::Charter* c) { c->set_checkpoint_every(0); }},
      {"charter.version: must be at least 1", [](v1::Charter* c) { c->set_version(0); }},
      {"charter.nodes: site 'site-a' would hold 2 of 3 voters",
       [](v1::Charter* c) {
         c->mutable_nodes(1)->set_site("site-a");
         c->mutable_nodes(1)->set_name("n2");
       }},
  };
  for (const Case& c : cases) {
    v1::Charter spoiled = charter_;
    c.spoil(&spoiled);
    absl::Status status = ValidateCharter(spoiled);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(status.message(), HasSubstr(c.expected));
  }
}

TEST_F(CharterTest, RefusesACaCertificateNamingAnotherSite) {
  v1::Charter charter = charter_;
  charter.mutable_sites(1)->set_ca_cert_pem(NewSiteCa("site-z").certificate_pem);
  absl::Status status = ValidateCharter(charter);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("charter.sites[1].ca_cert_pem: is the CA of site 'site-z'"));
}

TEST_F(CharterTest, NoSiteMayHoldAMajorityOfLiveVoters) {
  v1::Charter charter = charter_;
  AddNode(&charter, 4, "site-a", "n2");
  // a: 2 of 4 voters is half, not more.
  EXPECT_TRUE(CheckNoSiteMajority(charter).ok());
  AddNode(&charter, 5, "site-a", "n3");
  absl::Status status = CheckNoSiteMajority(charter);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("site 'site-a' would hold 3 of 5 voters"));

  // Learners and removed nodes do not vote, so they do not count.
  charter.mutable_nodes(4)->set_voter(false);
  EXPECT_TRUE(CheckNoSiteMajority(charter).ok());
  charter.mutable_nodes(4)->set_voter(true);
  charter.mutable_nodes(3)->set_removed(true);
  EXPECT_TRUE(CheckNoSiteMajority(charter).ok());
}

TEST_F(CharterTest, OneVoterAloneIsAllowedTwoFromOneSiteAreNot) {
  v1::Charter charter = charter_;
  charter.mutable_nodes(1)->set_removed(true);
  charter.mutable_nodes(2)->set_removed(true);
  EXPECT_TRUE(CheckNoSiteMajority(charter).ok());
  AddNode(&charter, 4, "site-a", "n2");
  EXPECT_EQ(CheckNoSiteMajority(charter).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(CharterTest, FindsNodesByIdAndByName) {
  ASSERT_NE(FindCharterNode(charter_, 2), nullptr);
  EXPECT_EQ(FindCharterNode(charter_, 2)->site(), "site-b");
  EXPECT_EQ(FindCharterNode(charter_, 42), nullptr);
  ASSERT_NE(FindCharterNode(charter_, "site-c", "n1"), nullptr);
  EXPECT_EQ(FindCharterNode(charter_, "site-c", "n1")->id(), 3u);
  EXPECT_EQ(FindCharterNode(charter_, "site-c", "n2"), nullptr);
}

}  // namespace
}  // namespace qbox::guard

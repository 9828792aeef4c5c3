#include "node/guard/site_trust_store.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/guard/test_sites.h"

namespace qbox::guard {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Issue;
using testing::NewSiteCa;
using testing::SignRawLeaf;

class SiteTrustStoreTest : public ::testing::Test {
 protected:
  testing::ThreeSites sites_;
  SiteTrustStore store_ = sites_.TrustStore();
};

TEST_F(SiteTrustStoreTest, MapsEachSitesCertificatesToThatSite) {
  for (const auto& [site, ca] : {std::pair{"site-a", &sites_.a}, std::pair{"site-b", &sites_.b},
                                 std::pair{"site-c", &sites_.c}}) {
    for (const char* role : {"node", "frontend", "admin"}) {
      PemCredential leaf = Issue(*ca, site, role, "x1");
      absl::StatusOr<PeerIdentity> id = store_.Identify(leaf.certificate_pem);
      ASSERT_TRUE(id.ok()) << id.status();
      EXPECT_EQ(*id, (PeerIdentity{site, role, "x1"}));
    }
  }
  EXPECT_THAT(store_.Sites(), ElementsAre("site-a", "site-b", "site-c"));
}

TEST_F(SiteTrustStoreTest, RefusesCertificateFromUnknownCa) {
  PemCredential stranger = NewSiteCa("site-a");  // same name, different CA
  PemCredential leaf = Issue(stranger, "site-a", "node", "n1");
  absl::StatusOr<PeerIdentity> id = store_.Identify(leaf.certificate_pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(id.status().message(),
              AllOf(HasSubstr("not verified by any site's CA"), HasSubstr("site-a:"),
                    HasSubstr("site-b:"), HasSubstr("site-c:")));
}

TEST_F(SiteTrustStoreTest, RefusesImpersonationOfAnotherSite) {
  // Threat model A: the attacker holds site-a's CA key and mints a
  // certificate claiming to be a node of site-b.
  PemCredential forged = SignRawLeaf(sites_.a, {"spiffe://site-b/node/n1"});
  absl::StatusOr<PeerIdentity> id = store_.Identify(forged.certificate_pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(id.status().message(),
              AllOf(HasSubstr("verified by site 'site-a'"), HasSubstr("claims site 'site-b'"),
                    HasSubstr("impersonation")));
}

TEST_F(SiteTrustStoreTest, RefusesMissingMalformedOrUnknownRoleSans) {
  struct Case {
    std::vector<std::string> uris;
    std::string expected;
  };
  std::vector<Case> cases = {
      {{}, "has no spiffe:// URI SAN"},
      {{"https://site-a/node/n1"}, "has no spiffe:// URI SAN"},
      {{"spiffe://site-a/root/n1"}, "'root' is not a known role"},
      {{"spiffe://site-a/node"}, "must have the form"},
      {{"spiffe://site-a/node/N1"}, "is not a valid name"},
      {{"spiffe://site-a/node/n1", "spiffe://site-a/admin/n1"}, "2 spiffe:// URI SANs"},
  };
  for (const Case& c : cases) {
    PemCredential leaf = SignRawLeaf(sites_.a, c.uris);
    absl::StatusOr<PeerIdentity> id = store_.Identify(leaf.certificate_pem);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied) << c.expected;
    EXPECT_THAT(id.status().message(), HasSubstr(c.expected));
  }
}

TEST_F(SiteTrustStoreTest, RefusesACaCertificateAsAPeer) {
  PemCredential sub_ca = SignRawLeaf(sites_.a, {"spiffe://site-a/node/n1"}, /*is_ca=*/true);
  absl::StatusOr<PeerIdentity> id = store_.Identify(sub_ca.certificate_pem);
  EXPECT_FALSE(id.ok());
  EXPECT_NE(id.status().code(), absl::StatusCode::kInvalidArgument) << id.status();
  // The site CA itself is no peer either.
  id = store_.Identify(sites_.a.certificate_pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(id.status().message(), HasSubstr("is itself a CA certificate"));
}

TEST_F(SiteTrustStoreTest, RefusesExpiredAndNotYetValidCertificates) {
  LeafOptions expired;
  expired.not_before = absl::Now() - absl::Hours(48);
  expired.validity = absl::Hours(24);
  PemCredential old = Issue(sites_.b, "site-b", "node", "n1", expired);
  absl::StatusOr<PeerIdentity> id = store_.Identify(old.certificate_pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(id.status().message(), HasSubstr("site-b: certificate has expired"));

  LeafOptions future;
  future.not_before = absl::Now() + absl::Hours(24);
  PemCredential early = Issue(sites_.b, "site-b", "node", "n1", future);
  id = store_.Identify(early.certificate_pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(id.status().message(), HasSubstr("site-b: certificate is not yet valid"));
  // ...and it is accepted once its window opens: the clock is the only reason.
  id = store_.Identify(early.certificate_pem, absl::Now() + absl::Hours(25));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->site, "site-b");
}

TEST_F(SiteTrustStoreTest, RefusesMalformedPeerPem) {
  for (const char* bad :
       {"", "hello", "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"}) {
    absl::StatusOr<PeerIdentity> id = store_.Identify(bad);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(id.status().message(), HasSubstr("peer certificate"));
  }
}

TEST_F(SiteTrustStoreTest, ExtraCertificatesInChainCannotBorrowTrust) {
  // A site-a-signed impersonator that appends site-b's CA to its chain must
  // still be judged by site-a's CA alone.
  PemCredential forged = SignRawLeaf(sites_.a, {"spiffe://site-b/node/n1"});
  absl::StatusOr<PeerIdentity> id =
      store_.Identify(forged.certificate_pem + sites_.b.certificate_pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(id.status().message(), HasSubstr("impersonation"));
}

TEST_F(SiteTrustStoreTest, ConcatenatedCaPemHoldsEveryCa) {
  std::string bundle = store_.ConcatenatedCaPem();
  EXPECT_THAT(bundle,
              AllOf(HasSubstr(sites_.a.certificate_pem), HasSubstr(sites_.b.certificate_pem),
                    HasSubstr(sites_.c.certificate_pem)));
}

TEST(SiteTrustStoreCreateTest, RejectsBadConfigurationNamingTheSite) {
  PemCredential a = NewSiteCa("site-a");
  PemCredential b = NewSiteCa("site-b");
  PemCredential leaf = Issue(a, "site-a", "node", "n1");
  // A CA that names no site (e.g. one made by hand), so only its key can
  // show that two sites share it.
  CertificateTemplate unnamed_tmpl;
  unnamed_tmpl.common_name = "hand-made CA";
  unnamed_tmpl.not_before = absl::Now();
  unnamed_tmpl.not_after = absl::Now() + absl::Hours(24);
  unnamed_tmpl.is_ca = true;
  absl::StatusOr<PemCredential> unnamed = SignCertificate(unnamed_tmpl, nullptr);
  ASSERT_TRUE(unnamed.ok()) << unnamed.status();
  struct Case {
    std::vector<SiteCaCertificate> sites;
    std::string expected;
  };
  std::vector<Case> cases = {
      {{{"site-a", "not a pem"}}, "site 'site-a': CA certificate: no PEM certificate found"},
      {{{"site-a", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}},
       "site 'site-a': CA certificate: malformed PEM"},
      {{{"site-a", leaf.certificate_pem}}, "site 'site-a': certificate is not a CA"},
      {{{"site-a", unnamed->certificate_pem}, {"site-b", unnamed->certificate_pem}},
       "site 'site-b': uses the same CA key as another site"},
      {{{"site-a", a.certificate_pem}, {"site-b", a.certificate_pem}},
       "site 'site-b': CA certificate belongs to site 'site-a'"},
      {{{"site-a", a.certificate_pem}, {"site-a", b.certificate_pem}},
       "site 'site-a': listed twice"},
      {{{"site-b", a.certificate_pem}}, "site 'site-b': CA certificate belongs to site 'site-a'"},
      {{{"Site-A", a.certificate_pem}}, "site: 'Site-A'"},
      {{{"site-a", a.certificate_pem + b.certificate_pem}}, "exactly one certificate"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SiteTrustStore> store = SiteTrustStore::Create(c.sites);
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(store.status().message(), HasSubstr(c.expected));
  }
}

TEST(SiteTrustStoreCreateTest, EmptyStoreIdentifiesNobody) {
  absl::StatusOr<SiteTrustStore> store = SiteTrustStore::Create({});
  ASSERT_TRUE(store.ok());
  PemCredential a = NewSiteCa("site-a");
  absl::StatusOr<PeerIdentity> id =
      store->Identify(Issue(a, "site-a", "node", "n1").certificate_pem);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(id.status().message(), HasSubstr("no sites configured"));
}

}  // namespace
}  // namespace qbox::guard

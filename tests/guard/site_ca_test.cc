#include "node/guard/site_ca.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/certificate_info.h"
#include "tests/guard/test_sites.h"

namespace qbox::guard {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::NewSiteCa;

TEST(SiteCaTest, CaIsSelfSignedP256WithPathlenZeroAndTenYears) {
  PemCredential ca = NewSiteCa("site-a");
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(ca.certificate_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->subject, "CN=quorumbox site-a CA");
  EXPECT_EQ(info->issuer, info->subject);
  EXPECT_TRUE(info->is_ca);
  EXPECT_EQ(info->path_length, 0);
  EXPECT_EQ(info->key_algorithm, "EC P-256");
  EXPECT_THAT(info->uris, ElementsAre("spiffe://site-a"));
  absl::Duration lifetime = info->not_after - info->not_before;
  EXPECT_GE(lifetime, absl::Hours(24 * 3650));
  EXPECT_LE(lifetime, absl::Hours(24 * 3660));
  EXPECT_LE(info->not_before, absl::Now());
  absl::StatusOr<std::string> site = SiteOfCaCertificate(ca.certificate_pem);
  ASSERT_TRUE(site.ok()) << site.status();
  EXPECT_EQ(*site, "site-a");
  EXPECT_THAT(ca.private_key_pem, HasSubstr("BEGIN PRIVATE KEY"));
}

TEST(SiteCaTest, EachCaHasItsOwnKey) {
  absl::StatusOr<CertificateInfo> a = DescribeCertificate(NewSiteCa("site-a").certificate_pem);
  absl::StatusOr<CertificateInfo> a2 = DescribeCertificate(NewSiteCa("site-a").certificate_pem);
  ASSERT_TRUE(a.ok() && a2.ok());
  EXPECT_NE(a->public_key_sha256_hex, a2->public_key_sha256_hex);
  EXPECT_NE(a->serial_hex, a2->serial_hex);
}

TEST(SiteCaTest, RejectsBadSiteNameAndValidity) {
  absl::StatusOr<PemCredential> bad = CreateSiteCa("Site_A");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("site: 'Site_A'"));
  SiteCaOptions zero;
  zero.validity = absl::ZeroDuration();
  EXPECT_THAT(CreateSiteCa("site-a", zero).status().message(), HasSubstr("validity"));
}

TEST(SiteCaTest, LeafCarriesIdentityHostsAndOneYear) {
  PemCredential ca = NewSiteCa("site-b");
  LeafOptions options;
  options.dns_names = {"localhost", "n1.site-b.example"};
  options.ip_addresses = {"127.0.0.1", "::1"};
  PemCredential leaf = testing::Issue(ca, "site-b", "node", "n1", options);
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(leaf.certificate_pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE(info->is_ca);
  EXPECT_EQ(info->issuer, "CN=quorumbox site-b CA");
  EXPECT_EQ(info->subject, "CN=site-b/node/n1");
  EXPECT_THAT(info->uris, ElementsAre("spiffe://site-b/node/n1"));
  EXPECT_THAT(info->dns_names, ElementsAre("localhost", "n1.site-b.example"));
  EXPECT_THAT(info->ip_addresses, ElementsAre("127.0.0.1", "::1"));
  absl::Duration lifetime = info->not_after - info->not_before;
  EXPECT_GE(lifetime, absl::Hours(24 * 364));
  EXPECT_LE(lifetime, absl::Hours(24 * 366));
}

TEST(SiteCaTest, IssueRejectsBadInputNamingTheField) {
  PemCredential ca = NewSiteCa("site-a");
  struct Case {
    PeerIdentity identity;
    LeafOptions options;
    std::string expected;
  };
  LeafOptions bad_dns;
  bad_dns.dns_names = {"local host"};
  LeafOptions bad_ip;
  bad_ip.ip_addresses = {"127.0.0.300"};
  LeafOptions bad_validity;
  bad_validity.validity = -absl::Hours(1);
  std::vector<Case> cases = {
      {{"site-a", "root", "n1"}, {}, "role: 'root'"},
      {{"site-a", "node", "../n1"}, {}, "name: '../n1'"},
      {{"Site-A", "node", "n1"}, {}, "site: 'Site-A'"},
      {{"site-b", "node", "n1"}, {}, "site: 'site-b' does not match the CA's site 'site-a'"},
      {{"site-a", "node", "n1"}, bad_dns, "dns name: 'local host'"},
      {{"site-a", "node", "n1"}, bad_ip, "ip address: '127.0.0.300'"},
      {{"site-a", "node", "n1"}, bad_validity, "validity:"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PemCredential> leaf = IssueLeafCertificate(ca, c.identity, c.options);
    EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(leaf.status().message(), HasSubstr(c.expected));
  }
}

TEST(SiteCaTest, IssueRejectsMismatchedOrMalformedCa) {
  PemCredential a = NewSiteCa("site-a");
  PemCredential b = NewSiteCa("site-a");
  PemCredential mixed{a.certificate_pem, b.private_key_pem};
  absl::StatusOr<PemCredential> leaf =
      IssueLeafCertificate(mixed, PeerIdentity{"site-a", "node", "n1"});
  EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(leaf.status().message(), HasSubstr("does not match the CA certificate"));

  PemCredential garbage{"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
                        a.private_key_pem};
  leaf = IssueLeafCertificate(garbage, PeerIdentity{"site-a", "node", "n1"});
  EXPECT_EQ(leaf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(leaf.status().message(), HasSubstr("CA certificate"));
}

TEST(SiteCaTest, LeafNeverOutlivesItsCa) {
  SiteCaOptions short_ca;
  short_ca.validity = absl::Hours(48);
  absl::StatusOr<PemCredential> ca = CreateSiteCa("site-a", short_ca);
  ASSERT_TRUE(ca.ok());
  PemCredential leaf = testing::Issue(*ca, "site-a", "admin", "alice");
  absl::StatusOr<CertificateInfo> ca_info = DescribeCertificate(ca->certificate_pem);
  absl::StatusOr<CertificateInfo> leaf_info = DescribeCertificate(leaf.certificate_pem);
  ASSERT_TRUE(ca_info.ok() && leaf_info.ok());
  EXPECT_LE(leaf_info->not_after, ca_info->not_after);
}

}  // namespace
}  // namespace qbox::guard

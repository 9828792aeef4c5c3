// Helpers shared by the guard tests: fresh site CAs and certificates issued
// from them, failing the test on any error.
#ifndef QBOX_TESTS_GUARD_TEST_SITES_H_
#define QBOX_TESTS_GUARD_TEST_SITES_H_

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/guard/certificate_signer.h"
#include "node/guard/site_ca.h"
#include "node/guard/site_trust_store.h"

namespace qbox::guard::testing {

inline PemCredential NewSiteCa(const std::string& site) {
  absl::StatusOr<PemCredential> ca = CreateSiteCa(site);
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : PemCredential{};
}

inline PemCredential Issue(const PemCredential& ca, const std::string& site,
                           const std::string& role, const std::string& name,
                           const LeafOptions& options = {}) {
  absl::StatusOr<PemCredential> leaf =
      IssueLeafCertificate(ca, PeerIdentity{site, role, name}, options);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  return leaf.ok() ? *leaf : PemCredential{};
}

// Signs an arbitrary leaf with `ca`, bypassing IssueLeafCertificate's
// checks: how an attacker holding a site's CA key would mint certificates.
inline PemCredential SignRawLeaf(const PemCredential& ca, std::vector<std::string> uris,
                                 bool is_ca = false) {
  CertificateTemplate tmpl;
  tmpl.common_name = "raw test leaf";
  tmpl.uris = std::move(uris);
  tmpl.dns_names = {"localhost"};
  tmpl.ip_addresses = {"127.0.0.1"};
  tmpl.not_before = absl::Now() - absl::Minutes(5);
  tmpl.not_after = absl::Now() + absl::Hours(24);
  tmpl.is_ca = is_ca;
  absl::StatusOr<PemCredential> leaf = SignCertificate(tmpl, &ca);
  EXPECT_TRUE(leaf.ok()) << leaf.status();
  return leaf.ok() ? *leaf : PemCredential{};
}

// Three independent sites, as in a dev cluster.
struct ThreeSites {
  PemCredential a = NewSiteCa("site-a");
  PemCredential b = NewSiteCa("site-b");
  PemCredential c = NewSiteCa("site-c");

  SiteTrustStore TrustStore() const {
    absl::StatusOr<SiteTrustStore> store = SiteTrustStore::Create({{"site-a", a.certificate_pem},
                                                                   {"site-b", b.certificate_pem},
                                                                   {"site-c", c.certificate_pem}});
    EXPECT_TRUE(store.ok()) << store.status();
    return *std::move(store);
  }
};

}  // namespace qbox::guard::testing

#endif  // QBOX_TESTS_GUARD_TEST_SITES_H_

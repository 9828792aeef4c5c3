#include "tests/client/test_credentials.h"

#include <stdlib.h>

#include <filesystem>
#include <vector>

#include "gtest/gtest.h"
#include "node/guard/credential_directory.h"
#include "node/guard/site_ca.h"

namespace qbox::testing {
namespace {

guard::PemCredential NewCa(const std::string& site) {
  absl::StatusOr<guard::PemCredential> ca = guard::CreateSiteCa(site);
  if (!ca.ok()) ADD_FAILURE() << ca.status();
  return ca.ok() ? *ca : guard::PemCredential{};
}

guard::IssuedIdentity Issue(const guard::PemCredential& ca, const std::string& site,
                            const std::string& role, const std::string& name) {
  guard::LeafOptions hosts;
  hosts.dns_names = {"localhost"};
  hosts.ip_addresses = {"127.0.0.1"};
  guard::PeerIdentity identity{site, role, name};
  absl::StatusOr<guard::PemCredential> leaf = guard::IssueLeafCertificate(ca, identity, hosts);
  if (!leaf.ok()) ADD_FAILURE() << leaf.status();
  return {identity, leaf.ok() ? *leaf : guard::PemCredential{}};
}

void CreateSiteDirectory(const std::string& dir, const guard::PemCredential& ca,
                         const std::vector<guard::IssuedIdentity>& leaves) {
  absl::Status created = guard::CreateCredentialDirectory(dir, ca, leaves);
  if (!created.ok()) ADD_FAILURE() << created;
}

}  // namespace

TestCredentials::TestCredentials() {
  std::string pattern = (std::filesystem::temp_directory_path() / "qbox-client-test-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << pattern << " failed";
    return;
  }
  dir_ = pattern;

  const guard::PemCredential site_a = NewCa("site-a");
  const guard::PemCredential site_b = NewCa("site-b");
  const guard::PemCredential site_z = NewCa("site-z");
  const guard::IssuedIdentity node = Issue(site_a, "site-a", "node", "n1");
  server_ = node.credential;
  CreateSiteDirectory(
      dir_ + "/site-a", site_a,
      {node, Issue(site_a, "site-a", "frontend", "fe1"), Issue(site_a, "site-a", "admin", "ad1")});
  CreateSiteDirectory(dir_ + "/site-z", site_z, {Issue(site_z, "site-z", "frontend", "fe1")});

  bundle_pem_ = site_a.certificate_pem + site_b.certificate_pem;
  bundle_file_ = dir_ + "/all-sites-ca.pem";
  absl::Status written =
      guard::WriteFileAtomically(bundle_file_, bundle_pem_, 0644, /*overwrite=*/false);
  if (!written.ok()) ADD_FAILURE() << written;
}

TestCredentials::~TestCredentials() {
  if (dir_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string TestCredentials::FrontendCertificateFile() const {
  return guard::CertificatePath(dir_ + "/site-a", "frontend", "fe1");
}
std::string TestCredentials::FrontendKeyFile() const {
  return guard::KeyPath(dir_ + "/site-a", "frontend", "fe1");
}
std::string TestCredentials::AdminCertificateFile() const {
  return guard::CertificatePath(dir_ + "/site-a", "admin", "ad1");
}
std::string TestCredentials::AdminKeyFile() const {
  return guard::KeyPath(dir_ + "/site-a", "admin", "ad1");
}
std::string TestCredentials::UntrustedFrontendCertificateFile() const {
  return guard::CertificatePath(dir_ + "/site-z", "frontend", "fe1");
}
std::string TestCredentials::UntrustedFrontendKeyFile() const {
  return guard::KeyPath(dir_ + "/site-z", "frontend", "fe1");
}

ClientOptions TestCredentials::FrontendOptions(std::vector<std::string> endpoints) const {
  ClientOptions options;
  options.endpoints = std::move(endpoints);
  options.ca_bundle_file = bundle_file_;
  options.certificate_file = FrontendCertificateFile();
  options.private_key_file = FrontendKeyFile();
  options.default_timeout = absl::Seconds(10);
  options.connect_timeout = absl::Seconds(2);
  options.initial_backoff = absl::Milliseconds(10);
  options.max_backoff = absl::Milliseconds(100);
  return options;
}

ClientOptions TestCredentials::AdminOptions(std::vector<std::string> endpoints) const {
  ClientOptions options = FrontendOptions(std::move(endpoints));
  options.certificate_file = AdminCertificateFile();
  options.private_key_file = AdminKeyFile();
  return options;
}

}  // namespace qbox::testing

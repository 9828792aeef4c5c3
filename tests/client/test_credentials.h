// Real TLS credentials for client tests, made with the project's own site
// CA code (node/guard) in a temporary directory:
//   site-a: CA, node n1 (serves, valid for 127.0.0.1/localhost), frontend
//           fe1, admin ad1;
//   site-b: CA only (in the bundle, as in a three-site deployment);
//   site-z: a CA the servers do NOT trust, with its own frontend fe1.
// The bundle every client and server trusts is site-a + site-b.
#ifndef QBOX_TESTS_CLIENT_TEST_CREDENTIALS_H_
#define QBOX_TESTS_CLIENT_TEST_CREDENTIALS_H_

#include <string>

#include "node/guard/certificate_signer.h"
#include "qbox/options.h"

namespace qbox::testing {

class TestCredentials {
 public:
  // Creates everything under a fresh temporary directory; fails the
  // current test (ADD_FAILURE) on any error.
  TestCredentials();
  // Removes the directory.
  ~TestCredentials();

  TestCredentials(const TestCredentials&) = delete;
  TestCredentials& operator=(const TestCredentials&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& bundle_file() const { return bundle_file_; }
  const std::string& trusted_bundle_pem() const { return bundle_pem_; }
  const guard::PemCredential& server() const { return server_; }

  std::string FrontendCertificateFile() const;
  std::string FrontendKeyFile() const;
  std::string AdminCertificateFile() const;
  std::string AdminKeyFile() const;
  std::string UntrustedFrontendCertificateFile() const;
  std::string UntrustedFrontendKeyFile() const;

  // Options for a frontend client of `endpoints` with fast back-off, so
  // tests of retries do not wait long.
  ClientOptions FrontendOptions(std::vector<std::string> endpoints) const;
  ClientOptions AdminOptions(std::vector<std::string> endpoints) const;

 private:
  std::string dir_;
  std::string bundle_file_;
  std::string bundle_pem_;
  guard::PemCredential server_;
};

}  // namespace qbox::testing

#endif  // QBOX_TESTS_CLIENT_TEST_CREDENTIALS_H_

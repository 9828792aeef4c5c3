// A readable summary of one certificate, for operators (`qboxctl site show`)
// and tests. Describes; it does not verify anything.
#ifndef QBOX_NODE_GUARD_CERTIFICATE_INFO_H_
#define QBOX_NODE_GUARD_CERTIFICATE_INFO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qbox::guard {

struct CertificateInfo {
  std::string subject;  // RFC 2253, e.g. "CN=site-a/node/n1"
  std::string issuer;
  std::string serial_hex;
  std::vector<std::string> uris;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  absl::Time not_before;
  absl::Time not_after;
  bool is_ca = false;
  int path_length = -1;               // basicConstraints pathlen; -1 if absent
  std::string key_algorithm;          // e.g. "EC P-256"
  std::string public_key_sha256_hex;  // fingerprint of the SubjectPublicKeyInfo
};

// Describes the first certificate in `pem`. INVALID_ARGUMENT naming `what`
// if it does not parse.
absl::StatusOr<CertificateInfo> DescribeCertificate(absl::string_view pem,
                                                    absl::string_view what = "certificate");

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_CERTIFICATE_INFO_H_

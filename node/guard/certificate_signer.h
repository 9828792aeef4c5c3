// Mechanism, not policy: makes a fresh EC P-256 key and an X.509 certificate
// exactly as a CertificateTemplate describes, self-signed or signed by an
// issuer. It does NOT check that names follow quorumbox's rules; production
// code calls CreateSiteCa / IssueLeafCertificate (site_ca.h), which do.
// Tests use this directly to mint deliberately bad certificates (no SPIFFE
// ID, an unknown role, a leaf that is itself a CA, ...).
#ifndef QBOX_NODE_GUARD_CERTIFICATE_SIGNER_H_
#define QBOX_NODE_GUARD_CERTIFICATE_SIGNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace qbox::guard {

// A certificate and its private key, both PEM. The key is unencrypted: it
// must only ever be written to a file of mode 0600.
struct PemCredential {
  std::string certificate_pem;
  std::string private_key_pem;
};

struct CertificateTemplate {
  std::string common_name;
  std::vector<std::string> uris;          // URI SANs, copied verbatim.
  std::vector<std::string> dns_names;     // DNS SANs.
  std::vector<std::string> ip_addresses;  // IP SANs in text form (v4 or v6).
  absl::Time not_before;
  absl::Time not_after;
  // true: basicConstraints CA:TRUE, pathlen:0, keyUsage keyCertSign+cRLSign.
  // false: CA:FALSE, keyUsage digitalSignature, EKU serverAuth+clientAuth.
  bool is_ca = false;
};

// Signs `tmpl` with `issuer` (a CA credential), or self-signs it if `issuer`
// is null. The serial number is 127 random bits. INVALID_ARGUMENT if an IP
// address does not parse, if not_after is not after not_before, or if the
// issuer's PEM does not parse or its key does not match its certificate.
absl::StatusOr<PemCredential> SignCertificate(const CertificateTemplate& tmpl,
                                              const PemCredential* issuer);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_CERTIFICATE_SIGNER_H_

// Conversions between PEM text and OpenSSL objects. Internal to node/guard.
#ifndef QBOX_NODE_GUARD_PEM_CODEC_H_
#define QBOX_NODE_GUARD_PEM_CODEC_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/guard/openssl_handles.h"

namespace qbox::guard {

// Every certificate in `pem`, in order. INVALID_ARGUMENT (message starting
// with `what`) if `pem` holds no certificate or anything that does not parse.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificatesPem(absl::string_view pem,
                                                          absl::string_view what);

// The first certificate in `pem`; same errors as ParseCertificatesPem.
absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem, absl::string_view what);

// An unencrypted private key (PKCS#8 or traditional). INVALID_ARGUMENT
// naming `what` if it does not parse.
absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem, absl::string_view what);

absl::StatusOr<std::string> CertificateToPem(X509* cert);
// Unencrypted PKCS#8: the files holding it are protected by mode 0600.
absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key);

// The URI, DNS and IP subject alternative names of `cert`, in order. IPs
// are printed in their usual text form ("127.0.0.1", "::1").
struct SubjectAltNames {
  std::vector<std::string> uris;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
};
SubjectAltNames GetSubjectAltNames(X509* cert);

// One-line RFC 2253 rendering of a name, e.g. "CN=quorumbox site-a CA".
std::string NameToString(const X509_NAME* name);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_PEM_CODEC_H_

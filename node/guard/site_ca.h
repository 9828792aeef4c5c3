// Creating a site's certificate authority and issuing certificates from it.
//
// Every site has its own CA; no key or certificate is shared between sites
// (DESIGN.md G6). A site CA is an EC P-256 self-signed certificate with
// subject CN "quorumbox <site> CA", basicConstraints CA:TRUE pathlen:0 (it
// signs leaves only) and the URI SAN spiffe://<site> naming its site. A leaf
// names its holder with the URI SAN spiffe://<site>/<role>/<name> and may
// carry DNS/IP SANs so that TLS hostname checks pass for nodes.
//
// Everything here works on PEM strings in memory; credential_directory.h
// puts them on disk.
#ifndef QBOX_NODE_GUARD_SITE_CA_H_
#define QBOX_NODE_GUARD_SITE_CA_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/guard/certificate_signer.h"
#include "node/guard/peer_identity.h"

namespace qbox::guard {

inline constexpr absl::Duration kDefaultCaValidity = absl::Hours(24 * 3652);   // ~10 years
inline constexpr absl::Duration kDefaultLeafValidity = absl::Hours(24 * 365);  // 1 year
// Certificates start a little in the past so that a peer whose clock is a
// few minutes behind ours accepts one issued just now.
inline constexpr absl::Duration kClockSkewAllowance = absl::Minutes(5);

struct SiteCaOptions {
  // Defaults to now - kClockSkewAllowance.
  std::optional<absl::Time> not_before;
  absl::Duration validity = kDefaultCaValidity;
};

// A new CA for `site`. INVALID_ARGUMENT naming "site" if the name breaks
// identity_names.h's rules, or "validity" if it is not positive.
absl::StatusOr<PemCredential> CreateSiteCa(absl::string_view site,
                                           const SiteCaOptions& options = {});

struct LeafOptions {
  std::vector<std::string> dns_names;     // e.g. {"localhost"}
  std::vector<std::string> ip_addresses;  // e.g. {"127.0.0.1"}
  // Defaults to now - kClockSkewAllowance. Tests set a past or future window
  // to get expired or not-yet-valid certificates.
  std::optional<absl::Time> not_before;
  absl::Duration validity = kDefaultLeafValidity;
};

// Issues a certificate (and fresh key) for `identity`, signed by `ca`.
// The leaf expires no later than the CA does, so a chain is never valid
// longer than its root. Errors (INVALID_ARGUMENT, nothing issued):
//  - "site"/"role"/"name" break identity_names.h's rules;
//  - "site": `identity.site` is not the site `ca` was created for (a CA
//    must never mint another site's identity);
//  - "dns name" / "ip address" that does not parse;
//  - "validity" not positive;
//  - the CA PEM or key does not parse or do not belong together.
absl::StatusOr<PemCredential> IssueLeafCertificate(const PemCredential& ca,
                                                   const PeerIdentity& identity,
                                                   const LeafOptions& options = {});

// The site a CA certificate was created for, read from its spiffe://<site>
// URI SAN. INVALID_ARGUMENT if the PEM does not parse, is not a CA, or does
// not carry exactly one valid trust-domain URI.
absl::StatusOr<std::string> SiteOfCaCertificate(absl::string_view ca_certificate_pem);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_SITE_CA_H_

// Maps a peer's certificate to a PeerIdentity using only the site CAs.
//
// The site is decided by WHICH CA verified the certificate: each site's CA
// is checked alone, in its own X509_STORE, so a certificate can never borrow
// trust from another site's root. The SPIFFE ID in the certificate then
// supplies role and name, and must name that same site. A certificate from
// site-a's CA that claims spiffe://site-b/... is an impersonation attempt
// and is refused (DESIGN.md G6, threat model A).
#ifndef QBOX_NODE_GUARD_SITE_TRUST_STORE_H_
#define QBOX_NODE_GUARD_SITE_TRUST_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/guard/peer_identity.h"

namespace qbox::guard {

struct SiteCaCertificate {
  std::string site;             // e.g. "site-a"
  std::string certificate_pem;  // that site's CA certificate
};

// Immutable once built; Identify is safe to call from many threads at once.
class SiteTrustStore {
 public:
  // Builds the store. INVALID_ARGUMENT naming the site if: a site name breaks
  // identity_names.h's rules; two entries name the same site; a PEM does not
  // parse or holds more than one certificate; a certificate is not a CA; a
  // CA certificate names a different site in its spiffe:// URI SAN; or two
  // sites share one CA (same public key), which would let either site act
  // as the other. An empty list is allowed (it identifies nobody).
  static absl::StatusOr<SiteTrustStore> Create(const std::vector<SiteCaCertificate>& sites);

  SiteTrustStore(SiteTrustStore&&) noexcept;
  SiteTrustStore& operator=(SiteTrustStore&&) noexcept;
  ~SiteTrustStore();

  // Identifies the holder of `peer_chain_pem`: the peer's certificate first,
  // optionally followed by intermediates (quorumbox CAs have pathlen 0, so
  // in practice it is the leaf alone). Verification includes the validity
  // period at `now`. Errors:
  //  - INVALID_ARGUMENT: the PEM does not parse.
  //  - UNAUTHENTICATED: no site's CA verifies the certificate (unknown CA,
  //    expired, not yet valid, bad signature, ...); the message gives
  //    OpenSSL's reason for each site.
  //  - PERMISSION_DENIED: verified by a CA but the certificate is itself a
  //    CA, has no or several spiffe:// URI SANs, has a malformed one, names
  //    an unknown role, or names a site other than the verifying CA's.
  absl::StatusOr<PeerIdentity> Identify(absl::string_view peer_chain_pem) const;
  absl::StatusOr<PeerIdentity> Identify(absl::string_view peer_chain_pem, absl::Time now) const;

  // The sites in the order they were given.
  std::vector<std::string> Sites() const;

  // All CA certificates concatenated, in order: what a TLS server or client
  // passes as its root certificates so that the handshake accepts any site's
  // peers before Identify decides which site each one belongs to.
  std::string ConcatenatedCaPem() const;

 private:
  struct Site;
  explicit SiteTrustStore(std::vector<std::unique_ptr<Site>> sites);

  std::vector<std::unique_ptr<Site>> sites_;
};

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_SITE_TRUST_STORE_H_

// Who a peer is: the site whose CA vouched for it, its role and its name.
//
// A PeerIdentity is only ever produced by SiteTrustStore::Identify (see
// site_trust_store.h), which takes the site from the CA that verified the
// certificate and checks that the certificate's SPIFFE ID names the same
// site. Nothing a peer merely claims (a header, a hostname, a field in a
// request) may be turned into a PeerIdentity (DESIGN.md G6).
//
// The identity travels in certificates as a URI SAN of the form
//   spiffe://<site>/<role>/<name>        e.g. spiffe://site-a/node/n1
// and a site CA carries its trust domain alone: spiffe://<site>.
#ifndef QBOX_NODE_GUARD_PEER_IDENTITY_H_
#define QBOX_NODE_GUARD_PEER_IDENTITY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qbox::guard {

struct PeerIdentity {
  std::string site;  // e.g. "site-a"; see identity_names.h for the rules.
  std::string role;  // one of kAllRoles: "node", "frontend", "admin".
  std::string name;  // e.g. "n1".

  // "spiffe://site/role/name".
  std::string SpiffeUri() const;
  // "site/role/name", for log lines and error messages.
  std::string ToString() const;

  friend bool operator==(const PeerIdentity& a, const PeerIdentity& b) {
    return a.site == b.site && a.role == b.role && a.name == b.name;
  }
  friend bool operator!=(const PeerIdentity& a, const PeerIdentity& b) { return !(a == b); }
};

// Builds the identity after validating each part (identity_names.h).
// INVALID_ARGUMENT naming "site", "role" or "name" otherwise.
absl::StatusOr<PeerIdentity> MakePeerIdentity(absl::string_view site, absl::string_view role,
                                              absl::string_view name);

// Parses "spiffe://site/role/name" exactly: no query, fragment, port, user
// info, empty or extra path segments, or percent-escapes; each part must pass
// identity_names.h. INVALID_ARGUMENT saying what is wrong otherwise (an
// unknown role is reported as such). This is syntax only: it proves nothing
// about who the peer is.
absl::StatusOr<PeerIdentity> ParseSpiffeUri(absl::string_view uri);

// "spiffe://site": the trust-domain ID that a site CA certificate carries.
std::string TrustDomainUri(absl::string_view site);

// OK if `identity.role == role`; otherwise PERMISSION_DENIED naming the
// identity, its role and the role required.
absl::Status RequireRole(const PeerIdentity& identity, absl::string_view role);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_PEER_IDENTITY_H_

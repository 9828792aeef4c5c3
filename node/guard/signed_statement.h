// Signatures over the charter's signed statements (DESIGN.md G2, G5):
// proposals and endorsements by admins, clock and checkpoint statements by
// nodes. Every node verifies every signature itself when it applies the
// entry that carries it, so a lying leader cannot forge one.
//
// The signing input is the statement's domain string, a zero byte, and the
// exact serialized bytes the statement carries (charter.proto), so a
// signature over one kind of statement never verifies as another.
#ifndef QBOX_NODE_GUARD_SIGNED_STATEMENT_H_
#define QBOX_NODE_GUARD_SIGNED_STATEMENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/guard/peer_identity.h"
#include "node/guard/site_trust_store.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::guard {

enum class StatementKind {
  kProposalBody,   // domain "qbox.v1.ProposalBody", signed by an admin
  kEndorsement,    // domain "qbox.v1.Endorsement", signed by an admin
  kNodeStatement,  // domain "qbox.v1.NodeStatement", signed by a node
  kAdminCommand,   // domain "qbox.v1.AdminCommandBody", signed by an admin
};

// "qbox.v1.ProposalBody", ...
absl::string_view DomainOf(StatementKind kind);

// Signs `bytes` with `private_key_pem` (the key of the signer's
// certificate; EC or Ed25519 keys as site_ca.h issues them) and returns a
// Signature carrying `certificate_pem`. INVALID_ARGUMENT naming
// "private key" or "certificate" if either does not parse or the key does
// not belong to the certificate.
absl::StatusOr<v1::Signature> SignStatement(StatementKind kind, absl::string_view bytes,
                                            absl::string_view certificate_pem,
                                            absl::string_view private_key_pem);

// Verifies that `signature` is over `bytes` as a statement of `kind`, made
// with the key of `signature.certificate_pem`, and identifies the signer by
// `trust` alone (the charter's site CAs; G6) with the certificate's validity
// checked at `at` (the statement's own signed time, so every node decides
// the same way whenever it applies the entry). The signer must hold
// `required_role` ("admin" or "node"). Errors, each naming the field:
//  - INVALID_ARGUMENT: "signature.certificate_pem" does not parse, holds
//    more than the signer's one certificate, or carries a key that is
//    neither EC nor Ed25519; "signature.signature" is empty or malformed
//    (not one DER ECDSA signature, or not 64 bytes for Ed25519);
//  - UNAUTHENTICATED: no charter CA verifies the certificate (unknown CA,
//    expired or not yet valid at `at`), or the signature does not verify
//    over these bytes;
//  - PERMISSION_DENIED: the certificate holds another role than
//    `required_role`, or names a site other than its CA's.
absl::StatusOr<PeerIdentity> VerifyStatement(const SiteTrustStore& trust, StatementKind kind,
                                             absl::string_view bytes,
                                             const v1::Signature& signature, absl::Time at,
                                             absl::string_view required_role);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_SIGNED_STATEMENT_H_

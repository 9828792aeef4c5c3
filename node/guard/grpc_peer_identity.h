// Identifies the caller of a gRPC call from its mutual-TLS certificate.
//
// Kept apart from site_trust_store.h, and free of gRPC includes, so that
// code that only needs the trust store does not pay for gRPC's headers.
#ifndef QBOX_NODE_GUARD_GRPC_PEER_IDENTITY_H_
#define QBOX_NODE_GUARD_GRPC_PEER_IDENTITY_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/guard/peer_identity.h"
#include "node/guard/site_trust_store.h"

namespace grpc {
class AuthContext;
}  // namespace grpc

namespace qbox::guard {

// Reads the peer's certificate (auth property "x509_pem_cert", set by
// gRPC's TLS credentials) and identifies it with `trust`
// (SiteTrustStore::Identify). UNAUTHENTICATED if the channel is not TLS or
// the peer sent no certificate; otherwise Identify's errors.
//
// The TLS handshake has already checked the certificate against the union
// of all sites' CAs; this second check is what pins it to ONE site.
absl::StatusOr<PeerIdentity> IdentifyGrpcPeer(const grpc::AuthContext& auth,
                                              const SiteTrustStore& trust);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_GRPC_PEER_IDENTITY_H_

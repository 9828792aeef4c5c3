#include "node/guard/grpc_peer_identity.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

namespace qbox::guard {

absl::StatusOr<PeerIdentity> IdentifyGrpcPeer(const grpc::AuthContext& auth,
                                              const SiteTrustStore& trust) {
  std::vector<grpc::string_ref> certs = auth.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (certs.empty()) {
    return absl::UnauthenticatedError(
        "peer presented no TLS client certificate; every quorumbox connection uses mutual TLS");
  }
  return trust.Identify(absl::string_view(certs.front().data(), certs.front().size()));
}

}  // namespace qbox::guard

#include "node/guard/grpc_peer_identity.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>

#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace qbox::guard {

absl::StatusOr<PeerIdentity> IdentifyGrpcPeer(const grpc::AuthContext& auth,
                                              const SiteTrustStore& trust) {
  std::vector<grpc::string_ref> certs = auth.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (certs.empty()) {
    return absl::UnauthenticatedError(
        "peer presented no TLS client certificate; every quorumbox connection uses mutual TLS");
  }
  std::string pem(certs.front().data(), certs.front().size());
  // Verifying a certificate against every site's CA costs more than the
  // call it guards; a front end sends thousands of calls over one
  // connection with the same certificate. Successes are remembered for a
  // minute (the TLS handshake checks validity again on every connection).
  struct Cached {
    PeerIdentity identity;
    absl::Time expires;
  };
  static absl::Mutex mu(absl::kConstInit);
  static auto* cache ABSL_GUARDED_BY(mu) =
      new absl::flat_hash_map<std::pair<std::string, std::string>, Cached>();
  const absl::Time now = absl::Now();
  // Keyed by the trusted CAs too: the same certificate means nothing under
  // another set of sites.
  auto key = std::make_pair(trust.ConcatenatedCaPem(), pem);
  {
    absl::MutexLock lock(&mu);
    auto it = cache->find(key);
    if (it != cache->end() && it->second.expires > now) return it->second.identity;
  }
  absl::StatusOr<PeerIdentity> identity = trust.Identify(pem);
  if (identity.ok()) {
    absl::MutexLock lock(&mu);
    if (cache->size() >= 4096) cache->clear();
    (*cache)[std::move(key)] = Cached{*identity, now + absl::Minutes(1)};
  }
  return identity;
}

}  // namespace qbox::guard

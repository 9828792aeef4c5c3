// A running node's TLS material, followed while it serves (issue 5).
//
// The trusted roots are the charter's site CAs: when an executed proposal
// replaces a site's CA or adds a site, FollowSites writes the new bundle to
// <data-dir>/tls/trusted-cas.pem and swaps the application-level trust
// store (live_trust.h). The node's own certificate and key are the --cert
// and --key files: CheckIdentityFiles adopts a re-issued pair only once it
// is valid for this node, by copying it to <data-dir>/tls/node-{cert,key}.pem.
// gRPC's FileWatcherCertificateProvider watches the three files in tls/
// (every second), so the server and every outgoing channel made with these
// credentials pick changes up without a restart. Only this class writes
// tls/; a file an operator breaks in place never reaches gRPC.
#ifndef QBOX_NODE_SERVER_LIVE_TLS_H_
#define QBOX_NODE_SERVER_LIVE_TLS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/guard/site_trust_store.h"
#include "node/server/cluster_config.h"
#include "node/server/live_trust.h"

namespace grpc {
class ChannelCredentials;
class ServerCredentials;
namespace experimental {
class CertificateProviderInterface;
}  // namespace experimental
}  // namespace grpc

namespace qbox::server {

struct LiveTlsOptions {
  std::string data_dir;   // the files gRPC watches live in <data_dir>/tls/
  std::string cert_file;  // --cert: watched for a re-issued certificate
  std::string key_file;   // --key
  NodeConfig self;        // whom the certificate must name
  std::function<void(std::string_view)> logger;
};

// This node's certificate and private key, PEM.
struct NodeIdentityPem {
  std::string certificate_pem;
  std::string private_key_pem;
};

class LiveTls {
 public:
  // Writes tls/trusted-cas.pem (the CAs of `sites`) and tls/node-cert.pem,
  // tls/node-key.pem (`identity`, which the caller has checked against
  // `sites`), then starts watching them. Errors: INVALID_ARGUMENT if
  // guard::SiteTrustStore refuses `sites`; the path and the system's reason
  // if tls/ or a file in it cannot be written. Nothing is served on error.
  static absl::StatusOr<std::unique_ptr<LiveTls>> Create(
      LiveTlsOptions options, const std::vector<guard::SiteCaCertificate>& sites,
      NodeIdentityPem identity);
  ~LiveTls();

  // Mutual TLS for the server: clients must present a certificate that one
  // of the current CAs verifies.
  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  // Mutual TLS for outgoing channels: the server's certificate must be
  // verified by a current CA and name the host dialled (as
  // grpc::SslCredentials checks), and ours is presented.
  std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() const;
  // The application-level store (who is which site), swapped by FollowSites.
  const LiveTrust* trust() const { return &trust_; }

  // Adopts the charter's `sites` if they differ from the ones in force:
  // writes the bundle (temp file, fsync, rename), swaps the trust store and
  // logs which sites were added, removed or had their CA replaced. Returns
  // true if anything changed. On error (a store that cannot be built, a
  // file that cannot be written) logs it and returns it; the old CAs stay.
  absl::StatusOr<bool> FollowSites(const std::vector<guard::SiteCaCertificate>& sites);

  // Reads --cert and --key. If they hold a pair other than the one in use,
  // and it is valid (the key matches the certificate, a current CA of this
  // node's site verifies it, it names this node with role "node"), adopts
  // it and returns it. An invalid pair is refused with a log line naming
  // the file at fault (once per distinct content) and the pair in use stays.
  std::optional<NodeIdentityPem> CheckIdentityFiles();

  // Where the watched files are.
  std::string TrustedCasPath() const;
  std::string CertificatePath() const;
  std::string PrivateKeyPath() const;

 private:
  LiveTls(LiveTlsOptions options, std::shared_ptr<const guard::SiteTrustStore> trust,
          std::vector<guard::SiteCaCertificate> sites, NodeIdentityPem identity);
  void Log(const std::string& line) const;
  // Why `candidate` cannot be this node's identity under `trust`, naming
  // the file at fault; OK if it can.
  absl::Status CheckIdentity(const NodeIdentityPem& candidate,
                             const guard::SiteTrustStore& trust) const;

  const LiveTlsOptions options_;
  LiveTrust trust_;
  std::shared_ptr<grpc::experimental::CertificateProviderInterface> provider_;
  absl::Mutex mu_;  // FollowSites and CheckIdentityFiles may run on different threads
  std::vector<guard::SiteCaCertificate> sites_ ABSL_GUARDED_BY(mu_);
  NodeIdentityPem identity_ ABSL_GUARDED_BY(mu_);
  // The last pair refused, so that a bad file is logged once, not every
  // second; forgotten when the CAs change (it may be valid under them).
  std::optional<NodeIdentityPem> refused_ ABSL_GUARDED_BY(mu_);
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_LIVE_TLS_H_

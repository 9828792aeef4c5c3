#include "node/server/live_tls.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/x509.h>

#include <filesystem>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/common/status_macros.h"
#include "node/guard/credential_directory.h"
#include "node/guard/pem_codec.h"

namespace qbox::server {
namespace {

// How often gRPC re-reads tls/: a change is live within about this long.
constexpr unsigned kRefreshSeconds = 1;

std::string Bundle(const std::vector<guard::SiteCaCertificate>& sites) {
  std::string out;
  for (const guard::SiteCaCertificate& s : sites) {
    out += s.certificate_pem;
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

// Whether `key_pem` is the private key of the first certificate in
// `certificate_pem`. Both must parse.
bool KeyMatchesCertificate(const std::string& certificate_pem, const std::string& key_pem) {
  absl::StatusOr<guard::X509Ptr> cert = guard::ParseCertificatePem(certificate_pem, "certificate");
  absl::StatusOr<guard::EvpPkeyPtr> key = guard::ParsePrivateKeyPem(key_pem, "key");
  return cert.ok() && key.ok() && X509_check_private_key(cert->get(), key->get()) == 1;
}

// "site-c's CA replaced; site-d added" between two site lists.
std::string DescribeChange(const std::vector<guard::SiteCaCertificate>& before,
                           const std::vector<guard::SiteCaCertificate>& after) {
  std::map<std::string, std::string> old_cas, new_cas;
  for (const auto& s : before) old_cas[s.site] = s.certificate_pem;
  for (const auto& s : after) new_cas[s.site] = s.certificate_pem;
  std::vector<std::string> changes;
  for (const auto& [site, pem] : new_cas) {
    auto it = old_cas.find(site);
    if (it == old_cas.end()) {
      changes.push_back(absl::StrCat(site, " added"));
    } else if (it->second != pem) {
      changes.push_back(absl::StrCat(site, "'s CA replaced"));
    }
  }
  for (const auto& [site, pem] : old_cas) {
    if (new_cas.count(site) == 0) changes.push_back(absl::StrCat(site, " removed"));
  }
  return changes.empty() ? "the sites were reordered" : absl::StrJoin(changes, "; ");
}

bool SameSites(const std::vector<guard::SiteCaCertificate>& a,
               const std::vector<guard::SiteCaCertificate>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].site != b[i].site || a[i].certificate_pem != b[i].certificate_pem) return false;
  }
  return true;
}

bool SamePair(const NodeIdentityPem& a, const NodeIdentityPem& b) {
  return a.certificate_pem == b.certificate_pem && a.private_key_pem == b.private_key_pem;
}

absl::StatusOr<std::shared_ptr<const guard::SiteTrustStore>> BuildStore(
    const std::vector<guard::SiteCaCertificate>& sites) {
  absl::StatusOr<guard::SiteTrustStore> store = guard::SiteTrustStore::Create(sites);
  if (!store.ok()) return store.status();
  return std::make_shared<const guard::SiteTrustStore>(*std::move(store));
}

}  // namespace

absl::StatusOr<std::unique_ptr<LiveTls>> LiveTls::Create(
    LiveTlsOptions options, const std::vector<guard::SiteCaCertificate>& sites,
    NodeIdentityPem identity) {
  ASSIGN_OR_RETURN(std::shared_ptr<const guard::SiteTrustStore> store, BuildStore(sites));
  const std::string dir = options.data_dir + "/tls";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("--data-dir: cannot create ", dir, ": ", ec.message()));
  }
  // Written before gRPC reads them; the node is not serving yet.
  RETURN_IF_ERROR(guard::WriteFileAtomically(dir + "/trusted-cas.pem", Bundle(sites), 0644,
                                             /*overwrite=*/true));
  RETURN_IF_ERROR(guard::WriteFileAtomically(dir + "/node-key.pem", identity.private_key_pem, 0600,
                                             /*overwrite=*/true));
  RETURN_IF_ERROR(guard::WriteFileAtomically(dir + "/node-cert.pem", identity.certificate_pem, 0644,
                                             /*overwrite=*/true));
  std::unique_ptr<LiveTls> tls(
      new LiveTls(std::move(options), std::move(store), sites, std::move(identity)));
  tls->provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls->PrivateKeyPath(), tls->CertificatePath(), tls->TrustedCasPath(), kRefreshSeconds);
  return tls;
}

LiveTls::LiveTls(LiveTlsOptions options, std::shared_ptr<const guard::SiteTrustStore> trust,
                 std::vector<guard::SiteCaCertificate> sites, NodeIdentityPem identity)
    : options_(std::move(options)),
      trust_(std::move(trust)),
      sites_(std::move(sites)),
      identity_(std::move(identity)) {}

LiveTls::~LiveTls() = default;

std::string LiveTls::TrustedCasPath() const { return options_.data_dir + "/tls/trusted-cas.pem"; }
std::string LiveTls::CertificatePath() const { return options_.data_dir + "/tls/node-cert.pem"; }
std::string LiveTls::PrivateKeyPath() const { return options_.data_dir + "/tls/node-key.pem"; }

void LiveTls::Log(const std::string& line) const {
  if (options_.logger) options_.logger(line);
}

std::shared_ptr<grpc::ServerCredentials> LiveTls::ServerCredentials() const {
  grpc::experimental::TlsServerCredentialsOptions tls(provider_);
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  return grpc::experimental::TlsServerCredentials(tls);
}

std::shared_ptr<grpc::ChannelCredentials> LiveTls::ChannelCredentials() const {
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(provider_);
  tls.watch_root_certs();
  tls.watch_identity_key_cert_pairs();
  // As strict as grpc::SslCredentials was: the chain must verify against
  // the current CAs, and the certificate must name the host we dialled.
  tls.set_verify_server_certs(true);
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  tls.set_check_call_host(true);
  return grpc::experimental::TlsCredentials(tls);
}

absl::StatusOr<bool> LiveTls::FollowSites(const std::vector<guard::SiteCaCertificate>& sites) {
  absl::MutexLock lock(&mu_);
  if (SameSites(sites, sites_)) return false;
  const std::string change = DescribeChange(sites_, sites);
  absl::StatusOr<std::shared_ptr<const guard::SiteTrustStore>> store = BuildStore(sites);
  if (!store.ok()) {
    Log(absl::StrCat("the charter's site CAs changed (", change,
                     ") but cannot be trusted; keeping the old ones: ", store.status().message()));
    return store.status();
  }
  // The file first: if it cannot be written, TLS and the application-level
  // check keep agreeing on the old CAs.
  if (absl::Status written =
          guard::WriteFileAtomically(TrustedCasPath(), Bundle(sites), 0644, /*overwrite=*/true);
      !written.ok()) {
    Log(absl::StrCat("the charter's site CAs changed (", change, ") but ", TrustedCasPath(),
                     " cannot be written; keeping the old ones: ", written.message()));
    return written;
  }
  trust_.Replace(*store);
  std::vector<std::string> names;
  for (const auto& s : sites) names.push_back(s.site);
  Log(absl::StrCat("trusted site CAs changed with the charter: ", change, "; now trusting ",
                   absl::StrJoin(names, ", "), " (", TrustedCasPath(), ", live within ",
                   kRefreshSeconds, " s)"));
  sites_ = sites;
  refused_.reset();
  if (absl::Status own = CheckIdentity(identity_, **store); !own.ok()) {
    Log(absl::StrCat(
        "this node's own certificate is not accepted under the new CAs, so peers "
        "will refuse this node until ",
        options_.cert_file, " and ", options_.key_file, " hold a certificate re-issued by ",
        options_.self.site, "'s current CA: ", own.message()));
  }
  return true;
}

absl::Status LiveTls::CheckIdentity(const NodeIdentityPem& candidate,
                                    const guard::SiteTrustStore& trust) const {
  absl::StatusOr<guard::PeerIdentity> who = trust.Identify(candidate.certificate_pem);
  if (!who.ok()) {
    return absl::Status(who.status().code(),
                        absl::StrCat(options_.cert_file, ": ", who.status().message()));
  }
  if (who->site != options_.self.site || who->name != options_.self.name || who->role != "node") {
    return absl::PermissionDeniedError(absl::StrCat(options_.cert_file, ": belongs to ",
                                                    who->ToString(), ", not to node ",
                                                    options_.self.QualifiedName()));
  }
  if (!KeyMatchesCertificate(candidate.certificate_pem, candidate.private_key_pem)) {
    return absl::InvalidArgumentError(absl::StrCat(
        options_.key_file, ": not the private key of the certificate in ", options_.cert_file));
  }
  return absl::OkStatus();
}

std::optional<NodeIdentityPem> LiveTls::CheckIdentityFiles() {
  absl::StatusOr<std::string> cert = guard::ReadTextFile(options_.cert_file);
  absl::StatusOr<std::string> key = guard::ReadTextFile(options_.key_file);
  absl::MutexLock lock(&mu_);
  if (!cert.ok() || !key.ok()) {
    // Missing or unreadable (perhaps mid-replacement): the pair in use stays.
    NodeIdentityPem unreadable{cert.ok() ? "" : std::string(cert.status().message()),
                               key.ok() ? "" : std::string(key.status().message())};
    if (!refused_ || !SamePair(*refused_, unreadable)) {
      Log(absl::StrCat("cannot read the node certificate or key; keeping the pair in use: ",
                       cert.ok() ? key.status().message() : cert.status().message()));
      refused_ = unreadable;
    }
    return std::nullopt;
  }
  NodeIdentityPem candidate{*std::move(cert), *std::move(key)};
  if (SamePair(candidate, identity_)) return std::nullopt;
  if (refused_ && SamePair(candidate, *refused_)) return std::nullopt;
  if (absl::Status valid = CheckIdentity(candidate, *trust_.Current()); !valid.ok()) {
    Log(absl::StrCat("refused the new node certificate; keeping the pair in use: ",
                     valid.message()));
    refused_ = std::move(candidate);
    return std::nullopt;
  }
  // The key first: until the certificate follows, gRPC's watcher sees a
  // mismatched pair and keeps the old one (it checks they match).
  absl::Status written = guard::WriteFileAtomically(PrivateKeyPath(), candidate.private_key_pem,
                                                    0600, /*overwrite=*/true);
  if (written.ok()) {
    written = guard::WriteFileAtomically(CertificatePath(), candidate.certificate_pem, 0644,
                                         /*overwrite=*/true);
  }
  if (!written.ok()) {
    Log(absl::StrCat("cannot install the new node certificate; keeping the pair in use: ",
                     written.message()));
    return std::nullopt;  // tried again next time
  }
  identity_ = candidate;
  refused_.reset();
  Log(absl::StrCat("picked up a re-issued node certificate from ", options_.cert_file,
                   " (live within ", kRefreshSeconds, " s, no restart)"));
  return candidate;
}

}  // namespace qbox::server

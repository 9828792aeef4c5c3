#include "node/guard/site_trust_store.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/common/status_macros.h"
#include "node/guard/identity_names.h"
#include "node/guard/openssl_handles.h"
#include "node/guard/pem_codec.h"
#include "node/guard/site_ca.h"

namespace qbox::guard {

struct SiteTrustStore::Site {
  std::string name;
  std::string certificate_pem;
  X509Ptr ca;
  // One store per site holding that site's CA alone: verification against
  // it can only ever succeed for certificates that site's CA signed.
  X509StorePtr store;
};

namespace {

absl::StatusOr<std::string> PublicKeyDer(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInvalidArgument, "encoding public key");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::Status SiteError(absl::string_view site, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("site '", site, "': ", problem));
}

// OK with the site's reason for refusing otherwise.
absl::Status VerifyAgainst(X509_STORE* store, X509* leaf, STACK_OF(X509) * intermediates,
                           absl::Time now) {
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (ctx == nullptr || !X509_STORE_CTX_init(ctx.get(), store, leaf, intermediates)) {
    return OpenSslError(absl::StatusCode::kInternal, "setting up certificate verification");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();
  return absl::UnauthenticatedError(
      X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
}

}  // namespace

SiteTrustStore::SiteTrustStore(std::vector<std::unique_ptr<Site>> sites)
    : sites_(std::move(sites)) {}
SiteTrustStore::SiteTrustStore(SiteTrustStore&&) noexcept = default;
SiteTrustStore& SiteTrustStore::operator=(SiteTrustStore&&) noexcept = default;
SiteTrustStore::~SiteTrustStore() = default;

absl::StatusOr<SiteTrustStore> SiteTrustStore::Create(const std::vector<SiteCaCertificate>& sites) {
  std::vector<std::unique_ptr<Site>> built;
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> public_keys;
  for (const SiteCaCertificate& entry : sites) {
    RETURN_IF_ERROR(ValidateSiteName(entry.site, "site"));
    if (!names.insert(entry.site).second) return SiteError(entry.site, "listed twice");

    absl::StatusOr<std::vector<X509Ptr>> certs =
        ParseCertificatesPem(entry.certificate_pem, "CA certificate");
    if (!certs.ok()) return SiteError(entry.site, certs.status().message());
    if (certs->size() != 1) {
      return SiteError(entry.site, "CA PEM must hold exactly one certificate");
    }
    X509Ptr ca = std::move(certs->front());
    if (X509_check_ca(ca.get()) <= 0) {
      return SiteError(entry.site, "certificate is not a CA (basicConstraints CA:FALSE)");
    }
    // A quorumbox CA names its site; one that names another site was put
    // under the wrong name by whoever wrote the configuration.
    absl::StatusOr<std::string> named_site = SiteOfCaCertificate(entry.certificate_pem);
    if (named_site.ok() && *named_site != entry.site) {
      return SiteError(entry.site,
                       absl::StrCat("CA certificate belongs to site '", *named_site, "'"));
    }
    absl::StatusOr<std::string> key = PublicKeyDer(ca.get());
    if (!key.ok()) return SiteError(entry.site, key.status().message());
    if (!public_keys.insert(*key).second) {
      return SiteError(entry.site,
                       "uses the same CA key as another site; every site needs its own CA");
    }

    auto site = std::make_unique<Site>();
    site->name = entry.site;
    site->certificate_pem = entry.certificate_pem;
    site->store.reset(X509_STORE_new());
    if (site->store == nullptr || !X509_STORE_add_cert(site->store.get(), ca.get())) {
      return OpenSslError(absl::StatusCode::kInternal,
                          absl::StrCat("site '", entry.site, "': building trust store"));
    }
    site->ca = std::move(ca);
    built.push_back(std::move(site));
  }
  return SiteTrustStore(std::move(built));
}

absl::StatusOr<PeerIdentity> SiteTrustStore::Identify(absl::string_view peer_chain_pem) const {
  return Identify(peer_chain_pem, absl::Now());
}

absl::StatusOr<PeerIdentity> SiteTrustStore::Identify(absl::string_view peer_chain_pem,
                                                      absl::Time now) const {
  ASSIGN_OR_RETURN(std::vector<X509Ptr> chain,
                   ParseCertificatesPem(peer_chain_pem, "peer certificate"));
  X509* leaf = chain.front().get();
  X509StackPtr intermediates(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(intermediates.get(), chain[i].get());
  }

  const Site* verifier = nullptr;
  std::vector<std::string> refusals;
  for (const std::unique_ptr<Site>& site : sites_) {
    absl::Status verified = VerifyAgainst(site->store.get(), leaf, intermediates.get(), now);
    if (verified.ok()) {
      verifier = site.get();
      break;
    }
    if (verified.code() != absl::StatusCode::kUnauthenticated) return verified;
    refusals.push_back(absl::StrCat(site->name, ": ", verified.message()));
  }
  std::string subject = NameToString(X509_get_subject_name(leaf));
  if (verifier == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat(
        "certificate '", subject, "' is not verified by any site's CA (",
        refusals.empty() ? "no sites configured" : absl::StrJoin(refusals, "; "), ")"));
  }

  auto deny = [&](absl::string_view why) {
    return absl::PermissionDeniedError(absl::StrCat(
        "certificate '", subject, "' verified by site '", verifier->name, "' CA: ", why));
  };
  if (X509_check_ca(leaf) > 0) return deny("is itself a CA certificate, not a peer identity");

  std::vector<std::string> spiffe_uris;
  for (std::string& uri : GetSubjectAltNames(leaf).uris) {
    if (absl::StartsWith(uri, "spiffe://")) spiffe_uris.push_back(std::move(uri));
  }
  if (spiffe_uris.empty()) return deny("has no spiffe:// URI SAN naming its site, role and name");
  if (spiffe_uris.size() > 1) {
    return deny(absl::StrCat("has ", spiffe_uris.size(),
                             " spiffe:// URI SANs; exactly one identity is allowed"));
  }
  absl::StatusOr<PeerIdentity> claimed = ParseSpiffeUri(spiffe_uris[0]);
  if (!claimed.ok()) return deny(claimed.status().message());
  if (claimed->site != verifier->name) {
    return deny(absl::StrCat("claims site '", claimed->site,
                             "'; a site's CA can only vouch for its own site (impersonation)"));
  }
  return *std::move(claimed);
}

std::vector<std::string> SiteTrustStore::Sites() const {
  std::vector<std::string> out;
  for (const std::unique_ptr<Site>& site : sites_) out.push_back(site->name);
  return out;
}

std::string SiteTrustStore::ConcatenatedCaPem() const {
  std::string out;
  for (const std::unique_ptr<Site>& site : sites_) {
    absl::StrAppend(&out, site->certificate_pem);
    if (!absl::EndsWith(out, "\n")) out.push_back('\n');
  }
  return out;
}

}  // namespace qbox::guard

#include "node/guard/charter.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/charter_action.h"
#include "node/guard/identity_names.h"
#include "node/guard/openssl_handles.h"
#include "node/guard/pem_codec.h"
#include "node/guard/site_ca.h"

namespace qbox::guard {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

}  // namespace

absl::StatusOr<std::string> CheckSiteCaCertificate(absl::string_view pem, absl::string_view site,
                                                   absl::string_view field) {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParseCertificatesPem(pem, field);
  if (!certs.ok()) return certs.status();
  if (certs->size() != 1) {
    return Invalid(field, absl::StrCat("must hold exactly one certificate, got ", certs->size()));
  }
  X509* ca = certs->front().get();
  if (X509_check_ca(ca) <= 0) {
    ERR_clear_error();
    return Invalid(field, "is not a CA certificate (basicConstraints CA:FALSE)");
  }
  // Same rule as SiteTrustStore::Create: a CA naming another site was put
  // under the wrong name and would make the trust store refuse the charter.
  absl::StatusOr<std::string> named_site = SiteOfCaCertificate(pem);
  if (named_site.ok() && *named_site != site) {
    return Invalid(field,
                   absl::StrCat("is the CA of site '", *named_site, "', not of '", site, "'"));
  }
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(X509_get0_pubkey(ca), &der);
  if (length <= 0) return OpenSslError(absl::StatusCode::kInvalidArgument, field);
  std::string key(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return key;
}

absl::Status ValidateCharter(const v1::Charter& charter) {
  if (charter.cluster().empty()) return Invalid("charter.cluster", "must not be empty");
  if (charter.sites().empty()) return Invalid("charter.sites", "at least one site is required");

  std::set<std::string> site_names;
  std::map<std::string, std::string> site_of_ca_key;  // so two sites never share a CA (G6)
  for (int i = 0; i < charter.sites_size(); ++i) {
    const v1::CharterSite& site = charter.sites(i);
    const std::string field = absl::StrCat("charter.sites[", i, "]");
    RETURN_IF_ERROR(ValidateSiteName(site.name(), absl::StrCat(field, ".name")));
    if (!site_names.insert(site.name()).second) {
      return Invalid(absl::StrCat(field, ".name"),
                     absl::StrCat("'", site.name(), "' is listed twice"));
    }
    ASSIGN_OR_RETURN(std::string ca_key,
                     CheckSiteCaCertificate(site.ca_cert_pem(), site.name(),
                                            absl::StrCat(field, ".ca_cert_pem")));
    auto [it, inserted] = site_of_ca_key.emplace(std::move(ca_key), site.name());
    if (!inserted) {
      return Invalid(
          absl::StrCat(field, ".ca_cert_pem"),
          absl::StrCat("is the same CA as site '", it->second, "'s; every site needs its own CA"));
    }
  }

  std::set<uint64_t> ids;
  std::set<std::pair<std::string, std::string>> live_names;
  for (int i = 0; i < charter.nodes_size(); ++i) {
    const v1::CharterNode& node = charter.nodes(i);
    const std::string field = absl::StrCat("charter.nodes[", i, "]");
    if (node.id() == 0) return Invalid(absl::StrCat(field, ".id"), "must not be 0");
    if (!ids.insert(node.id()).second) {
      return Invalid(absl::StrCat(field, ".id"), absl::StrCat(node.id(), " is used twice"));
    }
    RETURN_IF_ERROR(ValidateEntityName(node.name(), absl::StrCat(field, ".name")));
    // A removed site leaves its nodes behind, marked removed, so that their
    // ids are never reused; only live nodes must name a live site.
    if (!node.removed() && site_names.count(node.site()) == 0) {
      return Invalid(absl::StrCat(field, ".site"),
                     absl::StrCat("'", node.site(), "' is not a site of this charter"));
    }
    if (!node.removed() && !live_names.emplace(node.site(), node.name()).second) {
      return Invalid(absl::StrCat(field, ".name"),
                     absl::StrCat("'", node.site(), "/", node.name(), "' is listed twice"));
    }
    if (node.address().empty())
      return Invalid(absl::StrCat(field, ".address"), "must not be empty");
  }

  if (charter.required_sites() < 1 ||
      charter.required_sites() > static_cast<uint32_t>(charter.sites_size())) {
    return Invalid("charter.required_sites",
                   absl::StrCat(charter.required_sites(), " is outside 1..", charter.sites_size(),
                                " (the number of sites)"));
  }
  if (charter.delay_ms() < 0) {
    return Invalid("charter.delay_ms",
                   absl::StrCat("must not be negative, got ", charter.delay_ms()));
  }
  if (charter.retention_ms() <= 0) {
    return Invalid("charter.retention_ms",
                   absl::StrCat("must be positive, got ", charter.retention_ms()));
  }
  if (charter.proposal_ttl_ms() <= 0) {
    return Invalid("charter.proposal_ttl_ms",
                   absl::StrCat("must be positive, got ", charter.proposal_ttl_ms()));
  }
  if (charter.checkpoint_every() == 0)
    return Invalid("charter.checkpoint_every", "must be positive");
  if (charter.version() == 0) return Invalid("charter.version", "must be at least 1");

  absl::Status majority = CheckNoSiteMajority(charter);
  if (!majority.ok()) return Invalid("charter.nodes", majority.message());
  return absl::OkStatus();
}

absl::Status CheckNoSiteMajority(const v1::Charter& charter) {
  std::map<std::string, int> voters_by_site;
  int voters = 0;
  for (const v1::CharterNode& node : charter.nodes()) {
    if (!node.voter() || node.removed()) continue;
    ++voters_by_site[node.site()];
    ++voters;
  }
  return CheckNoSiteMajority(voters_by_site, voters);
}

absl::Status CheckNoSiteMajority(const std::map<std::string, int>& voters_by_site, int voters) {
  // A single voter is a one-node cluster: nobody else exists to outvote.
  if (voters <= 1) return absl::OkStatus();
  for (const auto& [site, count] : voters_by_site) {
    if (2 * count > voters) {
      return absl::FailedPreconditionError(
          absl::StrCat("site '", site, "' would hold ", count, " of ", voters,
                       " voters, more than half: one site could then commit and elect alone"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SiteTrustStore> TrustStoreOf(const v1::Charter& charter) {
  std::vector<SiteCaCertificate> sites;
  sites.reserve(charter.sites_size());
  for (const v1::CharterSite& site : charter.sites()) {
    sites.push_back(SiteCaCertificate{site.name(), site.ca_cert_pem()});
  }
  return SiteTrustStore::Create(sites);
}

const v1::CharterNode* FindCharterNode(const v1::Charter& charter, uint64_t id) {
  for (const v1::CharterNode& node : charter.nodes()) {
    if (node.id() == id) return &node;
  }
  return nullptr;
}

const v1::CharterNode* FindCharterNode(const v1::Charter& charter, absl::string_view site,
                                       absl::string_view name) {
  // A live node wins over a removed one of the same name, which may have
  // been replaced since.
  const v1::CharterNode* removed = nullptr;
  for (const v1::CharterNode& node : charter.nodes()) {
    if (node.site() != site || node.name() != name) continue;
    if (!node.removed()) return &node;
    if (removed == nullptr) removed = &node;
  }
  return removed;
}

}  // namespace qbox::guard

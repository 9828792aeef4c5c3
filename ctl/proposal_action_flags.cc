#include "ctl/proposal_action_flags.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "ctl/node_spec.h"
#include "node/common/status_macros.h"
#include "node/guard/certificate_info.h"
#include "node/guard/credential_directory.h"
#include "node/guard/identity_names.h"
#include "node/guard/site_ca.h"

namespace qbox::ctl {
namespace {

// Which flags each kind takes; every other action flag is refused for it,
// so that e.g. `set-delay --retention 1h` does not silently drop a value.
const std::map<std::string, std::vector<std::string>>& FlagsOfKind() {
  static const auto* kinds = new std::map<std::string, std::vector<std::string>>{
      {"purge-vault", {"--account"}},        {"delete-account", {"--account"}},
      {"set-retention", {"--retention"}},    {"set-delay", {"--delay"}},
      {"set-required-sites", {"--sites"}},   {"set-proposal-ttl", {"--ttl"}},
      {"remove-node", {"--node"}},           {"remove-site", {"--site"}},
      {"add-site", {"--site", "--ca-cert"}}, {"replace-site-ca", {"--site", "--ca-cert"}},
  };
  return *kinds;
}

absl::StatusOr<int64_t> DurationMs(absl::string_view flag, const std::string& text, bool zero_ok) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", text, "' is not a duration like 72h, 30m or 90s"));
  }
  if (d < absl::ZeroDuration() || (!zero_ok && d == absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", text, "' must be ", zero_ok ? "zero or more" : "more than zero"));
  }
  return absl::ToInt64Milliseconds(d);
}

// The CA certificate a site is to be trusted by: exactly one CA certificate
// of that site, and never a key (the file's contents go into the log).
absl::StatusOr<std::string> ReadSiteCaCertificate(const std::string& path,
                                                  const std::string& site) {
  auto bad = [&path](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("--ca-cert: ", path, " ", why));
  };
  absl::StatusOr<std::string> pem = guard::ReadTextFile(path);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(), absl::StrCat("--ca-cert: ", pem.status().message()));
  }
  if (absl::StrContains(*pem, "PRIVATE KEY")) {
    return bad("holds a private key; give the site's CA certificate (ca.crt), never a key");
  }
  absl::StatusOr<guard::CertificateInfo> info = guard::DescribeCertificate(*pem, path);
  if (!info.ok()) return bad("is not a PEM certificate");
  if (!info->is_ca) return bad("is not a CA certificate; give the site's ca.crt");
  absl::StatusOr<std::string> of_site = guard::SiteOfCaCertificate(*pem);
  if (!of_site.ok()) {
    return bad(absl::StrCat("is not a quorumbox site CA (", of_site.status().message(), ")"));
  }
  if (*of_site != site) {
    return bad(absl::StrCat("is the CA of site '", *of_site, "', not of '", site, "'"));
  }
  return *std::move(pem);
}

}  // namespace

const std::vector<std::string>& ProposalKinds() {
  static const auto* kinds = new std::vector<std::string>{
      "purge-vault",      "delete-account", "set-retention", "set-delay", "set-required-sites",
      "set-proposal-ttl", "remove-node",    "remove-site",   "add-site",  "replace-site-ca"};
  return *kinds;
}

absl::StatusOr<v1::ProposedAction> BuildProposedAction(const ProposeActionFlags& flags) {
  auto kind_it = FlagsOfKind().find(flags.kind);
  if (kind_it == FlagsOfKind().end()) {
    return absl::InvalidArgumentError(absl::StrCat("KIND: unknown proposal kind '", flags.kind,
                                                   "' (one of ",
                                                   absl::StrJoin(ProposalKinds(), ", "), ")"));
  }
  const std::vector<std::pair<std::string, const std::string*>> given = {
      {"--account", &flags.account}, {"--retention", &flags.retention},
      {"--delay", &flags.delay},     {"--sites", &flags.sites},
      {"--ttl", &flags.ttl},         {"--node", &flags.node},
      {"--site", &flags.site},       {"--ca-cert", &flags.ca_cert}};
  const std::vector<std::string>& wanted = kind_it->second;
  for (const auto& [flag, value] : given) {
    bool used = std::find(wanted.begin(), wanted.end(), flag) != wanted.end();
    if (used && value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": needed by ", flags.kind));
    }
    if (!used && !value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          flag, ": not used by ", flags.kind, " (it takes ", absl::StrJoin(wanted, ", "), ")"));
    }
  }

  v1::ProposedAction action;
  const std::string& kind = flags.kind;
  if (kind == "purge-vault") {
    action.mutable_purge_vault()->set_account(flags.account);
  } else if (kind == "delete-account") {
    action.mutable_delete_account()->set_account(flags.account);
  } else if (kind == "set-retention") {
    ASSIGN_OR_RETURN(int64_t ms, DurationMs("--retention", flags.retention, false));
    action.mutable_set_retention()->set_retention_ms(ms);
  } else if (kind == "set-delay") {
    ASSIGN_OR_RETURN(int64_t ms, DurationMs("--delay", flags.delay, true));
    action.mutable_set_delay()->set_delay_ms(ms);
  } else if (kind == "set-required-sites") {
    uint32_t sites = 0;
    if (!absl::SimpleAtoi(flags.sites, &sites) || sites == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--sites: '", flags.sites, "' must be a whole number of at least 1 (sites)"));
    }
    action.mutable_set_required_sites()->set_required_sites(sites);
  } else if (kind == "set-proposal-ttl") {
    ASSIGN_OR_RETURN(int64_t ms, DurationMs("--ttl", flags.ttl, false));
    action.mutable_set_proposal_ttl()->set_proposal_ttl_ms(ms);
  } else if (kind == "remove-node") {
    ASSIGN_OR_RETURN(NodeRef node, ParseNodeRef(flags.node, "--node"));
    action.mutable_remove_node()->set_site(node.site);
    action.mutable_remove_node()->set_node(node.name);
  } else if (kind == "remove-site") {
    RETURN_IF_ERROR(guard::ValidateSiteName(flags.site, "--site"));
    action.mutable_remove_site()->set_site(flags.site);
  } else if (kind == "add-site" || kind == "replace-site-ca") {
    RETURN_IF_ERROR(guard::ValidateSiteName(flags.site, "--site"));
    ASSIGN_OR_RETURN(std::string pem, ReadSiteCaCertificate(flags.ca_cert, flags.site));
    if (kind == "add-site") {
      action.mutable_add_site()->set_site(flags.site);
      action.mutable_add_site()->set_ca_cert_pem(pem);
    } else {
      action.mutable_replace_site_ca()->set_site(flags.site);
      action.mutable_replace_site_ca()->set_ca_cert_pem(pem);
    }
  }
  return action;
}

}  // namespace qbox::ctl

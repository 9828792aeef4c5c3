// `qboxctl cluster init`: the genesis configuration the first nodes start
// from. Everything is checked first, then the file is written in one step.
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ctl/cluster_commands.h"
#include "ctl/node_spec.h"
#include "node/common/status_macros.h"
#include "node/guard/certificate_info.h"
#include "node/guard/credential_directory.h"
#include "node/guard/identity_names.h"
#include "node/guard/site_ca.h"
#include "node/guard/site_trust_store.h"
#include "node/server/cluster_config.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr absl::string_view kSiteCaFlag = "--site-ca";

struct SiteEntry {
  std::string site;
  std::string ca_file;
  std::string ca_pem;
};

// Reads one --site-ca file and makes sure it is exactly what belongs in a
// configuration that every node and operator will see: one CA certificate,
// of the site it is given for, not shared with another site, and no private
// key. `key_owner` maps CA public-key fingerprints to the sites seen so far.
absl::StatusOr<SiteEntry> LoadSiteCa(const SiteCaSpec& spec, absl::Time now,
                                     std::map<std::string, std::string>* key_owner) {
  auto bad = [&spec](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(kSiteCaFlag, ": ", spec.ca_file, " ", why));
  };
  // A key file is refused by its name before it is ever opened, and by its
  // contents (never echoed) if it is named otherwise.
  if (absl::EndsWith(spec.ca_file, ".key")) {
    return bad("is a key file; give the site's CA certificate (ca.crt), never a key");
  }
  absl::StatusOr<std::string> pem = guard::ReadTextFile(spec.ca_file);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(),
                        absl::StrCat(kSiteCaFlag, ": ", pem.status().message()));
  }
  if (absl::StrContains(*pem, "PRIVATE KEY")) {
    return bad("holds a private key; give the site's CA certificate (ca.crt), never a key");
  }
  absl::StatusOr<guard::CertificateInfo> info = guard::DescribeCertificate(*pem, spec.ca_file);
  if (!info.ok()) return bad("is not a PEM certificate");
  if (!info->is_ca) return bad("is not a CA certificate; give the site's ca.crt");
  if (auto [it, fresh] = key_owner->emplace(info->public_key_sha256_hex, spec.site); !fresh) {
    return bad(absl::StrCat("is the same CA as site '", it->second,
                            "'s; every site needs its own CA (qboxctl site init)"));
  }
  absl::StatusOr<std::string> site = guard::SiteOfCaCertificate(*pem);
  if (!site.ok()) {
    return bad(absl::StrCat("is not a quorumbox site CA (", site.status().message(), ")"));
  }
  if (*site != spec.site) {
    return bad(absl::StrCat("is the CA of site '", *site, "', not of '", spec.site, "'"));
  }
  if (info->not_after <= now) {
    return bad(absl::StrCat("expired on ",
                            absl::FormatTime("%Y-%m-%d", info->not_after, absl::UTCTimeZone())));
  }
  return SiteEntry{spec.site, spec.ca_file, *std::move(pem)};
}

absl::StatusOr<std::vector<SiteEntry>> LoadSites(const std::vector<std::string>& values) {
  std::vector<SiteEntry> sites;
  std::set<std::string> seen;
  std::map<std::string, std::string> key_owner;
  absl::Time now = absl::Now();
  for (const std::string& value : values) {
    ASSIGN_OR_RETURN(SiteCaSpec spec, ParseSiteCaSpec(value, kSiteCaFlag));
    if (!seen.insert(spec.site).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(kSiteCaFlag, ": site '", spec.site, "' is given twice"));
    }
    ASSIGN_OR_RETURN(SiteEntry entry, LoadSiteCa(spec, now, &key_owner));
    sites.push_back(std::move(entry));
  }
  // The trust store refuses whatever a node would refuse at start-up (e.g.
  // a PEM with several certificates), so the file never stops a node.
  std::vector<guard::SiteCaCertificate> cas;
  for (const SiteEntry& s : sites) cas.push_back({s.site, s.ca_pem});
  absl::StatusOr<guard::SiteTrustStore> store = guard::SiteTrustStore::Create(cas);
  if (!store.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(kSiteCaFlag, ": ", store.status().message()));
  }
  return sites;
}

struct NodeEntry {
  NodeSpec spec;
  bool voter = true;
};

absl::StatusOr<std::vector<NodeEntry>> LoadNodes(const std::vector<std::string>& voters,
                                                 const std::vector<std::string>& spares,
                                                 const std::vector<SiteEntry>& sites) {
  std::set<std::string> site_names;
  for (const SiteEntry& s : sites) site_names.insert(s.site);
  std::map<uint64_t, std::string> ids;
  std::map<std::string, std::string> addresses;
  std::set<std::string> names;
  std::vector<NodeEntry> nodes;
  auto add = [&](const std::string& value, absl::string_view flag, bool voter) -> absl::Status {
    ASSIGN_OR_RETURN(NodeSpec spec, ParseNodeSpec(value, flag));
    std::string qualified = absl::StrCat(spec.node.site, "/", spec.node.name);
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": '", value, "' ", why));
    };
    if (!site_names.count(spec.node.site)) {
      return bad(absl::StrCat("names site '", spec.node.site,
                              "', which has no --site-ca; add --site-ca ", spec.node.site,
                              "=CAFILE or fix the site"));
    }
    if (auto [it, fresh] = ids.emplace(spec.id, qualified); !fresh) {
      return bad(absl::StrCat("reuses node id ", spec.id, " of ", it->second));
    }
    if (!names.insert(qualified).second) {
      return bad(absl::StrCat("names ", qualified, " a second time"));
    }
    if (auto [it, fresh] = addresses.emplace(spec.address, qualified); !fresh) {
      return bad(absl::StrCat("reuses the address of ", it->second));
    }
    nodes.push_back({std::move(spec), voter});
    return absl::OkStatus();
  };
  for (const std::string& v : voters) RETURN_IF_ERROR(add(v, "--node", true));
  for (const std::string& v : spares) RETURN_IF_ERROR(add(v, "--spare", false));
  return nodes;
}

// No site may hold a majority of the voters: one compromised site could then
// elect a leader and commit on its own (DESIGN.md G2, G7).
absl::Status CheckNoSiteHoldsAMajority(const std::vector<NodeEntry>& nodes) {
  std::map<std::string, int> per_site;
  int voters = 0;
  for (const NodeEntry& n : nodes) {
    if (!n.voter) continue;
    ++per_site[n.spec.node.site];
    ++voters;
  }
  if (voters == 0) return absl::InvalidArgumentError("--node: at least one voter is needed");
  for (const auto& [site, count] : per_site) {
    if (2 * count > voters) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--node: site '", site, "' would hold ", count, " of ", voters,
          " voters, a majority, so one compromised site could commit alone; give voters to "
          "more sites or make some of its nodes --spare"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CheckDurationFlag(absl::string_view flag, const std::string& text,
                                              bool zero_ok) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration() ||
      (!zero_ok && d == absl::ZeroDuration()) || d > absl::Hours(24 * 36500)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", text, "' is not a duration like 72h, 30m or 90s",
                     zero_ok ? " (zero or more)" : " (more than zero)"));
  }
  // Written as the operator gave it: the node parses the same syntax.
  return text;
}

absl::StatusOr<uint64_t> CheckCountFlag(absl::string_view flag, const std::string& text,
                                        uint64_t max, absl::string_view what) {
  uint64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value == 0 || value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", text, "' must be a whole number from 1 to ", max, " ", what));
  }
  return value;
}

// The charter's policy keys for the file, each only if given.
absl::StatusOr<json> PolicyKeys(const ClusterInitOptions& options, size_t site_count) {
  json keys = json::object();
  if (!options.retention.empty() && options.retention_days_given) {
    return absl::InvalidArgumentError(
        "--retention: give either --retention or --retention-days, not both");
  }
  if (!options.retention.empty()) {
    ASSIGN_OR_RETURN(keys["retention"], CheckDurationFlag("--retention", options.retention, false));
  } else {
    keys["retention_days"] = options.retention_days;
  }
  if (!options.required_sites.empty()) {
    ASSIGN_OR_RETURN(keys["required_sites"],
                     CheckCountFlag("--required-sites", options.required_sites, site_count,
                                    "(the sites given with --site-ca)"));
  }
  if (!options.delay.empty()) {
    ASSIGN_OR_RETURN(keys["delay"], CheckDurationFlag("--delay", options.delay, true));
  }
  if (!options.proposal_ttl.empty()) {
    ASSIGN_OR_RETURN(keys["proposal_ttl"],
                     CheckDurationFlag("--proposal-ttl", options.proposal_ttl, false));
  }
  if (!options.checkpoint_every.empty()) {
    ASSIGN_OR_RETURN(keys["checkpoint_every"],
                     CheckCountFlag("--checkpoint-every", options.checkpoint_every,
                                    uint64_t{1} << 62, "(log entries)"));
  }
  return keys;
}

json BuildConfig(const ClusterInitOptions& options, const json& policy,
                 const std::vector<SiteEntry>& sites, const std::vector<NodeEntry>& nodes) {
  json sites_json = json::array();
  for (const SiteEntry& s : sites) {
    sites_json.push_back({{"name", s.site}, {"ca_cert_pem", s.ca_pem}});
  }
  json nodes_json = json::array();
  for (const NodeEntry& n : nodes) {
    nodes_json.push_back({{"id", n.spec.id},
                          {"site", n.spec.node.site},
                          {"name", n.spec.node.name},
                          {"address", n.spec.address},
                          {"voter", n.voter}});
  }
  json config = {{"cluster", options.cluster_name}};
  config.update(policy);
  config["sites"] = std::move(sites_json);
  config["nodes"] = std::move(nodes_json);
  return config;
}

absl::Status CheckOutFile(const ClusterInitOptions& options) {
  if (options.out_file.empty()) return absl::InvalidArgumentError("--out: must not be empty");
  std::error_code ec;
  fs::path out(options.out_file);
  if (fs::is_directory(out, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--out: '", options.out_file, "' is a directory; name a file"));
  }
  if (fs::exists(fs::symlink_status(out, ec)) && !options.force) {
    return absl::AlreadyExistsError(
        absl::StrCat("--out: '", options.out_file, "' already exists; pass --force to replace it"));
  }
  fs::path parent = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  if (!fs::is_directory(parent, ec)) {
    return absl::NotFoundError(
        absl::StrCat("--out: directory '", parent.string(), "' does not exist; create it first"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RunClusterInit(const ClusterInitOptions& options) {
  RETURN_IF_ERROR(guard::ValidateEntityName(options.cluster_name, "--name"));
  RETURN_IF_ERROR(CheckOutFile(options));
  ASSIGN_OR_RETURN(std::vector<SiteEntry> sites, LoadSites(options.site_cas));
  ASSIGN_OR_RETURN(std::vector<NodeEntry> nodes, LoadNodes(options.voters, options.spares, sites));
  RETURN_IF_ERROR(CheckNoSiteHoldsAMajority(nodes));
  ASSIGN_OR_RETURN(json policy, PolicyKeys(options, sites.size()));

  std::string text = BuildConfig(options, policy, sites, nodes).dump(2) + "\n";
  // Read it back exactly as qbox-node will, so a file this command writes is
  // never one the node refuses.
  std::string base_dir = fs::path(options.out_file).parent_path().string();
  absl::StatusOr<server::ClusterConfig> parsed =
      server::ParseClusterConfig(text, base_dir.empty() ? "." : base_dir, options.out_file);
  if (!parsed.ok()) {
    return absl::InternalError(
        absl::StrCat("the configuration built would be refused by "
                     "qbox-node (please report this): ",
                     parsed.status().message()));
  }
  absl::Status written = guard::WriteFileAtomically(options.out_file, text, 0644, options.force);
  if (absl::IsAlreadyExists(written)) {
    return absl::AlreadyExistsError(
        absl::StrCat("--out: '", options.out_file, "' already exists; pass --force to replace it"));
  }
  if (!written.ok()) {
    return absl::Status(written.code(), absl::StrCat("--out: ", written.message()));
  }
  size_t voters = parsed->GenesisVoters().size();
  std::cout << "wrote " << options.out_file << ": cluster '" << options.cluster_name << "', "
            << sites.size() << " sites, " << voters << " voters, " << nodes.size() - voters
            << " spares, retention "
            << (options.retention.empty() ? absl::StrCat(options.retention_days, " days")
                                          : options.retention)
            << "; irreversible actions need " << parsed->required_sites << " of " << sites.size()
            << " sites and wait " << absl::FormatDuration(absl::Milliseconds(parsed->delay_ms))
            << "\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl

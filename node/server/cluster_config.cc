#include "node/server/cluster_config.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "node/common/status_macros.h"
#include "absl/strings/numbers.h"

namespace qbox::server {
namespace {

using nlohmann::json;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool ValidAddress(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  uint32_t port = 0;
  return absl::SimpleAtoi(address.substr(colon + 1), &port) && port > 0 && port < 65536;
}

}  // namespace

const NodeConfig* ClusterConfig::FindNode(uint64_t id) const {
  for (const NodeConfig& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

const NodeConfig* ClusterConfig::FindNode(const std::string& site, const std::string& name) const {
  for (const NodeConfig& n : nodes) {
    if (n.site == site && n.name == name) return &n;
  }
  return nullptr;
}

std::vector<uint64_t> ClusterConfig::GenesisVoters() const {
  std::vector<uint64_t> out;
  for (const NodeConfig& n : nodes) {
    if (n.voter) out.push_back(n.id);
  }
  return out;
}

std::string ClusterConfig::RootBundlePem() const {
  std::string out;
  for (const SiteConfig& s : sites) {
    out += s.ca_cert_pem;
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return out;
}

absl::StatusOr<ClusterConfig> ParseClusterConfig(const std::string& json_text,
                                                 const std::string& base_dir,
                                                 const std::string& source_name) {
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ": ", what));
  };
  json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  ClusterConfig config;
  if (doc.contains("cluster")) {
    if (!doc["cluster"].is_string()) return bad("cluster: must be a string");
    config.cluster = doc["cluster"].get<std::string>();
  }
  if (doc.contains("retention_days")) {
    if (!doc["retention_days"].is_number_unsigned() || doc["retention_days"].get<uint64_t>() == 0 ||
        doc["retention_days"].get<uint64_t>() > 36500) {
      return bad("retention_days: must be a whole number of days from 1 to 36500");
    }
    config.retention_days = doc["retention_days"].get<uint32_t>();
  }
  if (doc.contains("required_sites")) {
    if (!doc["required_sites"].is_number_unsigned() || doc["required_sites"].get<uint64_t>() == 0 ||
        doc["required_sites"].get<uint64_t>() > 64) {
      return bad("required_sites: must be a whole number from 1 to the number of sites");
    }
    config.required_sites = doc["required_sites"].get<uint32_t>();
  }
  // Durations are Go-style strings ("72h", "90s", "1500ms"), the way
  // operators write them in the rest of their tooling.
  auto duration = [&](const char* key, bool zero_ok, int64_t* out_ms) -> absl::Status {
    if (!doc.contains(key)) return absl::OkStatus();
    absl::Duration d;
    if (!doc[key].is_string() || !absl::ParseDuration(doc[key].get<std::string>(), &d) ||
        d < absl::ZeroDuration() || (!zero_ok && d == absl::ZeroDuration()) ||
        d > absl::Hours(24 * 36500)) {
      return bad(absl::StrCat(key, ": must be a duration such as \"72h\" or \"30s\"",
                              zero_ok ? "" : ", greater than zero"));
    }
    *out_ms = absl::ToInt64Milliseconds(d);
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(duration("delay", /*zero_ok=*/true, &config.delay_ms));
  RETURN_IF_ERROR(duration("proposal_ttl", /*zero_ok=*/false, &config.proposal_ttl_ms));
  int64_t retention_ms = 0;
  RETURN_IF_ERROR(duration("retention", /*zero_ok=*/false, &retention_ms));
  if (retention_ms > 0 && doc.contains("retention_days")) {
    return bad("retention: give either retention or retention_days, not both");
  }
  config.retention_ms = retention_ms > 0 ? retention_ms
                                         : int64_t{config.retention_days} * 24 * 3600 * 1000;
  if (doc.contains("checkpoint_every")) {
    if (!doc["checkpoint_every"].is_number_unsigned() ||
        doc["checkpoint_every"].get<uint64_t>() == 0) {
      return bad("checkpoint_every: must be a whole number of log entries above 0");
    }
    config.checkpoint_every = doc["checkpoint_every"].get<uint64_t>();
  }
  if (!doc.contains("sites") || !doc["sites"].is_array() || doc["sites"].empty()) {
    return bad("sites: must be a non-empty array");
  }
  std::set<std::string> site_names;
  for (size_t i = 0; i < doc["sites"].size(); ++i) {
    const json& s = doc["sites"][i];
    std::string field = absl::StrCat("sites[", i, "]");
    if (!s.is_object() || !s.contains("name") || !s["name"].is_string() ||
        s["name"].get<std::string>().empty()) {
      return bad(field + ".name: missing");
    }
    SiteConfig site;
    site.name = s["name"].get<std::string>();
    if (!site_names.insert(site.name).second) {
      return bad(absl::StrCat(field, ".name: site '", site.name, "' is listed twice"));
    }
    if (s.contains("ca_cert_pem") && s["ca_cert_pem"].is_string()) {
      site.ca_cert_pem = s["ca_cert_pem"].get<std::string>();
    } else if (s.contains("ca_cert_file") && s["ca_cert_file"].is_string()) {
      std::string path = s["ca_cert_file"].get<std::string>();
      if (!path.empty() && path[0] != '/') path = base_dir + "/" + path;
      auto pem = ReadFile(path);
      if (!pem.ok()) return bad(absl::StrCat(field, ".ca_cert_file: ", pem.status().message()));
      site.ca_cert_pem = *pem;
    } else {
      return bad(field + ": needs ca_cert_pem or ca_cert_file");
    }
    if (site.ca_cert_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return bad(field + ": the CA certificate is not PEM");
    }
    config.sites.push_back(std::move(site));
  }
  if (!doc.contains("nodes") || !doc["nodes"].is_array() || doc["nodes"].empty()) {
    return bad("nodes: must be a non-empty array");
  }
  std::set<uint64_t> ids;
  std::set<std::string> names;
  std::map<std::string, int> per_site;
  for (size_t i = 0; i < doc["nodes"].size(); ++i) {
    const json& n = doc["nodes"][i];
    std::string field = absl::StrCat("nodes[", i, "]");
    if (!n.is_object()) return bad(field + ": must be an object");
    NodeConfig node;
    if (!n.contains("id") || !n["id"].is_number_unsigned() || n["id"].get<uint64_t>() == 0) {
      return bad(field + ".id: must be a positive whole number");
    }
    node.id = n["id"].get<uint64_t>();
    for (const char* key : {"site", "name", "address"}) {
      if (!n.contains(key) || !n[key].is_string() || n[key].get<std::string>().empty()) {
        return bad(absl::StrCat(field, ".", key, ": missing"));
      }
    }
    node.site = n["site"].get<std::string>();
    node.name = n["name"].get<std::string>();
    node.address = n["address"].get<std::string>();
    if (!site_names.count(node.site)) {
      return bad(absl::StrCat(field, ".site: unknown site '", node.site, "'"));
    }
    if (!ValidAddress(node.address)) {
      return bad(absl::StrCat(field, ".address: '", node.address, "' is not host:port"));
    }
    if (!ids.insert(node.id).second) {
      return bad(absl::StrCat(field, ".id: ", node.id, " is used twice"));
    }
    if (!names.insert(node.QualifiedName()).second) {
      return bad(absl::StrCat(field, ".name: ", node.QualifiedName(), " is listed twice"));
    }
    if (n.contains("voter")) {
      if (!n["voter"].is_boolean()) return bad(field + ".voter: must be true or false");
      node.voter = n["voter"].get<bool>();
    }
    if (node.voter) ++per_site[node.site];
    config.nodes.push_back(std::move(node));
  }
  // No single site may hold a majority of the voters: one compromised site
  // could then commit on its own (DESIGN.md G2, G7).
  size_t voters = 0;
  for (const auto& [site, count] : per_site) voters += count;
  if (voters == 0) return bad("nodes: no node is a voter");
  if (voters > 1) {
    if (per_site.size() == 1) {
      return bad("nodes: all nodes belong to one site; a cluster needs several sites");
    }
    for (const auto& [site, count] : per_site) {
      if (2 * count > static_cast<int>(voters)) {
        return bad(absl::StrCat("nodes: site '", site, "' would hold ", count, " of ", voters,
                                " voters, a majority"));
      }
    }
  }
  if (!doc.contains("required_sites") && config.sites.size() < config.required_sites) {
    config.required_sites = static_cast<uint32_t>(config.sites.size());  // a one-site test cluster
  }
  if (config.required_sites > config.sites.size()) {
    return bad(absl::StrCat("required_sites: ", config.required_sites, " is more than the ",
                            config.sites.size(), " sites"));
  }
  return config;
}

absl::StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return ParseClusterConfig(*text, dir, path);
}

}  // namespace qbox::server

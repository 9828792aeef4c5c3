#include "node/server/cluster_charter.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_cat.h"
#include "node/guard/charter.h"

namespace qbox::server {

absl::StatusOr<v1::Charter> GenesisCharter(const ClusterConfig& config) {
  v1::Charter charter;
  charter.set_cluster(config.cluster);
  for (const SiteConfig& site : config.sites) {
    v1::CharterSite* s = charter.add_sites();
    s->set_name(site.name);
    s->set_ca_cert_pem(site.ca_cert_pem);
  }
  for (const NodeConfig& node : config.nodes) {
    if (!node.voter) continue;  // spares join the charter when an admin adds them
    v1::CharterNode* n = charter.add_nodes();
    n->set_id(node.id);
    n->set_site(node.site);
    n->set_name(node.name);
    n->set_address(node.address);
    n->set_voter(true);
  }
  charter.set_required_sites(config.required_sites);
  charter.set_delay_ms(config.delay_ms);
  charter.set_retention_ms(config.retention_ms);
  charter.set_proposal_ttl_ms(config.proposal_ttl_ms);
  charter.set_checkpoint_every(config.checkpoint_every);
  charter.set_version(1);
  absl::Status valid = guard::ValidateCharter(charter);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the cluster configuration does not make a valid charter: ", valid.message()));
  }
  return charter;
}

absl::StatusOr<ClusterConfig> ConfigWithCharter(const ClusterConfig& file,
                                                const v1::Charter& charter, uint64_t self_id) {
  ClusterConfig out = file;
  out.sites.clear();
  for (const v1::CharterSite& site : charter.sites()) {
    out.sites.push_back({site.name(), site.ca_cert_pem()});
  }
  out.required_sites = charter.required_sites();
  out.delay_ms = charter.delay_ms();
  out.retention_ms = charter.retention_ms();
  out.proposal_ttl_ms = charter.proposal_ttl_ms();
  out.checkpoint_every = charter.checkpoint_every();
  out.nodes.clear();
  auto site_known = [&](const std::string& name) {
    for (const SiteConfig& s : out.sites) {
      if (s.name == name) return true;
    }
    return false;
  };
  for (const v1::CharterNode& n : charter.nodes()) {
    if (n.removed()) {
      if (n.id() == self_id) {
        return absl::FailedPreconditionError(absl::StrCat(
            "this node (id ", self_id, ", ", n.site(), "/", n.name(),
            ") was removed from the cluster by an executed proposal (charter version ",
            charter.version(), "); its id is never reused"));
      }
      continue;
    }
    NodeConfig node;
    node.id = n.id();
    node.site = n.site();
    node.name = n.name();
    node.address = n.address();
    node.voter = n.voter();
    out.nodes.push_back(std::move(node));
  }
  for (const NodeConfig& spare : file.nodes) {
    bool in_charter = false;
    for (const v1::CharterNode& n : charter.nodes()) in_charter |= n.id() == spare.id;
    if (!in_charter && site_known(spare.site)) out.nodes.push_back(spare);
  }
  bool self_present = false;
  for (const NodeConfig& n : out.nodes) {
    if (n.id == self_id) {
      self_present = true;
      if (!site_known(n.site)) {
        return absl::FailedPreconditionError(
            absl::StrCat("this node's site ", n.site, " is no longer a site of the charter"));
      }
    }
  }
  if (!self_present) {
    return absl::FailedPreconditionError(
        absl::StrCat("node id ", self_id, " is neither in the charter nor a spare of the file"));
  }
  return out;
}

std::string SerializeCharter(const v1::Charter& charter) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    charter.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace qbox::server

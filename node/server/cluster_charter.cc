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

// The genesis configuration a node starts from (written by
// `qboxctl cluster init`, or by scripts/dev-cluster.sh): the sites with their
// CA certificates, the nodes with their sites and addresses, and the
// retention period. JSON:
//
//   {
//     "cluster": "qbox-dev",
//     "retention_days": 30,          (or "retention": "720h")
//     "required_sites": 2,           M of the sites must approve irreversible actions
//     "delay": "72h",                T between approval and execution
//     "proposal_ttl": "168h",        how long a proposal may wait for approvals
//     "checkpoint_every": 10000,     G5: signed state digests at multiples of this index
//     "sites": [ {"name": "site-a", "ca_cert_pem": "-----BEGIN ..."},
//                {"name": "site-b", "ca_cert_file": "site-b-ca.crt"} ],
//     "nodes": [ {"id": 1, "site": "site-a", "name": "n1",
//                 "address": "127.0.0.1:7101", "voter": true} ]
//   }
//
// "voter" defaults to true. ca_cert_file is relative to the configuration file's directory. Node ids
// are the consensus core's ids: unique, non-zero, never reused.
#ifndef QBOX_NODE_SERVER_CLUSTER_CONFIG_H_
#define QBOX_NODE_SERVER_CLUSTER_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace qbox::server {

struct SiteConfig {
  std::string name;
  std::string ca_cert_pem;
};

struct NodeConfig {
  uint64_t id = 0;
  std::string site;
  std::string name;
  std::string address;  // host:port of its gRPC port
  // Genesis voters start the cluster; the others ("voter": false) are spares
  // that an operator adds later as learners and promotes.
  bool voter = true;

  // "site-a/n1"
  std::string QualifiedName() const { return site + "/" + name; }
};

struct ClusterConfig {
  std::string cluster;
  uint32_t retention_days = 30;
  // The charter's policy (DESIGN.md G2, G5); see charter.proto.
  uint32_t required_sites = 2;                          // M
  int64_t delay_ms = 72LL * 3600 * 1000;                // T
  int64_t retention_ms = 30LL * 24 * 3600 * 1000;       // R (from retention or retention_days)
  int64_t proposal_ttl_ms = 7LL * 24 * 3600 * 1000;     // how long approvals may take
  uint64_t checkpoint_every = 10000;                    // G5 checkpoint interval
  std::vector<SiteConfig> sites;
  std::vector<NodeConfig> nodes;

  const NodeConfig* FindNode(uint64_t id) const;
  std::vector<uint64_t> GenesisVoters() const;
  const NodeConfig* FindNode(const std::string& site, const std::string& name) const;
  // All sites' CA certificates, concatenated: the TLS root bundle.
  std::string RootBundlePem() const;
};

// Parses and validates. INVALID_ARGUMENT naming the file and the field
// (e.g. "nodes[2].site: unknown site 'site-d'") for anything malformed,
// duplicated, or a site holding a majority of the nodes.
absl::StatusOr<ClusterConfig> ParseClusterConfig(const std::string& json_text,
                                                 const std::string& base_dir,
                                                 const std::string& source_name);
absl::StatusOr<ClusterConfig> LoadClusterConfig(const std::string& path);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_CLUSTER_CONFIG_H_

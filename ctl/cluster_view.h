// What `qboxctl status` and `qboxctl alarms list` show: every endpoint asked
// for its Admin.GetClusterStatus at once, and the answers merged into one
// row per node. An endpoint that does not answer becomes a row carrying
// its error instead of failing the command.
#ifndef QBOX_CTL_CLUSTER_VIEW_H_
#define QBOX_CTL_CLUSTER_VIEW_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/connection_flags.h"
#include "qbox/v1/admin.pb.h"

namespace qbox::ctl {

// One endpoint's answer (or why there was none).
struct EndpointAnswer {
  std::string endpoint;
  absl::StatusOr<v1::GetClusterStatusResponse> response;
};

// Asks every endpoint in parallel, each with the connection's timeout; the
// answers come back in the order of connection.endpoints. Never fails as a
// whole: a failure is kept in that endpoint's answer.
std::vector<EndpointAnswer> AskEveryEndpoint(const Connection& connection);

struct NodeRow {
  std::string site;
  std::string node;       // name within the site
  std::string address;    // from the cluster's view, or the endpoint
  std::string endpoint;   // the endpoint qboxctl asked, "" if not asked
  bool answered = false;  // the node itself answered qboxctl
  std::string error;      // why the asked endpoint did not answer
  std::string role;       // leader, follower, candidate, learner, recovering, unknown
  // As the node reported itself (set only if answered), or as the leader
  // saw it (term only) when the node was not asked.
  std::optional<uint64_t> term;
  std::optional<uint64_t> commit_index;
  std::optional<uint64_t> applied_index;
  // From the leader's answer: entries the node is behind, and whether the
  // leader heard from it recently. Unset when no leader answered.
  std::optional<uint64_t> lag_entries;
  std::optional<bool> leader_sees_reachable;
  // Milliseconds since any answering node last heard from this node (the
  // freshest report; 0 for a node that answered itself).
  std::optional<int64_t> last_contact_ms_ago;
  std::vector<std::string> alarms;  // as the node reported them itself
  // For a recovering node (G4), where its rebuild stands, as it reported it.
  std::string recovery;

  std::string QualifiedName() const { return site.empty() ? "" : site + "/" + node; }
};

struct ClusterView {
  std::string leader;  // "site/node" per the answer with the highest term
  uint64_t term = 0;   // highest term any answer reported
  int endpoints_asked = 0;
  int endpoints_answered = 0;
  std::vector<NodeRow> nodes;  // sorted by site, then node; unknown last
};

// Merges the answers. A node's own answer is authoritative for its role,
// indexes and alarms; the leader's answer adds lag. An endpoint that did not
// answer is matched to a node by address (from the answers or from
// `cluster`), else shown by its address alone.
ClusterView MergeAnswers(const std::vector<EndpointAnswer>& answers,
                         const std::optional<server::ClusterConfig>& cluster);

std::string RoleName(v1::NodeRole role);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_CLUSTER_VIEW_H_

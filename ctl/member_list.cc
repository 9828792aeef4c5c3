// `qboxctl member list`: the voters and learners, as one node sees them.
#include <iostream>
#include <nlohmann/json.hpp>

#include "ctl/admin_connection.h"
#include "ctl/cluster_view.h"
#include "ctl/member_commands.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {

absl::Status RunMemberList(const ReadCommandOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<AdminClient> client, OpenAdminClient(connection));
  absl::StatusOr<v1::GetClusterStatusResponse> status =
      client->GetClusterStatus({}, CallOptionsFor(connection));
  if (!status.ok()) {
    return ExplainCallError(status.status(), "listing members", {}, connection);
  }
  nlohmann::json members = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const v1::NodeStatus& node : status->nodes()) {
    // The answer lists the voters and learners; only learners (and nodes
    // rebuilding after storage loss, G4) do not vote.
    std::string membership = node.role() == v1::NODE_ROLE_LEARNER      ? "learner"
                             : node.role() == v1::NODE_ROLE_RECOVERING ? "recovering"
                                                                       : "voter";
    std::string name = node.site() + "/" + node.node_id();
    bool leader = name == status->leader();
    members.push_back({{"site", node.site()},
                       {"node", node.node_id()},
                       {"address", node.address()},
                       {"membership", membership},
                       {"is_leader", leader}});
    rows.push_back({node.site(), node.node_id(), node.address(), membership, leader ? "yes" : ""});
  }
  if (options.format == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"leader", status->leader()},
                                {"term", status->term()},
                                {"answered_by", client->PreferredEndpoint()},
                                {"members", std::move(members)}}
                     .dump(2)
              << "\n";
  } else {
    PrintTable(std::cout, {"SITE", "NODE", "ADDRESS", "MEMBERSHIP", "LEADER"}, rows);
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

// `qboxctl alarms list`: every alarm each answering node reports about
// itself (refused truncations, hash-chain breaks, digest divergence, disk
// problems), with the endpoints that could not be asked.
#include <iostream>
#include <nlohmann/json.hpp>

#include "ctl/cluster_view.h"
#include "ctl/status_commands.h"
#include "ctl/status_gathering.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {

absl::Status RunAlarmsList(const ReadCommandOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(ClusterView view, GatherClusterView(connection, "listing alarms"));
  nlohmann::json alarms = nlohmann::json::array();
  nlohmann::json unanswered = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const NodeRow& row : view.nodes) {
    for (const std::string& alarm : row.alarms) {
      alarms.push_back({{"site", row.site}, {"node", row.node}, {"alarm", alarm}});
      rows.push_back({row.site, row.node, alarm});
    }
    if (!row.error.empty()) {
      unanswered.push_back({{"site", row.site},
                            {"node", row.node},
                            {"endpoint", row.endpoint},
                            {"error", row.error}});
    }
  }
  if (options.format == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"alarms", std::move(alarms)},
                                {"unanswered", std::move(unanswered)}}
                     .dump(2)
              << "\n";
    return absl::OkStatus();
  }
  if (rows.empty()) {
    std::cout << "no alarms on the " << view.endpoints_answered << " nodes that answered\n";
  } else {
    PrintTable(std::cout, {"SITE", "NODE", "ALARM"}, rows);
  }
  for (const auto& u : unanswered) {
    std::cout << "did not answer: " << u["endpoint"].get<std::string>() << ": "
              << u["error"].get<std::string>() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

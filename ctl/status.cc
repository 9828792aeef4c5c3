// `qboxctl status`: one row per node, like `etcdctl endpoint status -w table`.
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ctl/admin_connection.h"
#include "ctl/cluster_view.h"
#include "ctl/status_commands.h"
#include "ctl/status_gathering.h"
#include "ctl/status_health.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
namespace {

using nlohmann::json;

template <typename T>
json OrNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

template <typename T>
std::string OrDash(const std::optional<T>& value) {
  if (!value) return "-";
  if constexpr (std::is_same_v<T, bool>) {
    return *value ? "yes" : "no";
  } else {
    return absl::StrCat(*value);
  }
}

json ToJson(const ClusterView& view) {
  json nodes = json::array();
  for (const NodeRow& row : view.nodes) {
    nodes.push_back({{"site", row.site},
                     {"node", row.node},
                     {"address", row.address},
                     {"endpoint", row.endpoint},
                     {"answered", row.answered},
                     {"error", row.error},
                     {"role", row.role},
                     {"term", OrNull(row.term)},
                     {"commit_index", OrNull(row.commit_index)},
                     {"applied_index", OrNull(row.applied_index)},
                     {"lag_entries", OrNull(row.lag_entries)},
                     {"leader_sees_reachable", OrNull(row.leader_sees_reachable)},
                     {"last_contact_ms_ago", OrNull(row.last_contact_ms_ago)},
                     {"alarms", row.alarms},
                     {"recovery", row.recovery}});
  }
  return json{{"leader", view.leader},
              {"term", view.term},
              {"endpoints_asked", view.endpoints_asked},
              {"endpoints_answered", view.endpoints_answered},
              {"nodes", std::move(nodes)}};
}

void PrintStatusTable(const ClusterView& view) {
  std::vector<std::vector<std::string>> rows;
  for (const NodeRow& row : view.nodes) {
    std::string alarms = row.alarms.empty() ? "-" : absl::StrJoin(row.alarms, "; ");
    rows.push_back(
        {row.site.empty() ? "-" : row.site, row.node.empty() ? "-" : row.node, row.address,
         row.recovery.empty() ? row.role : absl::StrCat(row.role, " (", row.recovery, ")"),
         OrDash(row.term), OrDash(row.commit_index), OrDash(row.applied_index),
         OrDash(row.lag_entries),
         row.last_contact_ms_ago ? absl::StrCat(*row.last_contact_ms_ago, "ms ago") : "-", alarms,
         row.error.empty() ? "-" : row.error});
  }
  PrintTable(std::cout,
             {"SITE", "NODE", "ADDRESS", "ROLE", "TERM", "COMMIT", "APPLIED", "LAG", "LAST CONTACT",
              "ALARMS", "ERROR"},
             rows);
}

}  // namespace

absl::Status RunStatus(const StatusOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.read.connection));
  ASSIGN_OR_RETURN(ClusterView view, GatherClusterView(connection, "asking for cluster status"));
  if (options.read.format == OutputFormat::kJson) {
    std::cout << ToJson(view).dump(2) << "\n";
  } else {
    PrintStatusTable(view);
  }
  std::cout.flush();
  std::vector<std::string> problems = ClusterHealthProblems(view);
  if (options.report_only || problems.empty()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("cluster unhealthy: ", absl::StrJoin(problems, "; "),
                                             " (--report-only to exit 0 anyway)"));
}

}  // namespace qbox::ctl

#include "ctl/status_health.h"

#include "absl/strings/str_cat.h"

namespace qbox::ctl {

std::vector<std::string> ClusterHealthProblems(const ClusterView& view) {
  std::vector<std::string> problems;
  if (view.leader.empty()) problems.push_back("no leader");
  for (const NodeRow& row : view.nodes) {
    const std::string name = row.QualifiedName().empty() ? row.address : row.QualifiedName();
    if (!row.endpoint.empty() && !row.answered) {
      problems.push_back(absl::StrCat(name, " unreachable (", row.error, ")"));
    } else if (row.leader_sees_reachable.has_value() && !*row.leader_sees_reachable) {
      problems.push_back(absl::StrCat(name, " unreachable from the leader"));
    }
  }
  return problems;
}

}  // namespace qbox::ctl

// CLI wiring for `qboxctl status` and `qboxctl alarms ...`; the work is in
// status.cc and alarms_list.cc.
#include "ctl/status_commands.h"

#include <CLI/CLI.hpp>
#include <memory>

namespace qbox::ctl {

void AddStatusCommands(CLI::App* root, CommandRunner* runner) {
  auto status = std::make_shared<StatusOptions>();
  CLI::App* status_cmd = root->add_subcommand(
      "status",
      "One row per node: site, node, address, role, term, commit and applied index, lag, alarms. "
      "Asks every endpoint; one that does not answer shows its error instead. Exits 1 if the "
      "cluster has no leader or a node is unreachable");
  AddConnectionFlags(status_cmd, &status->read.connection);
  AddOutputFlag(status_cmd, &status->read.format);
  status_cmd->add_flag("--report-only", status->report_only,
                       "Print the status and exit 0 even with no leader or a node unreachable");
  status_cmd->callback(
      [runner, status] { runner->Select([status] { return RunStatus(*status); }); });

  CLI::App* alarms = root->add_subcommand(
      "alarms", "Alarms nodes raise: refused truncations, hash-chain breaks, digest divergence");
  auto list = std::make_shared<ReadCommandOptions>();
  CLI::App* list_cmd =
      alarms->add_subcommand("list", "List every active alarm of every node that answers");
  AddConnectionFlags(list_cmd, &list->connection);
  AddOutputFlag(list_cmd, &list->format);
  list_cmd->callback([runner, list] { runner->Select([list] { return RunAlarmsList(*list); }); });
}

}  // namespace qbox::ctl

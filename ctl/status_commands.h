// `qboxctl status` and `qboxctl alarms list`: read-only views of a running
// cluster, gathered from every endpoint (see cluster_view.h).
//
//   qboxctl status      [connection flags] [-o table|json] [--report-only]
//   qboxctl alarms list [connection flags] [-o table|json]
#ifndef QBOX_CTL_STATUS_COMMANDS_H_
#define QBOX_CTL_STATUS_COMMANDS_H_

#include "absl/status/status.h"
#include "ctl/command_runner.h"
#include "ctl/connection_flags.h"
#include "ctl/output_format.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

// Registers `status` and the `alarms` noun on `root`.
void AddStatusCommands(CLI::App* root, CommandRunner* runner);

struct ReadCommandOptions {
  ConnectionFlags connection;
  OutputFormat format = OutputFormat::kTable;
};

struct StatusOptions {
  ReadCommandOptions read;
  // Print the rows and succeed whatever they say (for dashboards and
  // scripts that judge for themselves).
  bool report_only = false;
};

// One row per node (ctl/README.md documents the JSON), printed whenever at
// least one endpoint answered. Then, unless report_only, UNAVAILABLE naming
// every problem if the cluster has no leader or a node is unreachable
// (status_health.h), so that scripts and probes can rely on the exit
// status. UNAVAILABLE naming the endpoints and the first error if none
// answered. Errors of the connection flags as ResolveConnection.
absl::Status RunStatus(const StatusOptions& options);

// Every alarm every answering node reports about itself. OK / errors as
// RunStatus.
absl::Status RunAlarmsList(const ReadCommandOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_STATUS_COMMANDS_H_

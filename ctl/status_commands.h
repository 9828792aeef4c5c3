// `qboxctl status` and `qboxctl alarms list`: read-only views of a running
// cluster, gathered from every endpoint (see cluster_view.h).
//
//   qboxctl status      [connection flags] [-o table|json]
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

// One row per node (ctl/README.md documents the JSON). OK if at least one
// endpoint answered, even if others did not (their rows carry the error);
// otherwise UNAVAILABLE naming the endpoints and the first error. Errors
// of the connection flags as ResolveConnection.
absl::Status RunStatus(const ReadCommandOptions& options);

// Every alarm every answering node reports about itself. OK / errors as
// RunStatus.
absl::Status RunAlarmsList(const ReadCommandOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_STATUS_COMMANDS_H_

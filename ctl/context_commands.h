// `qboxctl context`: named connection settings in the context file
// (connection_settings.h), like `kubectl config get-contexts|use-context`.
//
//   qboxctl context list [-o table|json]
//   qboxctl context use NAME
//   qboxctl context set NAME [connection flags]   create or replace NAME
//   qboxctl context delete NAME
#ifndef QBOX_CTL_CONTEXT_COMMANDS_H_
#define QBOX_CTL_CONTEXT_COMMANDS_H_

#include <string>

#include "absl/status/status.h"
#include "ctl/command_runner.h"
#include "ctl/connection_flags.h"
#include "ctl/output_format.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

void AddContextCommands(CLI::App* root, CommandRunner* runner);

struct ContextOptions {
  std::string name;
  ConnectionFlags settings;  // for set
  OutputFormat format = OutputFormat::kTable;
};

// Every context, the current one marked. OK with an empty list if there is
// no context file.
absl::Status RunContextList(const ContextOptions& options);
// Makes NAME current. NOT_FOUND naming NAME if the file has no such
// context; the file is unchanged.
absl::Status RunContextUse(const ContextOptions& options);
// Stores the connection flags given (file paths made absolute, so the
// context works from any directory) as NAME, replacing it if it exists;
// the first context becomes current. INVALID_ARGUMENT naming the flag if no
// connection flag was given or NAME is not a valid name.
absl::Status RunContextSet(const ContextOptions& options);
// Removes NAME (and makes no context current if it was). NOT_FOUND as use.
absl::Status RunContextDelete(const ContextOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_CONTEXT_COMMANDS_H_

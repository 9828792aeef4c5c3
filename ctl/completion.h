// `qboxctl completion bash|zsh`: a shell completion script generated from
// the command tree itself, so it never falls behind the commands.
//
//   source <(qboxctl completion bash)
//   qboxctl completion zsh > "${fpath[1]}/_qboxctl"
#ifndef QBOX_CTL_COMPLETION_H_
#define QBOX_CTL_COMPLETION_H_

#include <string>

#include "absl/status/statusor.h"
#include "ctl/command_runner.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

// Registers `completion SHELL` on `root`; the script covers every command
// registered on `root` by the time it runs.
void AddCompletionCommand(CLI::App* root, CommandRunner* runner);

// The script for `shell` ("bash" or "zsh"): completes command words and
// each command's flags. INVALID_ARGUMENT naming SHELL for any other shell.
absl::StatusOr<std::string> CompletionScript(const CLI::App& root, const std::string& shell);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_COMPLETION_H_

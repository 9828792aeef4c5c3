// How a qboxctl noun file hands its chosen action to main(): CLI11 parses
// the whole command line first, the matching subcommand's callback Selects
// an action, and only then does main() Run it. So a parse error (unknown
// flag, missing argument) never leaves a command half done.
#ifndef QBOX_CTL_COMMAND_RUNNER_H_
#define QBOX_CTL_COMMAND_RUNNER_H_

#include <functional>
#include <utility>

#include "absl/status/status.h"

namespace qbox::ctl {

class CommandRunner {
 public:
  using Action = std::function<absl::Status()>;

  void Select(Action action) { action_ = std::move(action); }
  bool selected() const { return static_cast<bool>(action_); }

  // Runs the selected action. FAILED_PRECONDITION if none was selected
  // (main() makes CLI11 require a subcommand, so that is a wiring bug).
  absl::Status Run() const {
    if (!action_) return absl::FailedPreconditionError("no command selected; see 'qboxctl --help'");
    return action_();
  }

 private:
  Action action_;
};

}  // namespace qbox::ctl

#endif  // QBOX_CTL_COMMAND_RUNNER_H_

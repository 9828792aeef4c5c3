// `qboxctl member ...` and `qboxctl leader ...`: the consensus group's
// membership and leadership. Every change goes to the leader (the client
// library follows leader hints) and returns once it has committed.
//
//   qboxctl member list [-o table|json]
//   qboxctl member add-learner SITE/NAME [--address HOST:PORT]
//   qboxctl member promote SITE/NAME
//   qboxctl member remove SITE/NAME
//   qboxctl leader transfer SITE/NAME
// (each with the connection flags of connection_flags.h)
#ifndef QBOX_CTL_MEMBER_COMMANDS_H_
#define QBOX_CTL_MEMBER_COMMANDS_H_

#include <string>

#include "absl/status/status.h"
#include "ctl/command_runner.h"
#include "ctl/connection_flags.h"
#include "ctl/output_format.h"
#include "ctl/status_commands.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

// Registers the `member` and `leader` nouns on `root`.
void AddMemberCommands(CLI::App* root, CommandRunner* runner);

// The voters and learners as one node (whichever answers first) sees them.
absl::Status RunMemberList(const ReadCommandOptions& options);

struct MemberChangeOptions {
  ConnectionFlags connection;
  enum class Change { kAddLearner, kPromote, kRemove } change = Change::kAddLearner;
  std::string node;     // SITE/NAME
  std::string address;  // add-learner only; empty = the cluster configuration's
};
// INVALID_ARGUMENT naming NODE or --address for bad spelling; otherwise the
// node's answer, explained (NOT_FOUND for a node not in the cluster
// configuration, FAILED_PRECONDITION for a learner not caught up, ...).
absl::Status RunMemberChange(const MemberChangeOptions& options);

struct LeaderTransferOptions {
  ConnectionFlags connection;
  std::string target;  // SITE/NAME
};
// Returns once leadership has moved, printing the new leader.
absl::Status RunLeaderTransfer(const LeaderTransferOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_MEMBER_COMMANDS_H_

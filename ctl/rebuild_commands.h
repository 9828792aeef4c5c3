// `qboxctl rebuild ...`: following a node that rebuilds itself from the
// other sites after losing its storage (DESIGN.md G4).
//
//   qboxctl rebuild watch SITE/NAME [connection flags] [--interval 1s]
//                         [--max-lag N] [-o table|json]
#ifndef QBOX_CTL_REBUILD_COMMANDS_H_
#define QBOX_CTL_REBUILD_COMMANDS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "ctl/command_runner.h"
#include "ctl/connection_flags.h"
#include "ctl/output_format.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

// Registers the `rebuild` noun and its verbs on `root`.
void AddRebuildCommands(CLI::App* root, CommandRunner* runner);

struct RebuildWatchOptions {
  std::string node;  // SITE/NAME
  // Here --timeout bounds the whole watch; each poll's calls get at most
  // 5 s of it.
  ConnectionFlags connection;
  std::string interval = "1s";
  uint64_t max_lag = 0;
  OutputFormat format = OutputFormat::kTable;
};

// Polls every endpoint each --interval and prints the node's progress (one
// line per poll, redrawn in place on a terminal; one JSON object per line
// with -o json) until it is caught up (rebuild_progress.h): then OK. Errors:
// INVALID_ARGUMENT naming NODE or --interval; NOT_FOUND naming NODE if it is
// not in --cluster or not a member any node reports; the explained error
// if no endpoint answers the first poll; DEADLINE_EXCEEDED naming --timeout
// if the node has not caught up by then.
absl::Status RunRebuildWatch(const RebuildWatchOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_REBUILD_COMMANDS_H_

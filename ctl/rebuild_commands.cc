// CLI wiring for `qboxctl rebuild ...`; the work is in rebuild_watch.cc.
#include "ctl/rebuild_commands.h"

#include <CLI/CLI.hpp>
#include <memory>

namespace qbox::ctl {

void AddRebuildCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* rebuild = root->add_subcommand(
      "rebuild", "Nodes rebuilding from the other sites after losing their storage");

  auto watch = std::make_shared<RebuildWatchOptions>();
  // A rebuild takes a while: --timeout bounds the whole watch here.
  watch->connection.default_timeout = "30m";
  CLI::App* watch_cmd = rebuild->add_subcommand(
      "watch",
      "Follow a node that is catching up: entries to go, entries/s and time left, every "
      "--interval, until it has caught up (exit 0) or --timeout passes (exit 1)");
  watch_cmd->add_option("NODE", watch->node, "The node to follow, as SITE/NAME")->required();
  watch_cmd->add_option("--interval", watch->interval, "Time between polls, e.g. 1s or 500ms")
      ->default_str("1s");
  watch_cmd
      ->add_option("--max-lag", watch->max_lag,
                   "Entries behind the leader still counted as caught up (raise it under heavy "
                   "write load)")
      ->default_str("0");
  AddConnectionFlags(watch_cmd, &watch->connection);
  watch_cmd->get_option("--timeout")
      ->description("How long to watch before giving up, e.g. 10m; each poll waits at most 5s")
      ->default_str("30m");
  AddOutputFlag(watch_cmd, &watch->format);
  watch_cmd->callback(
      [runner, watch] { runner->Select([watch] { return RunRebuildWatch(*watch); }); });
}

}  // namespace qbox::ctl

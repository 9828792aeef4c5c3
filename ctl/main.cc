// qboxctl: the quorumbox cluster admin tool (issue 4).
//
// Verbs are grouped by noun, like etcdctl and cockroach. Each noun lives in
// its own file and registers itself here (AddSiteCommands, ...). Errors end
// the program with exit status 1 (command failed) or 2 (bad command line)
// and ONE line on stderr that names the flag or file and what to do.
//
// Connection flags go anywhere on the line (`qboxctl --cluster F status`
// or `qboxctl status --cluster F`); what the line leaves unset comes from
// QBOX_* variables and the context file (connection_settings.h).
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "ctl/account_commands.h"
#include "ctl/charter_commands.h"
#include "ctl/cluster_commands.h"
#include "ctl/command_runner.h"
#include "ctl/completion.h"
#include "ctl/connection_flags.h"
#include "ctl/context_commands.h"
#include "ctl/member_commands.h"
#include "ctl/rebuild_commands.h"
#include "ctl/site_commands.h"
#include "ctl/snapshot_commands.h"
#include "ctl/status_commands.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// "qboxctl site init": the deepest subcommand the parser reached, for
// pointing at the right --help.
std::string CommandPath(const CLI::App& app) {
  std::string path = app.get_name();
  const CLI::App* current = &app;
  while (true) {
    std::vector<const CLI::App*> chosen =
        current->get_subcommands([](const CLI::App* sub) { return sub->parsed(); });
    if (chosen.empty()) break;
    current = chosen.front();
    path += " " + current->get_name();
  }
  return path;
}

// CLI11 messages can span lines; the contract is one line.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("qboxctl: administer a quorumbox cluster and its sites' credentials", "qboxctl");
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.set_version_flag("--version", "qboxctl " QBOX_VERSION " (commit " QBOX_GIT_COMMIT ")");
  // Subcommands created from here on pass flags they do not know to the
  // root, which takes the connection flags given before the command.
  app.fallthrough();
  qbox::ctl::ConnectionFlags line_connection;
  qbox::ctl::AddConnectionFlags(&app, &line_connection);
  std::string context;
  app.add_option("--context", context,
                 "Connection settings from this context of the context file (see 'qboxctl "
                 "context'); default QBOX_CONTEXT, else the file's current context")
      ->group("Connection");

  qbox::ctl::CommandRunner runner;
  qbox::ctl::AddSiteCommands(&app, &runner);
  qbox::ctl::AddClusterCommands(&app, &runner);
  qbox::ctl::AddStatusCommands(&app, &runner);
  qbox::ctl::AddMemberCommands(&app, &runner);
  qbox::ctl::AddAccountCommands(&app, &runner);
  qbox::ctl::AddSnapshotCommands(&app, &runner);
  qbox::ctl::AddRebuildCommands(&app, &runner);
  qbox::ctl::AddCharterCommands(&app, &runner);
  qbox::ctl::AddContextCommands(&app, &runner);
  qbox::ctl::AddCompletionCommand(&app, &runner);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string path = CommandPath(app);
    std::cerr << path << ": " << OneLine(e.what()) << " (see '" << path << " --help')\n";
    return kExitUsage;
  }

  // A noun without a verb (or no noun) is checked here rather than with
  // CLI11's require_subcommand, which would report it in place of an
  // unknown flag given next to it.
  if (!runner.selected()) {
    std::string path = CommandPath(app);
    std::cerr << path << ": missing command (see '" << path << " --help')\n";
    return kExitUsage;
  }
  absl::StatusOr<qbox::ctl::ConnectionSettings> fallback =
      qbox::ctl::FallbackSettings(context, qbox::ctl::ProcessEnvironment());
  if (fallback.ok()) {
    qbox::ctl::ConnectionSettings line = qbox::ctl::ToSettings(line_connection);
    qbox::ctl::FillUnset(&line, *fallback);
    fallback = line;
  }
  qbox::ctl::SetConnectionFallback(std::move(fallback));
  absl::Status status = runner.Run();
  if (!status.ok()) {
    std::cerr << CommandPath(app) << ": " << OneLine(std::string(status.message())) << "\n";
    return kExitFailed;
  }
  return 0;
}

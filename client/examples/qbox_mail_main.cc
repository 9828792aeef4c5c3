// qbox-mail's entry point: parses the whole command line first (so a typo
// never leaves a command half done), then does the chosen command's local
// work, connects, and runs it. Errors are ONE line on stderr naming the
// flag, file or field; see qbox_mail.h for the exit codes.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/examples/qbox_mail.h"

namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

// "qbox-mail mailbox create": the deepest subcommand the parser reached.
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

// CLI11 and server messages can span lines; the contract is one line.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

int Report(const CLI::App& app, const std::string& message, int exit_code) {
  std::cerr << CommandPath(app) << ": " << OneLine(message) << "\n";
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "qbox-mail: read and change one account's mail in a quorumbox cluster.\n"
      "Connection flags go anywhere on the line; --dev uses ./.dev-cluster "
      "(scripts/dev-cluster.sh).",
      "qbox-mail");
  // Lets the connection flags follow the subcommand too:
  // `qbox-mail fetch --mailbox INBOX --dev --account alice`.
  app.fallthrough();
  app.set_help_all_flag("--help-all", "Show help for every command");

  qbox::mail::ConnectionFlags connection;
  qbox::mail::AddConnectionFlags(&app, &connection);
  qbox::mail::Command selected;
  qbox::mail::AddMailboxCommands(&app, &selected);
  qbox::mail::AddAppendCommand(&app, &selected);
  qbox::mail::AddReadCommands(&app, &selected);
  qbox::mail::AddUpdateCommands(&app, &selected);
  qbox::mail::AddVaultCommands(&app, &selected);
  qbox::mail::AddQuotaCommand(&app, &selected);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string path = CommandPath(app);
    return Report(app, absl::StrCat(e.what(), " (see '", path, " --help')"), kExitUsage);
  }
  if (!selected.run) {
    const std::string path = CommandPath(app);
    return Report(app, absl::StrCat("missing command (see '", path, " --help')"), kExitUsage);
  }

  if (selected.prepare) {
    absl::Status prepared = selected.prepare();
    if (!prepared.ok()) return Report(app, std::string(prepared.message()), kExitUsage);
  }
  qbox::mail::Session session;
  absl::StatusOr<std::unique_ptr<qbox::Client>> client =
      qbox::mail::OpenClient(connection, &session);
  if (!client.ok()) return Report(app, std::string(client.status().message()), kExitUsage);
  session.client = client->get();

  absl::Status status = selected.run(session);
  if (!status.ok()) {
    return Report(app,
                  absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message()),
                  kExitFailed);
  }
  return 0;
}

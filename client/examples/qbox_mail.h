// qbox-mail: a command-line front end on the client library, for trying a
// cluster by hand and for scripts. One account's mail: mailboxes, messages,
// flags, the retention vault and the quota. The pieces shared by its files
// (qbox_mail_*.cc) are declared here; main() is in qbox_mail_main.cc.
//
// Exit status: 0 done; 1 the cluster refused or failed the call (its gRPC
// code and message on stderr); 2 bad command line or local input (a flag,
// file or value, named on stderr) and nothing was sent.
#ifndef QBOX_CLIENT_EXAMPLES_QBOX_MAIL_H_
#define QBOX_CLIENT_EXAMPLES_QBOX_MAIL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "qbox/client.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::mail {

// ---- connection (qbox_mail_connection.cc) ----

// The flags every command takes. Empty means "not given"; what the line
// does not give comes from --dev, then from QBOX_* variables and the
// context file, as for qboxctl (ctl/connection_settings.h).
struct ConnectionFlags {
  std::string endpoints;  // host:port,...
  std::string cacert;     // every site's CA certificate, concatenated
  std::string cert;       // this front end's certificate
  std::string key;        // and its private key
  std::string account;    // the mail account to act on
  std::string timeout;    // empty = 10s
  std::string context;    // --context: which context of the context file
  // Fill whatever of endpoints/cacert/cert/key is not given from the dev
  // cluster's layout (scripts/dev-cluster.sh) under the current directory.
  bool dev = false;
};

void AddConnectionFlags(CLI::App* app, ConnectionFlags* flags);

// What a connected command works with.
struct Session {
  Client* client = nullptr;
  std::string account;
  CallOptions call;  // every call's deadline (--timeout)
};

// Checks the flags and opens a client (no network traffic yet). Errors name
// the flag and, for files, the path: "--cert site-a/x.crt: no such file".
absl::StatusOr<std::unique_ptr<Client>> OpenClient(const ConnectionFlags& flags, Session* session);

// ---- commands ----

// What the command line chose. `prepare` (optional) does the local work,
// such as reading the message file, before any connection is made; its
// errors are the user's input (exit 2). `run` talks to the cluster.
struct Command {
  std::function<absl::Status()> prepare;
  std::function<absl::Status(const Session&)> run;
};

void AddMailboxCommands(CLI::App* app, Command* selected);  // qbox_mail_mailbox.cc
void AddAppendCommand(CLI::App* app, Command* selected);    // qbox_mail_append.cc
void AddReadCommands(CLI::App* app, Command* selected);     // fetch, changes: qbox_mail_fetch.cc
void AddUpdateCommands(CLI::App* app, Command* selected);   // flag, expunge: qbox_mail_update.cc
void AddVaultCommands(CLI::App* app, Command* selected);    // deleted, restore: qbox_mail_vault.cc
void AddQuotaCommand(CLI::App* app, Command* selected);     // qbox_mail_quota.cc

// ---- input checks (qbox_mail_uid_set.cc) ----

// Checks IMAP UID-set syntax ("1:5,7,9:*") locally, so a typo is named by
// its flag instead of travelling to the cluster. INVALID_ARGUMENT naming
// the offending character and its offset.
absl::Status CheckUidSet(const std::string& text);

// Adds "--uids SET" (required or with `default_value`) to `command`.
void AddUidsOption(CLI::App* command, std::string* uids, const std::string& default_value = "");

// Sorts user-given flags into system flags ("\Seen") and keywords ("Work").
template <typename Request>
void AddFlagsAndKeywords(const std::vector<std::string>& given, Request* request) {
  for (const std::string& flag : given) {
    if (!flag.empty() && flag[0] == '\\') {
      request->add_flags(flag);
    } else {
      request->add_keywords(flag);
    }
  }
}

// ---- output (qbox_mail_output.cc) ----

enum class OutputFormat { kTable, kJson };

// Adds "-o,--output table|json" to `command`.
void AddOutputFlag(CLI::App* command, OutputFormat* format);

// RFC 3339 in UTC, e.g. "2024-05-01T12:00:00Z"; "-" for 0.
std::string FormatTimeMs(int64_t ms_since_epoch);

// Flags then keywords, space-separated; "-" if none.
std::string FlagsText(const v1::MessageInfo& message);

nlohmann::json MessageJson(const v1::MessageInfo& message);
nlohmann::json MailboxJson(const v1::MailboxInfo& mailbox);

// JSON as text; invalid UTF-8 in message bodies is replaced, not fatal.
std::string JsonText(const nlohmann::json& value, int indent = 2);

// Rows printed with columns aligned to their widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  std::string ToString() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace qbox::mail

#endif  // QBOX_CLIENT_EXAMPLES_QBOX_MAIL_H_

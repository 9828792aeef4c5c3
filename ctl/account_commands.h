// `qboxctl account ...`: mail accounts and their quotas, through the Admin
// service (so an admin certificate is enough; no front-end certificate).
//
//   qboxctl account create NAME [--quota-bytes N] [--quota-messages N]
//                               [--max-message-bytes N]
//   qboxctl account list [-o table|json]
//   qboxctl account quota get NAME [-o table|json]
//   qboxctl account quota set NAME [--quota-bytes N] [--quota-messages N]
//                                  [--max-message-bytes N]
// (each with the connection flags of connection_flags.h). 0 = unlimited
// (for --max-message-bytes: the cluster's default).
#ifndef QBOX_CTL_ACCOUNT_COMMANDS_H_
#define QBOX_CTL_ACCOUNT_COMMANDS_H_

#include <cstdint>
#include <optional>
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

// Registers the `account` noun on `root`.
void AddAccountCommands(CLI::App* root, CommandRunner* runner);

struct AccountCreateOptions {
  ConnectionFlags connection;
  std::string account;
  uint64_t quota_bytes = 0;
  uint64_t quota_messages = 0;
  uint64_t max_message_bytes = 0;
};
// Creates the account (with an INBOX). ALREADY_EXISTS if it exists; the
// node's INVALID_ARGUMENT names a bad account name.
absl::Status RunAccountCreate(const AccountCreateOptions& options);

// Every account with its usage and quota, sorted by name.
absl::Status RunAccountList(const ReadCommandOptions& options);

struct QuotaGetOptions {
  ReadCommandOptions read;
  std::string account;
};
// NOT_FOUND naming the account if it does not exist.
absl::Status RunQuotaGet(const QuotaGetOptions& options);

struct QuotaSetOptions {
  ConnectionFlags connection;
  std::string account;
  std::optional<uint64_t> quota_bytes;
  std::optional<uint64_t> quota_messages;
  uint64_t max_message_bytes = 0;
};
// Changes the limits given; a limit not given keeps its current value (read
// first), except --max-message-bytes, which nodes do not report and so
// returns to the cluster default unless given. INVALID_ARGUMENT if neither
// --quota-bytes nor --quota-messages nor --max-message-bytes is given;
// NOT_FOUND naming the account if it does not exist.
absl::Status RunQuotaSet(const QuotaSetOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_ACCOUNT_COMMANDS_H_

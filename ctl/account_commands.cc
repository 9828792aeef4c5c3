// CLI wiring for `qboxctl account ...`; the work is in account_create.cc,
// account_list.cc and account_quota.cc.
#include "ctl/account_commands.h"

#include <CLI/CLI.hpp>
#include <memory>

namespace qbox::ctl {

void AddAccountCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* account = root->add_subcommand("account", "Mail accounts and their quotas");

  auto create = std::make_shared<AccountCreateOptions>();
  CLI::App* create_cmd = account->add_subcommand("create", "Create an account with an INBOX");
  create_cmd->add_option("NAME", create->account, "Account name")->required();
  create_cmd->add_option("--quota-bytes", create->quota_bytes, "Byte limit (0 = unlimited)");
  create_cmd->add_option("--quota-messages", create->quota_messages,
                         "Message limit (0 = unlimited)");
  create_cmd->add_option("--max-message-bytes", create->max_message_bytes,
                         "Largest message accepted (0 = the cluster default)");
  AddConnectionFlags(create_cmd, &create->connection);
  create_cmd->callback(
      [runner, create] { runner->Select([create] { return RunAccountCreate(*create); }); });

  auto list = std::make_shared<ReadCommandOptions>();
  CLI::App* list_cmd = account->add_subcommand("list", "List accounts with usage and quotas");
  AddConnectionFlags(list_cmd, &list->connection);
  AddOutputFlag(list_cmd, &list->format);
  list_cmd->callback([runner, list] { runner->Select([list] { return RunAccountList(*list); }); });

  CLI::App* quota = account->add_subcommand("quota", "An account's quota");
  auto get = std::make_shared<QuotaGetOptions>();
  CLI::App* get_cmd = quota->add_subcommand("get", "Show an account's usage and limits");
  get_cmd->add_option("NAME", get->account, "Account name")->required();
  AddConnectionFlags(get_cmd, &get->read.connection);
  AddOutputFlag(get_cmd, &get->read.format);
  get_cmd->callback([runner, get] { runner->Select([get] { return RunQuotaGet(*get); }); });

  auto set = std::make_shared<QuotaSetOptions>();
  CLI::App* set_cmd =
      quota->add_subcommand("set", "Change an account's limits; limits not given keep their value");
  set_cmd->add_option("NAME", set->account, "Account name")->required();
  set_cmd->add_option("--quota-bytes", set->quota_bytes, "New byte limit (0 = unlimited)");
  set_cmd->add_option("--quota-messages", set->quota_messages, "New message limit (0 = unlimited)");
  set_cmd->add_option("--max-message-bytes", set->max_message_bytes,
                      "Largest message accepted (0 = the cluster default; NOT kept if omitted, "
                      "nodes do not report it)");
  AddConnectionFlags(set_cmd, &set->connection);
  set_cmd->callback([runner, set] { runner->Select([set] { return RunQuotaSet(*set); }); });
}

}  // namespace qbox::ctl

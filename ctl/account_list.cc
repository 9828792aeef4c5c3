// `qboxctl account list`.
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "ctl/account_commands.h"
#include "ctl/account_listing.h"
#include "ctl/admin_connection.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
absl::Status RunAccountList(const ReadCommandOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(v1::ListAccountsResponse response, ListAccounts(connection));
  std::vector<v1::AccountInfo> accounts(response.accounts().begin(), response.accounts().end());
  if (options.format == OutputFormat::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const v1::AccountInfo& a : accounts) list.push_back(AccountJson(a));
    std::cout << nlohmann::json{{"accounts", std::move(list)}}.dump(2) << "\n";
  } else {
    PrintAccountTable(accounts);
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

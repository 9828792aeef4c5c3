#include "ctl/account_listing.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "ctl/admin_connection.h"
#include "ctl/output_format.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
namespace {

std::string Limit(uint64_t value) { return value == 0 ? "unlimited" : absl::StrCat(value); }

}  // namespace

absl::StatusOr<v1::ListAccountsResponse> ListAccounts(const Connection& connection) {
  ASSIGN_OR_RETURN(std::unique_ptr<AdminClient> client, OpenAdminClient(connection));
  absl::StatusOr<v1::ListAccountsResponse> response =
      client->ListAccounts({}, CallOptionsFor(connection));
  if (!response.ok()) {
    return ExplainCallError(response.status(), "listing accounts", {}, connection);
  }
  return response;
}

nlohmann::json AccountJson(const v1::AccountInfo& account) {
  return {{"account", account.account()},
          {"used_bytes", account.used_bytes()},
          {"used_messages", account.used_messages()},
          {"quota_bytes", account.quota_bytes()},
          {"quota_messages", account.quota_messages()}};
}

void PrintAccountTable(const std::vector<v1::AccountInfo>& accounts) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::AccountInfo& a : accounts) {
    rows.push_back({a.account(), absl::StrCat(a.used_bytes()), Limit(a.quota_bytes()),
                    absl::StrCat(a.used_messages()), Limit(a.quota_messages())});
  }
  PrintTable(std::cout, {"ACCOUNT", "USED BYTES", "QUOTA BYTES", "USED MESSAGES", "QUOTA MESSAGES"},
             rows);
}

}  // namespace qbox::ctl

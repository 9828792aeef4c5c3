// Reading accounts through Admin.ListAccounts, shared by `account list` and
// `account quota get|set` (quota get needs no front-end certificate this way).
#ifndef QBOX_CTL_ACCOUNT_LISTING_H_
#define QBOX_CTL_ACCOUNT_LISTING_H_

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/connection_flags.h"
#include "qbox/v1/admin.pb.h"

namespace qbox::ctl {

// Every account, linearizably read. Errors explained (ExplainCallError).
absl::StatusOr<v1::ListAccountsResponse> ListAccounts(const Connection& connection);

// The stable JSON of one account (ctl/README.md).
nlohmann::json AccountJson(const v1::AccountInfo& account);

// ACCOUNT, USED BYTES, QUOTA BYTES, USED MESSAGES, QUOTA MESSAGES.
void PrintAccountTable(const std::vector<v1::AccountInfo>& accounts);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_ACCOUNT_LISTING_H_

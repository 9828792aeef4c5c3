// `qboxctl account quota get | set NAME`.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "ctl/account_commands.h"
#include "ctl/account_listing.h"
#include "ctl/admin_connection.h"
#include "ctl/statement_signing.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
namespace {

absl::StatusOr<v1::AccountInfo> FindAccount(const Connection& connection,
                                            const std::string& account) {
  ASSIGN_OR_RETURN(v1::ListAccountsResponse response, ListAccounts(connection));
  for (const v1::AccountInfo& a : response.accounts()) {
    if (a.account() == account) return a;
  }
  return absl::NotFoundError(
      absl::StrCat("NAME: account '", account, "' does not exist; see 'qboxctl account list'"));
}

}  // namespace

absl::Status RunQuotaGet(const QuotaGetOptions& options) {
  if (options.account.empty()) return absl::InvalidArgumentError("NAME: must not be empty");
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.read.connection));
  ASSIGN_OR_RETURN(v1::AccountInfo account, FindAccount(connection, options.account));
  if (options.read.format == OutputFormat::kJson) {
    std::cout << AccountJson(account).dump(2) << "\n";
  } else {
    PrintAccountTable({account});
  }
  return absl::OkStatus();
}

absl::Status RunQuotaSet(const QuotaSetOptions& options) {
  if (options.account.empty()) return absl::InvalidArgumentError("NAME: must not be empty");
  if (!options.quota_bytes && !options.quota_messages && options.max_message_bytes == 0) {
    return absl::InvalidArgumentError(
        "--quota-bytes: give at least one of --quota-bytes, --quota-messages, "
        "--max-message-bytes");
  }
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  // SetQuota replaces every limit, so the ones not given are read first and
  // sent back unchanged.
  ASSIGN_OR_RETURN(v1::AccountInfo current, FindAccount(connection, options.account));
  v1::SetQuotaRequest request;
  request.set_account(options.account);
  request.set_quota_bytes(options.quota_bytes.value_or(current.quota_bytes()));
  request.set_quota_messages(options.quota_messages.value_or(current.quota_messages()));
  request.set_max_message_bytes(options.max_message_bytes);
  // Signed, so that every node's audit log names this admin as verified.
  ASSIGN_OR_RETURN(*request.mutable_admin_signature(),
                   SignAdminRequest(connection, request,
                                    absl::StrCat("setting the quota of '", options.account, "'")));
  ASSIGN_OR_RETURN(std::unique_ptr<AdminClient> client, OpenAdminClient(connection));
  absl::StatusOr<v1::SetQuotaResponse> response =
      client->SetQuota(request, CallOptionsFor(connection));
  if (!response.ok()) {
    return ExplainCallError(response.status(),
                            absl::StrCat("setting the quota of '", options.account, "'"), {},
                            connection);
  }
  std::cout << "quota of " << options.account << ": " << request.quota_bytes() << " bytes, "
            << request.quota_messages() << " messages (0 = unlimited)\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl

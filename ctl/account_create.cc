// `qboxctl account create NAME`: a new account with its INBOX.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "ctl/account_commands.h"
#include "ctl/admin_connection.h"
#include "ctl/statement_signing.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {

absl::Status RunAccountCreate(const AccountCreateOptions& options) {
  if (options.account.empty()) return absl::InvalidArgumentError("NAME: must not be empty");
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<AdminClient> client, OpenAdminClient(connection));
  v1::CreateAccountRequest request;
  request.set_account(options.account);
  request.set_quota_bytes(options.quota_bytes);
  request.set_quota_messages(options.quota_messages);
  request.set_max_message_bytes(options.max_message_bytes);
  // Signed, so that every node's audit log names this admin as verified.
  ASSIGN_OR_RETURN(*request.mutable_admin_signature(),
                   SignAdminRequest(connection, request,
                                    absl::StrCat("creating account '", options.account, "'")));
  // The library fills in an idempotency key, so its retries create once.
  absl::StatusOr<v1::CreateAccountResponse> response =
      client->CreateAccount(request, CallOptionsFor(connection));
  if (!response.ok()) {
    return ExplainCallError(response.status(),
                            absl::StrCat("creating account '", options.account, "'"), {},
                            connection);
  }
  std::cout << "created account " << response->account() << "\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl

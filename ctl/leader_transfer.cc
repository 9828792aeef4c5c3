// `qboxctl leader transfer SITE/NAME`: hand leadership over and wait until
// the new leader has taken it.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "ctl/admin_connection.h"
#include "ctl/member_commands.h"
#include "ctl/node_spec.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {

absl::Status RunLeaderTransfer(const LeaderTransferOptions& options) {
  ASSIGN_OR_RETURN(NodeRef node, ParseNodeRef(options.target, "NODE"));
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<AdminClient> client, OpenAdminClient(connection));
  v1::TransferLeadershipRequest request;
  request.set_target(absl::StrCat(node.site, "/", node.name));
  absl::StatusOr<v1::TransferLeadershipResponse> response =
      client->TransferLeadership(request, CallOptionsFor(connection));
  if (!response.ok()) {
    return ExplainCallError(response.status(),
                            absl::StrCat("transferring leadership to ", request.target()), {},
                            connection);
  }
  std::cout << "leadership moved to " << response->leader() << "\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl

// `qboxctl member add-learner | promote | remove`: one membership change,
// committed through the leader before this returns.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "ctl/admin_connection.h"
#include "ctl/member_commands.h"
#include "ctl/node_spec.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {

absl::Status RunMemberChange(const MemberChangeOptions& options) {
  ASSIGN_OR_RETURN(NodeRef node, ParseNodeRef(options.node, "NODE"));
  if (!options.address.empty()) RETURN_IF_ERROR(ValidateHostPort(options.address, "--address"));
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<AdminClient> client, OpenAdminClient(connection));
  const CallOptions call = CallOptionsFor(connection);
  const std::string name = absl::StrCat(node.site, "/", node.name);

  absl::StatusOr<uint64_t> commit_index;
  std::string done;
  std::string action;
  switch (options.change) {
    case MemberChangeOptions::Change::kAddLearner: {
      v1::AddLearnerRequest request;
      request.set_site(node.site);
      request.set_node_id(node.name);
      request.set_address(options.address);
      action = absl::StrCat("adding ", name, " as a learner");
      done = absl::StrCat("added ", name, " as a learner; promote it once it has caught up");
      auto response = client->AddLearner(request, call);
      commit_index =
          response.ok() ? absl::StatusOr<uint64_t>(response->commit_index()) : response.status();
      break;
    }
    case MemberChangeOptions::Change::kPromote: {
      v1::PromoteLearnerRequest request;
      request.set_site(node.site);
      request.set_node_id(node.name);
      action = absl::StrCat("promoting ", name);
      done = absl::StrCat("promoted ", name, " to voter");
      auto response = client->PromoteLearner(request, call);
      commit_index =
          response.ok() ? absl::StatusOr<uint64_t>(response->commit_index()) : response.status();
      break;
    }
    case MemberChangeOptions::Change::kRemove: {
      v1::RemoveNodeRequest request;
      request.set_site(node.site);
      request.set_node_id(node.name);
      action = absl::StrCat("removing ", name);
      done = absl::StrCat("removed ", name, " from the consensus group");
      auto response = client->RemoveNode(request, call);
      commit_index =
          response.ok() ? absl::StatusOr<uint64_t>(response->commit_index()) : response.status();
      break;
    }
  }
  if (!commit_index.ok()) {
    return ExplainCallError(commit_index.status(), action, {}, connection);
  }
  std::cout << done << " (committed at index " << *commit_index << ")\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl

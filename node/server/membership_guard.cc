#include "node/server/membership_guard.h"

#include "absl/strings/str_cat.h"
#include "node/guard/charter.h"

namespace qbox::server {

absl::Status CharterAllowsMembershipChange(const mailbox::MailboxStateMachine& machine,
                                           const raft::ConfChange& change,
                                           const raft::ConfState& before) {
  if (change.kind != raft::ConfChange::Kind::kRemoveNode &&
      change.kind != raft::ConfChange::Kind::kPromoteLearner) {
    return absl::OkStatus();
  }
  auto charter = machine.GetCharter();
  if (!charter.ok()) return absl::OkStatus();
  const v1::CharterNode* node = guard::FindCharterNode(*charter, change.node);
  if (change.kind == raft::ConfChange::Kind::kRemoveNode) {
    // A learner never held a vote; removing one is reversible.
    if (!before.IsVoter(change.node)) return absl::OkStatus();
    if (node != nullptr && node->removed()) return absl::OkStatus();
    // The proposal that removed it may be committed but not yet applied
    // here; the leader sends again and this passes once it is.
    return absl::FailedPreconditionError(absl::StrCat(
        "removing voter ", change.node, " needs an executed proposal; the charter (version ",
        charter->version(), ") has none"));
  }
  v1::Charter after = *charter;
  bool found = false;
  for (v1::CharterNode& n : *after.mutable_nodes()) {
    if (n.id() == change.node) {
      n.set_voter(true);
      found = true;
    }
  }
  if (!found) {
    return absl::FailedPreconditionError(
        absl::StrCat("promoting node ", change.node, ", which the charter does not list"));
  }
  return guard::CheckNoSiteMajority(after);
}

}  // namespace qbox::server

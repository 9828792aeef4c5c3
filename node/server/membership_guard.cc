#include "node/server/membership_guard.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "node/guard/charter.h"

namespace qbox::server {
namespace {

// OK if no site holds more than half of `after`'s voters, each mapped to
// its site by the charter; FAILED_PRECONDITION naming the site otherwise,
// or naming a voter the charter does not list (only charter-listed nodes
// vote). A voter the charter marks removed still votes until its removal
// entry is applied, so it still counts for its site.
absl::Status CheckVoterSites(const v1::Charter& charter, const raft::ConfState& after) {
  std::map<std::string, int> voters_by_site;
  for (raft::NodeId id : after.voters) {
    const v1::CharterNode* node = guard::FindCharterNode(charter, id);
    if (node == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat("node ", id,
                                                        " would vote, but the charter (version ",
                                                        charter.version(), ") does not list it"));
    }
    ++voters_by_site[node->site()];
  }
  return guard::CheckNoSiteMajority(voters_by_site, static_cast<int>(after.voters.size()));
}

}  // namespace

absl::Status CharterAllowsConfiguration(const v1::Charter& charter, const raft::ConfChange& change,
                                        const raft::ConfState& before) {
  if (change.kind != raft::ConfChange::Kind::kRemoveNode &&
      change.kind != raft::ConfChange::Kind::kPromoteLearner) {
    return absl::OkStatus();
  }
  raft::ConfState after = before;
  if (!change.ApplyTo(&after)) return absl::OkStatus();  // the core refuses it
  const v1::CharterNode* node = guard::FindCharterNode(charter, change.node);
  if (change.kind == raft::ConfChange::Kind::kRemoveNode) {
    // A learner never held a vote; removing one is reversible.
    if (!before.IsVoter(change.node)) return absl::OkStatus();
    if (node == nullptr || !node->removed()) {
      // The proposal that removed it may be committed but not yet applied
      // here; the leader sends again and this passes once it is.
      return absl::FailedPreconditionError(absl::StrCat(
          "removing voter ", change.node, " needs an executed proposal; the charter (version ",
          charter.version(), ") has none"));
    }
  } else {
    if (node == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("promoting node ", change.node, ", which the charter does not list"));
    }
    if (node->removed()) {
      return absl::FailedPreconditionError(absl::StrCat("promoting node ", change.node,
                                                        ", which the charter (version ",
                                                        charter.version(), ") marks removed"));
    }
  }
  return CheckVoterSites(charter, after);
}

absl::Status CharterAllowsMembershipChange(const mailbox::MailboxStateMachine& machine,
                                           const raft::ConfChange& change,
                                           const raft::ConfState& before) {
  absl::StatusOr<v1::Charter> charter = machine.GetCharter();
  if (!charter.ok()) return absl::OkStatus();
  return CharterAllowsConfiguration(*charter, change, before);
}

}  // namespace qbox::server

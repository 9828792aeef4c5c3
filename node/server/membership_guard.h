// G2 in the consensus core's hands: whether the charter allows a membership
// change a leader sends (raft::RaftConfig::membership_guard). The guard
// judges the raft configuration the change produces, not the change alone:
// the core hands it the configuration as it stands before the change,
// including earlier changes of the same AppendEntries, so two promotions in
// one batch are judged together. Removing a voter needs an executed
// proposal that marked it removed; only charter-listed nodes may become
// voters; no site may hold more than half of the resulting voters. Without
// a charter yet (before genesis, or while recovering from an empty disk)
// everything that fits is allowed: such a node does not vote.
#ifndef QBOX_NODE_SERVER_MEMBERSHIP_GUARD_H_
#define QBOX_NODE_SERVER_MEMBERSHIP_GUARD_H_

#include "absl/status/status.h"
#include "node/mailbox/state_machine.h"
#include "node/raft/types.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::server {

// FAILED_PRECONDITION with the reason when the charter as applied on this
// node refuses the configuration `change` produces from `before`; OK
// otherwise (and for a change that does not fit `before`: the core refuses
// that itself).
absl::Status CharterAllowsMembershipChange(const mailbox::MailboxStateMachine& machine,
                                           const raft::ConfChange& change,
                                           const raft::ConfState& before);

// The same rule against a given charter: the pure part, for tests.
absl::Status CharterAllowsConfiguration(const v1::Charter& charter, const raft::ConfChange& change,
                                        const raft::ConfState& before);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_MEMBERSHIP_GUARD_H_

// G2 in the consensus core's hands: whether the charter allows a membership
// change a leader sends (raft::RaftConfig::membership_guard). Removing a
// voter needs an executed proposal that marked it removed; a promotion must
// leave no site with a majority of the voters. Without a charter yet (before
// genesis, or while recovering from an empty disk) everything that fits is
// allowed: such a node does not vote.
#ifndef QBOX_NODE_SERVER_MEMBERSHIP_GUARD_H_
#define QBOX_NODE_SERVER_MEMBERSHIP_GUARD_H_

#include "absl/status/status.h"
#include "node/mailbox/state_machine.h"
#include "node/raft/types.h"

namespace qbox::server {

// FAILED_PRECONDITION with the reason when the charter as applied on this
// node refuses `change` (on top of `before`); OK otherwise.
absl::Status CharterAllowsMembershipChange(const mailbox::MailboxStateMachine& machine,
                                           const raft::ConfChange& change,
                                           const raft::ConfState& before);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_MEMBERSHIP_GUARD_H_

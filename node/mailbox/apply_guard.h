// Internal: applying the guard's commands (DESIGN.md G2, G5): proposals,
// approvals and vetoes signed by admins, and statements signed by nodes
// (proposal clocks, checkpoints, checkpoint requests). Every node verifies
// every signature itself here, with the charter in force at the entry.
//
// Every attempt is audited. A refused one (bad signature, unknown proposal,
// wrong hash, ...) still writes its audit record and comes back as the
// result's status_code / status_message, so every honest node records it.
#ifndef QBOX_NODE_MAILBOX_APPLY_GUARD_H_
#define QBOX_NODE_MAILBOX_APPLY_GUARD_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "node/guard/site_trust_store.h"
#include "node/mailbox/state_machine.h"
#include "node/mailbox/store.h"
#include "qbox/v1/charter.pb.h"
#include "qbox/v1/command.pb.h"

namespace qbox::mailbox {

struct GuardApplyContext {
  StoreTxn& txn;
  uint64_t log_index;
  int64_t local_now_ms;  // this node's clock: proposal stamps only
  const v1::MailboxCommand& command;
  // The charter in force; an executed charter action replaces it.
  std::optional<v1::Charter>& charter;
  // The charter's trust store, or null with the reason it could not be
  // built in `trust_status`.
  const guard::SiteTrustStore* trust;
  absl::Status trust_status;
  // Out: the entry carried a checkpoint request.
  bool checkpoint_requested = false;
  // Out: comparisons of applied peer checkpoints with this node's own.
  std::vector<CheckpointComparison> comparisons;
  // Larger commands are refused (apply_limits.h).
  uint64_t max_command_bytes = kMaxGuardCommandBytes;
};

// True for submit_proposal, endorse_proposal and node_statement.
bool IsGuardCommand(const v1::MailboxCommand& command);

// Applies one guard command through ctx.txn. Refusals are in the result;
// non-OK only for storage failures (the node must stop).
absl::StatusOr<v1::CommandResult> ApplyGuardCommand(GuardApplyContext& ctx);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_APPLY_GUARD_H_

// Internal: the charter, proposals, audit log and checkpoints as the state
// machine keeps them in its guard column family, and this node's own clock
// stamps on proposals in its local one (layout in keys.h).
#ifndef QBOX_NODE_MAILBOX_GUARD_RECORDS_H_
#define QBOX_NODE_MAILBOX_GUARD_RECORDS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/mailbox/store.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::mailbox {

// The installed charter; nullopt before the genesis entry was applied.
absl::StatusOr<std::optional<v1::Charter>> LoadCharter(const StoreTxn& txn);
void SaveCharter(StoreTxn& txn, const v1::Charter& charter);

// The replicated part of a proposal (local_* fields unset); nullopt if no
// proposal has that id.
absl::StatusOr<std::optional<v1::ProposalRecord>> LoadProposal(const StoreTxn& txn,
                                                               absl::string_view proposal_id);
// Stores `record` without its local_* fields: they differ between nodes
// and must stay out of the digest.
void SaveProposal(StoreTxn& txn, v1::ProposalRecord record);

// This node's clock when it applied a proposal's submission and the
// approval that completed M sites (nullopt = not yet: a clock reading of 0
// is a real reading to a test's fake clock).
struct LocalProposalStamps {
  std::optional<int64_t> submitted_ms;
  std::optional<int64_t> approved_ms;
};
absl::StatusOr<LocalProposalStamps> LoadLocalStamps(const StoreTxn& txn,
                                                    absl::string_view proposal_id);
void SaveLocalStamps(StoreTxn& txn, absl::string_view proposal_id,
                     const LocalProposalStamps& stamps);
// Fills record's local_* fields from this node's stamps (0 where none).
absl::Status AddLocalStamps(const StoreTxn& txn, v1::ProposalRecord* record);

// Appends one record to the audit log, chained to the last one (G5).
absl::Status AppendAudit(StoreTxn& txn, uint64_t log_index, absl::string_view actor,
                         absl::string_view kind, absl::string_view command,
                         absl::string_view detail);

// This node's own digest at `index`, if it computed one there.
absl::StatusOr<std::optional<std::array<uint8_t, 32>>> LoadOwnCheckpoint(const StoreTxn& txn,
                                                                         uint64_t index);
void SaveOwnCheckpoint(StoreTxn& txn, uint64_t index, const std::array<uint8_t, 32>& digest);

// True once a proposal can no longer change (executed, vetoed, expired,
// failed).
bool IsClosed(v1::ProposalState state);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_GUARD_RECORDS_H_

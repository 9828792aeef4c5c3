// The building blocks every state change uses: body reference counting,
// inserting / removing / re-flagging a message with its MODSEQ bookkeeping,
// and quota checks. Callers save the mailbox and account records once, at
// the end of their command.
#ifndef QBOX_NODE_MAILBOX_MESSAGE_OPS_H_
#define QBOX_NODE_MAILBOX_MESSAGE_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/mailbox/store.h"
#include "qbox/v1/mailbox_records.pb.h"

namespace qbox::mailbox {

// A body is referenced by live messages and by vault entries; it is stored
// while either count is non-zero. The two counts are kept apart because
// vault purging runs on each node's own clock and so must not influence
// the replicated digest (see digest.h).
enum class BodyRef { kLive, kVault };

// Adds a reference; stores `body` first if the account does not have it.
absl::Status AddBodyRef(StoreTxn& txn, uint64_t account_id, absl::string_view sha256, BodyRef kind,
                        absl::string_view body);
// Moves one reference from `from` to `to`; the body stays.
absl::Status MoveBodyRef(StoreTxn& txn, uint64_t account_id, absl::string_view sha256, BodyRef from,
                         BodyRef to);
// Drops one reference and deletes the body when none remain.
absl::Status DropBodyRef(StoreTxn& txn, uint64_t account_id, absl::string_view sha256,
                         BodyRef kind);

// Gives `message` the mailbox's next UID and MODSEQ, writes it and its
// change entry and updates the mailbox's counts. RESOURCE_EXHAUSTED when
// the mailbox has used every 32-bit UID.
absl::StatusOr<v1::MessageRecord> InsertMessage(StoreTxn& txn, v1::MailboxRecord* mailbox,
                                                v1::MessageRecord message);
// Deletes the message and records its UID as vanished at a new MODSEQ.
void RemoveMessage(StoreTxn& txn, v1::MailboxRecord* mailbox, const v1::MessageRecord& message);
// Counts the `removed` vanished records a command just wrote (with
// RemoveMessage) and keeps the mailbox's vanished records to at most
// `limit`: if it holds more, deletes the oldest (lowest MODSEQ) down to 90%
// of `limit` and raises vanished_floor_modseq to the highest MODSEQ
// deleted. Records of live messages are never deleted. Every command that
// removes messages calls it once, before saving the mailbox, so pruning is
// part of that command's write and every replica (same state, same
// `limit`) prunes the same records. `limit` 0 is off: nothing is counted or
// pruned and the mailbox record is left alone.
absl::Status PruneVanished(StoreTxn& txn, v1::MailboxRecord* mailbox, uint64_t removed,
                           uint64_t limit);
// Sets new flags and keywords at a new MODSEQ.
void ReplaceFlags(StoreTxn& txn, v1::MailboxRecord* mailbox, v1::MessageRecord* message,
                  uint32_t system_flags, const std::vector<std::string>& keywords);

// RESOURCE_EXHAUSTED (naming the limit) if adding `messages` messages of
// `bytes` total would exceed the account's quota.
absl::Status CheckQuota(const v1::AccountRecord& account, uint64_t messages, uint64_t bytes);

// The account's usage after adding (or, with negative values, removing).
void AddUsage(v1::AccountRecord* account, int64_t messages, int64_t bytes);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_MESSAGE_OPS_H_

// Internal: one function per replicated command. Each validates its input,
// reads and writes through ctx.txn and fills in its response. On error the
// caller discards the transaction, so a failed command changes nothing.
// Nothing here reads a clock: "now" is ctx.leader_time_ms (replicated);
// ctx.local_now_ms is only stamped into vault records for local purging.
#ifndef QBOX_NODE_MAILBOX_APPLY_OPS_H_
#define QBOX_NODE_MAILBOX_APPLY_OPS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "node/mailbox/apply_limits.h"
#include "node/mailbox/store.h"
#include "qbox/v1/command.pb.h"
#include "qbox/v1/mailbox_records.pb.h"

namespace qbox::mailbox {

inline constexpr uint64_t kDefaultMaxMessageBytes = 64ull << 20;
inline constexpr int64_t kDefaultRetentionMs = 30ll * 24 * 3600 * 1000;
// Restores are refused this long before an entry's retention ends, so that
// no node (whose clock may run somewhat ahead) has purged it yet and every
// node decides the restore the same way.
inline constexpr int64_t kRestoreGraceMs = 24ll * 3600 * 1000;

struct ApplyContext {
  StoreTxn& txn;
  uint64_t index;          // log index being applied
  int64_t leader_time_ms;  // the command's leader time
  int64_t local_now_ms;    // this node's clock; vault records only
  // The charter's R (G3), 0 before genesis: once a charter exists it, not
  // the account's own setting, decides how long the vault keeps deletions.
  int64_t charter_retention_ms = 0;
  // Vanished records a mailbox keeps (PruneVanished): the state machine's
  // option, the same on every replica.
  uint64_t max_vanished_records = 0;
};

absl::Status ApplyCreateAccount(ApplyContext& ctx, const v1::CreateAccountCommand& cmd,
                                v1::CreateAccountResponse* out);
absl::Status ApplySetQuota(ApplyContext& ctx, const v1::SetQuotaRequest& req,
                           v1::SetQuotaResponse* out);
absl::Status ApplyCreateMailbox(ApplyContext& ctx, const v1::CreateMailboxCommand& cmd,
                                v1::CreateMailboxResponse* out);
absl::Status ApplyRenameMailbox(ApplyContext& ctx, const v1::RenameMailboxRequest& req,
                                v1::RenameMailboxResponse* out);
absl::Status ApplyDeleteMailbox(ApplyContext& ctx, const v1::DeleteMailboxRequest& req,
                                v1::DeleteMailboxResponse* out);

absl::Status ApplyAppendMessage(ApplyContext& ctx, const v1::AppendMessageCommand& cmd,
                                v1::AppendMessageResponse* out);
absl::Status ApplyStoreFlags(ApplyContext& ctx, const v1::StoreFlagsRequest& req,
                             v1::StoreFlagsResponse* out);
absl::Status ApplyCopyMessages(ApplyContext& ctx, const v1::CopyMessagesRequest& req,
                               v1::CopyMessagesResponse* out);
absl::Status ApplyMoveMessages(ApplyContext& ctx, const v1::MoveMessagesRequest& req,
                               v1::MoveMessagesResponse* out);
absl::Status ApplyExpungeMessages(ApplyContext& ctx, const v1::ExpungeMessagesRequest& req,
                                  v1::ExpungeMessagesResponse* out);

absl::Status ApplyRestoreDeleted(ApplyContext& ctx, const v1::RestoreDeletedRequest& req,
                                 v1::RestoreDeletedResponse* out);
absl::Status ApplyPutSieveScript(ApplyContext& ctx, const v1::PutSieveScriptRequest& req,
                                 v1::PutSieveScriptResponse* out);
absl::Status ApplyDeleteSieveScript(ApplyContext& ctx, const v1::DeleteSieveScriptRequest& req,
                                    v1::DeleteSieveScriptResponse* out);
absl::Status ApplySetActiveSieveScript(ApplyContext& ctx,
                                       const v1::SetActiveSieveScriptRequest& req,
                                       v1::SetActiveSieveScriptResponse* out);

// Shared by delete, expunge and restore: creates a mailbox record (and its
// name index) with a fresh UIDVALIDITY of max(`proposed`, last + 1).
absl::StatusOr<v1::MailboxRecord> NewMailbox(ApplyContext& ctx, v1::AccountRecord* account,
                                             const std::string& name, v1::SpecialUse special_use,
                                             uint32_t proposed_uidvalidity);
// Stores `record` as a new vault entry of `account` and returns its id;
// stamps deletion times (leader's) and the local apply time.
absl::StatusOr<uint64_t> AddVaultEntry(ApplyContext& ctx, const v1::AccountRecord& account,
                                       v1::VaultRecord record);
// INVALID_ARGUMENT "max_message_bytes: ..." above kMaxMessageBytesCeiling.
absl::Status CheckMaxMessageBytes(uint64_t max_message_bytes);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_APPLY_OPS_H_

// G5 checkpoints: this node's own state digests at checkpoint indexes, the
// signed checkpoints of every node as applied, and the callbacks that let
// the node sign its own and compare with its peers'.
//
// The digest is computed inline on the applying thread, right after the
// entry's commit: a full pass over the replicated state (every key of every
// digested column family), so applying pauses for about as long as
// Digest() takes, once every checkpoint_every entries.
#include <map>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/guard_records.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/state_machine.h"

namespace qbox::mailbox {

absl::Status MailboxStateMachine::CheckpointIfDue(uint64_t log_index, bool requested,
                                                  PendingCallbacks* pending) {
  StoreTxn txn(store_.get());
  if (!requested) {
    // The charter as of after this entry: the genesis entry itself, or one
    // that changed checkpoint_every, counts with its own setting.
    ASSIGN_OR_RETURN(std::optional<v1::Charter> charter, CurrentCharter(txn));
    if (!charter.has_value() || charter->checkpoint_every() == 0 ||
        log_index % charter->checkpoint_every() != 0) {
      return absl::OkStatus();
    }
  }
  ASSIGN_OR_RETURN(auto digest, DigestLocked());
  SaveOwnCheckpoint(txn, log_index, digest);
  RETURN_IF_ERROR(txn.Commit());
  pending->checkpoints.push_back(OwnCheckpoint{log_index, digest});
  return absl::OkStatus();
}

void MailboxStateMachine::RunCallbacks(const PendingCallbacks& pending) const {
  if (options_.on_checkpoint) {
    for (const OwnCheckpoint& checkpoint : pending.checkpoints) options_.on_checkpoint(checkpoint);
  }
  if (options_.on_checkpoint_compared) {
    for (const CheckpointComparison& comparison : pending.comparisons) {
      options_.on_checkpoint_compared(comparison);
    }
  }
}

absl::StatusOr<std::vector<v1::CheckpointEntry>> MailboxStateMachine::GetCheckpoints(
    uint64_t min_index) const {
  absl::ReaderMutexLock lock(&mu_);
  StoreTxn txn(store_.get());
  std::map<uint64_t, v1::CheckpointEntry> by_index;
  const std::string from = keys::CheckpointIndex(min_index);
  const std::string until = keys::PrefixEnd(keys::kCheckpointPrefix);
  bool corrupt = false;
  RETURN_IF_ERROR(
      txn.Scan(Cf::kGuard, from, until, [&](absl::string_view key, absl::string_view value) {
        v1::SignedNodeStatement statement;
        if (key.size() != 17 || !statement.ParseFromString(std::string(value))) {
          corrupt = true;
          return false;
        }
        const uint64_t index = keys::ReadBigEndian64(key.substr(1));
        v1::CheckpointEntry& entry = by_index[index];
        entry.set_index(index);
        *entry.add_statements() = std::move(statement);
        return true;
      }));
  RETURN_IF_ERROR(
      txn.Scan(Cf::kLocal, from, until, [&](absl::string_view key, absl::string_view value) {
        if (key.size() != 9 || value.size() != 32) {
          corrupt = true;
          return false;
        }
        const uint64_t index = keys::ReadBigEndian64(key.substr(1));
        v1::CheckpointEntry& entry = by_index[index];
        entry.set_index(index);
        entry.set_local_digest(std::string(value));
        return true;
      }));
  if (corrupt) {
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": bad checkpoint record"));
  }
  std::vector<v1::CheckpointEntry> out;
  out.reserve(by_index.size());
  for (auto& [index, entry] : by_index) out.push_back(std::move(entry));
  return out;
}

absl::StatusOr<std::array<uint8_t, 32>> MailboxStateMachine::GetOwnCheckpoint(
    uint64_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  StoreTxn txn(store_.get());
  ASSIGN_OR_RETURN(auto digest, LoadOwnCheckpoint(txn, index));
  if (!digest.has_value()) {
    return absl::NotFoundError(absl::StrCat("index: this node computed no checkpoint at ", index));
  }
  return *digest;
}

}  // namespace qbox::mailbox

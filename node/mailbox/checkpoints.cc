// G5 checkpoints: this node's own state digests at checkpoint indexes, the
// signed checkpoints of every node as applied, and the callbacks that let
// the node sign its own and compare with its peers'.
//
// Every write keeps the state digest accumulator up to date (Store::Write),
// so applying takes it right after the checkpoint entry's commit, under
// mu_, which is exactly the state at that index: O(1), not a pass over the
// store. A worker thread then keeps the digest and compares it with the
// signed checkpoints that were applied at that index meanwhile (a faster
// peer's), under mu_ exclusively; a statement applied after that is
// compared as it is applied (apply_proposals.cc). Both happen under mu_
// exclusively and each sees the other's writes, so every statement is
// compared exactly once.
//
// Tamper evidence: someone who edits the RocksDB files changes the records
// but not the stored accumulator. So at open and every kTamperCheckEvery
// checkpoints the worker computes the accumulator of the records (a full
// pass over a RocksDB snapshot, without mu_) and compares it with the one
// stored in the same snapshot. The difference is a correction: the digest
// is additive, so adding it to the live accumulator (and to checkpoints
// taken before it was made) makes them describe what is really stored,
// although applying went on meanwhile, and peers then see the divergence.
#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"
#include "node/guard/identity_names.h"
#include "node/guard/peer_identity.h"
#include "node/mailbox/guard_records.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/state_machine.h"

namespace qbox::mailbox {

absl::StatusOr<bool> MailboxStateMachine::CheckpointDue(const StoreTxn& txn, uint64_t log_index) {
  // The charter as of after this entry: the genesis entry itself, or one
  // that changed checkpoint_every, counts with its own setting.
  ASSIGN_OR_RETURN(const v1::Charter* charter, CharterInForce(txn));
  return charter != nullptr && charter->checkpoint_every() != 0 &&
         log_index % charter->checkpoint_every() == 0;
}

absl::Status MailboxStateMachine::CheckpointIfDue(uint64_t log_index, bool requested,
                                                  PendingCallbacks* pending) {
  if (!requested) {
    StoreTxn txn(store_.get());
    ASSIGN_OR_RETURN(bool due, CheckpointDue(txn, log_index));
    if (!due) return absl::OkStatus();
  }
  CapturedCheckpoint captured;
  captured.index = log_index;
  captured.uncorrected = store_->state_digest();
  captured.uncorrected.Subtract(digest_corrections_);
  const bool check_due = ++checkpoints_since_tamper_check_ >= kTamperCheckEvery;
  if (check_due) checkpoints_since_tamper_check_ = 0;
  absl::MutexLock lock(&worker_mu_);
  // A digest the worker could not compute or keep is a storage failure,
  // as it was when digests were computed here: applying stops.
  if (!worker_status_.ok()) return worker_status_;
  if (check_due && !periodic_check_.has_value() && !periodic_check_running_) {
    CapturedCheckpoint check;
    check.index = log_index;
    check.is_checkpoint = false;
    check.snapshot = store_->db()->GetSnapshot();
    periodic_check_ = check;
    ++checks_queued_;
  }
  ++captured_count_;
  pending->captured.push_back(captured);
  return absl::OkStatus();
}

void MailboxStateMachine::RunCallbacks(const PendingCallbacks& pending) {
  for (const CapturedCheckpoint& captured : pending.captured) {
    if (options_.on_checkpoint_captured) options_.on_checkpoint_captured(captured.index);
    QueueCheckpoint(captured);
  }
  if (options_.on_checkpoint) {
    for (const OwnCheckpoint& checkpoint : pending.checkpoints) options_.on_checkpoint(checkpoint);
  }
  if (options_.on_checkpoint_compared) {
    for (const CheckpointComparison& comparison : pending.comparisons) {
      options_.on_checkpoint_compared(comparison);
    }
  }
}

size_t MailboxStateMachine::WaitingCheckpoints() const {
  // The open-time check is not a checkpoint: it does not count toward
  // max_waiting_checkpoints.
  return static_cast<size_t>(
      std::count_if(waiting_.begin(), waiting_.end(),
                    [](const CapturedCheckpoint& c) { return c.is_checkpoint; }));
}

void MailboxStateMachine::QueueCheckpoint(const CapturedCheckpoint& captured) {
  const size_t limit = std::max<size_t>(1, options_.max_waiting_checkpoints);
  size_t waiting = 0;
  {
    absl::MutexLock lock(&worker_mu_);
    waiting = WaitingCheckpoints();
  }
  if (waiting >= limit) {
    Log(absl::StrCat("checkpoint digests are backed up: ", waiting,
                     " wait for the worker; applying waits before queueing the one at index ",
                     captured.index));
  }
  absl::MutexLock lock(&worker_mu_);
  auto has_room = [this, limit]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(worker_mu_) {
    return WaitingCheckpoints() < limit;
  };
  worker_mu_.Await(absl::Condition(&has_room));
  waiting_.push_back(captured);
}

void MailboxStateMachine::CheckpointWorker() {
  while (true) {
    CapturedCheckpoint captured;
    {
      absl::MutexLock lock(&worker_mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(worker_mu_) {
        return !waiting_.empty() || stopping_;
      };
      worker_mu_.Await(absl::Condition(&has_work));
      if (waiting_.empty()) return;  // stopping, and everything captured is done
      captured = waiting_.front();
      waiting_.pop_front();
      if (stopping_ && !captured.is_checkpoint) {
        // The open-time check of a node that closes again: a full pass
        // would only delay the close; the next open checks.
        store_->db()->ReleaseSnapshot(captured.snapshot);
        ++finished_count_;
        continue;
      }
    }
    if (captured.is_checkpoint && options_.before_checkpoint_digest) {
      options_.before_checkpoint_digest(captured.index);
    }
    PendingCallbacks pending;
    absl::Status status = FinishCheckpoint(captured, &pending);
    if (!status.ok()) {
      Log(absl::StrCat(captured.is_checkpoint ? "checkpoint" : "the check of the stored state",
                       " at index ", captured.index, " failed: ", status.message(),
                       "; applying stops at the next checkpoint"));
      pending = PendingCallbacks();  // nothing was kept: nothing to report
    }
    RunCallbacks(pending);
    absl::MutexLock lock(&worker_mu_);
    if (!status.ok() && worker_status_.ok()) worker_status_ = std::move(status);
    ++finished_count_;
  }
}

void MailboxStateMachine::PeriodicChecker() {
  while (true) {
    CapturedCheckpoint check;
    {
      absl::MutexLock lock(&worker_mu_);
      auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(worker_mu_) {
        return periodic_check_.has_value() || stopping_;
      };
      worker_mu_.Await(absl::Condition(&has_work));
      if (!periodic_check_.has_value()) return;  // stopping
      check = *periodic_check_;
      periodic_check_.reset();
      if (stopping_) {
        // A full pass would only delay the close; the next open checks.
        store_->db()->ReleaseSnapshot(check.snapshot);
        ++checks_finished_;
        return;
      }
      periodic_check_running_ = true;
    }
    if (options_.before_periodic_check) options_.before_periodic_check(check.index);
    absl::Status status = RunStoredStateCheck(check);
    if (!status.ok()) {
      Log(absl::StrCat("the check of the stored state at index ", check.index,
                       " failed: ", status.message(), "; applying stops at the next checkpoint"));
    }
    absl::MutexLock lock(&worker_mu_);
    periodic_check_running_ = false;
    if (!status.ok() && worker_status_.ok()) worker_status_ = std::move(status);
    ++checks_finished_;
  }
}

absl::Status MailboxStateMachine::RunStoredStateCheck(const CapturedCheckpoint& check) {
  absl::StatusOr<DigestAccumulator> correction = StoredStateCorrection(check);
  store_->db()->ReleaseSnapshot(check.snapshot);
  RETURN_IF_ERROR(correction.status());
  if (correction->IsEmpty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(store_->AdjustStateDigest(*correction));
  digest_corrections_.Combine(*correction);
  return absl::OkStatus();
}

absl::StatusOr<DigestAccumulator> MailboxStateMachine::StoredStateCorrection(
    const CapturedCheckpoint& captured) {
  ASSIGN_OR_RETURN(DigestAccumulator records, ComputeStateDigest(*store_, captured.snapshot));
  ASSIGN_OR_RETURN(std::optional<DigestAccumulator> stored,
                   ReadStoredStateDigest(*store_, captured.snapshot));
  if (!stored.has_value()) {
    return absl::DataLossError(
        absl::StrCat("mailbox store ", dir(), ": the state digest accumulator is missing"));
  }
  DigestAccumulator correction = records;
  correction.Subtract(*stored);
  if (!correction.IsEmpty()) {
    {
      absl::MutexLock lock(&worker_mu_);
      stored_changes_.push_back({captured.index, captured.at_open, records.Finish(),
                                 stored->Finish()});
      if (stored_changes_.size() > 100) stored_changes_.pop_front();
      ++stored_changes_total_;
    }
    Log(absl::StrCat("state was changed outside the log: mailbox store ", dir(),
                     captured.at_open ? " at open, applied index " : " at checkpoint index ",
                     captured.index, " holds records whose digest is ", DigestHex(records.Finish()),
                     " but its state digest accumulator says ", DigestHex(stored->Finish()),
                     "; adopting what is stored so peers can compare"));
  }
  return correction;
}

absl::Status MailboxStateMachine::FinishCheckpoint(const CapturedCheckpoint& captured,
                                                   PendingCallbacks* pending) {
  if (captured.snapshot != nullptr) RETURN_IF_ERROR(RunStoredStateCheck(captured));
  if (!captured.is_checkpoint) return absl::OkStatus();

  absl::MutexLock lock(&mu_);
  // Corrections made since the accumulator was taken apply to it too: the
  // records it missed were already stored then.
  DigestAccumulator at_index = captured.uncorrected;
  at_index.Combine(digest_corrections_);
  const std::array<uint8_t, 32> digest = at_index.Finish();

  StoreTxn txn(store_.get());
  // Signed checkpoints applied before the digest was kept found nothing to
  // compare with then; they are compared here. The signer was verified
  // when the statement was applied; its name comes from the charter node
  // it signed for, as verification required it to match.
  std::vector<v1::SignedNodeStatement> applied;
  bool corrupt = false;
  RETURN_IF_ERROR(txn.ScanPrefix(Cf::kGuard, keys::CheckpointIndex(captured.index),
                                 [&](absl::string_view, absl::string_view value) {
                                   applied.emplace_back();
                                   corrupt = !applied.back().ParseFromString(std::string(value));
                                   return !corrupt;
                                 }));
  ASSIGN_OR_RETURN(const v1::Charter* charter, CharterInForce(txn));
  for (v1::SignedNodeStatement& signed_statement : applied) {
    v1::NodeStatement statement;
    corrupt = corrupt || !statement.ParseFromString(signed_statement.statement());
    if (corrupt) break;
    const v1::CharterNode* node =
        charter != nullptr ? guard::FindCharterNode(*charter, statement.node_id()) : nullptr;
    if (node == nullptr) {
      // Charters only ever mark nodes removed, so this cannot happen; an
      // unnamed signer must not pass for another site's attestation (G4).
      Log(absl::StrCat("checkpoint at index ", captured.index, ": the signer, node ",
                       statement.node_id(), ", is not in the charter; not compared"));
      continue;
    }
    CheckpointComparison comparison;
    comparison.index = captured.index;
    comparison.peer_site = node->site();
    comparison.peer_node =
        guard::PeerIdentity{node->site(), std::string(guard::kRoleNode), node->name()}.ToString();
    comparison.match =
        statement.checkpoint().state_digest() ==
        absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size());
    comparison.own_digest = digest;
    comparison.peer = std::move(signed_statement);
    pending->comparisons.push_back(std::move(comparison));
  }
  if (corrupt) {
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(),
                                            ": bad signed checkpoint at index ", captured.index));
  }
  SaveOwnCheckpoint(txn, captured.index, digest);
  RETURN_IF_ERROR(txn.Commit());
  pending->checkpoints.push_back(OwnCheckpoint{captured.index, digest});
  return absl::OkStatus();
}

absl::Status MailboxStateMachine::WaitForCheckpoints() {
  if (std::this_thread::get_id() == worker_.get_id()) {
    return absl::FailedPreconditionError(
        "WaitForCheckpoints: called from a checkpoint callback, which would wait for itself");
  }
  absl::MutexLock lock(&worker_mu_);
  const uint64_t target = captured_count_;
  const uint64_t checks_target = checks_queued_;
  auto done = [this, target, checks_target]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(worker_mu_) {
    return finished_count_ >= target && checks_finished_ >= checks_target;
  };
  worker_mu_.Await(absl::Condition(&done));
  return worker_status_;
}

MailboxStateMachine::StoredStateChanges MailboxStateMachine::FoundStoredStateChanges() const {
  absl::MutexLock lock(&worker_mu_);
  return {stored_changes_total_, {stored_changes_.begin(), stored_changes_.end()}};
}

void MailboxStateMachine::Log(std::string_view line) const {
  if (options_.logger) options_.logger(line);
}

absl::StatusOr<std::vector<v1::CheckpointEntry>> MailboxStateMachine::GetCheckpoints(
    uint64_t min_index, uint64_t max_index) const {
  absl::ReaderMutexLock lock(&mu_);
  StoreTxn txn(store_.get());
  std::map<uint64_t, v1::CheckpointEntry> by_index;
  if (max_index < min_index) return std::vector<v1::CheckpointEntry>{};
  const std::string from = keys::CheckpointIndex(min_index);
  const std::string until = max_index == UINT64_MAX ? keys::PrefixEnd(keys::kCheckpointPrefix)
                                                    : keys::CheckpointIndex(max_index + 1);
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

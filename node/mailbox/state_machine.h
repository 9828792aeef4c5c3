// The replicated mailbox state machine (DESIGN.md "The mailbox model").
// Every node applies the same committed MailboxCommands in log order and so
// holds the same accounts, mailboxes, messages, flags, UIDs and MODSEQs.
//
// Determinism: Apply depends only on the stored state and the command. It
// reads no clock and no randomness; times and fresh UIDVALIDITY values come
// from the leader inside the command. The one local input is by design
// (G3): when a deletion is applied, the node stamps its own clock into the
// vault record, and PurgeExpired later purges by that stamp.
//
// Thread-safety: all methods may be called concurrently. Apply, Restore and
// PurgeExpired are serialised; reads see a consistent RocksDB snapshot.
#ifndef QBOX_NODE_MAILBOX_STATE_MACHINE_H_
#define QBOX_NODE_MAILBOX_STATE_MACHINE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/mailbox/store.h"
#include "qbox/v1/admin.pb.h"
#include "qbox/v1/command.pb.h"
#include "qbox/v1/mailstore.pb.h"

namespace qbox::mailbox {

class MailboxStateMachine {
 public:
  struct Options {
    // This node's wall clock in ms since the epoch. Used only to stamp vault
    // records at apply / snapshot install (G3). Tests inject a fake.
    std::function<int64_t()> local_clock_ms;
    // How many recent results Apply keeps for re-applied indexes.
    uint64_t retained_results = 1024;
  };

  // Opens or creates the state machine in `dir`. DATA_LOSS (naming `dir`)
  // if a snapshot restore was interrupted there: install a snapshot again.
  static absl::StatusOr<std::unique_ptr<MailboxStateMachine>> Open(const std::string& dir,
                                                                   Options options);
  static absl::StatusOr<std::unique_ptr<MailboxStateMachine>> Open(const std::string& dir);

  // Applies the command committed at `log_index` atomically, together with
  // the new applied index. Indexes may skip (entries that are not mailbox
  // commands); a command without an operation only advances the index.
  //
  // Returns the command's result, or its deterministic error (e.g.
  // INVALID_ARGUMENT naming the field, NOT_FOUND, RESOURCE_EXHAUSTED for
  // quota); an error changes nothing but the applied index. Re-applying an
  // index <= applied_index() changes nothing and returns the stored result
  // (OUT_OF_RANGE if it is older than the last `retained_results`). Commands
  // with an idempotency key that was already applied return the first
  // result. Other errors (DATA_LOSS, UNAVAILABLE) are storage failures: the
  // node must stop applying.
  absl::StatusOr<v1::CommandResult> Apply(uint64_t log_index, const v1::MailboxCommand& command);

  // The index of the last applied entry (0 for a fresh store).
  uint64_t applied_index() const;

  // Reads. Unknown account or mailbox: NOT_FOUND naming the field; bad
  // names or UID sets: INVALID_ARGUMENT naming the field.
  absl::StatusOr<v1::ListMailboxesResponse> ListMailboxes(
      const v1::ListMailboxesRequest& req) const;
  // Calls `sink` for each matching message in UID order until it returns
  // false. Bodies are read only when req.include_body() is set.
  absl::Status FetchMessages(const v1::FetchMessagesRequest& req,
                             const std::function<bool(v1::FetchMessagesResponse)>& sink) const;
  absl::StatusOr<v1::GetChangesResponse> GetChanges(const v1::GetChangesRequest& req) const;
  absl::StatusOr<v1::ListDeletedResponse> ListDeleted(const v1::ListDeletedRequest& req) const;
  absl::StatusOr<v1::GetQuotaResponse> GetQuota(const v1::GetQuotaRequest& req) const;
  absl::StatusOr<v1::GetSieveScriptResponse> GetSieveScript(
      const v1::GetSieveScriptRequest& req) const;
  absl::StatusOr<v1::ListSieveScriptsResponse> ListSieveScripts(
      const v1::ListSieveScriptsRequest& req) const;
  absl::StatusOr<v1::ListAccountsResponse> ListAccounts() const;

  // How a body is referenced in an account (diagnostics and tests): live
  // messages, vault entries, and whether its bytes are stored.
  struct BodyRefs {
    uint64_t live = 0;
    uint64_t vault = 0;
    bool stored = false;
  };
  absl::StatusOr<BodyRefs> GetBodyRefs(absl::string_view account, absl::string_view sha256) const;

  // Purges vault entries whose retention has passed by this node's clock
  // `now_ms`, counted from when this node applied the deletion (G3), and
  // frees bodies nothing references any more. Not a replicated change:
  // leaves the applied index and Digest() alone. Returns entries purged.
  absl::StatusOr<uint64_t> PurgeExpired(int64_t now_ms);

  // Writes every record at one consistent point to `path` (replaced
  // atomically) and returns the applied index it includes. The file ends in
  // a SHA-256 of its contents.
  absl::StatusOr<uint64_t> WriteSnapshot(const std::string& path) const;
  // Replaces the whole state with the snapshot at `path`. The file is
  // verified before anything changes (DATA_LOSS naming the path if it is
  // damaged). Vault records are re-stamped with this node's clock, so
  // purging counts from the install and a sender cannot back-date them.
  absl::Status RestoreSnapshot(const std::string& path);

  // SHA-256 over the canonical replicated contents, for comparing nodes at
  // the same applied index (G5). Covers accounts, id counters, mailboxes,
  // messages, the change index, sieve scripts, idempotency results and
  // every body that a live message references with its live reference
  // count. Excludes the vault and vault-only references: purging runs on
  // each node's own clock, so vault contents legitimately differ for a
  // while. Also excludes the applied index and the per-index result cache.
  absl::StatusOr<std::array<uint8_t, 32>> Digest() const;

  const std::string& dir() const { return store_->dir(); }

 private:
  MailboxStateMachine(std::unique_ptr<Store> store, Options options, uint64_t applied);

  absl::StatusOr<v1::CommandResult> ApplyLocked(uint64_t log_index,
                                                const v1::MailboxCommand& command)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Guards writes; readers use RocksDB snapshots and share the lock so that
  // a snapshot restore does not run under them.
  mutable absl::Mutex mu_;
  std::unique_ptr<Store> store_;
  const Options options_;
  uint64_t applied_index_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_STATE_MACHINE_H_

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
//
// G5 checkpoint digests come from the state digest accumulator that every
// write keeps up to date (state_digest.h): applying takes it at the
// checkpoint index, and a worker thread that the state machine owns keeps
// the digest and compares it with the peers'. The stored accumulator is
// checked against the stored records (a full pass) at open, by the worker
// before any checkpoint, and every kTamperCheckEvery checkpoints by a
// checker thread beside it, so records changed behind the node's back show
// in its checkpoints without a pass over a big store holding up applying.
#ifndef QBOX_NODE_MAILBOX_STATE_MACHINE_H_
#define QBOX_NODE_MAILBOX_STATE_MACHINE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "node/mailbox/apply_limits.h"
#include "node/mailbox/state_digest.h"
#include "node/mailbox/store.h"
#include "qbox/v1/admin.pb.h"
#include "qbox/v1/charter.pb.h"
#include "qbox/v1/command.pb.h"
#include "qbox/v1/mailstore.pb.h"

namespace qbox::guard {
class SiteTrustStore;
}  // namespace qbox::guard

namespace qbox::mailbox {

// True for the codes by which the state machine reports that the store
// itself failed (DATA_LOSS, UNAVAILABLE, INTERNAL), as opposed to a
// command's own deterministic error. A storage failure is never recorded as
// a command's result: the node stops instead of diverging from its peers.
bool IsStorageFailure(const absl::Status& status);

// A membership entry as the state machine sees it (the consensus core's
// ConfChange without its types).
struct MembershipChange {
  enum class Kind { kGenesis, kAddLearner, kPromoteLearner, kRemoveNode };
  Kind kind = Kind::kGenesis;
  uint64_t node = 0;    // not used for kGenesis
  std::string context;  // kGenesis: a serialized v1::Charter; kAddLearner: a serialized v1::CharterNode
};

// The audit log's actor of an admin command whose admin signature does not
// verify (or that has none): this prefix, then the actor the proposing
// node claimed (G5).
inline constexpr char kUnverifiedActorPrefix[] = "unverified:";

// This node's own checkpoint (G5): the digest of the state right after
// `index` was applied.
struct OwnCheckpoint {
  uint64_t index = 0;
  std::array<uint8_t, 32> digest{};
};

// G5: what a tamper check found: the records this node stores do not digest
// to what the state digest accumulator beside them says, so they were
// changed outside the log (the files edited, or storage failing). The node
// adopted what is stored; its next checkpoints show the difference to the
// other sites.
struct StoredStateChange {
  uint64_t index = 0;    // the applied index the check saw
  bool at_open = false;  // the open-time check (else a periodic one)
  std::array<uint8_t, 32> records_digest{};      // what the records digest to
  std::array<uint8_t, 32> accumulator_digest{};  // what the accumulator said
};

// A peer's applied signed checkpoint compared with this node's own digest
// at the same index (G4, G5). Local, not replicated.
struct CheckpointComparison {
  uint64_t index = 0;
  std::string peer_site;                // site of the signer
  std::string peer_node;                // "site/node/name" of the signer
  bool match = false;
  v1::SignedNodeStatement peer;         // the evidence: the peer's signed checkpoint
  std::array<uint8_t, 32> own_digest{}; // this node's digest there
};

class MailboxStateMachine {
 public:
  // Vanished records (UIDs expunged or moved away) a mailbox keeps in its
  // change index. Without a bound, a folder with heavy churn (a list folder
  // that auto-expunges) keeps one record per UID it ever held. With a bound,
  // a front end that resyncs from before the oldest kept one is told so
  // (GetChangesResponse.vanished_incomplete) and compares UIDs instead.
  //
  // The bound to use once the cluster can switch it on. It is off (0) by
  // default because counting and pruning change the replicated mailbox
  // records and so the G5 digest: sites upgrade their nodes independently,
  // often days apart, and a replica that prunes next to one whose binary
  // does not would raise checkpoint-mismatch alarms for as long as both
  // run, and forever after (their counts would differ). Switching it on
  // needs a feature level that the cluster raises through its log once
  // every node runs a binary that has it; that does not exist yet.
  static constexpr uint64_t kVanishedRecordsBound = 100'000;

  struct Options {
    // This node's wall clock in ms since the epoch. Used only to stamp vault
    // records and proposals (local_* fields) at apply / snapshot install
    // (G2, G3). Tests inject a fake.
    std::function<int64_t()> local_clock_ms;
    // How many recent results Apply keeps for re-applied indexes.
    uint64_t retained_results = 1024;
    // Tests only: how many vanished records a mailbox keeps before the
    // oldest are pruned (GetChanges then says vanished_incomplete); 0 is
    // off (see kVanishedRecordsBound). Pruning happens while applying and
    // changes the replicated state and its G5 digest, so every replica must
    // use the same value: production code leaves the default, and it is
    // deliberately not a node flag.
    uint64_t max_vanished_records = 0;
    // The largest mail and guard commands this node applies; larger ones are
    // refused at apply (apply_limits.h). Like max_vanished_records, every
    // replica must use the same values: tests lower them, production code
    // leaves the defaults.
    uint64_t max_mail_command_bytes = kMaxMailCommandBytes;
    uint64_t max_guard_command_bytes = kMaxGuardCommandBytes;
    // G5: called on the applying thread, inside the apply of the entry at a
    // checkpoint index (a multiple of the charter's checkpoint_every, or an
    // entry carrying a CheckpointRequest), once the state there was
    // captured for the digest and before on_checkpoint for that index. It
    // lets the caller note what it knows only during that apply (the
    // entry's chain value). Not called under the state machine's lock.
    std::function<void(uint64_t index)> on_checkpoint_captured;
    // G5: called on the checkpoint worker thread, in index order, once this
    // node's digest at a checkpoint index was computed and kept locally
    // (GetOwnCheckpoint). Applying goes on meanwhile, so this and
    // on_checkpoint_compared must not wait for an entry to be applied
    // (applying may be waiting for the worker: max_waiting_checkpoints).
    std::function<void(const OwnCheckpoint&)> on_checkpoint;
    // G4/G5: called once for every applied signed checkpoint (a peer's or
    // this node's own) at an index where this node has its own digest: on
    // the applying thread when the statement is applied after the digest
    // was kept, on the checkpoint worker thread (after on_checkpoint) when
    // the statement was applied first.
    std::function<void(const CheckpointComparison&)> on_checkpoint_compared;
    // How many captured checkpoints (at least 1) may wait for the worker.
    // When that many wait, applying the next checkpoint entry blocks until
    // one is done (and says so through `logger`) instead of queueing ever
    // more work (and RocksDB snapshots, for the tamper checks). The worker
    // is slow only while a tamper check's full pass runs.
    size_t max_waiting_checkpoints = 4;
    // Where the state machine reports what nobody asked for (digests backed
    // up, a digest that could not be kept). May be empty.
    std::function<void(std::string_view)> logger;
    // Tests only: called on the worker thread before it keeps the digest
    // at checkpoint `index`, so a test can hold the worker there.
    std::function<void(uint64_t index)> before_checkpoint_digest;
    // Tests only: called on the checker thread before the full pass of the
    // periodic tamper check taken at checkpoint `index`, so a test can hold
    // it there.
    std::function<void(uint64_t index)> before_periodic_check;
  };

  // Opens or creates the state machine in `dir`. If a snapshot restore was
  // interrupted there, the incomplete state is dropped and the machine
  // opens empty (applied index 0), says so through `logger`, and refuses to
  // apply anything (DATA_LOSS) until RestoreSnapshot succeeds: the runtime
  // installs the snapshot its log storage kept again.
  // The worker then checks the stored records against the stored state
  // digest accumulator (a full pass; WaitForCheckpoints waits for it too)
  // and, if they differ, says so through `logger` and adopts what is
  // stored, so this node's next checkpoints show the change to its peers.
  static absl::StatusOr<std::unique_ptr<MailboxStateMachine>> Open(const std::string& dir,
                                                                   Options options);
  static absl::StatusOr<std::unique_ptr<MailboxStateMachine>> Open(const std::string& dir);

  // Finishes every captured checkpoint (digest kept, callbacks run) before
  // the store closes.
  ~MailboxStateMachine();
  MailboxStateMachine(const MailboxStateMachine&) = delete;
  MailboxStateMachine& operator=(const MailboxStateMachine&) = delete;

  // Applies the command committed at `log_index` atomically, together with
  // the new applied index. Indexes may skip (entries that are not mailbox
  // commands); a command without an operation only advances the index.
  //
  // Returns the command's result, or its deterministic error (e.g.
  // INVALID_ARGUMENT naming the field, NOT_FOUND, RESOURCE_EXHAUSTED for
  // quota); an error changes nothing but the applied index. Re-applying an
  // index <= applied_index() changes nothing and returns the stored result
  // (OUT_OF_RANGE if it is older than the last `retained_results`). Commands
  // with an idempotency key that was applied within the window return the
  // first result, or INVALID_ARGUMENT if the key answered another request
  // (idempotency.h). Other errors (DATA_LOSS, UNAVAILABLE) are storage
  // failures: the node must stop applying.
  absl::StatusOr<v1::CommandResult> Apply(uint64_t log_index, const v1::MailboxCommand& command);

  // One committed command for ApplyBatch.
  struct BatchCommand {
    uint64_t log_index = 0;
    const v1::MailboxCommand* command = nullptr;
  };
  // Applies commands committed at ascending indexes exactly as Apply would
  // one after the other, with the same results in the same order, but with
  // as few store writes as it can: one for a run of mail commands, cut only
  // where the state must be in the store (at a checkpoint index, whose
  // digest is taken there, and around guard commands, which may change the
  // charter). Under load a write per entry was a large part of applying
  // (bench/RESULTS.md). INVALID_ARGUMENT for an index of 0 or a missing
  // command (a caller's bug); any other non-OK status is a storage failure,
  // as for Apply: the node must stop applying. Either way the commands
  // committed before stay, and applied_index() tells how far that is.
  absl::StatusOr<std::vector<absl::StatusOr<v1::CommandResult>>> ApplyBatch(
      absl::Span<const BatchCommand> commands);

  // Applies a membership entry (G2, G6): kGenesis installs the charter from
  // its context (validated; refused with the reason if invalid, which only
  // advances the index), kAddLearner records the node from its context as
  // a learner, kPromoteLearner makes it a voter, kRemoveNode marks it
  // removed. Each is written to the audit log. Non-OK only for storage
  // failures.
  absl::Status ApplyMembership(uint64_t log_index, const MembershipChange& change);

  // An entry that carries no command (a leader's no-op): advances the
  // applied index (and checkpoints there if it is a checkpoint index).
  absl::Status ApplyNoop(uint64_t log_index);

  // The index of the last applied entry (0 for a fresh store). After a
  // crash it can be lower than it was before: the store writes without a
  // log of its own (store.h), so what was applied after its last flush is
  // applied again from the raft log. It is never lower than the index of
  // the last WriteSnapshot, RestoreSnapshot or MakeDurable, which flush.
  uint64_t applied_index() const;

  // Flushes the store so that everything applied so far survives a crash
  // without the raft log, and returns the applied index that now does (a
  // later one may be flushed too): the raft log can be compacted up to it
  // with no copy of the state written. FAILED_PRECONDITION while an
  // interrupted restore waits for RestoreSnapshot; a flush error names the
  // store. May run alongside applying.
  absl::StatusOr<uint64_t> MakeDurable() const ABSL_LOCKS_EXCLUDED(mu_);

  // ---- The charter and its proposals (G2). Reads of replicated state,
  // plus this node's local clock fields in ProposalRecord.
  // NOT_FOUND "charter" before the genesis entry was applied.
  absl::StatusOr<v1::Charter> GetCharter() const;
  absl::StatusOr<v1::ProposalRecord> GetProposal(absl::string_view proposal_id) const;
  // Oldest first; closed ones only if `include_closed`.
  absl::StatusOr<std::vector<v1::ProposalRecord>> ListProposals(bool include_closed) const;

  // What this node's own clock (`now_ms`) says it must state about open
  // proposals: EVENT_EXPIRED for PENDING ones whose lifetime passed since
  // this node applied the submission, EVENT_DELAY_ELAPSED for APPROVED ones
  // whose T passed since this node applied the approval that completed M.
  // Proposals whose list already holds `own_site` are left out (a site
  // counts once).
  struct DueClockStatement {
    std::string proposal_id;
    v1::ProposalClock::Event event = v1::ProposalClock::EVENT_UNSPECIFIED;
  };
  absl::StatusOr<std::vector<DueClockStatement>> DueClockStatements(
      int64_t now_ms, absl::string_view own_site) const;

  // ---- G5. The audit log from `from_seq` (0 = the start) in order, until
  // `sink` returns false.
  absl::Status ReadAuditLog(uint64_t from_seq,
                            const std::function<bool(const v1::AuditRecord&)>& sink) const;
  // Applied signed checkpoints at or above `min_index` (and at or below
  // `max_index`), with this node's own digest where it has one.
  absl::StatusOr<std::vector<v1::CheckpointEntry>> GetCheckpoints(
      uint64_t min_index, uint64_t max_index = UINT64_MAX) const;
  // This node's own digest at `index`, NOT_FOUND if it computed none there
  // (or has not finished it yet: see WaitForCheckpoints).
  absl::StatusOr<std::array<uint8_t, 32>> GetOwnCheckpoint(uint64_t index) const;
  // Returns once every checkpoint captured so far (every checkpoint entry
  // whose apply returned) has been saved and its callbacks have run. Not
  // OK if a digest could not be computed or kept (the first such storage
  // error; applying the next checkpoint entry fails with it too, so the
  // node stops), or FAILED_PRECONDITION when called from a checkpoint
  // callback on the worker thread (it would wait for itself).
  absl::Status WaitForCheckpoints() ABSL_LOCKS_EXCLUDED(mu_, worker_mu_);

  // After a write failed for want of space, RocksDB refuses every write
  // until told to go on (DB::Resume(): flushes, clears the error). OK if
  // there was no error; UNAVAILABLE naming the store if space is still
  // missing. Applying the failed batch again afterwards is safe: what
  // committed of it is answered from the stored results.
  absl::Status ResumeWrites();

  // G5: what the tamper checks found since open: how many differences in
  // all, and the last 100 of them, oldest first. Thread-safe; the guard
  // agent turns each into an alarm.
  struct StoredStateChanges {
    uint64_t total = 0;
    std::vector<StoredStateChange> last;
  };
  StoredStateChanges FoundStoredStateChanges() const ABSL_LOCKS_EXCLUDED(worker_mu_);

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
  // a SHA-256 of its contents. The store is flushed too, so that it no
  // longer needs the raft log up to that index after a crash.
  absl::StatusOr<uint64_t> WriteSnapshot(const std::string& path) const;
  // The same, also giving the SHA-256 of the whole file as written (trailer
  // included), computed in the same pass, so that whoever keeps the file
  // need not read and hash it again.
  absl::StatusOr<uint64_t> WriteSnapshot(const std::string& path,
                                         std::array<uint8_t, 32>* file_sha256) const;
  // Replaces the whole state with the snapshot at `path`. The file is
  // verified before anything changes (DATA_LOSS naming the path if it is
  // damaged). Vault records and open proposals are re-stamped with this
  // node's clock, so purging, proposal lifetimes and delays count from the
  // install and a sender cannot back-date them. This node's own checkpoint
  // digests from before are dropped (they described the replaced state);
  // checkpoints still being computed are finished first (WaitForCheckpoints,
  // whose error it returns before changing anything).
  absl::Status RestoreSnapshot(const std::string& path) ABSL_LOCKS_EXCLUDED(mu_, worker_mu_);

  // The state digest of the canonical replicated contents, for comparing
  // nodes at the same applied index (G5): a full pass building the
  // accumulator of state_digest.h, so it equals what checkpoints take from
  // the incrementally kept one for the same state. Covers accounts, id counters, mailboxes,
  // messages, the change index, sieve scripts, idempotency results, every
  // body that a live message references with its live reference count, and
  // the charter, proposals (without their local_* stamps), audit log and
  // applied signed checkpoints. Excludes this node's own checkpoint
  // digests and clock stamps, and the vault and vault-only references: purging runs on
  // each node's own clock, so vault contents legitimately differ for a
  // while. Also excludes the applied index and the per-index result cache.
  absl::StatusOr<std::array<uint8_t, 32>> Digest() const;

  const std::string& dir() const { return store_->dir(); }

 private:
  // `check_stored_state`: queue the open-time tamper check (not needed
  // when the store has just computed its accumulator from its records).
  MailboxStateMachine(std::unique_ptr<Store> store, Options options, uint64_t applied,
                      bool check_stored_state);

  // Every this many checkpoints the checker thread also checks the stored
  // records against the stored accumulator (a full pass), so a change made
  // behind the node's back while it runs shows too, not only one made before
  // open. It runs beside the worker, not in its queue: on a store of many
  // GB the pass takes minutes, and checkpoints queued behind it would have
  // held up applying (max_waiting_checkpoints). Only the open-time check
  // runs on the worker, ahead of every checkpoint, so no checkpoint after a
  // restart can show the state as it was before someone edited the files.
  static constexpr uint64_t kTamperCheckEvery = 16;

  // Work for the checkpoint worker, the state at a checkpoint index, or a
  // tamper check (is_checkpoint false): the open-time one, on the worker,
  // or a periodic one, on the checker thread.
  struct CapturedCheckpoint {
    uint64_t index = 0;
    bool is_checkpoint = true;
    bool at_open = false;  // the open-time tamper check
    // The accumulator at `index` minus the tamper corrections made before
    // it was taken: the worker adds every correction made since.
    DigestAccumulator uncorrected;
    // For a tamper check: the state to check (released by the worker).
    const rocksdb::Snapshot* snapshot = nullptr;
  };
  // Callbacks found while applying (or by the worker), run once mu_ is
  // released (a callback may well read the state machine). `captured` is
  // only filled while applying: RunCallbacks hands it to the worker after
  // on_checkpoint_captured ran, so that hook always comes first.
  struct PendingCallbacks {
    std::vector<CapturedCheckpoint> captured;
    std::vector<OwnCheckpoint> checkpoints;
    std::vector<CheckpointComparison> comparisons;
  };
  void RunCallbacks(const PendingCallbacks& pending) ABSL_LOCKS_EXCLUDED(mu_, worker_mu_);

  // ApplyBatch under mu_: appends each command's outcome to `results`.
  absl::Status ApplyBatchLocked(absl::Span<const BatchCommand> commands,
                                std::vector<absl::StatusOr<v1::CommandResult>>* results,
                                PendingCallbacks* pending) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The kept result of an index applied before, as Apply returns it.
  absl::StatusOr<v1::CommandResult> StoredResultLocked(uint64_t log_index,
                                                       const v1::MailboxCommand& command)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A guard command (G2, G5), applied and committed on its own.
  absl::StatusOr<v1::CommandResult> ApplyGuardLocked(uint64_t log_index,
                                                     const v1::MailboxCommand& command,
                                                     PendingCallbacks* pending)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A mail or admin command's writes and its result, into `txn` on top of
  // what it holds, not committed: a command that fails leaves only its
  // result (and audit record) there. Non-OK only for storage failures.
  absl::StatusOr<v1::CommandResult> ApplyMailLocked(StoreTxn& txn, uint64_t log_index,
                                                    const v1::MailboxCommand& command)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps the entry's result for re-applies and drops the one that falls
  // out of the window of retained_results.
  void KeepResult(StoreTxn& txn, uint64_t log_index, const v1::CommandResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writes the applied index and the entry's result with `txn`, commits it
  // and advances applied_index_.
  absl::Status FinishEntry(StoreTxn& txn, uint64_t log_index, const v1::CommandResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // G5: whether `log_index` is a checkpoint index under the charter in force
  // (read through `txn` if it is not cached).
  absl::StatusOr<bool> CheckpointDue(const StoreTxn& txn, uint64_t log_index)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // G5: after the entry at `log_index` was committed, captures the state
  // there for the worker if the index is a checkpoint index (or if
  // `requested`: by a guard command, or known due already). Returns the
  // worker's storage error, if it had one, so that applying stops.
  absl::Status CheckpointIfDue(uint64_t log_index, bool requested, PendingCallbacks* pending)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many checkpoints (not checks) wait in waiting_.
  size_t WaitingCheckpoints() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(worker_mu_);
  // Queues a captured checkpoint, waiting while max_waiting_checkpoints do.
  void QueueCheckpoint(const CapturedCheckpoint& captured) ABSL_LOCKS_EXCLUDED(mu_, worker_mu_);
  // The worker thread: digests queued checkpoints until stopping_ and none
  // is left.
  void CheckpointWorker() ABSL_LOCKS_EXCLUDED(mu_, worker_mu_);
  // The checker thread: runs the periodic tamper check (periodic_check_)
  // whenever one is queued, until stopping_.
  void PeriodicChecker() ABSL_LOCKS_EXCLUDED(mu_, worker_mu_);
  // A tamper check (without mu_; releases its snapshot), then under mu_ the
  // correction, if any: the live accumulator and digest_corrections_.
  absl::Status RunStoredStateCheck(const CapturedCheckpoint& check) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs the tamper check of `captured` if it has a snapshot (without mu_;
  // releases the snapshot), then under mu_ applies its correction, and for
  // a checkpoint keeps the digest and compares it with every signed
  // checkpoint already applied at that index.
  absl::Status FinishCheckpoint(const CapturedCheckpoint& captured, PendingCallbacks* pending)
      ABSL_LOCKS_EXCLUDED(mu_);
  // G5 tamper check: the full accumulator of the records at `snapshot`
  // minus the accumulator stored there (empty if they agree). A non-empty
  // one is logged. Needs no lock.
  // A difference is also kept for FoundStoredStateChanges.
  absl::StatusOr<DigestAccumulator> StoredStateCorrection(const CapturedCheckpoint& captured)
      ABSL_LOCKS_EXCLUDED(worker_mu_);
  // Digest() over a RocksDB snapshot of store_; needs no lock.
  absl::StatusOr<std::array<uint8_t, 32>> DigestAt(const rocksdb::Snapshot* snapshot) const;
  void Log(std::string_view line) const;
  // The charter as stored, read once and kept: the apply loop needs it for
  // every entry (retention, checkpoint interval) and only guard commands,
  // membership entries and snapshot restores change it; each of those
  // drops the copy (ForgetCharter) after writing.
  absl::StatusOr<std::optional<v1::Charter>> CurrentCharter(const StoreTxn& txn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The same without a copy, for readers on the apply path: null before
  // genesis; valid until mu_ is released or ForgetCharter().
  absl::StatusOr<const v1::Charter*> CharterInForce(const StoreTxn& txn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetCharter() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { charter_.reset(); }
  // The trust store of `charter`'s sites, built once per charter version.
  absl::StatusOr<const guard::SiteTrustStore*> TrustStoreFor(const v1::Charter& charter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a restore: stamps every proposal with this node's clock, so its
  // lifetime and delay count from the install (like vault records, G3).
  absl::Status RestampProposalsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Guards writes; readers use RocksDB snapshots and share the lock so that
  // a snapshot restore does not run under them.
  mutable absl::Mutex mu_;
  std::unique_ptr<Store> store_;
  const Options options_;
  uint64_t applied_index_ ABSL_GUARDED_BY(mu_) = 0;
  // Open dropped a half-restored state: only RestoreSnapshot may follow.
  bool restore_interrupted_ ABSL_GUARDED_BY(mu_) = false;
  // Cached trust store and the charter version it was built from.
  std::shared_ptr<const guard::SiteTrustStore> trust_ ABSL_GUARDED_BY(mu_);
  uint64_t trust_version_ ABSL_GUARDED_BY(mu_) = 0;
  // CurrentCharter's copy; empty = read it again. The inner optional is
  // empty before genesis.
  std::optional<std::optional<v1::Charter>> charter_ ABSL_GUARDED_BY(mu_);
  // The sum of every tamper correction added to the store's accumulator.
  DigestAccumulator digest_corrections_ ABSL_GUARDED_BY(mu_);
  uint64_t checkpoints_since_tamper_check_ ABSL_GUARDED_BY(mu_) = 0;

  // The checkpoint worker's queue. Taken after mu_ when both are held; the
  // worker never holds it while it takes mu_.
  mutable absl::Mutex worker_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::deque<CapturedCheckpoint> waiting_ ABSL_GUARDED_BY(worker_mu_);
  uint64_t captured_count_ ABSL_GUARDED_BY(worker_mu_) = 0;  // CheckpointIfDue captures
  uint64_t finished_count_ ABSL_GUARDED_BY(worker_mu_) = 0;  // done by the worker, in order
  absl::Status worker_status_ ABSL_GUARDED_BY(worker_mu_);   // its first storage error
  bool stopping_ ABSL_GUARDED_BY(worker_mu_) = false;
  // The periodic tamper check waiting for the checker thread (at most one:
  // while one waits or runs, a due one is skipped), and how many were
  // queued and finished (WaitForCheckpoints waits for those too).
  std::optional<CapturedCheckpoint> periodic_check_ ABSL_GUARDED_BY(worker_mu_);
  bool periodic_check_running_ ABSL_GUARDED_BY(worker_mu_) = false;
  uint64_t checks_queued_ ABSL_GUARDED_BY(worker_mu_) = 0;
  uint64_t checks_finished_ ABSL_GUARDED_BY(worker_mu_) = 0;
  std::deque<StoredStateChange> stored_changes_ ABSL_GUARDED_BY(worker_mu_);  // the last 100
  uint64_t stored_changes_total_ ABSL_GUARDED_BY(worker_mu_) = 0;
  std::thread worker_;   // last: started once everything above exists
  std::thread checker_;
};

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_STATE_MACHINE_H_

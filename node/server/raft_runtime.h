// The thin runtime around the pure consensus core (node/raft/raft.h): a
// loop thread that owns the core and turns its Ready into disk writes and
// network sends, an apply thread that feeds committed entries to the state
// machine, and the waiting that client requests need (proposals until
// applied, linearizable reads until the read index is applied).
//
// The hot path: proposals that arrive while the loop is busy writing are
// taken together into the next Ready, so many appends share one fsync; the
// leader hands AppendEntries to the transport before it writes its own log;
// the apply thread never holds up the loop.
//
// Thread-safety: every public method may be called from any thread.
#ifndef QBOX_NODE_SERVER_RAFT_RUNTIME_H_
#define QBOX_NODE_SERVER_RAFT_RUNTIME_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/raft/log_storage.h"
#include "node/raft/raft.h"
#include "node/server/log_retention.h"
#include "node/server/no_space.h"
#include "node/server/readiness.h"
#include "node/server/replicated_state_machine.h"

namespace qbox::server {

// Where the runtime sends messages. Send must not block for long: it queues.
class RaftTransport {
 public:
  virtual ~RaftTransport() = default;
  virtual void Send(std::vector<raft::Message> messages) = 0;
};

struct RaftRuntimeOptions {
  raft::RaftConfig raft;
  absl::Duration tick = absl::Milliseconds(100);
  // Directory for snapshot scratch files.
  std::string scratch_dir;
  // Take a snapshot after this many applied entries, and keep this many
  // entries in the log behind it for followers that lag a little. A state
  // machine that is durable on its own (ReplicatedStateMachine::MakeDurable)
  // is flushed, and the snapshot is held by it: no copy of the state is
  // written. A snapshot file is written only when a follower needs one
  // (Ready::snapshot_wanted), or always for a state machine that is not.
  uint64_t snapshot_every = 10000;
  uint64_t keep_after_snapshot = 2000;
  // ...and at least this many bytes of the most recently applied entries
  // (log_retention.h), so that a follower down for a restart catches up
  // from the log instead of by a copy of the whole state. 0: entries only.
  uint64_t keep_log_bytes = uint64_t{1} << 30;
  // For written snapshots taken on schedule (a state machine that is not
  // durable on its own): only once the entries applied since the last one
  // carry at least this fraction of its bytes (0 = entries alone decide).
  // Such a snapshot costs the whole state; with 1.0 that work per appended
  // byte stays bounded, and the log kept is at most about the state's size.
  double snapshot_log_ratio = 1.0;
  // Group commit under load: when the loop's last round carried more than
  // one proposal (clients are writing concurrently) and fewer than
  // batch_proposals are queued, it waits up to batch_delay for more before
  // the core persists and replicates them, so one fsync and one message per
  // follower carry more entries. A lone writer is never held up. Zero: every
  // wake-up persists what has arrived. (bench/RESULTS.md, session 5: 2 ms
  // gave +10% appends/s and -13% CPU per append at 64 clients.)
  absl::Duration batch_delay = absl::ZeroDuration();
  size_t batch_proposals = 64;
  // Readiness (readiness.h): once caught up, a node stays ready while it
  // trails the commit index it knows by at most this many entries.
  uint64_t ready_max_lag = 1000;
  // When the data volume is (nearly) full: no_space.h.
  NoSpaceOptions no_space;
  // Called with each narrative log line.
  std::function<void(std::string_view)> logger;
};

// What the metrics and the Admin service see; refreshed after every Ready.
struct RuntimeStatus {
  raft::RaftStatus raft;
  uint64_t applied = 0;
  uint64_t proposals = 0;
  uint64_t proposals_failed = 0;
  std::vector<raft::Alarm> alarms;  // the last 1000 alarms since start, oldest first
  uint64_t alarms_raised = 0;       // every alarm since start (alarms keeps the last 1000)
  // When a consensus message from each peer last arrived here.
  std::map<raft::NodeId, absl::Time> last_heard;
  // G4 (copied from raft): the confirmed commit index a recovering node must
  // reach, and whether it has and now only waits for ConfirmRecovery().
  uint64_t recovery_target = 0;
  bool awaiting_attestation = false;
  // Snapshots taken since start: held by the state machine (a flush, then
  // the log compacted behind it) and written to a file (for a follower, or
  // for a state machine that is not durable on its own).
  uint64_t snapshots_held = 0;
  uint64_t snapshots_written = 0;
  // The data volume and the NOSPACE alarm (no_space.h).
  NoSpaceStatus no_space;
};

class RaftRuntime {
 public:
  // `storage`, `state_machine` and `transport` must outlive the runtime.
  RaftRuntime(RaftRuntimeOptions options, raft::LogStorage* storage,
              ReplicatedStateMachine* state_machine, RaftTransport* transport);
  ~RaftRuntime();

  // Builds the core from storage and starts the threads.
  absl::Status Start();
  // Stops the threads; pending requests fail with UNAVAILABLE.
  void Stop();

  // Messages from peers (the transport's receiving side). Dropped before
  // Start() (Raft retransmits).
  void Deliver(std::vector<raft::Message> messages);

  // Proposes `command` and waits until it is applied here. Returns the
  // state machine's result. UNAVAILABLE (message names the leader id, if
  // known) when this node is not the leader, leadership changed before the
  // entry committed, or this node is in NOSPACE (no_space.h);
  // DEADLINE_EXCEEDED at `deadline`.
  absl::StatusOr<std::string> Propose(std::string command, absl::Time deadline);

  // Propose without a waiting thread: `done` gets what Propose would return,
  // exactly once, on the runtime's reply thread. A deadline is enforced by
  // the loop within about a tick; Stop() answers every pending `done` with
  // UNAVAILABLE before it returns, and a proposal made once the runtime is
  // stopping is refused at once, on the caller's thread. For a server that
  // must not hold a thread per write in flight.
  using ProposeDone = std::function<void(absl::StatusOr<std::string>)>;
  void ProposeAsync(std::string command, absl::Time deadline, ProposeDone done);

  // Waits until a read on this node's state machine would be linearizable
  // (ReadIndex confirmed by a quorum, then applied up to it).
  absl::Status ReadBarrier(absl::Time deadline);

  absl::Status TransferLeadership(raft::NodeId to, absl::Time deadline);
  // Proposes a membership change and waits until it is applied here.
  absl::Status ChangeMembership(const raft::ConfChange& change, absl::Time deadline);

  // Membership as of log index `index`, asked of the core on its own
  // thread. OUT_OF_RANGE (the core's) if `index` is below the log's
  // snapshot or beyond its last index; DEADLINE_EXCEEDED at `deadline`;
  // UNAVAILABLE if the runtime is not running.
  absl::StatusOr<raft::ConfState> ConfStateAt(uint64_t index, absl::Time deadline);

  // G4: ends recovery once the layer above has checked this node's state
  // against digests the other sites attest (raft::Raft::ConfirmRecovery):
  // OK if recovery ended or the node was not recovering; FAILED_PRECONDITION
  // (nothing changed) if it has not reached its recovery target yet;
  // DEADLINE_EXCEEDED at `deadline`; UNAVAILABLE if the runtime is not
  // running. The change is persisted before the node votes again.
  absl::Status ConfirmRecovery(absl::Time deadline = absl::InfiniteFuture());

  RuntimeStatus Status() const;
  // Status().no_space alone, cheaply (asked before every write).
  NoSpaceStatus NoSpace() const;
  // The leader as this node knows it; kNoNode while this node's core is
  // frozen in NOSPACE with itself as leader (it leads nothing then).
  raft::NodeId leader() const;
  uint64_t applied_index() const { return applied_.load(); }
  // Whether this node should take traffic (grpc.health.v1 SERVING,
  // /readyz 200), by the rule in readiness.h: not recovering, a leader
  // known, and caught up with the commit index the leader reported, to
  // within RaftRuntimeOptions::ready_max_lag once it has fully caught up,
  // applying not stuck, and not in NOSPACE.
  // OK when ready; otherwise UNAVAILABLE saying why. Each call is a sample.
  absl::Status Readiness() const;

 private:
  struct Task {
    std::function<void(raft::Raft&)> run;
    // Called instead of `run`, with why, while the core is frozen
    // (NOSPACE); empty: the task is dropped (messages: Raft retransmits).
    std::function<void(const absl::Status&)> refuse;
  };
  struct ProposalWaiter;
  struct ReadWaiter;
  struct ApplyItem {
    std::optional<raft::SnapshotMeta> install;
    std::vector<raft::Entry> entries;
  };

  void Enqueue(std::function<void(raft::Raft&)> run,
               std::function<void(const absl::Status&)> refuse);
  // Runs `question` on the loop thread (the only one that touches the core)
  // and waits for its answer: DEADLINE_EXCEEDED ("<what> before the
  // deadline") at `deadline`, UNAVAILABLE if the runtime is not running or
  // stops first.
  absl::Status AskLoop(std::function<absl::Status(raft::Raft&)> question, absl::Time deadline,
                       absl::string_view what);
  void Loop();
  void HandleReady(raft::Raft& raft);
  // Does what held_ready_ asks, from where an earlier try stopped, then
  // advances the core. False if a write found no space: the Ready stays
  // held and the core frozen (NOSPACE); any other write error is fatal.
  bool FinishHeldReady(raft::Raft& raft);
  // True if `status` is OK; raises NOSPACE and freezes the core if it says
  // no space; fatal otherwise.
  bool WroteOrNoSpace(const absl::Status& status, const std::string& what);

  // ---- NOSPACE (raft_runtime_space.cc) ----
  // On the loop thread, every NoSpaceOptions::check_every: measures the
  // volume; raises NOSPACE below the threshold (a leader hands leadership
  // on first, then freezes); while raised and once space is back, resumes
  // the storage, finishes a held Ready and clears it.
  void WatchSpace(raft::Raft& raft, absl::Time now);
  // Raises NOSPACE (any thread) for `cause`; `freeze` stops the core now.
  void RaiseNoSpace(const std::string& cause, bool freeze);
  void ClearNoSpace();
  // In NOSPACE but not frozen yet (a leader handing leadership on): freezes
  // the core once it no longer leads, or at freeze_at_.
  void FreezeOnceNotLeading(const raft::Raft& raft, absl::Time now);
  // Hands leadership to the most caught-up voter that is active and not
  // recovering; logs what it did.
  void HandLeadershipOn(raft::Raft& raft);
  // On the apply thread: `status` (a failed write of `what`) says no space:
  // raises NOSPACE and waits until it is cleared. False if the runtime is
  // stopping instead.
  bool WaitOutNoSpace(const std::string& what, const absl::Status& status);
  // Why a frozen core refuses a request.
  absl::Status NoSpaceRefusal() const;
  void AskAgainForLostReads(raft::Raft& raft, absl::Time now);
  void ApplyLoop();
  void ApplyEntries(const std::vector<raft::Entry>& entries);
  void InstallSnapshot(const raft::SnapshotMeta& meta);
  // At Start: counts the log kept behind the snapshot at `snapshot_index`
  // toward keep_log_bytes (LogRetention::Seed), from the storage's estimate.
  void CountLogKeptFromBefore(uint64_t snapshot_index);
  // On the apply thread: starts a snapshot in the background when one is due
  // or a follower needs one, and none is running.
  void MaybeTakeSnapshot();
  // True if the leader is sending the current snapshot to a follower that
  // answers (seen within three election timeouts): a held snapshot must not
  // replace it then, or the transfer would start over. A follower that went
  // away mid-transfer does not hold back compaction.
  bool SendingSnapshot() const;
  // On the snapshot thread: makes the state machine durable and records the
  // snapshot it holds, or (`write_file`, or a state machine that cannot)
  // writes the state machine's snapshot file; records it in the log storage
  // with the membership at its index, compacts the log.
  void TakeSnapshot(bool write_file);
  // The snapshot metadata (term, chain, membership) for `index`; an error
  // says why there is none (the entry was compacted meanwhile).
  absl::StatusOr<raft::SnapshotMeta> SnapshotMetaAt(uint64_t index);
  void PublishStatus(const raft::Raft& raft);
  [[noreturn]] void Fatal(const std::string& what, const absl::Status& status);
  void Log(const std::string& line) const;
  // Registers `waiter` as unfinished and queues `task` in one hold of mu_;
  // false (nothing queued) once the runtime is stopping.
  // While NOSPACE is raised, the proposal is refused instead (on the loop).
  bool EnqueueProposal(std::shared_ptr<ProposalWaiter> waiter,
                       std::function<void(raft::Raft&)> run);
  // On the loop thread, once the core answered a proposal: a refusal
  // finishes `waiter` with it; an index makes the entry's result go to
  // `waiter` when applied (unless its caller gave up meanwhile).
  void Track(const std::shared_ptr<ProposalWaiter>& waiter, const absl::StatusOr<uint64_t>& index,
             uint64_t term) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues the proposal of `command` for `waiter` (EnqueueProposal); false
  // if the runtime is stopping.
  bool QueueProposal(std::shared_ptr<ProposalWaiter> waiter, std::string command);
  // Hands `result` to `waiter` and wakes it (or queues its callback for
  // the reply thread), once: a later call is a no-op.
  void Finish(ProposalWaiter& waiter, absl::StatusOr<std::string> result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finishes asynchronous proposals whose deadline passed (loop thread).
  void ExpireAsyncProposals(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  // The reply thread: runs finished asynchronous proposals' callbacks until
  // the runtime stops and none is left.
  void ReplyLoop();
  // Waits on `waiter`'s own notification (not on mu_: with dozens of
  // callers waiting, conditions on mu_ were re-checked on every release of
  // it, by the loop and apply threads) until finished or `deadline`.
  absl::StatusOr<std::string> Wait(std::shared_ptr<ProposalWaiter> waiter, absl::Time deadline);

  RaftRuntimeOptions options_;
  raft::LogStorage* storage_;
  ReplicatedStateMachine* state_machine_;
  RaftTransport* transport_;
  std::unique_ptr<raft::Raft> raft_;  // touched only by the loop thread

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
  // Proposals among tasks_, and how many the loop's last round took (for
  // the group commit delay).
  size_t queued_proposals_ ABSL_GUARDED_BY(mu_) = 0;
  size_t last_round_proposals_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<ApplyItem> apply_queue_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::shared_ptr<ProposalWaiter>> proposals_ ABSL_GUARDED_BY(mu_);
  // Every proposal waiter not finished yet, also those whose task has not
  // reached the core (not in proposals_): Stop() finishes them all.
  absl::flat_hash_set<std::shared_ptr<ProposalWaiter>> unfinished_ ABSL_GUARDED_BY(mu_);
  // Finished asynchronous proposals whose callbacks the reply thread runs.
  std::deque<std::shared_ptr<ProposalWaiter>> replies_ ABSL_GUARDED_BY(mu_);
  bool replies_stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<ReadWaiter>> reads_ ABSL_GUARDED_BY(mu_);
  RuntimeStatus status_ ABSL_GUARDED_BY(mu_);
  mutable ReadinessLatch readiness_ ABSL_GUARDED_BY(mu_);
  uint64_t next_read_id_ ABSL_GUARDED_BY(mu_) = 1;

  std::atomic<bool> started_{false};
  std::atomic<uint64_t> applied_{0};
  // Apply-thread state: membership as of the applied index.
  raft::ConfState applied_conf_;
  // Written by the snapshot thread, read by the apply thread.
  std::atomic<uint64_t> last_snapshot_index_{0};
  std::atomic<uint64_t> last_snapshot_bytes_{0};
  // What the log must keep behind a snapshot (keep_log_bytes).
  LogRetention retention_;
  // Apply-thread state: bytes of entries applied since the last snapshot
  // started (or was installed).
  uint64_t applied_bytes_since_snapshot_ = 0;
  // Set by the apply thread when it starts a snapshot, cleared by the
  // snapshot thread when it ends: at most one runs at a time.
  std::atomic<bool> snapshot_running_{false};
  // Set by the loop when the core wants a snapshot with data for a
  // follower; taken by the apply thread.
  std::atomic<bool> snapshot_file_wanted_{false};
  // Set by the snapshot thread once the state machine said it cannot be
  // durable on its own (MakeDurable is UNIMPLEMENTED).
  std::atomic<bool> state_machine_not_durable_{false};
  // When the loop last saw a follower receiving a snapshot and answering
  // (absl::ToUnixNanos), for SendingSnapshot.
  std::atomic<int64_t> snapshot_transfer_seen_ns_{0};

  // NOSPACE: set while raised (any thread reads it to refuse proposals),
  // and while the core is frozen (set by the loop, or by the apply thread
  // when a write of its own failed; cleared by the loop).
  std::atomic<bool> no_space_raised_{false};
  std::atomic<bool> frozen_{false};
  // Loop-thread state: a Ready not fully written yet (its disk writes
  // failed for want of space) and how far it got; when to measure the
  // volume next; when a leader that handed leadership on freezes at the
  // latest; when the last failed resume was logged.
  std::optional<raft::Ready> held_ready_;
  size_t held_chunks_written_ = 0;
  bool held_installed_ = false;
  bool held_persisted_ = false;
  absl::Time next_space_check_ = absl::InfinitePast();
  absl::Time freeze_at_ = absl::InfiniteFuture();
  absl::Time resume_logged_ = absl::InfinitePast();

  std::thread loop_thread_;
  std::thread apply_thread_;
  // Runs ProposeAsync's callbacks, so that neither the apply thread nor the
  // loop spends its time answering clients.
  std::thread reply_thread_;
  // Writing a snapshot takes seconds on a big store: it runs here, so that
  // applying (and every client waiting for its append) goes on meanwhile.
  // Started and joined by the apply thread; joined last by Stop().
  std::thread snapshot_thread_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_RAFT_RUNTIME_H_

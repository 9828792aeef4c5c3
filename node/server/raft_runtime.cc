#include "node/server/raft_runtime.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "node/common/status_macros.h"
#include "node/common/thread_name.h"
#include "node/common/thread_priority.h"
#include "node/server/node_log.h"
#include "node/server/snapshot_policy.h"
#include "node/storage/volume_space.h"

namespace qbox::server {
namespace {

// The snapshot thread's nice value: under contention it gets about a tenth
// of the CPU share of a normal thread (CFS weights 110 and 1024), so it
// takes longer on a saturated node but never stops.
constexpr int kSnapshotNice = 10;

}  // namespace

struct RaftRuntime::ProposalWaiter {
  uint64_t index = 0;  // guarded by the runtime's mu_, as are term and done
  uint64_t term = 0;
  bool done = false;
  // Written once, before `finished` is notified; read after it.
  absl::StatusOr<std::string> result = std::string();
  absl::Notification finished;
  // ProposeAsync's: called with `result` on the reply thread instead of
  // notifying, and finished with DEADLINE_EXCEEDED by the loop at `deadline`.
  ProposeDone on_done;
  absl::Time deadline = absl::InfiniteFuture();
};

struct RaftRuntime::ReadWaiter {
  absl::Time asked;  // when the read index was last asked for
  bool has_index = false;
  uint64_t index = 0;
  bool done = false;  // failed before an index was known
  absl::Status status;
};

RaftRuntime::RaftRuntime(RaftRuntimeOptions options, raft::LogStorage* storage,
                         ReplicatedStateMachine* state_machine, RaftTransport* transport)
    : options_(std::move(options)),
      storage_(storage),
      state_machine_(state_machine),
      transport_(transport),
      readiness_(options_.ready_max_lag) {
  status_.no_space.volume_path = options_.no_space.volume_path;
}

RaftRuntime::~RaftRuntime() { Stop(); }

void RaftRuntime::Log(const std::string& line) const {
  if (options_.logger) options_.logger(line);
}

void RaftRuntime::Fatal(const std::string& what, const absl::Status& status) {
  // The log or the state machine could not be written: continuing would
  // acknowledge what is not durable. Stop here; a restart recovers from disk.
  LogFatal(absl::StrCat("FATAL: ", what, ": ", status.ToString()));
  std::fflush(nullptr);
  std::abort();
}

absl::Status RaftRuntime::Start() {
  raft::RaftConfig config = options_.raft;
  if (!config.logger && options_.logger) config.logger = options_.logger;
  ASSIGN_OR_RETURN(raft_, raft::Raft::Create(config, storage_));
  raft::SnapshotMeta snapshot = storage_->Snapshot();
  if (snapshot.held_by_state_machine && state_machine_->applied_index() < snapshot.index) {
    return absl::DataLossError(absl::StrCat(
        "the state machine has applied up to index ", state_machine_->applied_index(),
        ", but this node's last snapshot, at index ", snapshot.index,
        ", is one the state machine had made durable (no copy was written): its storage lost "
        "what it had flushed, and the raft log does not replay entries behind a snapshot. Move "
        "this node's data directory away and start it empty to rejoin and copy the state from "
        "the others (DESIGN.md G4)"));
  }
  // A crash between installing a snapshot into the log storage and into the
  // state machine leaves the state machine behind the snapshot: redo it.
  if (state_machine_->applied_index() < snapshot.index) InstallSnapshot(snapshot);
  applied_conf_ = snapshot.conf;
  last_snapshot_index_ = snapshot.index;
  last_snapshot_bytes_ = snapshot.data_size;
  applied_ = state_machine_->applied_index();
  CountLogKeptFromBefore(snapshot.index);
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
    replies_stopping_ = false;
    status_.applied = applied_;
  }
  PublishStatus(*raft_);
  started_ = true;
  loop_thread_ = std::thread([this] {
    NameThisThread("qbox-raft");
    Loop();
  });
  apply_thread_ = std::thread([this] {
    NameThisThread("qbox-apply");
    ApplyLoop();
  });
  reply_thread_ = std::thread([this] {
    NameThisThread("qbox-reply");
    ReplyLoop();
  });
  return absl::OkStatus();
}

void RaftRuntime::CountLogKeptFromBefore(uint64_t snapshot_index) {
  // The core hands the apply thread only the entries after the snapshot;
  // the log kept behind it would otherwise count for nothing, and be kept
  // until a whole budget of new entries had arrived on top of it.
  const uint64_t first = storage_->FirstIndex();
  const uint64_t last = std::min(snapshot_index, storage_->LastIndex());
  if (first > last) return;
  absl::StatusOr<uint64_t> counted = retention_.Seed(*storage_, first, last);
  if (!counted.ok()) {
    Log(absl::StrCat("not counting the raft log kept from before this start (entries ", first,
                     " to ", last,
                     "): it stays until --keep-log-bytes of new entries have arrived: ",
                     counted.status().ToString()));
    return;
  }
  Log(absl::StrCat("counting the raft log kept from before this start (entries ", first, " to ",
                   last, ") as ", *counted, " bytes toward --keep-log-bytes (",
                   LogRetention::kSeedCountedPercent, "% of the storage's estimate)"));
}

void RaftRuntime::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ && !loop_thread_.joinable()) return;
    stopping_ = true;
  }
  if (loop_thread_.joinable()) loop_thread_.join();
  if (apply_thread_.joinable()) apply_thread_.join();
  // After the loop: a snapshot waiting for the core's answer gets
  // UNAVAILABLE and ends.
  if (snapshot_thread_.joinable()) snapshot_thread_.join();
  {
    absl::MutexLock lock(&mu_);
    while (!unfinished_.empty()) {
      Finish(**unfinished_.begin(), absl::UnavailableError("node is shutting down"));
    }
    proposals_.clear();
    for (auto& [context, waiter] : reads_) {
      waiter->done = true;
      waiter->status = absl::UnavailableError("node is shutting down");
    }
    reads_.clear();
    replies_stopping_ = true;  // after the last reply was queued above
  }
  if (reply_thread_.joinable()) reply_thread_.join();
}

void RaftRuntime::Enqueue(std::function<void(raft::Raft&)> run,
                          std::function<void(const absl::Status&)> refuse) {
  absl::MutexLock lock(&mu_);
  tasks_.push_back(Task{std::move(run), std::move(refuse)});
}

bool RaftRuntime::EnqueueProposal(std::shared_ptr<ProposalWaiter> waiter,
                                  std::function<void(raft::Raft&)> run) {
  auto refuse = [this, waiter](const absl::Status& why) {
    absl::MutexLock lock(&mu_);
    ++status_.proposals;
    ++status_.proposals_failed;
    Finish(*waiter, why);
  };
  auto guarded = [this, refuse, run = std::move(run)](raft::Raft& raft) {
    // In NOSPACE but not frozen yet (a leader handing leadership on):
    // nothing new goes into the log.
    if (no_space_raised_) {
      refuse(NoSpaceRefusal());
      return;
    }
    run(raft);
  };
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  unfinished_.insert(std::move(waiter));
  tasks_.push_back(Task{std::move(guarded), std::move(refuse)});
  ++queued_proposals_;
  return true;
}

void RaftRuntime::Track(const std::shared_ptr<ProposalWaiter>& waiter,
                        const absl::StatusOr<uint64_t>& index, uint64_t term) {
  if (!index.ok()) {
    Finish(*waiter, index.status());
    return;
  }
  if (waiter->done) return;  // the caller's deadline passed meanwhile
  waiter->index = *index;
  waiter->term = term;
  proposals_[*index] = waiter;
}

void RaftRuntime::Finish(ProposalWaiter& waiter, absl::StatusOr<std::string> result) {
  // The set may hold the last reference: keep it until the end.
  std::shared_ptr<ProposalWaiter> keep;
  if (auto it = unfinished_.find(&waiter); it != unfinished_.end()) {
    keep = *it;
    unfinished_.erase(it);
  }
  if (waiter.done) return;
  waiter.done = true;
  waiter.result = std::move(result);
  if (waiter.on_done && keep != nullptr) {
    replies_.push_back(std::move(keep));
    return;
  }
  waiter.finished.Notify();
}

void RaftRuntime::ExpireAsyncProposals(absl::Time now) {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<ProposalWaiter>> expired;
  for (const std::shared_ptr<ProposalWaiter>& waiter : unfinished_) {
    if (waiter->on_done && !waiter->done && now >= waiter->deadline) expired.push_back(waiter);
  }
  for (const std::shared_ptr<ProposalWaiter>& waiter : expired) {
    auto it = proposals_.find(waiter->index);
    if (it != proposals_.end() && it->second == waiter) proposals_.erase(it);
    Finish(*waiter, absl::DeadlineExceededError(absl::StrCat(
                        "entry ", waiter->index, " was not applied before the deadline")));
  }
}

void RaftRuntime::ReplyLoop() {
  while (true) {
    std::deque<std::shared_ptr<ProposalWaiter>> ready;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [](RaftRuntime* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->replies_stopping_ || !self->replies_.empty();
      };
      mu_.Await(absl::Condition(+has_work, this));
      if (replies_.empty()) break;  // stopping, and every reply went out
      ready.swap(replies_);
    }
    // `result` was written once, under mu_, before the waiter was queued.
    for (const std::shared_ptr<ProposalWaiter>& waiter : ready) {
      waiter->on_done(std::move(waiter->result));
    }
  }
}

void RaftRuntime::Deliver(std::vector<raft::Message> messages) {
  if (!started_) return;
  if (!messages.empty()) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    for (const raft::Message& m : messages) status_.last_heard[m.from] = now;
  }
  Enqueue(
      [this, messages = std::move(messages)](raft::Raft& raft) {
        for (const raft::Message& m : messages) {
          absl::Status s = raft.Step(m);
          // Refusals are already narrated by the core; nothing else to do.
          (void)s;
        }
      },
      nullptr);
}

// ---- the loop thread ----

void RaftRuntime::Loop() {
  absl::Time next_tick = absl::Now() + options_.tick;
  while (true) {
    std::deque<Task> tasks;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [](RaftRuntime* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->stopping_ || !self->tasks_.empty();
      };
      mu_.AwaitWithDeadline(absl::Condition(+has_work, this), next_tick);
      if (stopping_) break;
      if (options_.batch_delay > absl::ZeroDuration() && last_round_proposals_ > 1 &&
          queued_proposals_ > 0 && queued_proposals_ < options_.batch_proposals) {
        auto enough = [](RaftRuntime* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
          return self->stopping_ || self->queued_proposals_ >= self->options_.batch_proposals;
        };
        mu_.AwaitWithDeadline(absl::Condition(+enough, this),
                              std::min(next_tick, absl::Now() + options_.batch_delay));
        if (stopping_) break;
      }
      last_round_proposals_ = queued_proposals_;
      queued_proposals_ = 0;
      tasks.swap(tasks_);
    }
    for (Task& task : tasks) {
      if (!frozen_) {
        task.run(*raft_);
      } else if (task.refuse) {
        task.refuse(NoSpaceRefusal());
      }
    }
    absl::Time now = absl::Now();
    if (now >= next_tick) {
      if (!frozen_) AskAgainForLostReads(*raft_, now);
      ExpireAsyncProposals(now);
      if (!frozen_) raft_->Tick();
      next_tick += options_.tick;
      if (next_tick < now) next_tick = now + options_.tick;
    }
    while (!frozen_ && raft_->HasReady()) HandleReady(*raft_);
    // A leader in NOSPACE that has just handed leadership on must not go on
    // to acknowledge the new leader's appends: it pauses at once.
    if (no_space_raised_ && !frozen_) FreezeOnceNotLeading(*raft_, now);
    if (now >= next_space_check_) {
      WatchSpace(*raft_, now);
      next_space_check_ = now + options_.no_space.check_every;
    }
    PublishStatus(*raft_);
  }
}

void RaftRuntime::AskAgainForLostReads(raft::Raft& raft, absl::Time now) {
  // A read request or its answer can be lost on the way (or the leader
  // changed): ask again with the same context rather than wait out the
  // caller's whole deadline. A late second answer finds no waiter.
  const absl::Duration patience = std::max(options_.tick * 5, absl::Milliseconds(100));
  std::vector<std::string> again;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [context, waiter] : reads_) {
      if (!waiter->has_index && !waiter->done && now - waiter->asked >= patience) {
        waiter->asked = now;
        again.push_back(context);
      }
    }
  }
  for (const std::string& context : again) (void)raft.ReadIndex(context);
}

void RaftRuntime::HandleReady(raft::Raft& raft) {
  held_ready_ = raft.GetReady();
  held_chunks_written_ = 0;
  held_installed_ = false;
  held_persisted_ = false;
  raft::Ready& rd = *held_ready_;
  if (!rd.messages_now.empty()) transport_->Send(std::move(rd.messages_now));
  rd.messages_now.clear();
  FinishHeldReady(raft);
}

bool RaftRuntime::WroteOrNoSpace(const absl::Status& status, const std::string& what) {
  if (status.ok()) return true;
  if (!storage::IsNoSpace(status)) Fatal(what, status);
  RaiseNoSpace(absl::StrCat(what, " failed: ", status.message()), /*freeze=*/true);
  return false;
}

bool RaftRuntime::FinishHeldReady(raft::Raft& raft) {
  raft::Ready& rd = *held_ready_;
  for (; held_chunks_written_ < rd.snapshot_chunks.size(); ++held_chunks_written_) {
    const raft::SnapshotChunkWrite& chunk = rd.snapshot_chunks[held_chunks_written_];
    if (!WroteOrNoSpace(storage_->WriteSnapshotChunk(chunk.offset, chunk.data),
                        "writing a snapshot chunk")) {
      return false;
    }
  }
  if (rd.install_snapshot && !held_installed_) {
    if (!WroteOrNoSpace(storage_->InstallStagedSnapshot(*rd.install_snapshot),
                        "installing a received snapshot")) {
      return false;
    }
    held_installed_ = true;
  }
  // The core asks again at every heartbeat answer while the follower waits;
  // each time the apply thread is woken (an empty item), so that a request
  // that came while another snapshot ran is taken up once it ends, also
  // when no entries arrive.
  const bool wake_for_snapshot = rd.snapshot_wanted;
  if (wake_for_snapshot) snapshot_file_wanted_ = true;
  if ((!rd.entries.empty() || rd.hard_state) && !held_persisted_) {
    // Nothing that acknowledges these entries or this vote goes out before
    // they are durable: a failed write holds the rest of the Ready back.
    if (!WroteOrNoSpace(storage_->Persist(rd.entries, rd.hard_state ? &*rd.hard_state : nullptr),
                        "persisting the raft log")) {
      return false;
    }
    held_persisted_ = true;
  }
  if (!rd.messages_after_persist.empty()) transport_->Send(std::move(rd.messages_after_persist));
  {
    absl::MutexLock lock(&mu_);
    if (rd.install_snapshot || !rd.committed_entries.empty() || wake_for_snapshot) {
      ApplyItem item;
      item.install = rd.install_snapshot;
      item.entries = std::move(rd.committed_entries);
      apply_queue_.push_back(std::move(item));
    }
    for (const raft::ReadState& read : rd.read_states) {
      auto it = reads_.find(read.context);
      if (it == reads_.end()) continue;
      it->second->has_index = true;
      it->second->index = read.index;
      reads_.erase(it);
    }
    for (raft::Alarm& alarm : rd.alarms) {
      if (status_.alarms.size() >= 1000) status_.alarms.erase(status_.alarms.begin());
      status_.alarms.push_back(std::move(alarm));
      ++status_.alarms_raised;
    }
  }
  raft.Advance(rd);
  held_ready_.reset();
  return true;
}

void RaftRuntime::PublishStatus(const raft::Raft& raft) {
  raft::RaftStatus status = raft.Status();
  for (const auto& [id, progress] : status.progress) {
    if (progress.state == raft::PeerProgress::State::kSnapshot && progress.recent_active) {
      snapshot_transfer_seen_ns_ = absl::ToUnixNanos(absl::Now());
      break;
    }
  }
  absl::MutexLock lock(&mu_);
  status_.recovery_target = status.recovery_target;
  status_.awaiting_attestation = status.awaiting_attestation;
  status_.raft = std::move(status);
  status_.applied = applied_;
}

// ---- the apply thread ----

void RaftRuntime::ApplyLoop() {
  while (true) {
    ApplyItem item;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [](RaftRuntime* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
        return self->stopping_ || !self->apply_queue_.empty();
      };
      mu_.Await(absl::Condition(+has_work, this));
      if (apply_queue_.empty()) break;  // stopping, and nothing left to apply
      item = std::move(apply_queue_.front());
      apply_queue_.pop_front();
      // Under load the loop hands over a Ready's worth at a time: take every
      // batch of entries queued behind this one in one pass (one wake-up,
      // one round of waiter notifications), up to the next snapshot install.
      while (!apply_queue_.empty() && !apply_queue_.front().install) {
        std::vector<raft::Entry>& more = apply_queue_.front().entries;
        item.entries.insert(item.entries.end(), std::make_move_iterator(more.begin()),
                            std::make_move_iterator(more.end()));
        apply_queue_.pop_front();
      }
    }
    if (item.install) InstallSnapshot(*item.install);
    ApplyEntries(item.entries);
    MaybeTakeSnapshot();
  }
}

void RaftRuntime::ApplyEntries(const std::vector<raft::Entry>& entries) {
  if (entries.empty()) return;
  std::vector<std::pair<const raft::Entry*, absl::StatusOr<std::string>>> results;
  results.reserve(entries.size());
  // Runs of normal entries go to the state machine together, which may
  // write each run at once; membership entries and no-ops one by one.
  std::vector<const raft::Entry*> run;
  std::vector<std::string> run_results;
  // False if the runtime stopped while waiting for space.
  auto apply_run = [&]() -> bool {
    if (run.empty()) return true;
    const std::string what =
        absl::StrCat("applying entries ", run.front()->index, " to ", run.back()->index);
    absl::Status s;
    while (true) {
      run_results.clear();
      s = state_machine_->ApplyBatch(run, &run_results);
      // Applying the run again is safe: the state machine answers what
      // committed of it from its stored results.
      if (s.ok() || !storage::IsNoSpace(s)) break;
      if (!WaitOutNoSpace(what, s)) return false;
    }
    if (!s.ok()) Fatal(what, s);
    for (size_t i = 0; i < run.size(); ++i) {
      results.emplace_back(run[i], std::move(run_results[i]));
    }
    run.clear();
    return true;
  };
  const uint64_t applied_before = state_machine_->applied_index();
  uint64_t bytes = 0;
  for (const raft::Entry& e : entries) {
    std::optional<raft::ConfChange> change;
    if (e.type == raft::EntryType::kConfChange) change = raft::ConfChange::Decode(e.data);
    bytes += e.data.size();
    if (e.index <= applied_before) {
      // Applied before a restart: nothing to do but follow membership.
      if (change) change->ApplyTo(&applied_conf_);
      results.emplace_back(&e, std::string());
      continue;
    }
    if (e.type == raft::EntryType::kNormal) {
      run.push_back(&e);
      continue;
    }
    if (!apply_run()) return;
    const std::string what = absl::StrCat("applying entry ", e.index);
    absl::Status s;
    while (true) {
      s = change ? state_machine_->ApplyConfChange(e, *change) : state_machine_->ApplyEmpty(e);
      if (s.ok() || !storage::IsNoSpace(s)) break;
      if (!WaitOutNoSpace(what, s)) return;
    }
    if (!s.ok()) Fatal(what, s);
    if (change) change->ApplyTo(&applied_conf_);
    results.emplace_back(&e, std::string());
  }
  if (!apply_run()) return;  // stopping while out of space
  applied_bytes_since_snapshot_ += bytes;
  retention_.Applied(entries.back().index, bytes);
  absl::MutexLock lock(&mu_);
  for (auto& [entry, result] : results) {
    auto it = proposals_.find(entry->index);
    if (it == proposals_.end()) continue;
    std::shared_ptr<ProposalWaiter> waiter = std::move(it->second);
    proposals_.erase(it);
    if (waiter->term == entry->term) {
      Finish(*waiter, std::move(result));
    } else {
      Finish(*waiter, absl::UnavailableError("leadership changed before the entry committed; "
                                             "retry with the same idempotency key"));
    }
  }
  applied_ = entries.back().index;
  status_.applied = applied_;
}

void RaftRuntime::InstallSnapshot(const raft::SnapshotMeta& meta) {
  std::string path = absl::StrCat(options_.scratch_dir, "/incoming-snapshot.tmp");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (uint64_t offset = 0; offset < meta.data_size;) {
      auto chunk = storage_->ReadSnapshotChunk(offset, 4 << 20);
      if (!chunk.ok()) Fatal("reading the installed snapshot", chunk.status());
      if (chunk->empty()) break;
      out.write(chunk->data(), static_cast<std::streamsize>(chunk->size()));
      offset += chunk->size();
    }
    if (!out) Fatal("writing " + path, absl::DataLossError("short write"));
  }
  absl::Status s;
  while (true) {
    s = state_machine_->RestoreSnapshot(path);
    if (s.ok() || !storage::IsNoSpace(s)) break;
    if (!WaitOutNoSpace("restoring the state machine from the snapshot", s)) return;
  }
  if (!s.ok()) Fatal("restoring the state machine from the snapshot", s);
  std::remove(path.c_str());
  applied_conf_ = meta.conf;
  last_snapshot_index_ = meta.index;
  last_snapshot_bytes_ = meta.data_size;
  applied_bytes_since_snapshot_ = 0;
  retention_.Reset();  // the log before the snapshot went with it
  Log(absl::StrCat("state machine restored from snapshot at index ", meta.index));
  absl::MutexLock lock(&mu_);
  // Proposals at or below the snapshot may have committed inside it; their
  // results are unknown here. The client retries with its idempotency key.
  for (auto it = proposals_.begin(); it != proposals_.end() && it->first <= meta.index;) {
    Finish(*it->second, absl::UnavailableError("outcome unknown after a snapshot install; retry"));
    it = proposals_.erase(it);
  }
  applied_ = meta.index;
  status_.applied = applied_;
}

void RaftRuntime::MaybeTakeSnapshot() {
  if (snapshot_running_.load()) return;
  // A follower waits for a snapshot with data; the current one may have
  // become one meanwhile (an installed snapshot), then there is nothing to do.
  const bool for_follower =
      snapshot_file_wanted_.exchange(false) && storage_->Snapshot().held_by_state_machine;
  const uint64_t last = last_snapshot_index_.load();
  // Held snapshots cost a flush, not the state: only written ones on
  // schedule are paced by their size.
  const uint64_t last_bytes = state_machine_not_durable_.load() ? last_snapshot_bytes_.load() : 0;
  const bool due =
      SnapshotDue({options_.snapshot_every, options_.snapshot_log_ratio},
                  applied_ > last ? applied_ - last : 0, applied_bytes_since_snapshot_, last_bytes);
  if (!for_follower && (!due || SendingSnapshot())) return;
  if (due) applied_bytes_since_snapshot_ = 0;
  if (snapshot_thread_.joinable()) snapshot_thread_.join();  // the last one, finished
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
  }
  snapshot_running_ = true;
  snapshot_thread_ = std::thread([this, for_follower] {
    NameThisThread("qbox-snapshot");
    // Background work: on a busy node it yields the CPU to serving and
    // replicating, whose latency clients see (bench/RESULTS.md, session 7).
    LowerThisThreadsPriority(kSnapshotNice);
    TakeSnapshot(for_follower);
    snapshot_running_ = false;
  });
}

bool RaftRuntime::SendingSnapshot() const {
  const int64_t seen = snapshot_transfer_seen_ns_.load();
  if (seen == 0) return false;
  const absl::Duration window = options_.tick * options_.raft.election_ticks * 3;
  return absl::Now() - absl::FromUnixNanos(seen) < window;
}

absl::StatusOr<raft::SnapshotMeta> RaftRuntime::SnapshotMetaAt(uint64_t index) {
  // Membership as of that index, from the core, which knows it for every
  // index in its log (the apply thread may already be past it).
  auto conf = ConfStateAt(index, absl::InfiniteFuture());
  if (!conf.ok()) return conf.status();
  auto term = storage_->Term(index);
  auto chain = storage_->Chain(index);
  if (!term.ok() || !chain.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the log entry at ", index, " is gone"));
  }
  raft::SnapshotMeta meta;
  meta.index = index;
  meta.term = *term;
  meta.chain = *chain;
  meta.conf = *std::move(conf);
  return meta;
}

void RaftRuntime::TakeSnapshot(bool write_file) {
  static constexpr char kHeld[] = "held by the state machine";
  const absl::Time started = absl::Now();
  uint64_t index = 0;
  std::string kind;
  if (!write_file && !state_machine_not_durable_.load()) {
    // The state machine holds the state itself: flushing it is all that
    // compacting the log needs.
    absl::StatusOr<uint64_t> durable = state_machine_->MakeDurable();
    if (absl::IsUnimplemented(durable.status())) {
      state_machine_not_durable_ = true;
    } else if (!durable.ok()) {
      Log(absl::StrCat("could not make the state machine durable for a snapshot: ",
                       durable.status().ToString()));
      return;
    } else if (*durable <= storage_->Snapshot().index) {
      return;  // nothing new (or an installed snapshot is ahead)
    } else {
      index = *durable;
      absl::StatusOr<raft::SnapshotMeta> meta = SnapshotMetaAt(index);
      absl::Status s = meta.ok() ? storage_->SaveStateMachineSnapshot(*meta) : meta.status();
      if (!s.ok()) {
        Log(absl::StrCat("skipping the snapshot at index ", index, ": ", s.message()));
        return;
      }
      kind = kHeld;
    }
  }
  if (index == 0) {
    // The state machine takes a consistent view at its applied index and
    // writes it without holding up its appliers; the index it reports is
    // the one the snapshot includes, which may be past the one that
    // triggered it.
    const std::string path = absl::StrCat(options_.scratch_dir, "/local-snapshot.tmp");
    std::optional<raft::ChainHash> file_sha256;
    auto written = state_machine_->WriteSnapshot(path, &file_sha256);
    if (!written.ok()) {
      Log(absl::StrCat("could not write a state machine snapshot: ", written.status().ToString()));
      return;
    }
    index = *written;
    absl::StatusOr<raft::SnapshotMeta> meta = SnapshotMetaAt(index);
    absl::Status s = meta.status();
    if (s.ok()) {
      s = file_sha256.has_value() ? storage_->SaveSnapshotFileHashed(*meta, path, *file_sha256)
                                  : storage_->SaveSnapshotFile(*meta, path);
    }
    if (!s.ok()) {
      std::remove(path.c_str());
      Log(absl::StrCat("skipping the snapshot at index ", index, ": ", s.message()));
      return;
    }
    last_snapshot_bytes_ = storage_->Snapshot().data_size;
    kind = absl::StrCat(storage_->Snapshot().data_size, " bytes",
                        write_file ? ", written for a follower" : "");
  }
  {
    absl::MutexLock lock(&mu_);
    ++(kind == kHeld ? status_.snapshots_held : status_.snapshots_written);
  }
  // An installed snapshot may have moved it further meanwhile: only raise it.
  uint64_t seen = last_snapshot_index_.load();
  while (seen < index && !last_snapshot_index_.compare_exchange_weak(seen, index)) {
  }
  uint64_t compact_to =
      index > options_.keep_after_snapshot ? index - options_.keep_after_snapshot : 0;
  compact_to = std::min(compact_to, retention_.CompactableUpTo(options_.keep_log_bytes));
  // Says what happened to the log, so that an operator reading why the data
  // directory grows sees whether the log was kept and why.
  std::string log_outcome = absl::StrCat(
      "log kept from index ", storage_->FirstIndex(), " (nothing before the last ",
      options_.keep_after_snapshot, " entries and ", options_.keep_log_bytes, " bytes to compact)");
  if (compact_to >= storage_->FirstIndex()) {
    absl::Status s = storage_->Compact(compact_to);
    if (s.ok()) {
      retention_.Compacted(compact_to);
      log_outcome = absl::StrCat("log compacted up to ", compact_to);
    } else {
      log_outcome = absl::StrCat("could not compact the log: ", s.ToString());
    }
  }
  Log(absl::StrCat("took a snapshot at index ", index, " (", kind, ", ",
                   absl::FormatDuration(absl::Now() - started), ", in the background); ",
                   log_outcome));
}

// ---- requests ----

absl::StatusOr<std::string> RaftRuntime::Wait(std::shared_ptr<ProposalWaiter> waiter,
                                              absl::Time deadline) {
  if (!waiter->finished.WaitForNotificationWithDeadline(deadline)) {
    absl::MutexLock lock(&mu_);
    if (!waiter->done) {  // not finished in the meantime: give up on it
      auto it = proposals_.find(waiter->index);
      if (it != proposals_.end() && it->second == waiter) proposals_.erase(it);
      unfinished_.erase(waiter);
      waiter->done = true;  // a late answer finds it done and leaves it alone
      return absl::DeadlineExceededError(
          absl::StrCat("entry ", waiter->index, " was not applied before the deadline"));
    }
  }
  return waiter->result;
}

bool RaftRuntime::QueueProposal(std::shared_ptr<ProposalWaiter> waiter, std::string command) {
  return EnqueueProposal(waiter,
                         [this, waiter, command = std::move(command)](raft::Raft& raft) mutable {
                           auto index = raft.Propose(std::move(command));
                           // The term the entry was proposed in: read from the core itself, since
                           // the published status may predate an election in this same iteration.
                           const uint64_t term = index.ok() ? raft.Term() : 0;
                           absl::MutexLock lock(&mu_);
                           ++status_.proposals;
                           if (!index.ok()) ++status_.proposals_failed;
                           Track(waiter, index, term);
                         });
}

absl::StatusOr<std::string> RaftRuntime::Propose(std::string command, absl::Time deadline) {
  auto waiter = std::make_shared<ProposalWaiter>();
  if (!QueueProposal(waiter, std::move(command))) {
    return absl::UnavailableError("node is shutting down");
  }
  return Wait(waiter, deadline);
}

void RaftRuntime::ProposeAsync(std::string command, absl::Time deadline, ProposeDone done) {
  auto waiter = std::make_shared<ProposalWaiter>();
  waiter->on_done = std::move(done);
  waiter->deadline = deadline;
  if (!QueueProposal(waiter, std::move(command))) {
    waiter->on_done(absl::UnavailableError("node is shutting down"));
  }
}

absl::Status RaftRuntime::ChangeMembership(const raft::ConfChange& change, absl::Time deadline) {
  auto waiter = std::make_shared<ProposalWaiter>();
  const bool queued = EnqueueProposal(waiter, [this, waiter, change](raft::Raft& raft) {
    auto index = raft.ProposeConfChange(change);
    const uint64_t term = index.ok() ? raft.Term() : 0;
    absl::MutexLock lock(&mu_);
    Track(waiter, index, term);
  });
  if (!queued) return absl::UnavailableError("node is shutting down");
  return Wait(waiter, deadline).status();
}

absl::Status RaftRuntime::ReadBarrier(absl::Time deadline) {
  auto waiter = std::make_shared<ReadWaiter>();
  std::string context;
  {
    absl::MutexLock lock(&mu_);
    context = absl::StrCat("read-", next_read_id_++);
    waiter->asked = absl::Now();
    reads_[context] = waiter;
  }
  auto fail = [this, waiter, context](const absl::Status& s) {
    absl::MutexLock lock(&mu_);
    waiter->done = true;
    waiter->status = s;
    reads_.erase(context);
  };
  Enqueue(
      [context, fail](raft::Raft& raft) {
        absl::Status s = raft.ReadIndex(context);
        if (!s.ok()) fail(s);
      },
      fail);
  absl::MutexLock lock(&mu_);
  struct Ready {
    RaftRuntime* self;
    ReadWaiter* waiter;
    bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return waiter->done || self->stopping_ ||
             (waiter->has_index && self->applied_.load() >= waiter->index);
    }
  } ready{this, waiter.get()};
  // Re-checked whenever mu_ is released; the apply thread releases it after
  // every batch.
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    reads_.erase(context);
    return absl::DeadlineExceededError(
        waiter->has_index ? "state machine did not apply up to the read index in time"
                          : "the leader did not confirm a read index in time");
  }
  if (waiter->done) return waiter->status;
  if (!(waiter->has_index && applied_.load() >= waiter->index)) {
    return absl::UnavailableError("node is shutting down");
  }
  return absl::OkStatus();
}

absl::Status RaftRuntime::TransferLeadership(raft::NodeId to, absl::Time deadline) {
  auto waiter = std::make_shared<ProposalWaiter>();
  auto answer = [this, waiter](const absl::Status& s) {
    absl::MutexLock lock(&mu_);
    Finish(*waiter, s.ok() ? absl::StatusOr<std::string>(std::string()) : s);
  };
  Enqueue([to, answer](raft::Raft& raft) { answer(raft.TransferLeadership(to)); }, answer);
  {
    absl::MutexLock lock(&mu_);
    if (!mu_.AwaitWithDeadline(absl::Condition(&waiter->done), deadline)) {
      return absl::DeadlineExceededError("leadership transfer was not started in time");
    }
    if (!waiter->result.ok()) return waiter->result.status();
    struct Moved {
      RaftRuntime* self;
      raft::NodeId to;
      bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
        return self->status_.raft.leader == to;
      }
    } moved{this, to};
    if (!mu_.AwaitWithDeadline(absl::Condition(&moved), deadline)) {
      return absl::DeadlineExceededError(
          absl::StrCat("leadership did not move to node ", to, " before the deadline"));
    }
  }
  return absl::OkStatus();
}

absl::Status RaftRuntime::AskLoop(std::function<absl::Status(raft::Raft&)> question,
                                  absl::Time deadline, absl::string_view what) {
  if (!started_) return absl::UnavailableError("the raft runtime is not running");
  struct Answer {
    bool done = false;
    absl::Status status;
  };
  auto answer = std::make_shared<Answer>();
  // The core is touched only by the loop thread, so ask it there.
  auto give = [this, answer](absl::Status s) {
    absl::MutexLock lock(&mu_);
    answer->status = std::move(s);
    answer->done = true;
  };
  Enqueue([give, question = std::move(question)](raft::Raft& raft) { give(question(raft)); }, give);
  struct AnsweredOrStopping {
    RaftRuntime* self;
    Answer* answer;
    bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
      return answer->done || self->stopping_;
    }
  } ready{this, answer.get()};
  absl::MutexLock lock(&mu_);
  if (!mu_.AwaitWithDeadline(absl::Condition(&ready), deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(what, " before the deadline"));
  }
  if (!answer->done) return absl::UnavailableError("node is shutting down");
  return answer->status;
}

absl::StatusOr<raft::ConfState> RaftRuntime::ConfStateAt(uint64_t index, absl::Time deadline) {
  // Written on the loop thread before the answer is marked under mu_, read
  // here after waiting on mu_.
  auto conf = std::make_shared<raft::ConfState>();
  absl::Status asked = AskLoop(
      [conf, index](raft::Raft& raft) -> absl::Status {
        absl::StatusOr<raft::ConfState> at = raft.ConfStateAt(index);
        if (!at.ok()) return at.status();
        *conf = *std::move(at);
        return absl::OkStatus();
      },
      deadline, absl::StrCat("the membership at index ", index, " was not read"));
  if (!asked.ok()) return asked;
  return *conf;
}

absl::Status RaftRuntime::ConfirmRecovery(absl::Time deadline) {
  return AskLoop([](raft::Raft& raft) { return raft.ConfirmRecovery(); }, deadline,
                 "recovery was not confirmed");
}

RuntimeStatus RaftRuntime::Status() const {
  absl::MutexLock lock(&mu_);
  return status_;
}

raft::NodeId RaftRuntime::leader() const {
  absl::MutexLock lock(&mu_);
  if (frozen_ && status_.raft.leader == status_.raft.id) return raft::kNoNode;
  return status_.raft.leader;
}

absl::Status RaftRuntime::Readiness() const {
  absl::MutexLock lock(&mu_);
  ReadinessInput in;
  in.recovering = status_.raft.hard_state.recovering;
  in.leader_known = status_.raft.leader != raft::kNoNode;
  in.applied = applied_;
  in.committed = std::max(status_.raft.hard_state.commit, status_.raft.leader_commit);
  in.now = absl::Now();
  if (status_.no_space.active) {
    in.degraded = NoSpaceNarrative(status_.no_space);
  }
  return readiness_.Update(in);
}

}  // namespace qbox::server

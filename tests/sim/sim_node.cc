#include "tests/sim/sim_node.h"

#include <algorithm>
#include <limits>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"

namespace qbox::sim {

const char* CrashPointName(CrashPoint point) {
  switch (point) {
    case CrashPoint::kNone:
      return "now";
    case CrashPoint::kAfterSendBeforePersist:
      return "after sending messages_now, before persisting";
    case CrashPoint::kAfterPersistBeforeSend:
      return "after persisting, before sending messages_after_persist";
    case CrashPoint::kBeforeApply:
      return "after persisting and sending, before applying";
  }
  return "?";
}

SimNode::SimNode(raft::NodeId id, raft::RaftConfig config, NodeEnvironment* env)
    : id_(id),
      config_(std::move(config)),
      env_(env),
      storage_(std::make_unique<raft::MemoryLogStorage>()) {
  config_.id = id;
}

absl::Status SimNode::Bootstrap(const std::vector<raft::NodeId>& voters) {
  return raft::Raft::Bootstrap(storage_.get(), voters);
}

absl::Status SimNode::Start() {
  raft::RaftConfig config = config_;
  // A fresh election-timeout sequence per life, still fixed by the seed.
  config.random_seed = config_.random_seed * 1000003 + id_ * 1009 + incarnation_;
  ++incarnation_;
  NodeEnvironment* env = env_;
  const raft::NodeId id = id_;
  config.logger = [env, id](std::string_view line) {
    env->Record(absl::StrCat("n", id, ": ", absl::string_view(line.data(), line.size())));
  };
  absl::StatusOr<std::unique_ptr<raft::Raft>> created = raft::Raft::Create(config, storage_.get());
  if (!created.ok()) return created.status();
  raft_ = std::move(created).value();
  armed_crash_ = CrashPoint::kNone;
  term_ = raft_->Status().hard_state.term;
  RestoreStateMachine();
  Process();
  return absl::OkStatus();
}

void SimNode::Crash(absl::string_view why) {
  raft_.reset();
  armed_crash_ = CrashPoint::kNone;
  env_->Record(absl::StrCat("CRASH n", id_, " ", why));
}

void SimNode::WipeStorage() {
  storage_ = std::make_unique<raft::MemoryLogStorage>();
  durable_state_.reset();
  commit_checked_ = 0;
  snapshot_checked_ = 0;
  checker().ObserveWipe(id_);
  env_->Record(absl::StrCat("WIPE n", id_, " storage"));
}

void SimNode::StorageFailure(absl::string_view what, const absl::Status& status) {
  checker().ReportViolation(
      "storage write refused",
      absl::StrCat("node ", id_, ": ", what, " as the core asked failed: ", status.ToString()));
}

void SimNode::RestoreStateMachine() {
  raft::SnapshotMeta meta = storage_->Snapshot();
  state_ = HashStateMachine();
  if (meta.held_by_state_machine) {
    if (!durable_state_.has_value() || durable_state_->applied_index() != meta.index) {
      checker().ReportViolation(
          "snapshot held by the state machine",
          absl::StrCat("node ", id_, " storage says the state machine holds index ", meta.index,
                       " but it holds ",
                       durable_state_.has_value() ? durable_state_->applied_index() : 0));
      return;
    }
    state_ = *durable_state_;
  } else if (meta.index > 0) {
    std::string data;
    while (data.size() < meta.data_size) {
      absl::StatusOr<std::string> chunk = storage_->ReadSnapshotChunk(data.size(), 4096);
      if (!chunk.ok() || chunk->empty()) {
        StorageFailure(absl::StrCat("reading snapshot at ", data.size()),
                       chunk.ok() ? absl::DataLossError("empty chunk") : chunk.status());
        return;
      }
      data += *chunk;
    }
    absl::StatusOr<HashStateMachine> parsed = HashStateMachine::Parse(data);
    if (!parsed.ok() || parsed->applied_index() != meta.index) {
      checker().ReportViolation(
          "snapshot data",
          absl::StrCat("node ", id_, " snapshot at index ", meta.index, " does not restore: ",
                       parsed.ok() ? "wrong index" : parsed.status().ToString()));
      return;
    }
    state_ = *std::move(parsed);
  }
  checker().ObserveStateMachineStart(id_, state_.applied_index(), state_.digest());
}

std::optional<LogPosition> SimNode::StoredPosition(uint64_t index) const {
  absl::StatusOr<uint64_t> term = storage_->Term(index);
  absl::StatusOr<raft::ChainHash> chain = storage_->Chain(index);
  if (!term.ok() || !chain.ok()) return std::nullopt;
  return LogPosition{index, *term, *chain};
}

void SimNode::ReadBack(uint64_t from_index, uint64_t commit_before) {
  const uint64_t last = storage_->LastIndex();
  std::optional<LogPosition> prev = StoredPosition(from_index - 1);
  absl::StatusOr<std::vector<raft::Entry>> entries =
      storage_->Entries(from_index, last + 1, std::numeric_limits<uint64_t>::max());
  if (!prev.has_value() || !entries.ok()) {
    StorageFailure(absl::StrCat("reading back [", from_index, ", ", last, "]"),
                   entries.ok() ? absl::OutOfRangeError("no predecessor") : entries.status());
    return;
  }
  checker().ObserveStoredEntries(id_, *prev, *entries, commit_before, term_);
}

bool SimNode::HandleOneReady() {
  raft::Ready rd = raft_->GetReady();
  InvariantChecker& checker = this->checker();
  for (const raft::Alarm& alarm : rd.alarms) {
    if (env_->ExpectedAlarm(alarm)) {
      env_->Record(absl::StrCat("n", id_, " raised the expected ", raft::AlarmKindName(alarm.kind),
                                " alarm against node ", alarm.from));
      continue;
    }
    checker.ReportViolation("alarm in an honest cluster",
                            absl::StrCat("node ", id_, " raised ", raft::AlarmKindName(alarm.kind),
                                         " against node ", alarm.from, " at term ", alarm.term,
                                         " index ", alarm.index, ": ", alarm.detail));
  }
  const bool writes = !rd.entries.empty() || rd.hard_state.has_value() ||
                      !rd.snapshot_chunks.empty() || rd.install_snapshot.has_value();
  const CrashPoint crash = writes ? armed_crash_ : CrashPoint::kNone;

  for (const raft::Message& m : rd.messages_now) env_->Send(m);
  if (crash == CrashPoint::kAfterSendBeforePersist) {
    Crash(CrashPointName(crash));
    return false;
  }

  for (const raft::SnapshotChunkWrite& chunk : rd.snapshot_chunks) {
    absl::Status s = storage_->WriteSnapshotChunk(chunk.offset, chunk.data);
    if (!s.ok()) StorageFailure(absl::StrCat("WriteSnapshotChunk at ", chunk.offset), s);
  }
  if (rd.install_snapshot.has_value()) {
    const raft::SnapshotMeta& meta = *rd.install_snapshot;
    absl::Status s = storage_->InstallStagedSnapshot(meta);
    if (!s.ok()) {
      StorageFailure(absl::StrCat("InstallStagedSnapshot at ", meta.index), s);
    } else {
      env_->Record(
          absl::StrCat("n", id_, " installed snapshot index ", meta.index, " term ", meta.term));
      ++snapshots_installed_;
      RestoreStateMachine();
    }
  }
  const uint64_t commit_before = commit_checked_;
  if (rd.hard_state.has_value()) term_ = rd.hard_state->term;
  if (!rd.entries.empty() || rd.hard_state.has_value()) {
    absl::Status s =
        storage_->Persist(rd.entries, rd.hard_state.has_value() ? &*rd.hard_state : nullptr);
    if (!s.ok()) {
      StorageFailure(absl::StrCat("Persist of ", rd.entries.size(), " entries"), s);
    } else {
      if (rd.hard_state.has_value()) checker.ObservePersistedCommit(id_, rd.hard_state->commit);
      if (!rd.entries.empty()) {
        if (storage_->LastIndex() != rd.entries.back().index) {
          checker.ReportViolation(
              "storage contract",
              absl::StrCat("node ", id_, " persisted up to ", rd.entries.back().index,
                           " but LastIndex() is ", storage_->LastIndex()));
        }
        ReadBack(rd.entries.front().index, commit_before);
      }
    }
  }
  if (crash == CrashPoint::kAfterPersistBeforeSend) {
    Crash(CrashPointName(crash));
    return false;
  }
  for (const raft::Message& m : rd.messages_after_persist) env_->Send(m);
  if (crash == CrashPoint::kBeforeApply) {
    Crash(CrashPointName(crash));
    return false;
  }

  for (const raft::Entry& entry : rd.committed_entries) {
    // A snapshot installed in this Ready may already cover the first ones.
    if (rd.install_snapshot.has_value() && entry.index <= state_.applied_index()) continue;
    checker.ObserveCommitted(id_, PositionOf(entry), term_);
    state_.Apply(entry);
    env_->Applied(id_, state_);
    checker.ObserveApplied(id_, PositionOf(entry), state_.digest());
  }
  for (const raft::ReadState& read : rd.read_states) {
    checker.ObserveReadState(id_, read.context, read.index);
    ++reads_answered_;
    env_->Record(absl::StrCat("n", id_, " read '", read.context, "' at index ", read.index));
  }
  raft_->Advance(rd);
  if (rd.snapshot_wanted) SaveDataSnapshot();
  MaybeSnapshot();
  return true;
}

void SimNode::SaveDataSnapshot() {
  const uint64_t applied = state_.applied_index();
  if (applied < storage_->Snapshot().index || applied > storage_->LastIndex()) return;
  std::string data = state_.Serialize();
  const raft::SnapshotMeta meta = state_.SnapshotMetaFor(data);
  env_->SnapshotWritten(id_, meta);
  absl::Status s = storage_->SaveSnapshot(meta, data);
  if (!s.ok()) {
    StorageFailure(absl::StrCat("SaveSnapshot (wanted) at ", applied), s);
    return;
  }
  ++snapshots_written_for_followers_;
  env_->Record(absl::StrCat("n", id_, " snapshot with data at ", applied, " for a follower"));
}

void SimNode::MaybeSnapshot() {
  const uint64_t applied = state_.applied_index();
  const raft::SnapshotMeta current = storage_->Snapshot();
  if (applied < current.index + snapshot_every_) return;
  if (applied < storage_->FirstIndex() || applied > storage_->LastIndex()) return;
  // Every other snapshot is held by the state machine (no data, as the
  // node's runtime takes them), so that followers behind it make the core
  // ask for one with data.
  const bool held = snapshots_taken_ % 2 == 1;
  absl::Status s;
  if (held) {
    durable_state_ = state_;
    s = storage_->SaveStateMachineSnapshot(state_.SnapshotMetaFor(""));
  } else {
    std::string data = state_.Serialize();
    const raft::SnapshotMeta meta = state_.SnapshotMetaFor(data);
    env_->SnapshotWritten(id_, meta);
    s = storage_->SaveSnapshot(meta, data);
  }
  if (!s.ok()) {
    StorageFailure(absl::StrCat(held ? "SaveStateMachineSnapshot" : "SaveSnapshot", " at ",
                                applied),
                   s);
    return;
  }
  ++snapshots_taken_;
  // Keep a few entries behind the snapshot now and then, so that followers
  // just behind are caught up from the log and the rest by InstallSnapshot.
  uint64_t keep = env_->random().Uniform(0, compact_lag_);
  uint64_t up_to = applied > keep ? applied - keep : 0;
  if (up_to >= storage_->FirstIndex()) {
    s = storage_->Compact(up_to);
    if (!s.ok()) StorageFailure(absl::StrCat("Compact to ", up_to), s);
  }
  env_->Record(absl::StrCat("n", id_, held ? " held snapshot at " : " snapshot at ", applied,
                            ", compacted to ", up_to));
}

void SimNode::Process() {
  for (int rounds = 0; raft_ != nullptr && raft_->HasReady(); ++rounds) {
    if (rounds == 1000) {
      checker().ReportViolation("runtime loop",
                                absl::StrCat("node ", id_, " still HasReady after 1000 rounds"));
      return;
    }
    if (!HandleOneReady()) return;
  }
  if (raft_ != nullptr) CheckAfterStep();
}

void SimNode::CheckAfterStep() {
  InvariantChecker& checker = this->checker();
  raft::RaftStatus status = raft_->Status();
  term_ = status.hard_state.term;
  const uint64_t commit = status.hard_state.commit;
  checker.ObserveRole(id_, term_, status.role);
  checker.ObserveCommitIndex(id_, commit);

  const uint64_t first = storage_->FirstIndex();
  const uint64_t last = storage_->LastIndex();
  const uint64_t snapshot_index = first - 1;
  if (snapshot_index > snapshot_checked_) {
    std::optional<LogPosition> snap = StoredPosition(snapshot_index);
    if (snap.has_value()) checker.ObserveCommitted(id_, *snap, term_);
    snapshot_checked_ = snapshot_index;
  }
  if (commit > last) {
    checker.ReportViolation("commit within durable log",
                            absl::StrCat("node ", id_, " commit index ", commit,
                                         " is beyond its last stored index ", last));
  }
  for (uint64_t i = std::max(commit_checked_, snapshot_index) + 1; i <= std::min(commit, last);
       ++i) {
    std::optional<LogPosition> position = StoredPosition(i);
    if (position.has_value()) checker.ObserveCommitted(id_, *position, term_);
  }
  commit_checked_ = std::max(commit_checked_, commit);

  if (status.role == raft::Role::kLeader) {
    checker.ObserveLeaderLog(id_, term_, snapshot_index,
                             [this](uint64_t index) { return StoredPosition(index); });
  }
}

void SimNode::FullCheck() {
  if (raft_ == nullptr) return;
  const uint64_t first = storage_->FirstIndex();
  if (first > storage_->LastIndex()) return;
  ReadBack(first, commit_checked_);
}

}  // namespace qbox::sim

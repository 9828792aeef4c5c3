// One simulated node: the consensus core, a MemoryLogStorage standing in for
// its durable disk, the hash state machine, and the runtime loop from raft.h
// (GetReady -> send messages_now -> persist -> send messages_after_persist ->
// apply -> Advance). The loop can be armed to crash at a point inside it, so
// that writes the leader sent but had not yet synced are lost. What survives a
// crash is exactly what the storage holds; a wipe replaces the storage.
#ifndef QBOX_TESTS_SIM_SIM_NODE_H_
#define QBOX_TESTS_SIM_SIM_NODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "node/raft/memory_log_storage.h"
#include "node/raft/raft.h"
#include "tests/sim/hash_state_machine.h"
#include "tests/sim/invariant_checker.h"
#include "tests/sim/sim_random.h"

namespace qbox::sim {

// What a node needs from the simulation around it.
class NodeEnvironment {
 public:
  virtual ~NodeEnvironment() = default;
  virtual void Send(const raft::Message& message) = 0;
  virtual void Record(absl::string_view line) = 0;
  virtual InvariantChecker& checker() = 0;
  virtual SimRandom& random() = 0;
  // An alarm the scenario provoked on purpose (a hostile node); any other
  // alarm means an honest node accused an honest one.
  virtual bool ExpectedAlarm(const raft::Alarm& alarm) {
    (void)alarm;
    return false;
  }
  // `node` applied an entry; `state` is its state machine after it.
  virtual void Applied(raft::NodeId node, const HashStateMachine& state) {
    (void)node;
    (void)state;
  }
  // `node` wrote a snapshot with data described by `meta`.
  virtual void SnapshotWritten(raft::NodeId node, const raft::SnapshotMeta& meta) {
    (void)node;
    (void)meta;
  }
};

// Where an armed crash strikes inside the next Ready that writes something.
enum class CrashPoint {
  kNone,
  kAfterSendBeforePersist,  // messages_now are out, nothing synced
  kAfterPersistBeforeSend,  // synced, messages_after_persist never sent
  kBeforeApply,             // synced and sent, committed entries not applied
};
const char* CrashPointName(CrashPoint point);

class SimNode {
 public:
  SimNode(raft::NodeId id, raft::RaftConfig config, NodeEnvironment* env);

  raft::NodeId id() const { return id_; }
  bool alive() const { return raft_ != nullptr; }
  raft::Raft* raft() { return raft_.get(); }
  raft::MemoryLogStorage& storage() { return *storage_; }
  const HashStateMachine& state() const { return state_; }
  uint64_t incarnation() const { return incarnation_; }
  uint64_t snapshots_installed() const { return snapshots_installed_; }
  uint64_t snapshots_written_for_followers() const { return snapshots_written_for_followers_; }
  uint64_t snapshots_taken() const { return snapshots_taken_; }
  uint64_t reads_answered() const { return reads_answered_; }

  // Writes the genesis membership into the (empty) storage.
  absl::Status Bootstrap(const std::vector<raft::NodeId>& voters);
  // Starts the core over the current storage (first start or restart after a
  // crash) and rebuilds the state machine from the storage's snapshot.
  absl::Status Start();
  // Stops the core; everything not in storage is lost.
  void Crash(absl::string_view why);
  // Replaces the storage with an empty one (the node must be down).
  void WipeStorage();
  // The next Ready that writes something crashes the node at `point`.
  void ArmCrash(CrashPoint point) { armed_crash_ = point; }

  // Runs the runtime loop until the core has no Ready, then checks the
  // invariants that concern this node.
  void Process();
  // Re-checks the whole stored log (chain, log matching, committed prefix).
  void FullCheck();

  // Where this node's observations go: the cluster's checker unless set
  // (the Byzantine simulation gives each honest node a checker of its own,
  // and the hostile node one whose findings nobody reads).
  void set_checker(InvariantChecker* checker) { own_checker_ = checker; }
  InvariantChecker& checker() { return own_checker_ != nullptr ? *own_checker_ : env_->checker(); }

  // Applied entries between local snapshots.
  void set_snapshot_every(uint64_t entries) { snapshot_every_ = entries; }
  // Compaction keeps up to this many entries below the snapshot index.
  void set_compact_lag(uint64_t entries) { compact_lag_ = entries; }

 private:
  bool HandleOneReady();  // false if the node crashed
  void CheckAfterStep();
  void RestoreStateMachine();
  void MaybeSnapshot();
  // A snapshot with data at the applied index, as a runtime writes when the
  // core says a follower needs one (Ready::snapshot_wanted).
  void SaveDataSnapshot();
  void ReadBack(uint64_t from_index, uint64_t commit_before);
  std::optional<LogPosition> StoredPosition(uint64_t index) const;
  void StorageFailure(absl::string_view what, const absl::Status& status);

  const raft::NodeId id_;
  raft::RaftConfig config_;
  NodeEnvironment* env_;
  InvariantChecker* own_checker_ = nullptr;
  std::unique_ptr<raft::MemoryLogStorage> storage_;
  std::unique_ptr<raft::Raft> raft_;
  HashStateMachine state_;
  // The state machine's own durable copy as of the last snapshot held by the
  // state machine (LogStorage::SaveStateMachineSnapshot): it survives a
  // crash, as a flushed store does, and is lost with the storage.
  std::optional<HashStateMachine> durable_state_;
  CrashPoint armed_crash_ = CrashPoint::kNone;
  uint64_t incarnation_ = 0;
  uint64_t term_ = 0;              // current term as of the last hard state
  uint64_t commit_checked_ = 0;    // entries up to here were observed committed
  uint64_t snapshot_checked_ = 0;  // snapshot index last observed committed
  uint64_t snapshot_every_ = 20;
  uint64_t compact_lag_ = 0;
  uint64_t snapshots_installed_ = 0;
  uint64_t snapshots_written_for_followers_ = 0;
  uint64_t snapshots_taken_ = 0;
  uint64_t reads_answered_ = 0;
};

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_SIM_NODE_H_

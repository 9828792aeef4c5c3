// In-memory LogStorage for unit tests and the seeded simulation. It models
// durable storage: whatever Persist() accepted survives a simulated crash
// (the simulation keeps the object and rebuilds the core on top of it).
#ifndef QBOX_NODE_RAFT_MEMORY_LOG_STORAGE_H_
#define QBOX_NODE_RAFT_MEMORY_LOG_STORAGE_H_

#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "node/raft/log_storage.h"

namespace qbox::raft {

class MemoryLogStorage : public LogStorage {
 public:
  MemoryLogStorage() = default;

  absl::StatusOr<InitialState> LoadInitialState() override;
  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  absl::StatusOr<uint64_t> Term(uint64_t index) const override;
  absl::StatusOr<ChainHash> Chain(uint64_t index) const override;
  absl::StatusOr<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi,
                                             uint64_t max_bytes) const override;
  SnapshotMeta Snapshot() const override;
  absl::StatusOr<std::string> ReadSnapshotChunk(uint64_t offset, uint64_t max_len) const override;
  // Exact: the sum of the entries' data sizes.
  absl::StatusOr<uint64_t> ApproximateEntryBytes(uint64_t first, uint64_t last) const override;

  absl::Status Persist(const std::vector<Entry>& entries, const HardState* hard_state) override;
  absl::Status WriteSnapshotChunk(uint64_t offset, std::string_view data) override;
  absl::Status InstallStagedSnapshot(const SnapshotMeta& meta) override;
  absl::Status SaveSnapshot(const SnapshotMeta& meta, std::string_view data) override;
  absl::Status SaveStateMachineSnapshot(const SnapshotMeta& meta) override;
  // Reads the file into memory and removes it (tests only: the data is small).
  absl::Status SaveSnapshotFile(const SnapshotMeta& meta, const std::string& path) override;
  absl::Status Compact(uint64_t up_to) override;

  // Test access: the current snapshot's data.
  std::string SnapshotData() const;

 private:
  // Index of entries_.front() is snapshot_.index + 1 (entries above the
  // snapshot). Entries below FirstIndex() are compacted.
  uint64_t FirstIndexLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint64_t LastIndexLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<const Entry*> EntryAtLocked(uint64_t index) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // SaveSnapshot's checks of meta.index and meta.term.
  absl::Status CheckLocalSnapshotLocked(const SnapshotMeta& meta) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  bool written_ ABSL_GUARDED_BY(mu_) = false;
  HardState hard_state_ ABSL_GUARDED_BY(mu_);
  SnapshotMeta snapshot_ ABSL_GUARDED_BY(mu_);
  std::string snapshot_data_ ABSL_GUARDED_BY(mu_);
  std::string staged_data_ ABSL_GUARDED_BY(mu_);
  uint64_t first_index_ ABSL_GUARDED_BY(mu_) = 1;  // index of entries_.front()
  // Term and chain of the entry at first_index_-1, which compaction dropped
  // (it may lie below the snapshot index when the log keeps a tail).
  uint64_t prev_term_ ABSL_GUARDED_BY(mu_) = 0;
  ChainHash prev_chain_ ABSL_GUARDED_BY(mu_){};
  std::deque<Entry> entries_ ABSL_GUARDED_BY(mu_);
};

// SHA-256 of `data` (snapshot digests).
ChainHash Sha256(std::string_view data);

}  // namespace qbox::raft

#endif  // QBOX_NODE_RAFT_MEMORY_LOG_STORAGE_H_

// The core's view of the log: entries already in LogStorage plus the
// "unstable" suffix that the core appended but the runtime has not yet
// persisted, and a received snapshot that is waiting to be installed.
// Internal to node/raft.
#ifndef QBOX_NODE_RAFT_RAFT_LOG_H_
#define QBOX_NODE_RAFT_RAFT_LOG_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "node/raft/log_storage.h"
#include "node/raft/types.h"

namespace qbox::raft {

class RaftLog {
 public:
  explicit RaftLog(LogStorage* storage);

  // Reads the storage's bounds. Call once before anything else.
  void Init(const SnapshotMeta& snapshot, uint64_t commit);

  uint64_t FirstIndex() const;
  uint64_t LastIndex() const;
  uint64_t LastTerm() const;

  // Term/chain of `index` in [FirstIndex()-1, LastIndex()]; errors outside
  // (compacted or beyond the end) or on a storage failure.
  absl::StatusOr<uint64_t> Term(uint64_t index) const;
  absl::StatusOr<ChainHash> Chain(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;

  // Raft's "at least as up to date" comparison of a candidate's last entry.
  bool IsUpToDate(uint64_t last_index, uint64_t last_term) const;

  // Entries [lo, hi) up to max_bytes (at least one), from storage and the
  // unstable suffix.
  absl::StatusOr<std::vector<Entry>> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  // Appends entries whose first index is in [FirstIndex(), LastIndex()+1],
  // replacing anything from that index on. The caller has checked that
  // nothing at or below the commit index is replaced.
  void Append(std::vector<Entry> entries);

  // The largest index <= `index` whose term is <= `term` (fast back-off).
  uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const;

  uint64_t commit() const { return commit_; }
  void CommitTo(uint64_t index);
  uint64_t applied() const { return applied_; }

  // Committed entries not yet handed out, up to max_bytes, and marks them
  // handed out.
  std::vector<Entry> TakeCommitted(uint64_t max_bytes);
  bool HasCommittedToHandOut() const;

  // Unstable entries for the next Ready, and their persistence.
  const std::vector<Entry>& unstable() const { return unstable_; }
  void StableAll();

  // A received snapshot replaces the log; the runtime installs it.
  void RestoreSnapshot(const SnapshotMeta& meta);
  const std::optional<SnapshotMeta>& pending_snapshot() const { return pending_snapshot_; }
  // The runtime installed the pending snapshot; storage now holds it.
  void SnapshotInstalled() { pending_snapshot_.reset(); }
  bool HasPendingSnapshot() const { return pending_snapshot_.has_value(); }
  const SnapshotMeta& snapshot() const { return snapshot_; }

 private:
  // The snapshot the log sits on: the storage's, or a pending one.
  uint64_t SnapshotIndex() const { return snapshot_.index; }

  LogStorage* storage_;
  SnapshotMeta snapshot_;
  std::optional<SnapshotMeta> pending_snapshot_;
  // Entries at and after unstable_offset_ come from unstable_, not storage.
  uint64_t unstable_offset_ = 1;
  std::vector<Entry> unstable_;
  uint64_t commit_ = 0;
  uint64_t applied_ = 0;
};

}  // namespace qbox::raft

#endif  // QBOX_NODE_RAFT_RAFT_LOG_H_

// How much raft log a node keeps behind its snapshots. A snapshot held by
// the state machine costs only a flush, so the log could be compacted right
// behind it; but a follower that was down for a minute (a pod restart, a
// rolling upgrade) would then need a copy of the whole mailbox store instead
// of the entries it missed. The runtime keeps at least a byte budget of the
// most recently applied entries, and compacts only what lies before them.
//
// Entries applied while the node runs are counted exactly. The log a node
// already holds when it starts is counted from the storage's estimate
// (Seed), so that a restart does not add a whole budget of log on top of
// what was kept before it.
#ifndef QBOX_NODE_SERVER_LOG_RETENTION_H_
#define QBOX_NODE_SERVER_LOG_RETENTION_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/raft/log_storage.h"

namespace qbox::server {

// Thread-safe: the apply thread records, the snapshot thread asks.
class LogRetention {
 public:
  // Seed splits the log it counts into at most this many ranges, one mark
  // each: compaction moves in steps of about 1/32 of what was kept.
  static constexpr uint64_t kSeedRanges = 32;
  // ...and counts this share of each range's estimate. Estimates are rough
  // (log_storage.h) and one counted too high would let compaction take
  // entries a returning follower needs; with 75%, an estimate up to a third
  // too high still keeps the whole budget. The price: right after a restart
  // a node keeps up to about a third more than the budget, until new
  // entries (counted exactly) have replaced the estimated ones.
  static constexpr uint64_t kSeedCountedPercent = 75;

  // Counts the entries [first, last] that `log` held before this object
  // started counting, which no Applied() call will report (at a restart:
  // the log kept behind the snapshot; the core hands out only the entries
  // after it). Asks log.ApproximateEntryBytes for up to kSeedRanges ranges
  // of it and records a mark at the end of each with kSeedCountedPercent of
  // the estimate; a range estimated at 0 counts 0, so it is kept as if it
  // were free. Returns the bytes counted; last < first records nothing.
  //
  // Call before the first Applied(), and with `last` below the indexes it
  // will report. FAILED_PRECONDITION if marks at or after `first` exist;
  // if an estimate fails, its error, and nothing is recorded: that log is
  // then kept until a whole budget of new entries has arrived.
  absl::StatusOr<uint64_t> Seed(const raft::LogStorage& log, uint64_t first, uint64_t last)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Entries up to `index` were applied, carrying `bytes` of entry data
  // (since the previous call). Indexes must ascend.
  void Applied(uint64_t index, uint64_t bytes) ABSL_LOCKS_EXCLUDED(mu_);

  // The highest index that may be compacted while the entries after it
  // still carry at least `keep_bytes`: 0 if fewer bytes were recorded than
  // that. With keep_bytes 0, the last recorded index. Entries count once
  // applied since this object was created (or Reset), or seeded.
  uint64_t CompactableUpTo(uint64_t keep_bytes) const ABSL_LOCKS_EXCLUDED(mu_);

  // The log was compacted up to `index`: forget what lies at or below it.
  void Compacted(uint64_t index) ABSL_LOCKS_EXCLUDED(mu_);

  // The log was replaced (a snapshot was installed): forget everything.
  void Reset() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  // (index, bytes recorded through it since creation), ascending.
  std::deque<std::pair<uint64_t, uint64_t>> marks_ ABSL_GUARDED_BY(mu_);
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_LOG_RETENTION_H_

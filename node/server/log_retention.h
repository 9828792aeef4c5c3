// How much raft log a node keeps behind its snapshots. A snapshot held by
// the state machine costs only a flush, so the log could be compacted right
// behind it; but a follower that was down for a minute (a pod restart, a
// rolling upgrade) would then need a copy of the whole mailbox store instead
// of the entries it missed. The runtime keeps at least a byte budget of the
// most recently applied entries, and compacts only what lies before them.
#ifndef QBOX_NODE_SERVER_LOG_RETENTION_H_
#define QBOX_NODE_SERVER_LOG_RETENTION_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace qbox::server {

// Thread-safe: the apply thread records, the snapshot thread asks.
class LogRetention {
 public:
  // Entries up to `index` were applied, carrying `bytes` of entry data
  // (since the previous call). Indexes must ascend.
  void Applied(uint64_t index, uint64_t bytes) ABSL_LOCKS_EXCLUDED(mu_);

  // The highest index that may be compacted while the entries after it
  // still carry at least `keep_bytes`: 0 if fewer bytes were recorded than
  // that. With keep_bytes 0, the last recorded index. Only entries applied
  // since this object was created (or Reset) count, so after a restart the
  // log from before it is kept until as many new bytes have arrived.
  uint64_t CompactableUpTo(uint64_t keep_bytes) const ABSL_LOCKS_EXCLUDED(mu_);

  // The log was compacted up to `index`: forget what lies at or below it.
  void Compacted(uint64_t index) ABSL_LOCKS_EXCLUDED(mu_);

  // The log was replaced (a snapshot was installed): forget everything.
  void Reset() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  // (index, bytes applied through it since creation), ascending.
  std::deque<std::pair<uint64_t, uint64_t>> marks_ ABSL_GUARDED_BY(mu_);
  uint64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_LOG_RETENTION_H_

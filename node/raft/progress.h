// What a leader knows about each follower's log: how far it matches, what to
// send next, and how much is in flight (pipelining with flow control).
// Internal to node/raft.
#ifndef QBOX_NODE_RAFT_PROGRESS_H_
#define QBOX_NODE_RAFT_PROGRESS_H_

#include <cstdint>
#include <deque>
#include <utility>

#include "node/raft/raft.h"

namespace qbox::raft {

// Unacknowledged AppendEntries to one follower, oldest first, each with the
// last index it carried and its entry bytes.
class Inflights {
 public:
  Inflights(int max_messages, uint64_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  bool Full() const {
    return static_cast<int>(queue_.size()) >= max_messages_ || bytes_ >= max_bytes_;
  }
  void Add(uint64_t last_index, uint64_t bytes) {
    queue_.emplace_back(last_index, bytes);
    bytes_ += bytes;
  }
  // Everything up to `index` was acknowledged.
  void FreeUpTo(uint64_t index) {
    while (!queue_.empty() && queue_.front().first <= index) {
      bytes_ -= queue_.front().second;
      queue_.pop_front();
    }
  }
  void Reset() {
    queue_.clear();
    bytes_ = 0;
  }
  int count() const { return static_cast<int>(queue_.size()); }
  uint64_t bytes() const { return bytes_; }

 private:
  int max_messages_;
  uint64_t max_bytes_;
  std::deque<std::pair<uint64_t, uint64_t>> queue_;
  uint64_t bytes_ = 0;
};

struct Progress {
  using State = PeerProgress::State;

  Progress(uint64_t next_index, int max_messages, uint64_t max_bytes)
      : next(next_index), inflights(max_messages, max_bytes) {}

  // Probe: one AppendEntries at a time until the follower's log position is
  // found. Replicate: stream optimistically, bounded by `inflights`.
  // Snapshot: a snapshot transfer is under way.
  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);

  // Acknowledged up to `index`; false if that is old news.
  bool MaybeUpdate(uint64_t index);

  bool IsPaused() const;

  uint64_t match = 0;
  uint64_t next = 1;
  State state = State::kProbe;
  bool probe_sent = false;
  bool recent_active = false;
  bool recovering = false;
  Inflights inflights;
  // Snapshot transfer: index being sent, bytes the follower confirmed, and
  // bytes sent so far.
  uint64_t snapshot_index = 0;
  uint64_t snapshot_acked = 0;
  uint64_t snapshot_sent = 0;
  // snapshot_acked when the last heartbeat answer came: no change between
  // two answers means chunks were lost, and the window is resent.
  uint64_t snapshot_acked_at_heartbeat = 0;
  // The held snapshot (no data) this follower is waiting behind, once that
  // was logged; 0 otherwise.
  uint64_t snapshot_data_awaited = 0;
};

}  // namespace qbox::raft

#endif  // QBOX_NODE_RAFT_PROGRESS_H_

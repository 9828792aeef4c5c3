// When the runtime takes a state machine snapshot. A snapshot costs the
// whole state (written, hashed, and sent to followers that fell behind), so
// the rule bounds that cost per appended byte instead of per entry count.
#ifndef QBOX_NODE_SERVER_SNAPSHOT_POLICY_H_
#define QBOX_NODE_SERVER_SNAPSHOT_POLICY_H_

#include <cstdint>

namespace qbox::server {

struct SnapshotPolicy {
  uint64_t every_entries = 10000;  // 0 = never
  double log_ratio = 1.0;          // 0 = the entry count alone decides
};

// True when a snapshot is due: at least `every_entries` entries were applied
// since the last snapshot, and the bytes of those entries reach
// `log_ratio` times the last snapshot's size (so the log kept on disk is at
// most about that fraction of the state, and with a ratio of 1 snapshots of
// a large store stay rare).
inline bool SnapshotDue(const SnapshotPolicy& policy, uint64_t entries_since,
                        uint64_t bytes_since, uint64_t last_snapshot_bytes) {
  if (policy.every_entries == 0 || entries_since < policy.every_entries) return false;
  return static_cast<double>(bytes_since) >=
         policy.log_ratio * static_cast<double>(last_snapshot_bytes);
}

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_SNAPSHOT_POLICY_H_

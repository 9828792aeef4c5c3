// NOSPACE: a node whose data volume fills degrades instead of exiting.
//
// The runtime (raft_runtime.h) watches the free space of the volume under
// the data directory. Below the threshold, or when any write to the log or
// the state machine fails for want of space, it raises NOSPACE:
//   - it proposes nothing (writes are answered UNAVAILABLE with the leader
//     hint, so clients go to a node that has room);
//   - a leader first hands leadership to the most caught-up voter, then
//   - the consensus core is frozen: no ticks, no messages, no Readies. A
//     frozen node acknowledges nothing it could not persist and never
//     campaigns; to the others it looks like a paused process, which Raft
//     tolerates. A Ready whose write failed is held and written again,
//     from where it stopped, once space is back;
//   - status, metrics, health (not ready, saying why) and stale reads go on.
// Once the free space is back above the threshold and an eighth more (at
// least 64 MiB), the runtime asks the storage to resume (RocksDB DB::Resume), finishes the
// held Ready, unfreezes the core and clears the alarm: no restart.
#ifndef QBOX_NODE_SERVER_NO_SPACE_H_
#define QBOX_NODE_SERVER_NO_SPACE_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "node/storage/volume_space.h"

namespace qbox::server {

struct NoSpaceOptions {
  // A directory on the volume to watch (the data directory); empty: not
  // watched, and only failed writes raise NOSPACE.
  std::string volume_path;
  // The threshold is the larger of the two. The default bytes leave room
  // for what resuming itself writes: RocksDB flushes its memtables (up to
  // 384 MiB for the raft log) before it takes writes again.
  uint64_t min_free_bytes = uint64_t{512} << 20;
  double min_free_percent = 2.0;
  absl::Duration check_every = absl::Seconds(1);
  // Clears the storage's error state once space is back (DB::Resume on the
  // raft log and on the mailbox store). Empty: nothing to clear.
  std::function<absl::Status()> resume_writes;
  // Whether a peer is known to be in NOSPACE too (peer_space.h), so that a
  // leader does not hand leadership to it. Empty: none is.
  std::function<bool(uint64_t node_id)> peer_has_no_space;
};

// The threshold for a volume of `total_bytes`.
uint64_t RequiredFreeBytes(const NoSpaceOptions& options, uint64_t total_bytes);
// The free space at which a node in NOSPACE resumes: the threshold and an
// eighth more, so that catching up does not put it straight back, and at
// least kMinResumeFreeBytes, room for RocksDB to flush what it holds in
// memory when it resumes (also with no threshold, after a failed write).
constexpr uint64_t kMinResumeFreeBytes = uint64_t{64} << 20;
uint64_t ResumeFreeBytes(const NoSpaceOptions& options, uint64_t total_bytes);

struct NoSpaceStatus {
  bool active = false;
  // Why it was raised: the threshold, or the write that failed.
  std::string cause;
  absl::Time since = absl::InfinitePast();
  uint64_t raised = 0;  // times raised since start
  // The volume as last measured (also while not active); measured is
  // false if it is not watched or could not be measured.
  std::string volume_path;
  bool measured = false;
  storage::VolumeSpace volume;
  uint64_t required_free_bytes = 0;
  uint64_t resume_free_bytes = 0;
};

// One line for logs, status and `qboxctl alarms list`: "NOSPACE: 3.1 MiB
// free of 64 MiB under /data, needs 9.0 MiB (5.9 MiB more) to resume;
// since ...: <cause>; writes refused".
std::string NoSpaceNarrative(const NoSpaceStatus& status);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_NO_SPACE_H_

// How much room the file system under a data directory has left, and
// whether a failed write failed for the want of it.
#ifndef QBOX_NODE_STORAGE_VOLUME_SPACE_H_
#define QBOX_NODE_STORAGE_VOLUME_SPACE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace qbox::storage {

struct VolumeSpace {
  // Bytes this process may still write (statvfs f_bavail: what is left to
  // an unprivileged writer, without the blocks reserved for root).
  uint64_t free_bytes = 0;
  uint64_t total_bytes = 0;
};

// Measures the file system holding `path` (statvfs). UNAVAILABLE naming
// `path` and the system's reason if it cannot be measured.
absl::StatusOr<VolumeSpace> MeasureVolumeSpace(const std::string& path);

// True if `status` reports a write that found no room: ENOSPC ("No space
// left on device") or EDQUOT ("Disk quota exceeded"), as RocksDB, the C
// library and our own storage word them. The status codes alone cannot
// tell: RocksDB's log storage maps no-space to RESOURCE_EXHAUSTED, the
// mailbox store maps every I/O error to UNAVAILABLE, and RESOURCE_EXHAUSTED
// also means a quota or the uncommitted-bytes limit.
bool IsNoSpace(const absl::Status& status);

// "3.2 MiB", "812 KiB", "17 B": sizes in log lines and alarms.
std::string HumanBytes(uint64_t bytes);

}  // namespace qbox::storage

#endif  // QBOX_NODE_STORAGE_VOLUME_SPACE_H_

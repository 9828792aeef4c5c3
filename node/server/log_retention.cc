#include "node/server/log_retention.h"

namespace qbox::server {

void LogRetention::Applied(uint64_t index, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  total_ += bytes;
  if (!marks_.empty() && marks_.back().first >= index) return;  // not ascending: ignore
  marks_.emplace_back(index, total_);
}

uint64_t LogRetention::CompactableUpTo(uint64_t keep_bytes) const {
  absl::MutexLock lock(&mu_);
  uint64_t up_to = 0;
  // Bytes after mark m: total_ - m.second, falling as m moves on.
  for (const auto& [index, through] : marks_) {
    if (total_ - through < keep_bytes) break;
    up_to = index;
  }
  return up_to;
}

void LogRetention::Compacted(uint64_t index) {
  absl::MutexLock lock(&mu_);
  while (!marks_.empty() && marks_.front().first <= index) marks_.pop_front();
}

void LogRetention::Reset() {
  absl::MutexLock lock(&mu_);
  marks_.clear();
}

}  // namespace qbox::server

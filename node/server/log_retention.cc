#include "node/server/log_retention.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"

namespace qbox::server {

absl::StatusOr<uint64_t> LogRetention::Seed(const raft::LogStorage& log, uint64_t first,
                                            uint64_t last) {
  if (first > last) return 0;
  // Ranges of `step` entries, the first `longer` of them one longer, so
  // that they tile [first, last] exactly.
  const uint64_t count = last - first + 1;
  const uint64_t ranges = std::min(count, kSeedRanges);
  const uint64_t step = count / ranges;
  const uint64_t longer = count % ranges;
  // Asked before taking mu_: the storage may take a while, and the result
  // is recorded all at once or not at all.
  std::vector<std::pair<uint64_t, uint64_t>> seeded;
  seeded.reserve(ranges);
  uint64_t counted = 0;
  uint64_t lo = first;
  for (uint64_t r = 0; r < ranges; ++r) {
    const uint64_t hi = lo + step - 1 + (r < longer ? 1 : 0);
    absl::StatusOr<uint64_t> estimate = log.ApproximateEntryBytes(lo, hi);
    if (!estimate.ok()) return estimate.status();
    // Written so that it cannot overflow, however large the estimate.
    const uint64_t bytes =
        *estimate / 100 * kSeedCountedPercent + *estimate % 100 * kSeedCountedPercent / 100;
    seeded.emplace_back(hi, bytes);
    counted += bytes;
    lo = hi + 1;
  }
  absl::MutexLock lock(&mu_);
  if (!marks_.empty() && marks_.back().first >= first) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot count the log from index ", first, " as kept from before: index ",
                     marks_.back().first, " was recorded already"));
  }
  for (const auto& [index, bytes] : seeded) {
    total_ += bytes;
    marks_.emplace_back(index, total_);
  }
  return counted;
}

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

#include "node/server/no_space.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace qbox::server {

uint64_t RequiredFreeBytes(const NoSpaceOptions& options, uint64_t total_bytes) {
  const double share = std::ceil(static_cast<double>(total_bytes) * options.min_free_percent / 100);
  return std::max(options.min_free_bytes, static_cast<uint64_t>(share));
}

uint64_t ResumeFreeBytes(const NoSpaceOptions& options, uint64_t total_bytes) {
  const uint64_t required = RequiredFreeBytes(options, total_bytes);
  return std::max(required + required / 8, kMinResumeFreeBytes);
}

std::string NoSpaceNarrative(const NoSpaceStatus& status) {
  using storage::HumanBytes;
  std::string line = "NOSPACE: ";
  if (status.measured) {
    const uint64_t free = status.volume.free_bytes;
    absl::StrAppend(&line, HumanBytes(free), " free of ", HumanBytes(status.volume.total_bytes),
                    " under ", status.volume_path, ", needs ",
                    HumanBytes(status.resume_free_bytes));
    if (free < status.resume_free_bytes) {
      absl::StrAppend(&line, " (", HumanBytes(status.resume_free_bytes - free), " more)");
    }
    absl::StrAppend(&line, " to resume");
  } else {
    absl::StrAppend(&line, "the data volume is full");
  }
  absl::StrAppend(&line, "; since ",
                  absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", status.since, absl::UTCTimeZone()), ": ",
                  status.cause, "; writes refused, reads stale");
  return line;
}

}  // namespace qbox::server

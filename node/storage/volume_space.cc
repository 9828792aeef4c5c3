#include "node/storage/volume_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace qbox::storage {

absl::StatusOr<VolumeSpace> MeasureVolumeSpace(const std::string& path) {
  struct statvfs fs;
  if (statvfs(path.c_str(), &fs) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot measure the free space under ", path, ": ", std::strerror(errno)));
  }
  VolumeSpace space;
  space.free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  space.total_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  return space;
}

bool IsNoSpace(const absl::Status& status) {
  if (status.ok()) return false;
  // strerror's wording, which RocksDB's NoSpace subcode also uses.
  return absl::StrContains(status.message(), std::strerror(ENOSPC)) ||
         absl::StrContains(status.message(), std::strerror(EDQUOT)) ||
         absl::StrContains(status.message(), "No space left on device");
}

std::string HumanBytes(uint64_t bytes) {
  constexpr uint64_t kKiB = 1024;
  if (bytes < kKiB) return absl::StrCat(bytes, " B");
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes) / kKiB;
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat(value < 10 ? "%.1f %s" : "%.0f %s", value, units[unit]);
}

}  // namespace qbox::storage

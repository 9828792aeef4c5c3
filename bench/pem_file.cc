#include "bench/pem_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace qbox::bench {

absl::StatusOr<std::string> ReadPemFlag(const std::string& flag, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": no file given"));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": error reading '", path, "'"));
  }
  // A directory opens but reads as nothing, so it lands here too.
  if (text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", path, "' is empty or not a regular file"));
  }
  return text.str();
}

}  // namespace qbox::bench

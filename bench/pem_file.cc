#include "bench/pem_file.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "node/guard/credential_directory.h"

namespace qbox::bench {

absl::StatusOr<std::string> ReadPemFlag(const std::string& flag, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": no file given"));
  absl::StatusOr<std::string> text = guard::ReadTextFile(path);  // errors name the path
  if (!text.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read '", path, "': ", text.status().message()));
  }
  // A directory reads as an error or as nothing, so it lands here too.
  if (text->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": '", path, "' is empty or not a regular file"));
  }
  return text;
}

}  // namespace qbox::bench

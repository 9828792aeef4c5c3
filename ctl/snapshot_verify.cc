// `qboxctl snapshot verify FILE`: check a backup offline.
#include <stdlib.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "ctl/snapshot_commands.h"
#include "ctl/snapshot_file.h"
#include "ctl/snapshot_manifest.h"
#include "ctl/snapshot_state.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;

// A private directory under $TMPDIR, removed with everything in it.
class ScratchDirectory {
 public:
  ~ScratchDirectory() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  absl::Status Create() {
    std::string tmpl = (fs::temp_directory_path() / "qboxctl-verify-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return absl::UnavailableError(
          absl::StrCat("cannot create a temporary directory like ", tmpl, " (set TMPDIR?)"));
    }
    path_ = tmpl;
    return absl::OkStatus();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

absl::Status RunSnapshotVerify(const SnapshotVerifyOptions& options) {
  ASSIGN_OR_RETURN(SnapshotFileInfo info, ReadSnapshotFile(options.file));
  ScratchDirectory scratch;
  RETURN_IF_ERROR(scratch.Create());
  const std::string data_path = scratch.path() + "/state-machine.snapshot";
  RETURN_IF_ERROR(ExtractSnapshotData(info, data_path));
  RETURN_IF_ERROR(
      RestoreAndCheckState(data_path, scratch.path() + "/mailbox", info.manifest, options.file));

  if (options.format == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"file", options.file},
                                {"ok", true},
                                {"file_bytes", info.file_bytes},
                                {"manifest", ManifestToJson(info.manifest)}}
                     .dump(2)
              << "\n";
    return absl::OkStatus();
  }
  std::cout << "OK " << options.file << ": " << info.file_bytes
            << " bytes; checksums, manifest and restored state digest agree\n";
  PrintManifest(std::cout, info.manifest);
  return absl::OkStatus();
}

}  // namespace qbox::ctl

// `qboxctl snapshot save FILE`: stream a backup from a node into FILE.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ctl/admin_connection.h"
#include "ctl/snapshot_commands.h"
#include "ctl/snapshot_file.h"
#include "ctl/snapshot_manifest.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
namespace {

// "received 12.5 MiB (3.1 MiB/s)" on one terminal line, redrawn at most
// ten times a second; silent when stderr is not a terminal.
class TransferProgress {
 public:
  explicit TransferProgress(bool enabled) : enabled_(enabled), start_(absl::Now()) {}

  void Update(uint64_t bytes) {
    if (!enabled_) return;
    const absl::Time now = absl::Now();
    if (now - last_drawn_ < absl::Milliseconds(100)) return;
    last_drawn_ = now;
    Draw(bytes, now);
  }
  void Done(uint64_t bytes) {
    if (!enabled_) return;
    Draw(bytes, absl::Now());
    std::fputc('\n', stderr);
  }

 private:
  void Draw(uint64_t bytes, absl::Time now) {
    const double seconds = std::max(absl::ToDoubleSeconds(now - start_), 1e-3);
    std::fprintf(stderr, "\rreceived %s (%s/s)   ", Size(bytes).c_str(),
                 Size(static_cast<uint64_t>(static_cast<double>(bytes) / seconds)).c_str());
    std::fflush(stderr);
  }
  static std::string Size(uint64_t bytes) {
    if (bytes < (1 << 10)) return absl::StrCat(bytes, " B");
    if (bytes < (1 << 20)) return absl::StrFormat("%.1f KiB", static_cast<double>(bytes) / 1024);
    if (bytes < (1ull << 30)) {
      return absl::StrFormat("%.1f MiB", static_cast<double>(bytes) / (1 << 20));
    }
    return absl::StrFormat("%.2f GiB", static_cast<double>(bytes) / (1ull << 30));
  }

  const bool enabled_;
  const absl::Time start_;
  absl::Time last_drawn_ = absl::InfinitePast();
};

}  // namespace

absl::Status RunSnapshotSave(const SnapshotSaveOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<AdminClient> client, OpenAdminClient(connection));
  absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> writer =
      SnapshotFileWriter::Create(options.file, options.force);
  if (!writer.ok())
    return absl::Status(writer.status().code(), absl::StrCat("FILE: ", writer.status().message()));

  TransferProgress progress(options.format == OutputFormat::kTable && ::isatty(STDERR_FILENO));
  absl::StatusOr<v1::SnapshotManifest> manifest = client->SaveSnapshot(
      v1::SaveSnapshotRequest(),
      [&](const std::string& data) {
        RETURN_IF_ERROR((*writer)->AppendData(data));
        progress.Update((*writer)->data_bytes());
        return absl::OkStatus();
      },
      CallOptionsFor(connection));
  if (!manifest.ok()) {
    progress.Done((*writer)->data_bytes());
    return ExplainCallError(manifest.status(), "saving a snapshot", {}, connection);
  }
  progress.Done((*writer)->data_bytes());
  RETURN_IF_ERROR((*writer)->Finish(*manifest));

  if (options.format == OutputFormat::kJson) {
    std::cout
        << nlohmann::json{{"file", options.file}, {"manifest", ManifestToJson(*manifest)}}.dump(2)
        << "\n";
    return absl::OkStatus();
  }
  std::cout << "saved a snapshot at log index " << manifest->log_index() << " ("
            << manifest->data_bytes() << " bytes of data) from " << manifest->node() << " to "
            << options.file << "\n";
  PrintManifest(std::cout, *manifest);
  return absl::OkStatus();
}

}  // namespace qbox::ctl

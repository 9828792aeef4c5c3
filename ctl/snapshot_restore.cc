// `qboxctl snapshot restore FILE --data-dir DIR`: prepare a node data
// directory offline, laid out as qbox-node expects (node_server.cc):
// DIR/mailbox is the state machine and DIR/raft the log. The log gets the
// backup as its snapshot and nothing after it, so the node starts at the
// backup's index with the backup's membership, and its hash chain goes on
// from the backup's chain value (G5).
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "ctl/snapshot_commands.h"
#include "ctl/snapshot_file.h"
#include "ctl/snapshot_state.h"
#include "node/common/status_macros.h"
#include "node/raft/types.h"
#include "node/storage/rocksdb_log_storage.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kChunkBytes = 4 << 20;

// OK if `dir` does not exist or is an empty directory.
absl::Status CheckEmptyTarget(const std::string& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return absl::PermissionDeniedError(
        absl::StrCat("--data-dir: cannot inspect ", dir, ": ", ec.message()));
  }
  if (!fs::exists(st)) return absl::OkStatus();
  if (!fs::is_directory(st)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--data-dir: ", dir, " exists and is not a directory"));
  }
  if (!fs::is_empty(dir, ec) || ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("--data-dir: ", dir,
                     " is not empty; restore only into a new or empty directory "
                     "(nothing was written)"));
  }
  return absl::OkStatus();
}

raft::ChainHash ToChainHash(const std::string& bytes) {
  raft::ChainHash hash{};
  std::memcpy(hash.data(), bytes.data(), std::min(bytes.size(), hash.size()));
  return hash;
}

// The raft half: a log whose snapshot is the backup, committed up to it.
absl::Status PrepareRaftLog(const std::string& raft_dir, const std::string& data_path,
                            const v1::SnapshotManifest& manifest) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::RocksDbLogStorage> log,
                   storage::RocksDbLogStorage::Open(raft_dir));
  std::ifstream in(data_path, std::ios::binary);
  if (!in) return absl::UnavailableError(absl::StrCat("cannot reopen ", data_path));
  std::string chunk(kChunkBytes, '\0');
  uint64_t offset = 0;
  // Always at least one write: offset 0 starts the staging area.
  do {
    in.read(chunk.data(), static_cast<std::streamsize>(kChunkBytes));
    const auto n = static_cast<size_t>(in.gcount());
    RETURN_IF_ERROR(log->WriteSnapshotChunk(offset, std::string_view(chunk.data(), n)));
    offset += n;
  } while (in.gcount() > 0 && offset < manifest.data_bytes());

  raft::SnapshotMeta meta;
  meta.index = manifest.log_index();
  meta.term = manifest.log_term();
  meta.chain = ToChainHash(manifest.chain());
  for (const v1::SnapshotMember& member : manifest.members()) {
    (member.voter() ? meta.conf.voters : meta.conf.learners).push_back(member.id());
  }
  meta.data_size = manifest.data_bytes();
  meta.data_digest = ToChainHash(manifest.data_sha256());
  RETURN_IF_ERROR(log->InstallStagedSnapshot(meta));

  raft::HardState hard_state;
  hard_state.term = manifest.log_term();
  hard_state.commit = manifest.log_index();
  return log->Persist({}, &hard_state);
}

}  // namespace

absl::Status RunSnapshotRestore(const SnapshotRestoreOptions& options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("--data-dir: must not be empty");
  }
  RETURN_IF_ERROR(CheckEmptyTarget(options.data_dir));
  // Structure and checksums before anything is written.
  ASSIGN_OR_RETURN(SnapshotFileInfo info, ReadSnapshotFile(options.file));

  std::error_code ec;
  const bool created = !fs::exists(options.data_dir, ec);
  fs::create_directories(options.data_dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("--data-dir: cannot create ", options.data_dir, ": ", ec.message()));
  }
  const std::string data_path = options.data_dir + "/restore-data.tmp";
  const std::string mailbox_dir = options.data_dir + "/mailbox";
  const std::string raft_dir = options.data_dir + "/raft";
  absl::Status done = ExtractSnapshotData(info, data_path);
  if (done.ok()) done = RestoreAndCheckState(data_path, mailbox_dir, info.manifest, options.file);
  if (done.ok()) done = PrepareRaftLog(raft_dir, data_path, info.manifest);
  fs::remove(data_path, ec);
  if (!done.ok()) {
    // Leave DIR as it was found: empty, or absent.
    fs::remove_all(mailbox_dir, ec);
    fs::remove_all(raft_dir, ec);
    if (created) fs::remove(options.data_dir, ec);
    return done;
  }
  std::cout << "restored " << options.file << " (log index " << info.manifest.log_index()
            << ", term " << info.manifest.log_term() << ", cluster " << info.manifest.cluster()
            << ") into " << options.data_dir << "; start the node with --data-dir "
            << options.data_dir << "\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl

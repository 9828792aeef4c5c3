// The backup file `qboxctl snapshot save` writes and `snapshot verify` /
// `snapshot restore` read. All integers are big-endian:
//
//   offset     size  field
//   0          8     magic "QBOXSNAP"
//   8          4     format version (1)
//   12         4     kind "BKUP" (a bare state machine snapshot starts with
//                    the same magic; this tells the two apart)
//   16         8     D = length of the data
//   24         D     data: the node's state machine snapshot file, byte for
//                    byte (node/mailbox/snapshot.cc; ends in its own SHA-256)
//   24+D       4     M = length of the manifest
//   28+D       M     manifest: UTF-8 JSON (snapshot_manifest.h)
//   28+D+M     32    SHA-256 of every byte before it
//
// The file is exactly 60+D+M bytes. ctl/README.md documents it for
// operators.
#ifndef QBOX_CTL_SNAPSHOT_FILE_H_
#define QBOX_CTL_SNAPSHOT_FILE_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ctl/snapshot_sha256.h"
#include "qbox/v1/admin.pb.h"

namespace qbox::ctl {

inline constexpr char kSnapshotMagic[] = "QBOXSNAP";
inline constexpr uint32_t kSnapshotFormatVersion = 1;
inline constexpr char kSnapshotKind[] = "BKUP";
inline constexpr uint64_t kSnapshotHeaderBytes = 24;
inline constexpr uint64_t kSnapshotDataOffset = kSnapshotHeaderBytes;

// Writes a backup file: to PATH.tmp first, then fsync, rename to PATH and
// fsync of the directory, so PATH is either absent or complete.
class SnapshotFileWriter {
 public:
  // Creates PATH.tmp (replacing a stale one) and writes the header.
  // ALREADY_EXISTS if PATH exists and `overwrite` is false; errors naming
  // the path if the file cannot be created. Nothing is created on error.
  static absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> Create(const std::string& path,
                                                                    bool overwrite);
  // Removes PATH.tmp unless Finish succeeded.
  ~SnapshotFileWriter();
  SnapshotFileWriter(const SnapshotFileWriter&) = delete;
  SnapshotFileWriter& operator=(const SnapshotFileWriter&) = delete;

  // Appends the next piece of the data.
  absl::Status AppendData(const std::string& data);

  // Checks the data received against `manifest` (size and SHA-256:
  // DATA_LOSS otherwise, and PATH is not created), writes the manifest and
  // the trailing checksum, and moves the file into place.
  absl::Status Finish(const v1::SnapshotManifest& manifest);

  uint64_t data_bytes() const { return data_bytes_; }

 private:
  SnapshotFileWriter(std::string path, std::FILE* file) : path_(std::move(path)), file_(file) {}
  std::string TempPath() const { return path_ + ".tmp"; }
  absl::Status WriteAll(const std::string& bytes);

  std::string path_;
  std::FILE* file_;
  uint64_t data_bytes_ = 0;
  Sha256Stream data_hash_;
  bool finished_ = false;
};

// A backup file whose structure and checksums were found sound.
struct SnapshotFileInfo {
  std::string path;
  uint64_t file_bytes = 0;
  uint64_t data_offset = kSnapshotDataOffset;
  uint64_t data_bytes = 0;
  v1::SnapshotManifest manifest;
};

// Checks, in this order, stopping at the first problem: the magic, the
// version, the kind, that D and M fit the file's size exactly, the
// trailing SHA-256, that the manifest parses, and that D and the data's
// SHA-256 equal the manifest's. Reads the whole file, changes nothing.
// Errors: NOT_FOUND / PERMISSION_DENIED naming the file if it cannot be
// opened; DATA_LOSS "FILE: byte N: ..." naming the offset of the field at
// fault otherwise. Does not look inside the data (see snapshot_state.h).
absl::StatusOr<SnapshotFileInfo> ReadSnapshotFile(const std::string& path);

// Copies the data of a checked file to `out_path` (created or replaced),
// rechecking its SHA-256 on the way (DATA_LOSS if the file changed since).
absl::Status ExtractSnapshotData(const SnapshotFileInfo& info, const std::string& out_path);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_SNAPSHOT_FILE_H_

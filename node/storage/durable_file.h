// Small POSIX file helpers for the snapshot files next to the RocksDB log.
// "Durable" means fsync'd, and for a new or renamed name, its directory too:
// without the directory fsync a crash can lose the name even though the
// bytes were synced. Every error names the path and carries the errno text.
#ifndef QBOX_NODE_STORAGE_DURABLE_FILE_H_
#define QBOX_NODE_STORAGE_DURABLE_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/raft/types.h"

namespace qbox::storage {

// Writes `data` to `path` + ".tmp", fsyncs it, renames it over `path` and
// fsyncs the directory. A crash leaves either the old file or the new one.
absl::Status WriteFileDurably(const std::string& path, std::string_view data);

// Writes `data` at `offset` of `path` and fdatasyncs it. Offset 0 creates or
// truncates the file (and syncs the directory); any other offset must equal
// the file's current size (INVALID_ARGUMENT otherwise, nothing written:
// chunks arrive in order, a hole would be silent corruption). A write that
// fails (a full disk) is taken back: the file ends at `offset` again, so the
// same chunk can be written again later.
absl::Status WriteChunkDurably(const std::string& path, uint64_t offset, std::string_view data);

// Renames `from` to `to` (replacing it) and fsyncs the directory of `to`.
absl::Status RenameDurably(const std::string& from, const std::string& to);

// fsyncs a directory so that names created or removed in it survive a crash.
absl::Status SyncDirectory(const std::string& dir);

// NOT_FOUND if the file does not exist.
absl::StatusOr<uint64_t> FileSize(const std::string& path);

// SHA-256 of the whole file.
absl::StatusOr<raft::ChainHash> FileSha256(const std::string& path);

// Up to `max_len` bytes from `offset`; fewer at the end of the file.
absl::StatusOr<std::string> ReadFileRange(const std::string& path, uint64_t offset,
                                          uint64_t max_len);

// Removes `path`; OK if it does not exist.
absl::Status RemoveFileIfExists(const std::string& path);

}  // namespace qbox::storage

#endif  // QBOX_NODE_STORAGE_DURABLE_FILE_H_

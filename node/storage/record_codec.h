// The on-disk encoding of the Raft log's RocksDB records.
//
// Every value is framed as
//   [crc32 of everything after it, 4 bytes big-endian][format version, 1 byte][payload]
// so that a torn or bit-flipped record is detected by the record itself, not
// only by RocksDB's block and WAL checksums (which a bug in our own code, a
// raw write, or a restored backup of the wrong file would bypass).
//
// Log keys are the entry index as 8 bytes big-endian, so RocksDB's default
// bytewise ordering is index order and range deletes are index ranges.
//
// Decoders take `location` (the data directory) and return DATA_LOSS with a
// message naming the record, the location and why, e.g.
// "raft log record at index 42 in /var/lib/qbox/raft is corrupt: checksum mismatch".
#ifndef QBOX_NODE_STORAGE_RECORD_CODEC_H_
#define QBOX_NODE_STORAGE_RECORD_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "node/raft/types.h"

namespace qbox::storage {

// The key of the log entry at `index`: 8 bytes big-endian.
std::string LogKey(uint64_t index);

// Parses a log key; DATA_LOSS if it is not 8 bytes.
absl::StatusOr<uint64_t> ParseLogKey(std::string_view key, const std::string& location);

std::string EncodeEntry(const raft::Entry& entry);

// Decodes the value stored under LogKey(expected_index). DATA_LOSS if the
// checksum does not match, the record is truncated, the format is unknown, or
// the index stored inside the record differs from `expected_index` (a record
// written under the wrong key is as bad as a corrupt one).
absl::StatusOr<raft::Entry> DecodeEntry(uint64_t expected_index, std::string_view value,
                                        const std::string& location);

std::string EncodeHardState(const raft::HardState& state);
absl::StatusOr<raft::HardState> DecodeHardState(std::string_view value,
                                                const std::string& location);

std::string EncodeSnapshotMeta(const raft::SnapshotMeta& meta);
absl::StatusOr<raft::SnapshotMeta> DecodeSnapshotMeta(std::string_view value,
                                                      const std::string& location);

// The entry just before the first one kept in the log (index 0 if nothing was
// ever compacted). After Compact(i) it is entry i, after a snapshot install it
// is the snapshot's last entry; Term()/Chain() answer for it.
struct LogStart {
  uint64_t index = 0;
  uint64_t term = 0;
  raft::ChainHash chain{};
};

std::string EncodeLogStart(const LogStart& start);
absl::StatusOr<LogStart> DecodeLogStart(std::string_view value, const std::string& location);

}  // namespace qbox::storage

#endif  // QBOX_NODE_STORAGE_RECORD_CODEC_H_

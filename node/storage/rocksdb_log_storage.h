// The node's durable Raft log: qbox::raft::LogStorage on RocksDB.
//
// Layout of a data directory:
//   <dir>/db/                    RocksDB, column families
//       "raft_log"   key = index (8 bytes big-endian), value = checksummed entry
//       "raft_state" "hard_state", "snapshot_meta", "log_start" records
//   <dir>/snapshot-<index>.data  the current snapshot's data (none while
//                                the snapshot is held by the state machine)
//   <dir>/snapshot.staging       an incoming snapshot being received
//
// Durability: every write call (Persist, Compact, SaveSnapshot,
// InstallStagedSnapshot) is one RocksDB WriteBatch written with sync = true,
// so the batch is atomic and durable when the call returns OK. Persist of N
// entries costs one fsync, not N (group commit). Snapshot data files are
// written to a temporary name, fsync'd, renamed and the directory fsync'd
// before the metadata that points at them is committed.
//
// Integrity: every record carries a CRC32 over its bytes (record_codec.h);
// RocksDB's WAL is opened in a mode that refuses to start on a corrupt
// record rather than silently dropping the rest of the log. A corrupt or
// missing record is reported as DATA_LOSS naming the data directory and the
// index; nothing is skipped.
//
// Thread-safety: all methods may be called concurrently. Writers are
// serialised among themselves; readers run alongside appends of later
// entries and only wait for writes that remove entries (suffix replacement,
// compaction, snapshot install).
#ifndef QBOX_NODE_STORAGE_ROCKSDB_LOG_STORAGE_H_
#define QBOX_NODE_STORAGE_ROCKSDB_LOG_STORAGE_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/raft/log_storage.h"
#include "node/storage/record_codec.h"
#include "rocksdb/db.h"

namespace qbox::storage {

class RocksDbLogStorage : public raft::LogStorage {
 public:
  // Column family and record names, public so tests and tools can inspect a
  // data directory with a raw RocksDB handle.
  static constexpr char kLogColumnFamily[] = "raft_log";
  static constexpr char kStateColumnFamily[] = "raft_state";
  static constexpr char kHardStateKey[] = "hard_state";
  static constexpr char kSnapshotMetaKey[] = "snapshot_meta";
  static constexpr char kLogStartKey[] = "log_start";

  // The RocksDB directory inside a data directory.
  static std::string DbPath(const std::string& data_dir);

  // Options the log is opened with (column families get their own; see the
  // .cc). Exposed so that a raw handle in a test opens the DB the same way.
  static rocksdb::DBOptions MakeDbOptions();
  static rocksdb::ColumnFamilyOptions MakeLogColumnFamilyOptions();

  // Opens (creating if needed) the log in `data_dir`, which is created if it
  // does not exist. Reads the hard state, snapshot metadata and log bounds
  // and checks that they agree; returns DATA_LOSS naming `data_dir` if a
  // record is corrupt or the snapshot file is missing or of the wrong size,
  // and the RocksDB error (also naming `data_dir`) if the DB cannot be
  // opened. Only one instance may have a directory open at a time.
  static absl::StatusOr<std::unique_ptr<RocksDbLogStorage>> Open(const std::string& data_dir);

  ~RocksDbLogStorage() override;
  RocksDbLogStorage(const RocksDbLogStorage&) = delete;
  RocksDbLogStorage& operator=(const RocksDbLogStorage&) = delete;

  // Reads and verifies every record (a full scan of the log: each entry's
  // checksum, its index against its key, and that no index is missing), so
  // that a damaged disk is found at start-up, not when a follower asks for
  // an old entry. Returns DATA_LOSS naming the directory and index.
  absl::StatusOr<raft::InitialState> LoadInitialState() override;

  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  absl::StatusOr<uint64_t> Term(uint64_t index) const override;
  absl::StatusOr<raft::ChainHash> Chain(uint64_t index) const override;
  absl::StatusOr<std::vector<raft::Entry>> Entries(uint64_t lo, uint64_t hi,
                                                   uint64_t max_bytes) const override;
  raft::SnapshotMeta Snapshot() const override;
  // FAILED_PRECONDITION if there is no snapshot or it has no data (held by
  // the state machine); OUT_OF_RANGE if `offset` is beyond its size.
  absl::StatusOr<std::string> ReadSnapshotChunk(uint64_t offset, uint64_t max_len) const override;
  // RocksDB's estimate of the bytes the range's records take in the log's
  // SST files (DB::GetApproximateSizes), less kStoredBytesPerEntry for each
  // entry's key and framing: within a few percent for ranges of many data
  // blocks (measured 1-4% high for entries of 50 bytes to 70 KB, 11% for
  // 20-byte ones). Rougher for small ranges: one within a data block may
  // answer 0, its bytes counted toward a neighbouring range. Entries
  // replaced by a new leader may count twice until RocksDB compacts the old
  // versions away.
  //
  // Entries still in memtables count as nothing, so a fresh append answers
  // low, never high: RocksDB's memtable figures are sampled and were
  // measured at up to twice the truth for part of a memtable, which would
  // let a caller delete log it meant to keep. Opening the log flushes what
  // the WAL replayed (MakeDbOptions), so right after Open the whole log is
  // counted.
  absl::StatusOr<uint64_t> ApproximateEntryBytes(uint64_t first, uint64_t last) const override;

  // INVALID_ARGUMENT (naming the offending field, nothing written) if the
  // entries are not contiguous, leave a gap after LastIndex()+1 or start at
  // or below the snapshot index.
  absl::Status Persist(const std::vector<raft::Entry>& entries,
                       const raft::HardState* hard_state) override;
  absl::Status WriteSnapshotChunk(uint64_t offset, std::string_view data) override;
  // FAILED_PRECONDITION if nothing is staged or meta.index is below the
  // current snapshot; DATA_LOSS naming the staging file if its size or
  // SHA-256 differ from meta.
  absl::Status InstallStagedSnapshot(const raft::SnapshotMeta& meta) override;
  // INVALID_ARGUMENT if meta.index is outside [FirstIndex()-1, LastIndex()],
  // below the current snapshot, meta.term differs from the log's term there,
  // or `data` does not match meta.data_size / meta.data_digest.
  absl::Status SaveSnapshot(const raft::SnapshotMeta& meta, std::string_view data) override;
  // Same checks as SaveSnapshot; NOT_FOUND / UNAVAILABLE naming `path` if it
  // cannot be read or moved (another file system: the name is in the error).
  absl::Status SaveSnapshotFile(const raft::SnapshotMeta& meta, const std::string& path) override;
  // Takes `file_sha256` as the file's digest without reading the file.
  absl::Status SaveSnapshotFileHashed(const raft::SnapshotMeta& meta, const std::string& path,
                                      const raft::ChainHash& file_sha256) override;
  // Same checks as SaveSnapshot; meta's data fields are ignored (stored as
  // 0). The old data file is removed after the metadata is committed.
  absl::Status SaveStateMachineSnapshot(const raft::SnapshotMeta& meta) override;
  // FAILED_PRECONDITION if up_to exceeds the snapshot index. Compacting
  // below FirstIndex() is a no-op.
  absl::Status Compact(uint64_t up_to) override;

  const std::string& data_dir() const { return data_dir_; }

  // After a write failed for want of space (or another background error),
  // RocksDB refuses every write until it is told to go on: DB::Resume()
  // flushes what it holds in memory to a new WAL and clears the error. OK
  // if there was no error; the error, naming the directory, if the space
  // is still missing (call again later).
  absl::Status ResumeWrites();

  // Path of the snapshot data file for a snapshot at `index`.
  static std::string SnapshotDataPath(const std::string& data_dir, uint64_t index);
  static std::string StagingPath(const std::string& data_dir);

 private:
  // Term and chain of one entry: what Term()/Chain() need, kept for the last
  // kTailCacheEntries entries so the core's hot reads avoid RocksDB.
  struct TermAndChain {
    uint64_t term;
    raft::ChainHash chain;
  };
  static constexpr size_t kTailCacheEntries = 8192;
  // What one entry's record costs in an SST file beyond its data, at
  // least: the framing EncodeEntry adds (54 bytes), the key and RocksDB's
  // sequence number after prefix compression (10) and the entry's length
  // fields in its block (3 or more); measured at 67-110 bytes an entry.
  // Taking the least means never subtracting more than the entries' own
  // cost: the estimate errs high by the rest (the 1-11% above), which a
  // caller allows for (LogRetention counts three quarters of it).
  static constexpr uint64_t kStoredBytesPerEntry = 66;

  RocksDbLogStorage(std::string data_dir, std::unique_ptr<rocksdb::DB> db,
                    std::vector<rocksdb::ColumnFamilyHandle*> handles);

  // Reads the state records and log bounds into the in-memory caches.
  absl::Status LoadCachedState();

  // Reads and decodes one entry from RocksDB; DATA_LOSS if it is missing or
  // corrupt.
  absl::StatusOr<raft::Entry> ReadEntry(uint64_t index) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::StatusOr<TermAndChain> LookupTermAndChain(uint64_t index) const;

  // Writes `batch` synced. `what` describes the write for the error message.
  absl::Status WriteSynced(rocksdb::WriteBatch* batch, const std::string& what);

  // Adds data_dir_ to an error that lacks it, and maps RocksDB statuses.
  absl::Status InDir(const absl::Status& status) const;
  absl::Status FromRocks(const rocksdb::Status& status, const std::string& what) const;

  // Updates the in-memory state after a Persist batch is durable.
  void RecordPersisted(const std::vector<raft::Entry>& entries, const raft::HardState* hard_state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Drops cache entries above `last` / at or below `first_kept - 1`.
  void TrimTailCacheAbove(uint64_t last) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TrimTailCacheBelow(uint64_t first_kept) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Commits `stored` as the current snapshot's metadata (synced), then
  // removes the data file of `old` unless `stored` took its name.
  absl::Status CommitSnapshotMeta(const raft::SnapshotMeta& stored, const raft::SnapshotMeta& old,
                                  const std::string& what) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // Removes snapshot data files other than the current one (left behind by a
  // crash between writing a new snapshot and committing its metadata).
  void RemoveStaleSnapshotFiles(uint64_t keep_index) const;
  // Whether a local snapshot at meta.index may replace the current one
  // (SaveSnapshot's checks); INVALID_ARGUMENT / FAILED_PRECONDITION if not.
  absl::Status CheckLocalSnapshot(const raft::SnapshotMeta& meta) const;

  const std::string data_dir_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* log_cf_;
  rocksdb::ColumnFamilyHandle* state_cf_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;

  // Serialises writers so that validation and the write it validates are not
  // interleaved with another write. Acquired before mu_.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  mutable absl::Mutex mu_;
  bool ever_written_ ABSL_GUARDED_BY(mu_) = false;
  raft::HardState hard_state_ ABSL_GUARDED_BY(mu_);
  raft::SnapshotMeta snapshot_ ABSL_GUARDED_BY(mu_);
  LogStart log_start_ ABSL_GUARDED_BY(mu_);
  uint64_t last_index_ ABSL_GUARDED_BY(mu_) = 0;
  // Entries [tail_first_, last_index_]; empty when tail_.empty().
  std::deque<TermAndChain> tail_ ABSL_GUARDED_BY(mu_);
  uint64_t tail_first_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace qbox::storage

#endif  // QBOX_NODE_STORAGE_ROCKSDB_LOG_STORAGE_H_

// Opening, reading and appending. Snapshots and compaction are in
// rocksdb_log_storage_snapshot.cc.
#include "node/storage/rocksdb_log_storage.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/storage/durable_file.h"
#include "rocksdb/iterator.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace qbox::storage {
namespace {

constexpr uint64_t kMiB = 1 << 20;

}  // namespace

std::string RocksDbLogStorage::DbPath(const std::string& data_dir) { return data_dir + "/db"; }

std::string RocksDbLogStorage::SnapshotDataPath(const std::string& data_dir, uint64_t index) {
  return absl::StrCat(data_dir, "/snapshot-", index, ".data");
}

std::string RocksDbLogStorage::StagingPath(const std::string& data_dir) {
  return data_dir + "/snapshot.staging";
}

rocksdb::DBOptions RocksDbLogStorage::MakeDbOptions() {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.paranoid_checks = true;
  // The default (kPointInTimeRecovery) stops replaying the WAL at the first
  // bad record and opens anyway: synced, acknowledged entries after it would
  // vanish without a word. This mode still accepts an incomplete record at
  // the very end (a write torn by a crash, never acknowledged because its
  // fsync did not return) but refuses to open on any other corruption.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.max_background_jobs = 2;
  // The state column family is tiny and rarely flushed; without a cap the
  // WAL files it pins would pile up.
  options.max_total_wal_size = 256 * kMiB;
  // Sync the WAL in the background every MiB so that a large batch's final
  // fsync has less to flush.
  options.wal_bytes_per_sync = kMiB;
  options.keep_log_file_num = 4;
  // RocksDB's default, stated because ApproximateEntryBytes relies on it:
  // what the WAL replays at open is flushed to SST files, which it counts,
  // instead of staying in memtables, which it does not (see the header).
  options.avoid_flush_during_recovery = false;
  return options;
}

rocksdb::ColumnFamilyOptions RocksDbLogStorage::MakeLogColumnFamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  // Large memtables absorb bursts: the synced WAL write is the only write on
  // the append path, and the flush to SST files runs in the background.
  // Sustained appends still write every byte twice (WAL, then flush); see
  // bench/RESULTS.md (blob files were measured there and did not help).
  // Entries die young (log compaction), so a flush waits for three full
  // memtables (192 MiB) and flushes them merged: entries that log compaction
  // range-deleted meanwhile are dropped instead of written to an SST file
  // (bench, 64 KiB entries with compaction: 1.4-1.65x bytes written per byte
  // appended instead of 1.9-2.3x, ~13% faster). Six buffers (up to 384 MiB)
  // leave room to keep appending while a merged flush runs; with fewer,
  // RocksDB slows writes as soon as one starts. Compressing entries would
  // spend CPU on the append path for little.
  options.write_buffer_size = 64 * kMiB;
  options.max_write_buffer_number = 6;
  options.min_write_buffer_number_to_merge = 3;
  options.compression = rocksdb::kNoCompression;
  // The distribution's RocksDB is built without SSE4.2, so its CRC32C runs
  // in software and showed up at ~18% of append CPU in a profile. XXH3 is
  // fast without special instructions; the WAL keeps CRC32C (fixed format).
  rocksdb::BlockBasedTableOptions table;
  table.checksum = rocksdb::kXXH3;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

RocksDbLogStorage::RocksDbLogStorage(std::string data_dir, std::unique_ptr<rocksdb::DB> db,
                                     std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : data_dir_(std::move(data_dir)),
      db_(std::move(db)),
      log_cf_(handles[1]),
      state_cf_(handles[2]),
      handles_(std::move(handles)) {}

RocksDbLogStorage::~RocksDbLogStorage() {
  for (rocksdb::ColumnFamilyHandle* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  db_->Close().PermitUncheckedError();
}

absl::StatusOr<std::unique_ptr<RocksDbLogStorage>> RocksDbLogStorage::Open(
    const std::string& data_dir) {
  if (data_dir.empty()) return absl::InvalidArgumentError("data_dir is empty");
  std::error_code error;
  std::filesystem::create_directories(data_dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data directory ", data_dir, ": ", error.message()));
  }

  rocksdb::ColumnFamilyOptions state_options;
  state_options.write_buffer_size = 4 * kMiB;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kLogColumnFamily, MakeLogColumnFamilyOptions()},
      {kStateColumnFamily, state_options},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status opened =
      rocksdb::DB::Open(MakeDbOptions(), DbPath(data_dir), families, &handles, &raw_db);
  if (!opened.ok()) {
    const std::string message =
        absl::StrCat("cannot open the raft log in ", data_dir, ": ", opened.ToString());
    if (opened.IsCorruption()) return absl::DataLossError(message);
    return absl::UnavailableError(message);
  }
  std::unique_ptr<RocksDbLogStorage> storage(
      new RocksDbLogStorage(data_dir, std::unique_ptr<rocksdb::DB>(raw_db), std::move(handles)));
  RETURN_IF_ERROR(storage->LoadCachedState());
  return storage;
}

absl::Status RocksDbLogStorage::FromRocks(const rocksdb::Status& status,
                                          const std::string& what) const {
  const std::string message = absl::StrCat(what, " in ", data_dir_, ": ", status.ToString());
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsNoSpace()) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

absl::Status RocksDbLogStorage::ResumeWrites() {
  rocksdb::Status resumed = db_->Resume();
  if (resumed.ok()) return absl::OkStatus();
  return FromRocks(resumed, "resuming writes to the raft log");
}

absl::Status RocksDbLogStorage::LoadCachedState() {
  absl::MutexLock lock(&mu_);
  bool found_any = false;
  std::string value;

  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), state_cf_, kHardStateKey, &value);
  if (got.ok()) {
    ASSIGN_OR_RETURN(hard_state_, DecodeHardState(value, data_dir_));
    found_any = true;
  } else if (!got.IsNotFound()) {
    return FromRocks(got, "reading the hard state");
  }

  got = db_->Get(rocksdb::ReadOptions(), state_cf_, kSnapshotMetaKey, &value);
  if (got.ok()) {
    ASSIGN_OR_RETURN(snapshot_, DecodeSnapshotMeta(value, data_dir_));
    found_any = true;
  } else if (!got.IsNotFound()) {
    return FromRocks(got, "reading the snapshot metadata");
  }

  got = db_->Get(rocksdb::ReadOptions(), state_cf_, kLogStartKey, &value);
  if (got.ok()) {
    ASSIGN_OR_RETURN(log_start_, DecodeLogStart(value, data_dir_));
    found_any = true;
  } else if (!got.IsNotFound()) {
    return FromRocks(got, "reading the log start");
  }
  if (log_start_.index > snapshot_.index) {
    return absl::DataLossError(absl::StrCat("raft log in ", data_dir_, " was compacted to index ",
                                            log_start_.index, " beyond its snapshot at index ",
                                            snapshot_.index));
  }

  // The log's bounds are its first and last keys; the first must be right
  // after the compaction point, or entries went missing.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), log_cf_));
  it->SeekToFirst();
  if (it->Valid()) {
    ASSIGN_OR_RETURN(uint64_t first, ParseLogKey(it->key().ToStringView(), data_dir_));
    if (first != log_start_.index + 1) {
      return absl::DataLossError(absl::StrCat("raft log in ", data_dir_, " starts at index ", first,
                                              " but should start at index ", log_start_.index + 1));
    }
    it->SeekToLast();
    if (!it->Valid()) return FromRocks(it->status(), "finding the last raft log entry");
    ASSIGN_OR_RETURN(last_index_, ParseLogKey(it->key().ToStringView(), data_dir_));
    found_any = true;
  } else if (!it->status().ok()) {
    return FromRocks(it->status(), "finding the first raft log entry");
  } else {
    last_index_ = log_start_.index;
  }
  tail_.clear();
  tail_first_ = last_index_ + 1;
  ever_written_ = found_any;

  if (snapshot_.index > 0 && !snapshot_.held_by_state_machine) {
    const std::string path = SnapshotDataPath(data_dir_, snapshot_.index);
    absl::StatusOr<uint64_t> size = FileSize(path);
    if (!size.ok() || *size != snapshot_.data_size) {
      return absl::DataLossError(absl::StrCat(
          "snapshot data file ", path, " for the snapshot at index ", snapshot_.index,
          (size.ok() ? absl::StrCat(" has ", *size, " bytes, expected ", snapshot_.data_size)
                     : absl::StrCat(" is unreadable: ", size.status().message()))));
    }
  }
  // A held snapshot has no file: every snapshot file is stale then.
  RemoveStaleSnapshotFiles(snapshot_.held_by_state_machine ? 0 : snapshot_.index);
  return absl::OkStatus();
}

void RocksDbLogStorage::RemoveStaleSnapshotFiles(uint64_t keep_index) const {
  const std::string keep = SnapshotDataPath(data_dir_, keep_index);
  std::error_code error;
  for (const auto& file : std::filesystem::directory_iterator(data_dir_, error)) {
    const std::string name = file.path().filename().string();
    if (name.rfind("snapshot-", 0) == 0 && file.path().string() != keep) {
      // Best effort: a file left now is retried at the next start and
      // wastes space, nothing more.
      RemoveFileIfExists(file.path().string()).IgnoreError();
    }
  }
}

absl::StatusOr<raft::InitialState> RocksDbLogStorage::LoadInitialState() {
  absl::ReaderMutexLock lock(&mu_);
  rocksdb::ReadOptions options;
  options.verify_checksums = true;
  // A scan of the whole log is read once; keep it out of the block cache.
  options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, log_cf_));
  uint64_t expected = log_start_.index + 1;
  for (it->Seek(LogKey(expected)); it->Valid(); it->Next(), ++expected) {
    ASSIGN_OR_RETURN(uint64_t index, ParseLogKey(it->key().ToStringView(), data_dir_));
    if (index != expected) {
      return absl::DataLossError(absl::StrCat("raft log record at index ", expected, " in ",
                                              data_dir_, " is missing (next is ", index, ")"));
    }
    RETURN_IF_ERROR(DecodeEntry(index, it->value().ToStringView(), data_dir_).status());
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning the raft log");
  if (expected != last_index_ + 1) {
    return absl::DataLossError(absl::StrCat("raft log in ", data_dir_, " ends at index ",
                                            expected - 1, ", expected ", last_index_));
  }
  raft::InitialState state;
  state.hard_state = hard_state_;
  state.snapshot = snapshot_;
  state.empty = !ever_written_;
  return state;
}

uint64_t RocksDbLogStorage::FirstIndex() const {
  absl::ReaderMutexLock lock(&mu_);
  return log_start_.index + 1;
}

uint64_t RocksDbLogStorage::LastIndex() const {
  absl::ReaderMutexLock lock(&mu_);
  return last_index_;
}

raft::SnapshotMeta RocksDbLogStorage::Snapshot() const {
  absl::ReaderMutexLock lock(&mu_);
  return snapshot_;
}

absl::StatusOr<raft::Entry> RocksDbLogStorage::ReadEntry(uint64_t index) const {
  std::string value;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), log_cf_, LogKey(index), &value);
  if (got.IsNotFound()) {
    return absl::DataLossError(
        absl::StrCat("raft log record at index ", index, " in ", data_dir_, " is missing"));
  }
  if (!got.ok()) return FromRocks(got, absl::StrCat("reading raft log index ", index));
  return DecodeEntry(index, value, data_dir_);
}

absl::StatusOr<RocksDbLogStorage::TermAndChain> RocksDbLogStorage::LookupTermAndChain(
    uint64_t index) const {
  absl::ReaderMutexLock lock(&mu_);
  if (index == log_start_.index) return TermAndChain{log_start_.term, log_start_.chain};
  if (index < log_start_.index || index > last_index_) {
    return absl::OutOfRangeError(absl::StrCat("index ", index, " is outside the log [",
                                              log_start_.index, ", ", last_index_,
                                              "] (including the compaction point)"));
  }
  if (!tail_.empty() && index >= tail_first_) return tail_[index - tail_first_];
  ASSIGN_OR_RETURN(raft::Entry entry, ReadEntry(index));
  return TermAndChain{entry.term, entry.chain};
}

absl::StatusOr<uint64_t> RocksDbLogStorage::Term(uint64_t index) const {
  ASSIGN_OR_RETURN(TermAndChain found, LookupTermAndChain(index));
  return found.term;
}

absl::StatusOr<raft::ChainHash> RocksDbLogStorage::Chain(uint64_t index) const {
  ASSIGN_OR_RETURN(TermAndChain found, LookupTermAndChain(index));
  return found.chain;
}

absl::StatusOr<std::vector<raft::Entry>> RocksDbLogStorage::Entries(uint64_t lo, uint64_t hi,
                                                                    uint64_t max_bytes) const {
  absl::ReaderMutexLock lock(&mu_);
  const uint64_t first = log_start_.index + 1;
  if (lo < first || hi > last_index_ + 1 || lo > hi) {
    return absl::OutOfRangeError(absl::StrCat("entries [", lo, ", ", hi, ") are outside the log [",
                                              first, ", ", last_index_, "]"));
  }
  std::vector<raft::Entry> out;
  if (lo == hi) return out;
  const std::string upper = LogKey(hi);
  rocksdb::Slice upper_bound(upper);
  rocksdb::ReadOptions options;
  options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, log_cf_));
  uint64_t bytes = 0;
  uint64_t expected = lo;
  for (it->Seek(LogKey(lo)); it->Valid(); it->Next(), ++expected) {
    ASSIGN_OR_RETURN(uint64_t index, ParseLogKey(it->key().ToStringView(), data_dir_));
    if (index != expected) break;  // reported as missing below
    ASSIGN_OR_RETURN(raft::Entry entry, DecodeEntry(index, it->value().ToStringView(), data_dir_));
    if (!out.empty() && bytes + entry.ByteSize() > max_bytes) return out;
    bytes += entry.ByteSize();
    out.push_back(std::move(entry));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading raft log entries");
  if (expected != hi) {
    return absl::DataLossError(
        absl::StrCat("raft log record at index ", expected, " in ", data_dir_, " is missing"));
  }
  return out;
}

absl::Status RocksDbLogStorage::WriteSynced(rocksdb::WriteBatch* batch, const std::string& what) {
  rocksdb::WriteOptions options;
  options.sync = true;
  rocksdb::Status written = db_->Write(options, batch);
  if (!written.ok()) return FromRocks(written, what);
  return absl::OkStatus();
}

void RocksDbLogStorage::TrimTailCacheAbove(uint64_t last) {
  while (!tail_.empty() && tail_first_ + tail_.size() - 1 > last) tail_.pop_back();
}

void RocksDbLogStorage::TrimTailCacheBelow(uint64_t first_kept) {
  while (!tail_.empty() && tail_first_ < first_kept) {
    tail_.pop_front();
    ++tail_first_;
  }
}

absl::Status RocksDbLogStorage::Persist(const std::vector<raft::Entry>& entries,
                                        const raft::HardState* hard_state) {
  if (entries.empty() && hard_state == nullptr) return absl::OkStatus();
  absl::MutexLock write_lock(&write_mu_);
  uint64_t last = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    last = last_index_;
    if (!entries.empty()) {
      const uint64_t start = entries.front().index;
      if (start <= snapshot_.index || start <= log_start_.index) {
        return absl::InvalidArgumentError(absl::StrCat("entries[0].index ", start,
                                                       " is at or below the snapshot index ",
                                                       snapshot_.index, " (log ", data_dir_, ")"));
      }
      if (start > last_index_ + 1) {
        return absl::InvalidArgumentError(absl::StrCat("entries[0].index ", start,
                                                       " leaves a gap after the last index ",
                                                       last_index_, " (log ", data_dir_, ")"));
      }
    }
  }
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i].index != entries[0].index + i) {
      return absl::InvalidArgumentError(absl::StrCat("entries[", i, "].index is ", entries[i].index,
                                                     ", expected ", entries[0].index + i,
                                                     ": entries must be contiguous"));
    }
  }

  size_t batch_bytes = 256;
  for (const raft::Entry& entry : entries) batch_bytes += entry.data.size() + 96;
  rocksdb::WriteBatch batch(batch_bytes);
  const bool replaces = !entries.empty() && entries.front().index <= last;
  if (replaces) {
    // Entries past the new end belong to the replaced suffix; drop them in
    // the same batch so no reader or restart sees a mix of both.
    const uint64_t new_last = entries.back().index;
    if (new_last < last) batch.DeleteRange(log_cf_, LogKey(new_last + 1), LogKey(last + 1));
  }
  for (const raft::Entry& entry : entries) {
    batch.Put(log_cf_, LogKey(entry.index), EncodeEntry(entry));
  }
  if (hard_state != nullptr) batch.Put(state_cf_, kHardStateKey, EncodeHardState(*hard_state));

  // Appending past LastIndex() touches nothing a reader can see, so readers
  // keep going during the fsync. Replacing entries they may be reading does,
  // so that write and the cache update exclude them.
  if (replaces) {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(WriteSynced(&batch, "persisting raft log entries"));
    RecordPersisted(entries, hard_state);
  } else {
    RETURN_IF_ERROR(WriteSynced(&batch, "persisting raft log entries"));
    absl::MutexLock lock(&mu_);
    RecordPersisted(entries, hard_state);
  }
  return absl::OkStatus();
}

void RocksDbLogStorage::RecordPersisted(const std::vector<raft::Entry>& entries,
                                        const raft::HardState* hard_state) {
  if (!entries.empty()) {
    TrimTailCacheAbove(entries.front().index - 1);
    if (tail_.empty()) tail_first_ = entries.front().index;
    for (const raft::Entry& entry : entries) tail_.push_back({entry.term, entry.chain});
    if (tail_.size() > kTailCacheEntries) {
      TrimTailCacheBelow(tail_first_ + (tail_.size() - kTailCacheEntries));
    }
    last_index_ = entries.back().index;
  }
  if (hard_state != nullptr) hard_state_ = *hard_state;
  ever_written_ = true;
}

}  // namespace qbox::storage

// Snapshots and log compaction of RocksDbLogStorage.
//
// Order of durable steps for a new snapshot: its data file is complete and
// synced under its final name before the metadata that points at it is
// committed, and the old data file is removed only after that commit. A crash
// at any point leaves the old snapshot intact, plus at worst an orphan data
// file that the next Open removes.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/raft/memory_log_storage.h"
#include "node/storage/durable_file.h"
#include "node/storage/rocksdb_log_storage.h"
#include "rocksdb/write_batch.h"

namespace qbox::storage {

absl::StatusOr<std::string> RocksDbLogStorage::ReadSnapshotChunk(uint64_t offset,
                                                                 uint64_t max_len) const {
  raft::SnapshotMeta meta = Snapshot();
  if (meta.index == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("there is no snapshot to read in ", data_dir_));
  }
  if (meta.held_by_state_machine) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the snapshot at index ", meta.index, " in ", data_dir_,
        " has no data: the state machine holds it; a snapshot with data must be saved first"));
  }
  if (offset > meta.data_size) {
    return absl::OutOfRangeError(
        absl::StrCat("snapshot offset ", offset, " is beyond its size ", meta.data_size));
  }
  // The file cannot be replaced under us mid-read in a harmful way: a new
  // snapshot gets a new name, and the old file is unlinked only after the
  // new metadata is visible, so an open descriptor still reads old bytes.
  return ReadFileRange(SnapshotDataPath(data_dir_, meta.index), offset,
                       std::min(max_len, meta.data_size - offset));
}

absl::Status RocksDbLogStorage::WriteSnapshotChunk(uint64_t offset, std::string_view data) {
  absl::MutexLock write_lock(&write_mu_);
  return WriteChunkDurably(StagingPath(data_dir_), offset, data);
}

absl::Status RocksDbLogStorage::InstallStagedSnapshot(const raft::SnapshotMeta& meta) {
  if (meta.held_by_state_machine) {
    return absl::InvalidArgumentError(
        "meta.held_by_state_machine: a received snapshot must carry its data");
  }
  absl::MutexLock write_lock(&write_mu_);
  const raft::SnapshotMeta old = Snapshot();
  if (meta.index < old.index) {
    return absl::FailedPreconditionError(absl::StrCat("staged snapshot at index ", meta.index,
                                                      " is older than the current one at ",
                                                      old.index, " in ", data_dir_));
  }
  std::string staging = StagingPath(data_dir_);
  const std::string data_path = SnapshotDataPath(data_dir_, meta.index);
  // A retry after the metadata write failed (no space): the data file was
  // already moved into place.
  if (absl::IsNotFound(FileSize(staging).status()) && FileSize(data_path).ok()) {
    staging = data_path;
  }
  absl::StatusOr<uint64_t> size = FileSize(staging);
  if (absl::IsNotFound(size.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("no staged snapshot to install: ", staging, " does not exist"));
  }
  RETURN_IF_ERROR(size.status());
  if (*size != meta.data_size) {
    return absl::DataLossError(absl::StrCat("staged snapshot ", staging, " has ", *size,
                                            " bytes, its metadata says ", meta.data_size));
  }
  ASSIGN_OR_RETURN(raft::ChainHash digest, FileSha256(staging));
  if (digest != meta.data_digest) {
    return absl::DataLossError(absl::StrCat("staged snapshot ", staging, " has SHA-256 ",
                                            raft::ChainToHex(digest), ", its metadata says ",
                                            raft::ChainToHex(meta.data_digest)));
  }

  // Keep the entries after the snapshot only if the log agrees with it at
  // meta.index; otherwise the whole log is superseded.
  uint64_t first = 0;
  uint64_t last = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    first = log_start_.index + 1;
    last = last_index_;
  }
  bool keep_suffix = false;
  if (meta.index >= first && meta.index <= last) {
    ASSIGN_OR_RETURN(uint64_t term, Term(meta.index));
    keep_suffix = term == meta.term;
  }

  if (staging != data_path) RETURN_IF_ERROR(RenameDurably(staging, data_path));

  const LogStart start{meta.index, meta.term, meta.chain};
  const uint64_t delete_end = keep_suffix ? meta.index + 1 : last + 1;
  rocksdb::WriteBatch batch;
  if (first < delete_end) batch.DeleteRange(log_cf_, LogKey(first), LogKey(delete_end));
  batch.Put(state_cf_, kSnapshotMetaKey, EncodeSnapshotMeta(meta));
  batch.Put(state_cf_, kLogStartKey, EncodeLogStart(start));
  {
    absl::MutexLock lock(&mu_);
    RETURN_IF_ERROR(WriteSynced(&batch, "installing a snapshot"));
    snapshot_ = meta;
    log_start_ = start;
    if (keep_suffix) {
      TrimTailCacheBelow(meta.index + 1);
    } else {
      last_index_ = meta.index;
      tail_.clear();
      tail_first_ = meta.index + 1;
    }
    ever_written_ = true;
  }
  if (old.index != 0 && old.index != meta.index) {
    RemoveFileIfExists(SnapshotDataPath(data_dir_, old.index)).IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status RocksDbLogStorage::CheckLocalSnapshot(const raft::SnapshotMeta& meta) const {
  const raft::SnapshotMeta old = Snapshot();
  if (meta.index < old.index) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot at index ", meta.index,
                                                      " is older than the current one at ",
                                                      old.index, " in ", data_dir_));
  }
  const uint64_t last = LastIndex();
  if (meta.index == 0) {
    return absl::InvalidArgumentError("meta.index is 0: a snapshot covers at least one entry");
  }
  if (meta.index > last) {
    return absl::InvalidArgumentError(absl::StrCat(
        "meta.index ", meta.index, " is beyond the last index ", last, " of ", data_dir_));
  }
  ASSIGN_OR_RETURN(uint64_t term, Term(meta.index));
  if (term != meta.term) {
    return absl::InvalidArgumentError(absl::StrCat("meta.term ", meta.term, " differs from term ",
                                                   term, " of the entry at index ", meta.index));
  }
  return absl::OkStatus();
}

absl::Status RocksDbLogStorage::SaveSnapshot(const raft::SnapshotMeta& meta,
                                             std::string_view data) {
  {
    // Refuse before writing anything, so bad input leaves no file behind.
    absl::MutexLock write_lock(&write_mu_);
    RETURN_IF_ERROR(CheckLocalSnapshot(meta));
  }
  // The data is written outside write_mu_: Persist must not wait for it.
  const std::string saving = absl::StrCat(SnapshotDataPath(data_dir_, meta.index), ".saving");
  RETURN_IF_ERROR(WriteFileDurably(saving, data));
  absl::Status saved = SaveSnapshotFile(meta, saving);
  if (!saved.ok()) RemoveFileIfExists(saving).IgnoreError();
  return saved;
}

absl::Status RocksDbLogStorage::SaveSnapshotFile(const raft::SnapshotMeta& meta,
                                                 const std::string& path) {
  // Size and digest describe the data actually stored, whatever the caller
  // filled in, so that a follower can verify what it receives. Hashing a
  // large file takes seconds: it happens before write_mu_ is taken.
  ASSIGN_OR_RETURN(raft::ChainHash digest, FileSha256(path));
  return SaveSnapshotFileHashed(meta, path, digest);
}

absl::Status RocksDbLogStorage::SaveSnapshotFileHashed(const raft::SnapshotMeta& meta,
                                                       const std::string& path,
                                                       const raft::ChainHash& file_sha256) {
  raft::SnapshotMeta stored = meta;
  stored.held_by_state_machine = false;  // it has data: the file
  ASSIGN_OR_RETURN(stored.data_size, FileSize(path));
  stored.data_digest = file_sha256;

  absl::MutexLock write_lock(&write_mu_);
  RETURN_IF_ERROR(CheckLocalSnapshot(meta));
  const raft::SnapshotMeta old = Snapshot();
  // A rename: a reader of the current snapshot at the same index keeps its
  // open file, and a crash leaves either name (stale files are removed at
  // the next start).
  RETURN_IF_ERROR(RenameDurably(path, SnapshotDataPath(data_dir_, meta.index)));

  return CommitSnapshotMeta(stored, old, "saving a snapshot");
}

absl::Status RocksDbLogStorage::SaveStateMachineSnapshot(const raft::SnapshotMeta& meta) {
  raft::SnapshotMeta stored = meta;
  stored.held_by_state_machine = true;
  stored.data_size = 0;
  stored.data_digest = raft::ChainHash{};

  absl::MutexLock write_lock(&write_mu_);
  RETURN_IF_ERROR(CheckLocalSnapshot(meta));
  return CommitSnapshotMeta(stored, Snapshot(), "saving a snapshot held by the state machine");
}

absl::Status RocksDbLogStorage::CommitSnapshotMeta(const raft::SnapshotMeta& stored,
                                                   const raft::SnapshotMeta& old,
                                                   const std::string& what) {
  rocksdb::WriteBatch batch;
  batch.Put(state_cf_, kSnapshotMetaKey, EncodeSnapshotMeta(stored));
  RETURN_IF_ERROR(WriteSynced(&batch, what));
  {
    absl::MutexLock lock(&mu_);
    snapshot_ = stored;
    ever_written_ = true;
  }
  // After the commit: a crash before this leaves an orphan that the next
  // Open removes. A new file at the same index has taken the old one's name.
  const bool same_file = !stored.held_by_state_machine && stored.index == old.index;
  if (old.index != 0 && !old.held_by_state_machine && !same_file) {
    RemoveFileIfExists(SnapshotDataPath(data_dir_, old.index)).IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status RocksDbLogStorage::Compact(uint64_t up_to) {
  absl::MutexLock write_lock(&write_mu_);
  LogStart start;
  uint64_t first = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (up_to > snapshot_.index) {
      return absl::FailedPreconditionError(absl::StrCat("cannot compact ", data_dir_, " to index ",
                                                        up_to, ", beyond the snapshot index ",
                                                        snapshot_.index));
    }
    first = log_start_.index + 1;
    if (up_to < first) return absl::OkStatus();  // already compacted
  }
  // The compaction point's term and chain outlive its entry: they answer
  // Term()/Chain() for FirstIndex()-1 and anchor the hash chain.
  ASSIGN_OR_RETURN(TermAndChain kept, LookupTermAndChain(up_to));
  start = LogStart{up_to, kept.term, kept.chain};

  rocksdb::WriteBatch batch;
  batch.DeleteRange(log_cf_, LogKey(first), LogKey(up_to + 1));
  batch.Put(state_cf_, kLogStartKey, EncodeLogStart(start));
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(WriteSynced(&batch, "compacting the raft log"));
  log_start_ = start;
  TrimTailCacheBelow(up_to + 1);
  return absl::OkStatus();
}

}  // namespace qbox::storage

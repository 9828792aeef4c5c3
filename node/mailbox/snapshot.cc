// Snapshots for the consensus core (export / install) and the replicated
// state digest (G5).
//
// Snapshot file format (all integers big-endian):
//   "QBOXSNAP" u32 version=1
//   repeated: u8 column family (Cf) , u32 key length, key, u32 value length, value
//   u8 0xff (end of records)
//   32-byte SHA-256 of every byte before it
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/state_digest.h"
#include "node/mailbox/state_machine.h"
#include "qbox/v1/mailbox_records.pb.h"

namespace qbox::mailbox {
namespace {

constexpr absl::string_view kMagic = "QBOXSNAP";
constexpr uint32_t kVersion = 1;
constexpr unsigned char kEndOfRecords = 0xff;
constexpr size_t kRestoreBatchBytes = 8 << 20;
constexpr size_t kWriteChunkBytes = 1 << 20;

absl::Status IterateCf(
    const Store& store, const rocksdb::Snapshot* snapshot, Cf cf,
    const std::function<absl::Status(absl::string_view, absl::string_view)>& fn) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  // A pass over everything: it must not push the serving working set out
  // of the block cache, and reads ahead since it reads every file in order.
  options.fill_cache = false;
  options.readahead_size = 2 << 20;
  std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(options, store.cf(cf)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    RETURN_IF_ERROR(fn(absl::string_view(it->key().data(), it->key().size()),
                       absl::string_view(it->value().data(), it->value().size())));
  }
  return FromRocks(it->status(), absl::StrCat("reading ", CfName(cf), " in ", store.dir()));
}

// Reads a snapshot file front to back in large chunks, hashing everything
// before the 32-byte trailer as it is loaded. A field can never reach into
// the trailer, so a damaged length fails as "truncated" without first
// allocating what it claims.
class SnapshotFileReader {
 public:
  SnapshotFileReader(std::ifstream* in, uint64_t size)
      : in_(in), hashed_end_(size >= 32 ? size - 32 : 0) {}

  // The next `n` bytes before the trailer, valid until the next call;
  // false if the records would run into the trailer or the file is short.
  bool Next(uint64_t n, absl::string_view* out) {
    if (n > hashed_end_ - position_) return false;
    if (end_ - begin_ < n) {
      buf_.erase(0, begin_);
      end_ -= begin_;
      begin_ = 0;
      const uint64_t want = std::min<uint64_t>(std::max<uint64_t>(n - end_, kReadChunkBytes),
                                               hashed_end_ - loaded_);
      buf_.resize(end_ + want);
      if (!in_->read(buf_.data() + end_, static_cast<std::streamsize>(want))) return false;
      hash_.Update(absl::string_view(buf_.data() + end_, want));
      end_ += want;
      loaded_ += want;
    }
    *out = absl::string_view(buf_.data() + begin_, n);
    begin_ += n;
    position_ += n;
    return true;
  }

  uint64_t position() const { return position_; }
  uint64_t hashed_end() const { return hashed_end_; }
  // The hash of everything before the trailer; call once, at the end.
  std::array<uint8_t, 32> Finish() { return hash_.Finish(); }

 private:
  static constexpr uint64_t kReadChunkBytes = 1 << 20;
  std::ifstream* in_;
  const uint64_t hashed_end_;
  uint64_t position_ = 0;  // bytes handed out
  uint64_t loaded_ = 0;    // bytes read from the file (and hashed)
  std::string buf_;
  uint64_t begin_ = 0, end_ = 0;  // unconsumed bytes in buf_
  Sha256Stream hash_;
};

// Reads the file at `path` record by record; `fn` gets each one. Verifies
// structure and the trailing hash; DATA_LOSS naming the path otherwise.
absl::Status ReadSnapshotFile(
    const std::string& path,
    const std::function<absl::Status(Cf, absl::string_view, absl::string_view)>& fn) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat("snapshot ", path, ": cannot open"));
  const std::streamoff size = in.tellg();
  in.seekg(0);
  auto damaged = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("snapshot ", path, " is damaged: ", what));
  };
  if (size < 0 || !in) return damaged("cannot read its size");
  SnapshotFileReader reader(&in, static_cast<uint64_t>(size));
  absl::string_view field;
  if (!reader.Next(kMagic.size() + 4, &field) || field.substr(0, 8) != kMagic) {
    return damaged("bad header");
  }
  if (keys::ReadBigEndian32(field.substr(8)) != kVersion) return damaged("unknown version");
  std::string key;
  while (true) {
    if (!reader.Next(1, &field)) return damaged("truncated");
    const unsigned char tag = field[0];
    if (tag == kEndOfRecords) break;
    // The local column family never travels: its stamps are this node's.
    if (tag >= kCfCount || tag == static_cast<int>(Cf::kLocal)) {
      return damaged(absl::StrCat("unknown column family ", tag));
    }
    if (!reader.Next(4, &field)) return damaged("truncated");
    if (!reader.Next(keys::ReadBigEndian32(field), &field)) return damaged("truncated");
    key.assign(field.data(), field.size());
    if (!reader.Next(4, &field)) return damaged("truncated");
    if (!reader.Next(keys::ReadBigEndian32(field), &field)) return damaged("truncated");
    RETURN_IF_ERROR(fn(static_cast<Cf>(tag), key, field));
  }
  if (reader.position() != reader.hashed_end()) {
    return damaged("trailing bytes after the end of the records");
  }
  const std::array<uint8_t, 32> expected = reader.Finish();
  std::string trailer(32, '\0');
  if (!in.read(trailer.data(), 32)) return damaged("missing checksum");
  if (trailer != absl::string_view(reinterpret_cast<const char*>(expected.data()), 32)) {
    return damaged("checksum mismatch");
  }
  return absl::OkStatus();
}

absl::Status FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("open ", path, " for fsync failed"));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("fsync ", path, " failed"));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> MailboxStateMachine::WriteSnapshot(const std::string& path) const {
  std::array<uint8_t, 32> ignored;
  return WriteSnapshot(path, &ignored);
}

absl::StatusOr<uint64_t> MailboxStateMachine::WriteSnapshot(
    const std::string& path, std::array<uint8_t, 32>* file_sha256) const {
  // The RocksDB snapshot and the applied index are taken together under the
  // lock; writing the file needs only the RocksDB snapshot, so appliers and
  // readers are not held up while it is written.
  const rocksdb::Snapshot* snapshot;
  uint64_t applied;
  {
    absl::ReaderMutexLock lock(&mu_);
    snapshot = store_->db()->GetSnapshot();
    applied = applied_index_;
  }
  const std::string tmp = absl::StrCat(path, ".tmp");
  absl::Status status = [&]() -> absl::Status {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::UnavailableError(absl::StrCat("snapshot ", tmp, ": cannot create"));
    Sha256Stream hash;
    // Records are gathered into large chunks, each hashed and written in
    // one call: per-field hash updates and writes cost more than the
    // hashing itself.
    std::string chunk;
    chunk.reserve(kWriteChunkBytes + (64 << 10));
    auto flush = [&] {
      hash.Update(chunk);
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      chunk.clear();
    };
    auto write = [&](absl::string_view data) {
      chunk.append(data.data(), data.size());
      if (chunk.size() >= kWriteChunkBytes) flush();
    };
    write(kMagic);
    write(keys::BigEndian32(kVersion));
    for (int i = 0; i < kCfCount; ++i) {
      if (static_cast<Cf>(i) == Cf::kLocal) continue;  // this node's own stamps and digests
      const char cf_byte = static_cast<char>(i);
      RETURN_IF_ERROR(IterateCf(*store_, snapshot, static_cast<Cf>(i),
                                [&](absl::string_view key, absl::string_view value) {
                                  write(absl::string_view(&cf_byte, 1));
                                  write(keys::BigEndian32(key.size()));
                                  write(key);
                                  write(keys::BigEndian32(value.size()));
                                  write(value);
                                  return absl::OkStatus();
                                }));
    }
    const char end_byte = static_cast<char>(kEndOfRecords);
    write(absl::string_view(&end_byte, 1));
    flush();
    // The trailer hashes what precedes it; the same stream, carried on over
    // the trailer, gives the hash of the whole file.
    const std::array<uint8_t, 32> digest = hash.SoFar();
    const absl::string_view trailer(reinterpret_cast<const char*>(digest.data()), digest.size());
    write(trailer);
    flush();
    *file_sha256 = hash.Finish();
    out.close();
    if (!out) return absl::UnavailableError(absl::StrCat("snapshot ", tmp, ": write failed"));
    RETURN_IF_ERROR(FsyncPath(tmp, O_RDONLY));
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      return absl::UnavailableError(
          absl::StrCat("snapshot: rename ", tmp, " to ", path, " failed"));
    }
    const size_t slash = path.rfind('/');
    return FsyncPath(slash == std::string::npos ? "." : path.substr(0, slash + 1),
                     O_RDONLY | O_DIRECTORY);
  }();
  store_->db()->ReleaseSnapshot(snapshot);
  RETURN_IF_ERROR(status);
  // The caller compacts the raft log up to the snapshot next; the store must
  // not need those entries again after a crash (store.h, durability).
  RETURN_IF_ERROR(store_->MakeDurable());
  return applied;
}

absl::Status MailboxStateMachine::RestoreSnapshot(const std::string& path) {
  // Checkpoints captured before must be kept (or fail) before the state
  // they describe is replaced, and the worker needs mu_ to keep them: wait
  // before locking. Applies and restores are serialised, so none is
  // captured in between; should one be anyway, wait for it too.
  RETURN_IF_ERROR(WaitForCheckpoints());
  absl::MutexLock lock(&mu_);
  while (true) {
    {
      absl::MutexLock worker_lock(&worker_mu_);
      if (finished_count_ == captured_count_ && checks_finished_ == checks_queued_) break;
    }
    mu_.Unlock();
    absl::Status waited = WaitForCheckpoints();
    mu_.Lock();
    RETURN_IF_ERROR(waited);
  }
  ForgetCharter();  // the snapshot brings its own
  // Pass 1 verifies the whole file before anything is touched.
  RETURN_IF_ERROR(ReadSnapshotFile(
      path, [](Cf, absl::string_view, absl::string_view) { return absl::OkStatus(); }));

  const rocksdb::WriteOptions& unlogged = store_->write_options();
  // The marker makes Open refuse a half-restored store after a crash: it is
  // durable before any record changes (a flush may come at any time).
  RETURN_IF_ERROR(FromRocks(
      store_->db()->Put(unlogged, store_->cf(Cf::kMeta), std::string(keys::kRestoring), "1"),
      "marking restore"));
  RETURN_IF_ERROR(store_->MakeDurable());
  rocksdb::WriteBatch clear;
  store_->DeleteEverything(&clear);
  // The marker is in the meta column family too: it stays until the end.
  clear.Put(store_->cf(Cf::kMeta), std::string(keys::kRestoring), "1");
  RETURN_IF_ERROR(FromRocks(store_->db()->Write(unlogged, &clear), "clearing for restore"));

  const int64_t now = options_.local_clock_ms();
  rocksdb::WriteBatch batch;
  uint64_t applied = 0;
  std::optional<std::string> shipped_digest;  // the sender's accumulator, if it kept one
  RETURN_IF_ERROR(ReadSnapshotFile(
      path, [&](Cf cf, absl::string_view key, absl::string_view value) -> absl::Status {
        std::string stored(value);
        if (cf == Cf::kVault) {
          // Purging counts from this install, not from the sender's stamp.
          v1::VaultRecord record;
          if (!record.ParseFromString(stored)) {
            return absl::DataLossError(absl::StrCat("snapshot ", path, ": bad vault record"));
          }
          record.set_local_applied_ms(now);
          stored = record.SerializeAsString();
        }
        if (cf == Cf::kMeta && key == keys::kAppliedIndex && value.size() == 8) {
          applied = keys::ReadBigEndian64(value);
        }
        if (cf == Cf::kMeta && key == keys::kStateDigest) {
          shipped_digest = std::string(value);
          return absl::OkStatus();  // this node computes its own below
        }
        batch.Put(store_->cf(cf), rocksdb::Slice(key.data(), key.size()), stored);
        if (batch.GetDataSize() >= kRestoreBatchBytes) {
          RETURN_IF_ERROR(
              FromRocks(store_->db()->Write(unlogged, &batch), "writing restored records"));
          batch.Clear();
        }
        return absl::OkStatus();
      }));
  RETURN_IF_ERROR(FromRocks(store_->db()->Write(unlogged, &batch), "writing restored records"));
  // The records were written around the accumulator: one full pass gives
  // the one they really make (a restore is O(store) anyway). It goes in
  // before anything else commits through the store.
  ASSIGN_OR_RETURN(DigestAccumulator restored, ComputeStateDigest(*store_, nullptr));
  if (shipped_digest.has_value() && *shipped_digest != restored.Serialize()) {
    Log(absl::StrCat("snapshot ", path,
                     " carried a state digest accumulator that does not match "
                     "its records; ",
                     store_->dir(), " keeps the one its records give, ",
                     DigestHex(restored.Finish())));
  }
  rocksdb::WriteBatch finish;
  RETURN_IF_ERROR(store_->ReplaceStateDigest(restored, &finish));
  trust_.reset();
  RETURN_IF_ERROR(RestampProposalsLocked());
  finish.Clear();
  finish.Delete(store_->cf(Cf::kMeta), std::string(keys::kRestoring));
  RETURN_IF_ERROR(FromRocks(store_->db()->Write(unlogged, &finish), "finishing restore"));
  // The raft log was compacted up to the snapshot already: from here on a
  // crash must find the restored state, not the marker.
  RETURN_IF_ERROR(store_->MakeDurable());
  applied_index_ = applied;
  restore_interrupted_ = false;
  return absl::OkStatus();
}

absl::StatusOr<std::array<uint8_t, 32>> MailboxStateMachine::Digest() const {
  // Like WriteSnapshot: the lock only makes the RocksDB snapshot one
  // applied state; digesting it needs no lock.
  const rocksdb::Snapshot* snapshot;
  {
    absl::ReaderMutexLock lock(&mu_);
    snapshot = store_->db()->GetSnapshot();
  }
  absl::StatusOr<std::array<uint8_t, 32>> digest = DigestAt(snapshot);
  store_->db()->ReleaseSnapshot(snapshot);
  return digest;
}

// The checkpoint digests of every node and version are compared with each
// other: any change to what ComputeStateDigest covers, or how an element
// hashes, is a change of the replicated format. The same value as the
// accumulator kept incrementally (Store::state_digest) for the same state.
absl::StatusOr<std::array<uint8_t, 32>> MailboxStateMachine::DigestAt(
    const rocksdb::Snapshot* snapshot) const {
  ASSIGN_OR_RETURN(DigestAccumulator full, ComputeStateDigest(*store_, snapshot));
  return full.Finish();
}

}  // namespace qbox::mailbox

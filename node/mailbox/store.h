// The RocksDB database behind the mailbox state machine and a transaction
// helper that reads through its own pending writes. Column families keep
// each kind of record apart (layout in keys.h).
#ifndef QBOX_NODE_MAILBOX_STORE_H_
#define QBOX_NODE_MAILBOX_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/message_lite.h"
#include "node/mailbox/state_digest.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/write_batch_with_index.h"

namespace qbox::mailbox {

enum class Cf : int {
  kAccounts = 0,
  kMailboxes,
  kMessages,
  kBodies,
  kChanges,
  kVault,
  kSieve,
  kIdempotency,
  kMeta,
  // The charter, proposals, audit log and applied signed checkpoints (G2,
  // G5): replicated, in the digest and in snapshots.
  kGuard,
  // What only this node knows: its own clock stamps on proposals and its own
  // checkpoint digests. Never in the digest or in snapshots.
  kLocal,
};
inline constexpr int kCfCount = 11;
const char* CfName(Cf cf);

// Durability: the store writes without RocksDB's write-ahead log. The raft
// log is the durable record of every change (the state machine's writes
// were never synced), so a second log here only cost CPU and disk: about a
// fifth of applying an append. Written records become durable when the
// memtables are flushed, every column family in the same atomic flush, so a
// crash leaves the store as it stood after some earlier write: an applied
// prefix of the raft log, which the runtime applies again from there (its
// log keeps every entry after the last snapshot, and a snapshot makes the
// store durable first; see MakeDurable). A clean close flushes.
//
// The store keeps the G5 state digest accumulator (state_digest.h) of what
// it holds in the meta column family, updated in the same atomic write as
// every change it reflects: a batch written through Write (or
// StoreTxn::Commit) always leaves the stored accumulator equal to the
// accumulator of the records stored. Writing digested column families
// directly through db() bypasses it: such a writer must put the correct
// accumulator back with ReplaceStateDigest (snapshot restore does).
class Store {
 public:
  // Opens (creating if missing) the database in `dir` with every column
  // family. A store without a state digest accumulator (new, or written by
  // a version that kept none) gets one computed with a full pass; see
  // rebuilt_state_digest(). Errors name the directory.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Cf cf) const { return handles_[static_cast<int>(cf)]; }
  // The Cf of a RocksDB column family id; nullopt for the default family.
  std::optional<Cf> CfOfId(uint32_t id) const;
  const std::string& dir() const { return dir_; }

  // Writes `batch` atomically, together with the state digest accumulator
  // brought up to date for it (StateDigestChange). Writers are serialised
  // here, so the records a batch replaces are read as they stand right
  // before it. On error nothing is written and the accumulator is
  // unchanged; `batch` is left as it was passed in either way.
  absl::Status Write(rocksdb::WriteBatch* batch) const ABSL_LOCKS_EXCLUDED(digest_mu_);
  // The accumulator of the latest written state.
  DigestAccumulator state_digest() const ABSL_LOCKS_EXCLUDED(digest_mu_);
  // Adds `correction` to the accumulator and stores it: for records that
  // changed behind the store's back (G5 tamper checks in the state machine).
  absl::Status AdjustStateDigest(const DigestAccumulator& correction) const
      ABSL_LOCKS_EXCLUDED(digest_mu_);
  // Stores `digest` as the accumulator in `batch`, writes the batch and
  // adopts it: after records were written directly (snapshot restore).
  absl::Status ReplaceStateDigest(const DigestAccumulator& digest, rocksdb::WriteBatch* batch) const
      ABSL_LOCKS_EXCLUDED(digest_mu_);
  // The options every write to this store uses (no write-ahead log; see
  // above). Whoever writes through db() directly must use them too: a
  // logged write after unlogged ones would survive a crash that they do
  // not, and leave a state that no prefix of the raft log gives.
  const rocksdb::WriteOptions& write_options() const { return write_options_; }
  // Flushes every column family's memtable in one atomic flush and waits:
  // afterwards everything written so far survives a crash.
  absl::Status MakeDurable() const;
  // Adds to `batch` the deletion of every record in every column family
  // (around the accumulator: whoever writes it must ReplaceStateDigest).
  void DeleteEverything(rocksdb::WriteBatch* batch) const;
  // True if Open found an applied state without an accumulator (written by
  // an older version) and computed it.
  bool rebuilt_state_digest() const { return rebuilt_state_digest_; }

 private:
  // The tuning every column family gets (filters, shared block cache).
  static rocksdb::ColumnFamilyOptions TunedColumnFamilyOptions();
  // Loads the stored accumulator, computing and storing it if missing.
  absl::Status LoadStateDigest();
  Store() = default;
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Cf
  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
  bool rebuilt_state_digest_ = false;
  rocksdb::WriteOptions write_options_;
  // Serialises writes that keep the accumulator, so each one's old records
  // are read right before it. A handle's writes are logically not changes
  // of the handle, hence mutable.
  mutable absl::Mutex digest_mu_;
  mutable DigestAccumulator state_digest_ ABSL_GUARDED_BY(digest_mu_);
};

// Reads see the database (at `snapshot`, or the latest state if null) with
// this transaction's own writes on top; writes are buffered until Commit.
// Not thread-safe; one per apply or read.
class StoreTxn {
 public:
  explicit StoreTxn(const Store* store, const rocksdb::Snapshot* snapshot = nullptr);

  // nullopt if the key is absent.
  absl::StatusOr<std::optional<std::string>> Get(Cf cf, absl::string_view key) const;
  // false if absent; DATA_LOSS naming the store and key if it does not parse.
  absl::StatusOr<bool> GetProto(Cf cf, absl::string_view key,
                                google::protobuf::MessageLite* out) const;

  void Put(Cf cf, absl::string_view key, absl::string_view value);
  void PutProto(Cf cf, absl::string_view key, const google::protobuf::MessageLite& value);
  void Delete(Cf cf, absl::string_view key);

  // Calls `fn` for each key in [from, until) in order until it returns
  // false. `fn` must not write to this transaction (collect, then write).
  absl::Status Scan(
      Cf cf, absl::string_view from, absl::string_view until,
      const std::function<bool(absl::string_view key, absl::string_view value)>& fn) const;
  // The largest key starting with `prefix`, if any.
  absl::StatusOr<std::optional<std::string>> LastKeyWithPrefix(Cf cf,
                                                               absl::string_view prefix) const;
  absl::Status ScanPrefix(
      Cf cf, absl::string_view prefix,
      const std::function<bool(absl::string_view, absl::string_view)>& fn) const;

  // Marks the writes so far; RollbackToSavePoint drops every write made
  // after the latest mark (so an executed action that fails changes nothing
  // while the audit record of the attempt stays).
  void SetSavePoint();
  absl::Status RollbackToSavePoint();
  // Drops the latest mark and keeps the writes made since.
  absl::Status PopSavePoint();

  // Writes everything atomically (durable at the store's next flush: the
  // raft log is the durable record, and the applied index travels in the
  // same batch), with the state digest accumulator updated for it
  // (Store::Write).
  absl::Status Commit();
  // Writes here are not seen by this transaction's reads, but they are
  // committed and digested like the others.
  rocksdb::WriteBatch* raw_batch() { return batch_.GetWriteBatch(); }
  const Store* store() const { return store_; }

 private:
  const Store* store_;
  rocksdb::ReadOptions read_options_;
  rocksdb::WriteBatchWithIndex batch_;
};

// Maps a RocksDB status to absl, prefixing `context`.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_STORE_H_

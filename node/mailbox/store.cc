#include "node/mailbox/store.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/keys.h"
#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace qbox::mailbox {

const char* CfName(Cf cf) {
  static constexpr const char* kNames[kCfCount] = {
      "accounts", "mailboxes",   "messages", "bodies", "changes", "vault",
      "sieve",    "idempotency", "meta",     "guard",  "local"};
  return kNames[static_cast<int>(cf)];
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(context, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError()) return absl::UnavailableError(msg);
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

rocksdb::ColumnFamilyOptions Store::TunedColumnFamilyOptions() {
  // Applying a command is mostly point lookups of keys that are often absent
  // (a new body's reference counts, a fresh idempotency key): a Bloom filter
  // answers those from memory instead of reading and decompressing a data
  // block. One block cache for all families, so hot families get the room.
  static const std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(64 << 20);
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = cache;
  table.checksum = rocksdb::kXXH3;  // Debian's RocksDB has only the software CRC32C
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = 16 << 20;  // eleven families: bound the memtables' memory
  // The same for the memtables, where most lookups of absent keys end: a
  // whole-key Bloom filter (5% of the memtable) instead of a skip-list search.
  cf.memtable_prefix_bloom_size_ratio = 0.05;
  cf.memtable_whole_key_filtering = true;
  cf.level_compaction_dynamic_level_bytes = true;
  return cf;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir) {
  std::unique_ptr<Store> store(new Store());
  store->dir_ = dir;
  store->write_options_.disableWAL = true;
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Flushes and compactions of eleven column families share the node's two
  // cores with serving; one flush and one compaction at a time is enough.
  options.max_background_jobs = 2;
  // Writes skip the write-ahead log (store.h): only a flush of every
  // family at once keeps what survives a crash one consistent state.
  options.atomic_flush = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kCfCount; ++i) {
    descriptors.emplace_back(CfName(static_cast<Cf>(i)), TunedColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening mailbox store ", dir));
  store->db_.reset(raw);
  store->default_handle_ = handles[0];
  store->handles_.assign(handles.begin() + 1, handles.end());
  RETURN_IF_ERROR(store->LoadStateDigest());
  return store;
}

absl::Status Store::LoadStateDigest() {
  ASSIGN_OR_RETURN(std::optional<DigestAccumulator> stored, ReadStoredStateDigest(*this, nullptr));
  if (stored.has_value()) {
    absl::MutexLock lock(&digest_mu_);
    state_digest_ = *stored;
    return absl::OkStatus();
  }
  // A new store, or one from a version that kept no accumulator: one full
  // pass, once. Only the latter is worth telling (rebuilt_state_digest).
  std::string applied;
  const rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf(Cf::kMeta), std::string(keys::kAppliedIndex), &applied);
  if (!s.IsNotFound()) {
    RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading the applied index in ", dir_)));
    rebuilt_state_digest_ = true;
  }
  ASSIGN_OR_RETURN(DigestAccumulator computed, ComputeStateDigest(*this, nullptr));
  rocksdb::WriteBatch batch;
  return ReplaceStateDigest(computed, &batch);
}

std::optional<Cf> Store::CfOfId(uint32_t id) const {
  for (int i = 0; i < kCfCount; ++i) {
    if (handles_[i]->GetID() == id) return static_cast<Cf>(i);
  }
  return std::nullopt;
}

absl::Status Store::Write(rocksdb::WriteBatch* batch) const {
  absl::MutexLock lock(&digest_mu_);
  ASSIGN_OR_RETURN(DigestAccumulator change, StateDigestChange(*this, *batch));
  const std::string context = absl::StrCat("writing mailbox store ", dir_);
  if (change.IsEmpty()) return FromRocks(db_->Write(write_options_, batch), context);
  DigestAccumulator next = state_digest_;
  next.Combine(change);
  // The accumulator rides in the caller's batch (atomic with the change)
  // and is taken out again, so the batch is as the caller left it.
  batch->SetSavePoint();
  rocksdb::Status s = batch->Put(cf(Cf::kMeta), std::string(keys::kStateDigest), next.Serialize());
  if (s.ok()) s = db_->Write(write_options_, batch);
  const rocksdb::Status rolled_back = batch->RollbackToSavePoint();
  RETURN_IF_ERROR(FromRocks(s, context));
  state_digest_ = next;
  return FromRocks(rolled_back, absl::StrCat("restoring a written batch for ", dir_));
}

DigestAccumulator Store::state_digest() const {
  absl::MutexLock lock(&digest_mu_);
  return state_digest_;
}

absl::Status Store::AdjustStateDigest(const DigestAccumulator& correction) const {
  absl::MutexLock lock(&digest_mu_);
  DigestAccumulator next = state_digest_;
  next.Combine(correction);
  rocksdb::WriteBatch batch;
  batch.Put(cf(Cf::kMeta), std::string(keys::kStateDigest), next.Serialize());
  RETURN_IF_ERROR(FromRocks(db_->Write(write_options_, &batch),
                            absl::StrCat("correcting the state digest in ", dir_)));
  state_digest_ = next;
  return absl::OkStatus();
}

absl::Status Store::ReplaceStateDigest(const DigestAccumulator& digest,
                                       rocksdb::WriteBatch* batch) const {
  absl::MutexLock lock(&digest_mu_);
  batch->Put(cf(Cf::kMeta), std::string(keys::kStateDigest), digest.Serialize());
  RETURN_IF_ERROR(FromRocks(db_->Write(write_options_, batch),
                            absl::StrCat("writing the state digest in ", dir_)));
  state_digest_ = digest;
  return absl::OkStatus();
}

absl::Status Store::MakeDurable() const {
  rocksdb::FlushOptions options;
  options.wait = true;
  options.allow_write_stall = true;  // waiting is the point
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_);
  all.push_back(default_handle_);
  return FromRocks(db_->Flush(options, all), absl::StrCat("flushing mailbox store ", dir_));
}

void Store::DeleteEverything(rocksdb::WriteBatch* batch) const {
  for (int i = 0; i < kCfCount; ++i) {
    rocksdb::ColumnFamilyHandle* handle = cf(static_cast<Cf>(i));
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle));
    it->SeekToLast();
    if (!it->Valid()) continue;
    const std::string last = it->key().ToString();
    batch->DeleteRange(handle, "", last);
    batch->Delete(handle, last);
  }
}

Store::~Store() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->DestroyColumnFamilyHandle(default_handle_);
  db_->Close();
}

StoreTxn::StoreTxn(const Store* store, const rocksdb::Snapshot* snapshot)
    : store_(store), batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {
  read_options_.snapshot = snapshot;
}

absl::StatusOr<std::optional<std::string>> StoreTxn::Get(Cf cf, absl::string_view key) const {
  std::string value;
  // GetFromBatchAndDB is not const in RocksDB's API but does not modify.
  auto& batch = const_cast<rocksdb::WriteBatchWithIndex&>(batch_);
  rocksdb::Status s = batch.GetFromBatchAndDB(store_->db(), read_options_, store_->cf(cf),
                                              rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) {
    return FromRocks(s, absl::StrCat("reading ", CfName(cf), " in ", store_->dir()));
  }
  return value;
}

absl::StatusOr<bool> StoreTxn::GetProto(Cf cf, absl::string_view key,
                                        google::protobuf::MessageLite* out) const {
  auto value = Get(cf, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return false;
  if (!out->ParseFromString(**value)) {
    return absl::DataLossError(absl::StrCat("mailbox store ", store_->dir(), ": record in ",
                                            CfName(cf), " at key ", absl::BytesToHexString(key),
                                            " does not parse as ", out->GetTypeName()));
  }
  return true;
}

void StoreTxn::Put(Cf cf, absl::string_view key, absl::string_view value) {
  batch_.Put(store_->cf(cf), rocksdb::Slice(key.data(), key.size()),
             rocksdb::Slice(value.data(), value.size()));
}

void StoreTxn::PutProto(Cf cf, absl::string_view key, const google::protobuf::MessageLite& value) {
  Put(cf, key, value.SerializeAsString());
}

void StoreTxn::Delete(Cf cf, absl::string_view key) {
  batch_.Delete(store_->cf(cf), rocksdb::Slice(key.data(), key.size()));
}

absl::Status StoreTxn::Scan(
    Cf cf, absl::string_view from, absl::string_view until,
    const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  auto& batch = const_cast<rocksdb::WriteBatchWithIndex&>(batch_);
  std::unique_ptr<rocksdb::Iterator> it(batch.NewIteratorWithBase(
      store_->cf(cf), store_->db()->NewIterator(read_options_, store_->cf(cf)), &read_options_));
  const rocksdb::Slice until_slice(until.data(), until.size());
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid(); it->Next()) {
    if (it->key().compare(until_slice) >= 0) break;
    if (!fn(absl::string_view(it->key().data(), it->key().size()),
            absl::string_view(it->value().data(), it->value().size()))) {
      break;
    }
  }
  return FromRocks(it->status(), absl::StrCat("scanning ", CfName(cf), " in ", store_->dir()));
}

absl::StatusOr<std::optional<std::string>> StoreTxn::LastKeyWithPrefix(
    Cf cf, absl::string_view prefix) const {
  auto& batch = const_cast<rocksdb::WriteBatchWithIndex&>(batch_);
  std::unique_ptr<rocksdb::Iterator> it(batch.NewIteratorWithBase(
      store_->cf(cf), store_->db()->NewIterator(read_options_, store_->cf(cf)), &read_options_));
  const std::string end = keys::PrefixEnd(prefix);
  it->SeekForPrev(end);
  // SeekForPrev lands on `end` itself if present; step before it.
  if (it->Valid() && it->key() == rocksdb::Slice(end)) it->Prev();
  std::optional<std::string> found;
  if (it->Valid() && it->key().starts_with(rocksdb::Slice(prefix.data(), prefix.size()))) {
    found = it->key().ToString();
  }
  RETURN_IF_ERROR(
      FromRocks(it->status(), absl::StrCat("scanning ", CfName(cf), " in ", store_->dir())));
  return found;
}

absl::Status StoreTxn::ScanPrefix(
    Cf cf, absl::string_view prefix,
    const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  return Scan(cf, prefix, keys::PrefixEnd(prefix), fn);
}

void StoreTxn::SetSavePoint() { batch_.SetSavePoint(); }

absl::Status StoreTxn::RollbackToSavePoint() {
  return FromRocks(batch_.RollbackToSavePoint(), "rolling back a failed action");
}

absl::Status StoreTxn::PopSavePoint() {
  return FromRocks(batch_.PopSavePoint(), "keeping an applied action");
}

absl::Status StoreTxn::Commit() { return store_->Write(batch_.GetWriteBatch()); }

}  // namespace qbox::mailbox

#include "node/mailbox/state_digest.h"

#include <functional>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/common/sha256.h"
#include "node/common/status_macros.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/store.h"

namespace qbox::mailbox {

// ---- Sha256Stream

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(ctx_, qbox::Sha256Md(), nullptr);
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_); }

void Sha256Stream::Update(absl::string_view data) {
  EVP_DigestUpdate(ctx_, data.data(), data.size());
}

void Sha256Stream::UpdateField(absl::string_view data) {
  Update(keys::BigEndian64(data.size()));
  Update(data);
}

std::array<uint8_t, 32> Sha256Stream::Finish() {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out.data(), &len);
  EVP_DigestInit_ex(ctx_, qbox::Sha256Md(), nullptr);
  return out;
}

std::array<uint8_t, 32> Sha256Stream::SoFar() const {
  std::array<uint8_t, 32> out{};
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned int len = 0;
  EVP_MD_CTX_copy_ex(copy, ctx_);
  EVP_DigestFinal_ex(copy, out.data(), &len);
  EVP_MD_CTX_free(copy);
  return out;
}

// ---- DigestAccumulator

namespace {

absl::string_view AsView(const std::array<uint8_t, 32>& bytes) {
  return absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

uint64_t LoadLittleEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The column families whose every record is an element. Bodies follow their
// own rule (IsBodyElementKind and the data-while-live rule).
constexpr Cf kWholeCfs[] = {Cf::kAccounts, Cf::kMailboxes,   Cf::kMessages, Cf::kChanges,
                            Cf::kSieve,    Cf::kIdempotency, Cf::kGuard};

bool IsWholeCf(Cf cf) {
  for (Cf whole : kWholeCfs) {
    if (cf == whole) return true;
  }
  return false;
}

// Body keys are <account><sha256><kind>: 'd' data, 'l' live count, 'v'
// vault count. Vault counts change with local purge timing: never digested.
constexpr char kBodyData = 'd';
constexpr char kBodyLive = 'l';

}  // namespace

DigestAccumulator::Lanes DigestAccumulator::ElementOf(Cf cf, absl::string_view key,
                                                      absl::string_view value) {
  // One context per thread: creating an EVP context per record would cost
  // more than hashing the small records most of the state consists of.
  thread_local Sha256Stream hash;
  hash.UpdateField(CfName(cf));
  hash.UpdateField(key);
  hash.UpdateField(value);
  const std::array<uint8_t, 32> element = hash.Finish();
  // Expanded to 256 bytes: SHA-256(element || i) for i = 0..7.
  Lanes lanes{};
  for (int block = 0; block < 8; ++block) {
    hash.Update(AsView(element));
    const char counter = static_cast<char>(block);
    hash.Update(absl::string_view(&counter, 1));
    const std::array<uint8_t, 32> part = hash.Finish();
    for (int j = 0; j < 4; ++j) lanes[block * 4 + j] = LoadLittleEndian64(part.data() + 8 * j);
  }
  return lanes;
}

void DigestAccumulator::Add(Cf cf, absl::string_view key, absl::string_view value) {
  const Lanes element = ElementOf(cf, key, value);
  for (int i = 0; i < kLanes; ++i) lanes_[i] += element[i];  // wraps: mod 2^64
}

void DigestAccumulator::Remove(Cf cf, absl::string_view key, absl::string_view value) {
  const Lanes element = ElementOf(cf, key, value);
  for (int i = 0; i < kLanes; ++i) lanes_[i] -= element[i];
}

void DigestAccumulator::Combine(const DigestAccumulator& other) {
  for (int i = 0; i < kLanes; ++i) lanes_[i] += other.lanes_[i];
}

void DigestAccumulator::Subtract(const DigestAccumulator& other) {
  for (int i = 0; i < kLanes; ++i) lanes_[i] -= other.lanes_[i];
}

bool DigestAccumulator::IsEmpty() const {
  for (uint64_t lane : lanes_) {
    if (lane != 0) return false;
  }
  return true;
}

std::string DigestAccumulator::Serialize() const {
  std::string out(kSerializedSize, '\0');
  for (int i = 0; i < kLanes; ++i) {
    uint64_t v = lanes_[i];
    for (int b = 0; b < 8; ++b, v >>= 8) out[i * 8 + b] = static_cast<char>(v & 0xff);
  }
  return out;
}

absl::StatusOr<DigestAccumulator> DigestAccumulator::Parse(absl::string_view bytes,
                                                           absl::string_view where) {
  if (bytes.size() != kSerializedSize) {
    return absl::DataLossError(absl::StrCat(where, ": state digest accumulator is ", bytes.size(),
                                            " bytes, not ", kSerializedSize));
  }
  DigestAccumulator out;
  for (int i = 0; i < kLanes; ++i) {
    out.lanes_[i] = LoadLittleEndian64(reinterpret_cast<const uint8_t*>(bytes.data()) + i * 8);
  }
  return out;
}

std::array<uint8_t, 32> DigestAccumulator::Finish() const {
  Sha256Stream hash;
  hash.Update(Serialize());
  return hash.Finish();
}

std::string DigestHex(const std::array<uint8_t, 32>& digest) {
  return absl::BytesToHexString(AsView(digest));
}

// ---- The full pass

absl::StatusOr<DigestAccumulator> ComputeStateDigest(const Store& store,
                                                     const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  // Long scans should not push the serving working set out of the cache.
  options.fill_cache = false;
  DigestAccumulator acc;
  auto scan = [&](Cf cf, const std::function<void(absl::string_view, absl::string_view)>& fn) {
    std::unique_ptr<rocksdb::Iterator> it(store.db()->NewIterator(options, store.cf(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      fn(absl::string_view(it->key().data(), it->key().size()),
         absl::string_view(it->value().data(), it->value().size()));
    }
    return FromRocks(it->status(),
                     absl::StrCat("digesting ", CfName(cf), " in mailbox store ", store.dir()));
  };
  for (Cf cf : kWholeCfs) {
    RETURN_IF_ERROR(
        scan(cf, [&](absl::string_view key, absl::string_view value) { acc.Add(cf, key, value); }));
  }
  // A body's kinds sort 'd' < 'l' < 'v': its data is held back until its
  // live count shows up, and counted only then.
  std::string pending_key, pending_data;
  RETURN_IF_ERROR(scan(Cf::kBodies, [&](absl::string_view key, absl::string_view value) {
    if (key.empty()) return;
    if (key.back() == kBodyData) {
      pending_key = std::string(key);
      pending_data = std::string(value);
    } else if (key.back() == kBodyLive) {
      const absl::string_view body_id = key.substr(0, key.size() - 1);
      if (!pending_key.empty() &&
          absl::string_view(pending_key).substr(0, pending_key.size() - 1) == body_id) {
        acc.Add(Cf::kBodies, pending_key, pending_data);
      }
      acc.Add(Cf::kBodies, key, value);
      pending_key.clear();
    }
  }));
  return acc;
}

absl::StatusOr<std::optional<DigestAccumulator>> ReadStoredStateDigest(
    const Store& store, const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  std::string value;
  const rocksdb::Status s =
      store.db()->Get(options, store.cf(Cf::kMeta), std::string(keys::kStateDigest), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading the state digest in ", store.dir())));
  return DigestAccumulator::Parse(value, absl::StrCat("mailbox store ", store.dir()));
}

// ---- The change a write batch makes

namespace {

// What a batch leaves in one key: the last write wins. nullopt = deleted.
// Views point into the batch, which outlives them.
using Written = std::optional<absl::string_view>;

struct BodyWrites {
  std::optional<Written> data;  // set if the batch writes the data record
  std::optional<Written> live;  // set if the batch writes the live count
};

// Collects the batch's writes to digested column families. Reading the
// batch itself (not the transaction's index) also covers writes made
// through StoreTxn::raw_batch().
class DigestedWrites : public rocksdb::WriteBatch::Handler {
 public:
  explicit DigestedWrites(const Store& store) : store_(store) {}

  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    Record(id, key, absl::string_view(value.data(), value.size()));
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    Record(id, key, std::nullopt);
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice& key) override {
    Record(id, key, std::nullopt);
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice&,
                                const rocksdb::Slice&) override {
    return Unsupported(id, "a range delete");
  }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Unsupported(id, "a merge");
  }
  rocksdb::Status PutEntityCF(uint32_t id, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Unsupported(id, "a wide-column put");
  }
  rocksdb::Status PutBlobIndexCF(uint32_t id, const rocksdb::Slice&,
                                 const rocksdb::Slice&) override {
    return Unsupported(id, "a blob index");
  }

  std::map<std::pair<Cf, std::string>, Written> records;  // whole column families
  std::map<std::string, BodyWrites> bodies;               // by body id (key minus kind)

 private:
  std::optional<Cf> DigestedCf(uint32_t id) const {
    std::optional<Cf> cf = store_.CfOfId(id);
    if (!cf.has_value() || (!IsWholeCf(*cf) && *cf != Cf::kBodies)) return std::nullopt;
    return cf;
  }
  void Record(uint32_t id, const rocksdb::Slice& slice, Written value) {
    const std::optional<Cf> cf = DigestedCf(id);
    if (!cf.has_value()) return;
    const absl::string_view key(slice.data(), slice.size());
    if (*cf != Cf::kBodies) {
      records[{*cf, std::string(key)}] = value;
      return;
    }
    if (key.empty()) return;
    const char kind = key.back();
    if (kind != kBodyData && kind != kBodyLive) return;
    BodyWrites& body = bodies[std::string(key.substr(0, key.size() - 1))];
    (kind == kBodyData ? body.data : body.live) = value;
  }
  rocksdb::Status Unsupported(uint32_t id, absl::string_view what) const {
    const std::optional<Cf> cf = DigestedCf(id);
    if (!cf.has_value()) return rocksdb::Status::OK();
    return rocksdb::Status::NotSupported(
        absl::StrCat(what, " in ", CfName(*cf), ", a digested column family"));
  }

  const Store& store_;
};

// The latest stored values of `keys` (nullopt where absent), one MultiGet.
absl::StatusOr<std::vector<std::optional<std::string>>> ReadLatest(
    const Store& store, const std::vector<std::pair<Cf, std::string>>& keys) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<rocksdb::Slice> slices;
  handles.reserve(keys.size());
  slices.reserve(keys.size());
  for (const auto& [cf, key] : keys) {
    handles.push_back(store.cf(cf));
    slices.emplace_back(key);
  }
  std::vector<std::string> values;
  const std::vector<rocksdb::Status> statuses =
      store.db()->MultiGet(rocksdb::ReadOptions(), handles, slices, &values);
  std::vector<std::optional<std::string>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    RETURN_IF_ERROR(FromRocks(
        statuses[i], absl::StrCat("reading ", CfName(keys[i].first), " in ", store.dir())));
    out[i] = std::move(values[i]);
  }
  return out;
}

bool Same(const std::optional<std::string>& stored, const Written& written) {
  if (stored.has_value() != written.has_value()) return false;
  return !stored.has_value() || *stored == *written;
}

}  // namespace

absl::StatusOr<DigestAccumulator> StateDigestChange(const Store& store,
                                                    const rocksdb::WriteBatch& batch) {
  DigestedWrites writes(store);
  const rocksdb::Status iterated = batch.Iterate(&writes);
  if (!iterated.ok()) {
    return absl::InternalError(absl::StrCat("mailbox store ", store.dir(),
                                            ": cannot keep the state digest for a batch with ",
                                            iterated.getState()));
  }
  DigestAccumulator change;
  if (writes.records.empty() && writes.bodies.empty()) return change;

  // Every record the batch replaces and every touched body's live count,
  // in one read.
  std::vector<std::pair<Cf, std::string>> reads;
  reads.reserve(writes.records.size() + writes.bodies.size());
  for (const auto& [cf_key, value] : writes.records) reads.push_back(cf_key);
  for (const auto& [body_id, body] : writes.bodies) {
    reads.emplace_back(Cf::kBodies, absl::StrCat(body_id, std::string(1, kBodyLive)));
  }
  ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> old, ReadLatest(store, reads));

  size_t next = 0;
  for (const auto& [cf_key, value] : writes.records) {
    const std::optional<std::string>& before = old[next++];
    if (Same(before, value)) continue;
    if (before.has_value()) change.Remove(cf_key.first, cf_key.second, *before);
    if (value.has_value()) change.Add(cf_key.first, cf_key.second, *value);
  }

  // A body's data element exists while its live count does. The stored
  // data is read only where the element changes and the batch does not
  // say what it was or becomes: a body's bytes are not read when a new body
  // comes (the batch has them) or when one that no message references is
  // purged, only when its last live reference goes (or the first returns).
  struct DataChange {
    std::string data_key;
    bool was_counted;
    bool now_counted;
    const std::optional<Written>* written;  // the batch's write of the data, if any
  };
  std::vector<DataChange> data_changes;
  for (const auto& [body_id, body] : writes.bodies) {
    const std::string live_key = absl::StrCat(body_id, std::string(1, kBodyLive));
    const std::optional<std::string>& live_before = old[next++];
    const bool was_live = live_before.has_value();
    bool now_live = was_live;
    if (body.live.has_value()) {
      const Written& live_after = *body.live;
      now_live = live_after.has_value();
      if (!Same(live_before, live_after)) {
        if (was_live) change.Remove(Cf::kBodies, live_key, *live_before);
        if (now_live) change.Add(Cf::kBodies, live_key, *live_after);
      }
    }
    if (was_live == now_live && (!was_live || !body.data.has_value())) continue;
    data_changes.push_back(
        {absl::StrCat(body_id, std::string(1, kBodyData)), was_live, now_live, &body.data});
  }
  if (data_changes.empty()) return change;

  // The stored data is needed for the element that goes, and for the one
  // that comes when the batch does not write the data.
  std::vector<std::pair<Cf, std::string>> data_reads;
  std::vector<size_t> read_of(data_changes.size(), SIZE_MAX);
  for (size_t i = 0; i < data_changes.size(); ++i) {
    const DataChange& d = data_changes[i];
    if (d.was_counted || !d.written->has_value()) {
      read_of[i] = data_reads.size();
      data_reads.emplace_back(Cf::kBodies, d.data_key);
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> stored, ReadLatest(store, data_reads));
  for (size_t i = 0; i < data_changes.size(); ++i) {
    const DataChange& d = data_changes[i];
    const std::optional<std::string> none;
    const std::optional<std::string>& before = read_of[i] == SIZE_MAX ? none : stored[read_of[i]];
    Written after;
    if (d.written->has_value()) {
      after = **d.written;
    } else if (before.has_value()) {
      after = absl::string_view(*before);
    }
    if (d.was_counted && d.now_counted && Same(before, after)) continue;
    if (d.was_counted && before.has_value()) change.Remove(Cf::kBodies, d.data_key, *before);
    if (d.now_counted && after.has_value()) change.Add(Cf::kBodies, d.data_key, *after);
  }
  return change;
}

}  // namespace qbox::mailbox

// The G5 state digest as a multiset hash ("AdHash"), so that it can be kept
// up to date per write batch (O(changes)) instead of recomputed over the
// whole store at every checkpoint (O(store)).
//
// Each element of the replicated state, a (column family, key, value)
// record, hashes to 32 uint64 lanes (2048 bits); the accumulator is the
// lane-wise sum mod 2^64 over every element. Sums do not depend on order,
// so every node holding the same records has the same accumulator however
// its writes were ordered, and a write changes it by (new element - old
// element). The modulus is large (2^2048) so that finding a different set
// with the same sum (Wagner's generalized birthday attack) is infeasible.
// The 32-byte digest that checkpoints carry is SHA-256 of the accumulator.
//
// Which records are elements (the same set the full pass always covered):
// every record of accounts, mailboxes, messages, changes, sieve,
// idempotency and guard; in bodies every live count ('l') record, and a
// body's data ('d') record only while that body's live count exists. Never
// the vault counts ('v'), vault, meta or local.
#ifndef QBOX_NODE_MAILBOX_STATE_DIGEST_H_
#define QBOX_NODE_MAILBOX_STATE_DIGEST_H_

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"

namespace qbox::mailbox {

// store.h includes this header (the store keeps the accumulator).
enum class Cf : int;
class Store;

// Incremental SHA-256 (OpenSSL's EVP interface; the SHA256_* calls are
// deprecated in OpenSSL 3). Shared by the digest and the snapshot file.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(absl::string_view data);
  // Length-prefixed, so that ("ab","c") and ("a","bc") hash differently.
  void UpdateField(absl::string_view data);
  // The hash of everything since construction or the last Finish; starts
  // over, so one stream can hash many inputs.
  std::array<uint8_t, 32> Finish();
  // The hash of everything so far, without finishing: more may follow.
  std::array<uint8_t, 32> SoFar() const;

 private:
  EVP_MD_CTX* ctx_;
};

class DigestAccumulator {
 public:
  static constexpr int kLanes = 32;
  static constexpr size_t kSerializedSize = kLanes * 8;

  // The accumulator of the empty set.
  DigestAccumulator() = default;

  // Adds / removes one record. Removing a record that was added returns the
  // accumulator to what it was; nothing checks that it was added.
  void Add(Cf cf, absl::string_view key, absl::string_view value);
  void Remove(Cf cf, absl::string_view key, absl::string_view value);
  // Adds / subtracts every element of `other` (set union / difference when
  // the sets are disjoint / contained).
  void Combine(const DigestAccumulator& other);
  void Subtract(const DigestAccumulator& other);

  bool IsEmpty() const;
  bool operator==(const DigestAccumulator& other) const { return lanes_ == other.lanes_; }
  bool operator!=(const DigestAccumulator& other) const { return lanes_ != other.lanes_; }

  // 256 bytes: the lanes little-endian, lane 0 first.
  std::string Serialize() const;
  // The inverse of Serialize. DATA_LOSS naming `where` if `bytes` is not
  // exactly kSerializedSize bytes.
  static absl::StatusOr<DigestAccumulator> Parse(absl::string_view bytes, absl::string_view where);

  // The 32-byte state digest: SHA-256 of Serialize().
  std::array<uint8_t, 32> Finish() const;

 private:
  using Lanes = std::array<uint64_t, kLanes>;
  static Lanes ElementOf(Cf cf, absl::string_view key, absl::string_view value);
  Lanes lanes_{};
};

// Lowercase hex of a finished digest, for log lines.
std::string DigestHex(const std::array<uint8_t, 32>& digest);

// The accumulator of every element stored in `store` at `snapshot` (the
// latest state if null): one full pass. Errors name the store.
absl::StatusOr<DigestAccumulator> ComputeStateDigest(const Store& store,
                                                     const rocksdb::Snapshot* snapshot);

// The accumulator kept in the meta column family at `snapshot` (latest if
// null); nullopt if there is none (a store written before it was kept).
// DATA_LOSS naming the store if it has the wrong size.
absl::StatusOr<std::optional<DigestAccumulator>> ReadStoredStateDigest(
    const Store& store, const rocksdb::Snapshot* snapshot);

// How writing `batch` on top of `store`'s latest state changes the
// accumulator: for every record of a digested column family the batch
// writes, minus the element it replaces plus the element it leaves (bodies'
// data records follow their live counts). Reads the records it replaces,
// and the live counts of the bodies it touches, with one MultiGet; a
// second reads stored body data only where a data element must go or come
// that the batch does not hold (a body's last live reference goes, or the
// first comes back). The caller must keep other writers out
// until the batch is written. INTERNAL if the batch range-deletes or
// merges in a digested column family (its old records cannot be known);
// read errors name the store.
absl::StatusOr<DigestAccumulator> StateDigestChange(const Store& store,
                                                    const rocksdb::WriteBatch& batch);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_STATE_DIGEST_H_

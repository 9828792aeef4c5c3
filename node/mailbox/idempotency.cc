#include "node/mailbox/idempotency.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "node/common/status_macros.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/records.h"

namespace qbox::mailbox {

std::string RequestFingerprint(const google::protobuf::MessageLite& request) {
  // Deterministic: every replica parses the same logged bytes with the same
  // schema, and map fields (if any) must not reorder between them.
  std::string encoded;
  request.ByteSizeLong();  // caches the sizes SerializeWithCachedSizes relies on
  {
    google::protobuf::io::StringOutputStream stream(&encoded);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    request.SerializeWithCachedSizes(&out);
  }
  return Sha256(encoded);
}

absl::StatusOr<std::optional<v1::CommandResult>> FindIdempotentResult(
    const StoreTxn& txn, absl::string_view account, absl::string_view key,
    absl::string_view fingerprint, int64_t leader_time_ms, absl::string_view field) {
  v1::IdempotencyRecord record;
  ASSIGN_OR_RETURN(bool found,
                   txn.GetProto(Cf::kIdempotency, keys::Idempotency(account, key), &record));
  if (!found) return std::nullopt;
  if (record.applied_leader_time_ms() + kIdempotencyWindowMs <= leader_time_ms) {
    return std::nullopt;  // expired: the key may be used again
  }
  if (record.request_sha256() != fingerprint) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": this key was already used by account ", account,
                     " for a different request (keys are remembered for ",
                     kIdempotencyWindowMs / (60 * 60 * 1000),
                     " hours); use a new key for a new request"));
  }
  return std::move(*record.mutable_result());
}

void RememberIdempotentResult(StoreTxn& txn, absl::string_view account, absl::string_view key,
                              absl::string_view fingerprint, int64_t leader_time_ms,
                              const v1::CommandResult& result) {
  v1::IdempotencyRecord record;
  *record.mutable_result() = result;
  record.set_request_sha256(std::string(fingerprint));
  record.set_applied_leader_time_ms(leader_time_ms);
  txn.PutProto(Cf::kIdempotency, keys::Idempotency(account, key), record);
  txn.Put(Cf::kIdempotency, keys::IdempotencyByTime(leader_time_ms, account, key), "");
}

absl::StatusOr<int> ForgetExpiredIdempotencyKeys(StoreTxn& txn, int64_t leader_time_ms) {
  const int64_t cutoff = leader_time_ms - kIdempotencyWindowMs;  // applied at or before: expired
  if (cutoff < 0) return 0;
  const std::string from(keys::kIdempotencyByTimePrefix);
  const std::string until =
      absl::StrCat(keys::kIdempotencyByTimePrefix, keys::BigEndian64(cutoff + 1));
  const size_t header = keys::kIdempotencyByTimePrefix.size() + 8;
  std::vector<std::string> expired;  // time entries, in expiry order
  RETURN_IF_ERROR(txn.Scan(Cf::kIdempotency, from, until,
                           [&](absl::string_view k, absl::string_view) {
                             expired.emplace_back(k);
                             return expired.size() < kIdempotencyForgetBatch;
                           }));
  int forgotten = 0;
  for (const std::string& entry : expired) {
    txn.Delete(Cf::kIdempotency, entry);
    if (entry.size() < header) continue;  // not one of ours; dropped above
    const int64_t applied =
        static_cast<int64_t>(keys::ReadBigEndian64(absl::string_view(entry).substr(1, 8)));
    const absl::string_view primary = absl::string_view(entry).substr(header);
    v1::IdempotencyRecord record;
    ASSIGN_OR_RETURN(bool found, txn.GetProto(Cf::kIdempotency, primary, &record));
    // A key reused after it expired has a newer time entry of its own.
    if (found && record.applied_leader_time_ms() == applied) {
      txn.Delete(Cf::kIdempotency, primary);
      ++forgotten;
    }
  }
  return forgotten;
}

}  // namespace qbox::mailbox

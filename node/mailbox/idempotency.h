// Idempotency keys: a create/append/copy/move/restore retried with the same
// key is applied once and answered with the first result (issue 3).
//
// A key is remembered per account, with a fingerprint of the request it
// answered, for kIdempotencyWindowMs of leader time after it was applied.
// Within the window, the same key with the same request returns the stored
// result; the same key with a different request is refused (it would
// otherwise answer one request with another's result, e.g. a different
// message's UID). After the window the key is free again, and records are
// deleted a bounded number at a time so the store does not grow forever.
//
// Everything here is deterministic (leader time from the command, never a
// node's clock): every replica remembers and forgets the same keys, so the
// records are part of the digest and of snapshots. A leader whose clock
// runs ahead makes keys expire early; the cost is a possible duplicate on
// a late retry, never a lost message.
#ifndef QBOX_NODE_MAILBOX_IDEMPOTENCY_H_
#define QBOX_NODE_MAILBOX_IDEMPOTENCY_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "node/mailbox/store.h"
#include "qbox/v1/command.pb.h"

namespace qbox::mailbox {

// How long a key is remembered, in leader time: a day, far beyond any
// client's retry deadline.
inline constexpr int64_t kIdempotencyWindowMs = 24LL * 60 * 60 * 1000;
// Forgetting runs at log indexes that are multiples of this, and deletes at
// most kIdempotencyForgetBatch expired keys each time (bounded apply cost).
inline constexpr uint64_t kIdempotencyForgetEvery = 1024;
inline constexpr int kIdempotencyForgetBatch = 8192;

// SHA-256 of the request's deterministic protobuf encoding.
std::string RequestFingerprint(const google::protobuf::MessageLite& request);

// The stored result for (account, key) if the key was applied within the
// window before `leader_time_ms`. INVALID_ARGUMENT naming `field` if it
// was applied for a request with another fingerprint. nullopt if unknown
// or expired. DATA_LOSS if the record does not parse.
absl::StatusOr<std::optional<v1::CommandResult>> FindIdempotentResult(
    const StoreTxn& txn, absl::string_view account, absl::string_view key,
    absl::string_view fingerprint, int64_t leader_time_ms, absl::string_view field);

// Records `result` as the answer to (account, key) at `leader_time_ms`.
void RememberIdempotentResult(StoreTxn& txn, absl::string_view account, absl::string_view key,
                              absl::string_view fingerprint, int64_t leader_time_ms,
                              const v1::CommandResult& result);

// Deletes up to kIdempotencyForgetBatch records that expired by
// `leader_time_ms` (a record re-used after it expired is kept; only its
// stale time entry goes). Returns how many records were deleted.
absl::StatusOr<int> ForgetExpiredIdempotencyKeys(StoreTxn& txn, int64_t leader_time_ms);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_IDEMPOTENCY_H_

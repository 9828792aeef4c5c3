// Keys that make a retried create/append apply once (mailstore.proto).
#ifndef QBOX_CLIENT_IDEMPOTENCY_KEY_H_
#define QBOX_CLIENT_IDEMPOTENCY_KEY_H_

#include <string>

namespace qbox::internal {

// 128 random bits as 32 lower-case hex digits. Random, not derived from
// time or a counter, so that keys from different client processes (which
// share one server-side key space per account) never collide in practice.
// Thread-safe.
std::string NewIdempotencyKey();

// Sets `request`'s idempotency_key to a new key if the caller left it unset
// or empty, so that every retry of this one logical call sends the same key.
template <typename Request>
void EnsureIdempotencyKey(Request& request) {
  if (!request.has_idempotency_key() || request.idempotency_key().empty()) {
    request.set_idempotency_key(NewIdempotencyKey());
  }
}

}  // namespace qbox::internal

#endif  // QBOX_CLIENT_IDEMPOTENCY_KEY_H_

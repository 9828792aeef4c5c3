#include "client/idempotency_key.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"

namespace qbox::internal {

std::string NewIdempotencyKey() {
  // absl::BitGen seeds itself from the OS entropy pool; one per thread
  // avoids a lock and a shared state between threads.
  thread_local absl::BitGen bits;
  const uint64_t high = absl::Uniform<uint64_t>(bits);
  const uint64_t low = absl::Uniform<uint64_t>(bits);
  return absl::StrFormat("%016x%016x", high, low);
}

}  // namespace qbox::internal

// When to retry a failed attempt, and how long to wait first.
#ifndef QBOX_CLIENT_RETRY_BACKOFF_H_
#define QBOX_CLIENT_RETRY_BACKOFF_H_

#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace qbox::internal {

// Only UNAVAILABLE is retried: gRPC's "try again, possibly elsewhere"
// (CONVENTIONS.md). Every other code states something about the request
// or the data that another attempt would not change, or (DEADLINE_EXCEEDED,
// CANCELLED) means the caller's time or interest is gone.
bool IsRetryable(absl::StatusCode code);

// Jittered exponential back-off for one logical call: the n-th Next() is
// uniform in [b/2, b] with b = min(initial * 2^n, max). The jitter spreads
// out clients that all lost the same leader at the same moment. Not
// thread-safe; one per call.
class Backoff {
 public:
  Backoff(absl::Duration initial, absl::Duration max);

  absl::Duration Next();

 private:
  absl::Duration current_;
  const absl::Duration max_;
  absl::BitGen bits_;
};

}  // namespace qbox::internal

#endif  // QBOX_CLIENT_RETRY_BACKOFF_H_

#include "client/retry_backoff.h"

#include <algorithm>

namespace qbox::internal {

bool IsRetryable(absl::StatusCode code) { return code == absl::StatusCode::kUnavailable; }

Backoff::Backoff(absl::Duration initial, absl::Duration max)
    : current_(std::min(initial, max)), max_(max) {}

absl::Duration Backoff::Next() {
  const absl::Duration bound = current_;
  current_ = std::min(current_ * 2, max_);
  const double fraction = absl::Uniform<double>(absl::IntervalClosed, bits_, 0.5, 1.0);
  return bound * fraction;
}

}  // namespace qbox::internal

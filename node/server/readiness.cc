#include "node/server/readiness.h"

#include "absl/strings/str_cat.h"

namespace qbox::server {

absl::Status ReadinessLatch::Update(const ReadinessInput& in) {
  if (in.recovering) {
    ready_ = false;
    last_progress_ = absl::InfinitePast();
    return absl::UnavailableError("recovering: rebuilding from the other sites");
  }
  if (!in.degraded.empty()) {
    ready_ = false;
    last_progress_ = absl::InfinitePast();
    return absl::UnavailableError(in.degraded);
  }
  if (!in.leader_known) {
    ready_ = false;
    last_progress_ = absl::InfinitePast();
    return absl::UnavailableError("no leader known");
  }
  const uint64_t behind = in.applied >= in.committed ? 0 : in.committed - in.applied;
  if (behind == 0 || in.applied != last_applied_ || last_progress_ == absl::InfinitePast()) {
    last_progress_ = in.now;
  }
  last_applied_ = in.applied;
  if (behind == 0) {
    ready_ = true;
    return absl::OkStatus();
  }
  if (ready_ && behind <= max_lag_) {
    const absl::Duration stalled = in.now - last_progress_;
    if (stalled <= stall_after_) return absl::OkStatus();
    ready_ = false;
    return absl::UnavailableError(absl::StrCat("applying is stuck: applied ", in.applied, " of ",
                                               in.committed, ", nothing applied for ",
                                               absl::FormatDuration(stalled)));
  }
  const bool fell_behind = ready_;
  ready_ = false;
  if (fell_behind) {
    return absl::UnavailableError(absl::StrCat("fell behind: applied ", in.applied, " of ",
                                               in.committed, ", more than ", max_lag_, " entries"));
  }
  return absl::UnavailableError(
      absl::StrCat("catching up: applied ", in.applied, " of ", in.committed));
}

}  // namespace qbox::server

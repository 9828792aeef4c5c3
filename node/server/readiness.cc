#include "node/server/readiness.h"

#include "absl/strings/str_cat.h"

namespace qbox::server {

absl::Status ReadinessLatch::Update(const ReadinessInput& in) {
  if (in.recovering) {
    ready_ = false;
    return absl::UnavailableError("recovering: rebuilding from the other sites");
  }
  if (!in.leader_known) {
    ready_ = false;
    return absl::UnavailableError("no leader known");
  }
  const uint64_t behind = in.applied >= in.committed ? 0 : in.committed - in.applied;
  if (behind == 0 || (ready_ && behind <= max_lag_)) {
    ready_ = true;
    return absl::OkStatus();
  }
  const bool fell_behind = ready_;
  ready_ = false;
  if (fell_behind) {
    return absl::UnavailableError(absl::StrCat("fell behind: applied ", in.applied, " of ",
                                               in.committed, ", more than ", max_lag_,
                                               " entries"));
  }
  return absl::UnavailableError(
      absl::StrCat("catching up: applied ", in.applied, " of ", in.committed));
}

}  // namespace qbox::server

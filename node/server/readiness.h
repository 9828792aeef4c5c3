// When a node says it should take traffic: grpc.health.v1 SERVING and
// /readyz 200. A node that is rebuilding, has no leader, or trails far
// behind must not get front-end traffic or count as ready in a rolling
// update. A follower under steady writes, which is always a few entries
// behind the leader's commit index when sampled, must not flap between
// SERVING and NOT_SERVING.
#ifndef QBOX_NODE_SERVER_READINESS_H_
#define QBOX_NODE_SERVER_READINESS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace qbox::server {

struct ReadinessInput {
  bool recovering = false;    // rebuilding after storage loss (G4)
  bool leader_known = false;  // a leader of the current term is known
  uint64_t applied = 0;       // this node's applied index
  uint64_t committed = 0;     // the highest commit index it knows of
  absl::Time now;             // when the sample was taken
  // Why this node cannot serve at all (NOSPACE: no_space.h), as narrative;
  // empty if nothing is wrong.
  std::string degraded;
};

// A node becomes ready once it has applied everything it knows to be
// committed. From then on it stays ready while it trails by at most
// `max_lag` entries and its applied index keeps moving: behind for longer
// than `stall_after` without applying anything means applying is stuck
// (reads there would wait for it). Recovering, losing the leader, falling
// further behind, a stuck apply or being degraded makes it not ready, and it must then
// catch up fully again. max_lag 0: ready only while applied == committed,
// at every sample.
//
// Thread-safety: none; the owner serializes calls.
class ReadinessLatch {
 public:
  explicit ReadinessLatch(uint64_t max_lag, absl::Duration stall_after = absl::Seconds(10))
      : max_lag_(max_lag), stall_after_(stall_after) {}

  // Takes a sample. OK when ready; otherwise UNAVAILABLE saying why, as
  // narrative ("catching up: applied 1200 of 5000").
  absl::Status Update(const ReadinessInput& in);

  uint64_t max_lag() const { return max_lag_; }

 private:
  uint64_t max_lag_;
  absl::Duration stall_after_;
  bool ready_ = false;
  uint64_t last_applied_ = 0;
  absl::Time last_progress_ = absl::InfinitePast();  // applied moved, or nothing to apply
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_READINESS_H_

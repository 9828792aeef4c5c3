// What `qboxctl rebuild watch` computes from each poll of the cluster: how
// far a catching-up node is from the leader, how fast it closes the gap,
// and when it counts as caught up. Pure arithmetic on ClusterViews, so it
// is tested without a cluster.
#ifndef QBOX_CTL_REBUILD_PROGRESS_H_
#define QBOX_CTL_REBUILD_PROGRESS_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "ctl/cluster_view.h"

namespace qbox::ctl {

// One poll, as it concerns the watched node.
struct RebuildObservation {
  absl::Time at;
  bool node_known = false;                // some answer (or --cluster) lists the node
  bool node_answered = false;             // the node answered for itself
  std::string role;                       // its role as it reports it (else as the leader sees it)
  std::optional<uint64_t> applied_index;  // its own
  std::optional<uint64_t> commit_index;   // its own
  std::optional<uint64_t> lag_entries;    // leader's last index minus its match
  std::string leader;                     // "site/node" or ""
  std::optional<uint64_t> leader_commit_index;
  std::string error;  // why the node itself did not answer, if it did not
};

// Picks the watched node's row (and the leader's) out of `view`.
RebuildObservation Observe(const ClusterView& view, const std::string& node, absl::Time at);

struct RebuildEstimate {
  // Entries the node still has to receive or apply: the larger of the
  // leader's lag figure and (leader's commit - node's applied).
  std::optional<uint64_t> entries_to_go;
  // Entries applied per second over the last few polls.
  std::optional<double> entries_per_second;
  std::optional<absl::Duration> time_left;
  // The node answered, leads / follows / learns (not recovering,
  // campaigning or unknown), has applied everything it knows committed,
  // and is at most `max_lag` entries behind the leader.
  bool caught_up = false;
};

class RebuildTracker {
 public:
  explicit RebuildTracker(uint64_t max_lag) : max_lag_(max_lag) {}

  // Adds a poll (in time order) and estimates from it and the ones before.
  RebuildEstimate Add(const RebuildObservation& observation);

 private:
  static constexpr size_t kWindow = 10;  // polls the rate is averaged over

  const uint64_t max_lag_;
  std::deque<std::pair<absl::Time, uint64_t>> applied_;  // (when, applied index)
};

}  // namespace qbox::ctl

#endif  // QBOX_CTL_REBUILD_PROGRESS_H_

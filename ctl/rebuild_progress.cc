#include "ctl/rebuild_progress.h"

#include <algorithm>

namespace qbox::ctl {

RebuildObservation Observe(const ClusterView& view, const std::string& node, absl::Time at) {
  RebuildObservation o;
  o.at = at;
  o.leader = view.leader;
  for (const NodeRow& row : view.nodes) {
    if (row.QualifiedName() == view.leader && row.answered) {
      o.leader_commit_index = row.commit_index;
    }
    if (row.QualifiedName() != node) continue;
    o.node_known = true;
    o.node_answered = row.answered;
    o.role = row.role;
    if (row.answered) {
      o.applied_index = row.applied_index;
      o.commit_index = row.commit_index;
    }
    o.lag_entries = row.lag_entries;
    o.error = row.error;
  }
  return o;
}

RebuildEstimate RebuildTracker::Add(const RebuildObservation& o) {
  RebuildEstimate e;
  std::optional<uint64_t> to_go = o.lag_entries;
  if (o.leader_commit_index && o.applied_index) {
    const uint64_t unapplied =
        *o.leader_commit_index > *o.applied_index ? *o.leader_commit_index - *o.applied_index : 0;
    to_go = std::max(to_go.value_or(0), unapplied);
  }
  e.entries_to_go = to_go;

  if (o.applied_index) {
    applied_.emplace_back(o.at, *o.applied_index);
    if (applied_.size() > kWindow) applied_.pop_front();
  }
  if (applied_.size() >= 2) {
    const auto& [t0, a0] = applied_.front();
    const auto& [t1, a1] = applied_.back();
    const double seconds = absl::ToDoubleSeconds(t1 - t0);
    // A restore from a snapshot can move the index back to the snapshot's;
    // only forward progress counts as a rate.
    if (seconds > 0 && a1 >= a0) e.entries_per_second = static_cast<double>(a1 - a0) / seconds;
  }
  if (to_go && e.entries_per_second && *e.entries_per_second > 0) {
    e.time_left = absl::Seconds(static_cast<double>(*to_go) / *e.entries_per_second);
  }

  const bool settled_role = o.role == "leader" || o.role == "follower" || o.role == "learner";
  const bool applied_all = o.applied_index && o.commit_index && *o.applied_index >= *o.commit_index;
  const bool close_to_leader = o.role == "leader" || (to_go && *to_go <= max_lag_);
  e.caught_up = o.node_answered && settled_role && applied_all && close_to_leader;
  return e;
}

}  // namespace qbox::ctl

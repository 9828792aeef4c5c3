// `qboxctl rebuild watch SITE/NAME`: poll the cluster until a node that is
// rebuilding (or just lagging) has caught up with the leader.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ctl/node_spec.h"
#include "ctl/rebuild_commands.h"
#include "ctl/rebuild_progress.h"
#include "ctl/status_gathering.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
namespace {

using nlohmann::json;

// Each poll's calls get at most this long, so a dead endpoint does not
// stall the display.
constexpr absl::Duration kMaxPollDeadline = absl::Seconds(5);
constexpr int kBarWidth = 24;

template <typename T>
json OrNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

std::string Clock(absl::Time t) { return absl::FormatTime("%H:%M:%S", t, absl::LocalTimeZone()); }

std::string Rate(const RebuildEstimate& e) {
  return e.entries_per_second ? absl::StrFormat("%.1f entries/s", *e.entries_per_second)
                              : "rate unknown";
}

std::string TimeLeft(const RebuildEstimate& e) {
  if (e.caught_up) return "caught up";
  if (!e.time_left) return "time left unknown";
  return absl::StrCat("about ", absl::FormatDuration(absl::Trunc(*e.time_left, absl::Seconds(1))),
                      " left");
}

std::string ProgressLine(const std::string& node, const RebuildObservation& o,
                         const RebuildEstimate& e) {
  std::string applied = o.applied_index
                            ? absl::StrCat("applied ", *o.applied_index)
                            : absl::StrCat("not answering (", o.error.empty() ? "-" : o.error, ")");
  std::string to_go =
      e.entries_to_go ? absl::StrCat(*e.entries_to_go, " entries to go") : "entries to go unknown";
  return absl::StrCat(Clock(o.at), " ", node, " ", o.role.empty() ? "unknown" : o.role, ", ",
                      applied, ", ", to_go, ", ", Rate(e), ", ", TimeLeft(e));
}

// [#######.........] from how much of the first gap has closed.
std::string Bar(std::optional<uint64_t> first_gap, std::optional<uint64_t> to_go) {
  if (!first_gap || !to_go || *first_gap == 0) return "";
  const double done =
      1.0 - static_cast<double>(std::min(*to_go, *first_gap)) / static_cast<double>(*first_gap);
  const int filled = static_cast<int>(done * kBarWidth);
  return absl::StrCat("[", std::string(filled, '#'), std::string(kBarWidth - filled, '.'), "] ");
}

json PollJson(const std::string& node, const RebuildObservation& o, const RebuildEstimate& e) {
  return json{
      {"time", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", o.at, absl::UTCTimeZone())},
      {"node", node},
      {"answered", o.node_answered},
      {"role", o.role.empty() ? "unknown" : o.role},
      {"applied_index", OrNull(o.applied_index)},
      {"commit_index", OrNull(o.commit_index)},
      {"leader", o.leader},
      {"leader_commit_index", OrNull(o.leader_commit_index)},
      {"lag_entries", OrNull(o.lag_entries)},
      {"entries_to_go", OrNull(e.entries_to_go)},
      {"entries_per_second", OrNull(e.entries_per_second)},
      {"seconds_left", e.time_left ? json(absl::ToDoubleSeconds(*e.time_left)) : json(nullptr)},
      {"caught_up", e.caught_up},
      {"error", o.error}};
}

}  // namespace

absl::Status RunRebuildWatch(const RebuildWatchOptions& options) {
  ASSIGN_OR_RETURN(NodeRef ref, ParseNodeRef(options.node, "NODE"));
  const std::string node = absl::StrCat(ref.site, "/", ref.name);
  absl::Duration interval;
  if (!absl::ParseDuration(options.interval, &interval) || interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--interval: '", options.interval, "' is not a positive duration like 1s or 500ms"));
  }
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  if (connection.cluster && connection.cluster->FindNode(ref.site, ref.name) == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("NODE: ", node, " is not in --cluster ", options.connection.cluster_file));
  }

  const bool json_mode = options.format == OutputFormat::kJson;
  const bool terminal = !json_mode && ::isatty(STDOUT_FILENO);
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + connection.timeout;
  RebuildTracker tracker(options.max_lag);
  std::optional<uint64_t> first_gap;
  RebuildEstimate last;
  for (bool first_poll = true;; first_poll = false) {
    Connection poll = connection;
    poll.timeout =
        std::max(std::min(kMaxPollDeadline, deadline - absl::Now()), absl::Milliseconds(100));
    absl::StatusOr<ClusterView> view =
        GatherClusterView(poll, absl::StrCat("watching ", node, " rebuild"));
    const absl::Time now = absl::Now();
    if (!view.ok()) {
      // The cluster was reachable when asked, or we would not be watching;
      // a later outage is shown and waited out until --timeout.
      if (first_poll) return view.status();
      if (json_mode) {
        std::cout << json{{"time",
                           absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone())},
                          {"node", node},
                          {"error", std::string(view.status().message())}}
                         .dump()
                  << std::endl;
      } else {
        std::cout << (terminal ? "\r" : "") << Clock(now) << " " << view.status().message()
                  << (terminal ? "" : "\n") << std::flush;
      }
    } else {
      RebuildObservation observed = Observe(*view, node, now);
      if (!observed.node_known && first_poll && !connection.cluster) {
        return absl::NotFoundError(
            absl::StrCat("NODE: ", node,
                         " is not a member of the cluster that answered (see 'qboxctl member "
                         "list')"));
      }
      last = tracker.Add(observed);
      if (!first_gap && last.entries_to_go) first_gap = last.entries_to_go;
      if (json_mode) {
        std::cout << PollJson(node, observed, last).dump() << std::endl;
      } else if (terminal) {
        std::cout << "\r" << Bar(first_gap, last.entries_to_go)
                  << ProgressLine(node, observed, last) << "\033[K" << std::flush;
      } else {
        std::cout << ProgressLine(node, observed, last) << "\n" << std::flush;
      }
      if (last.caught_up) {
        if (!json_mode) {
          std::cout << (terminal ? "\n" : "") << node << " has caught up: applied index "
                    << observed.applied_index.value_or(0) << ", " << last.entries_to_go.value_or(0)
                    << " entries behind the leader "
                    << (observed.leader.empty() ? "-" : observed.leader) << " (watched for "
                    << absl::FormatDuration(absl::Trunc(now - start, absl::Milliseconds(100)))
                    << ")\n";
        }
        return absl::OkStatus();
      }
    }
    if (now >= deadline) {
      if (terminal) std::cout << "\n";
      std::string to_go = last.entries_to_go ? absl::StrCat(*last.entries_to_go, " entries to go")
                                             : "entries to go unknown";
      return absl::DeadlineExceededError(
          absl::StrCat(node, " has not caught up after ", absl::FormatDuration(connection.timeout),
                       " (--timeout): ", to_go, "; raise --timeout to keep watching"));
    }
    absl::SleepFor(std::min(interval, deadline - now));
  }
}

}  // namespace qbox::ctl

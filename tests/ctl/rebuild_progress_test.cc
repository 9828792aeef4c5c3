// The arithmetic behind `qboxctl rebuild watch`: entries to go, rate, time
// left and when a node counts as caught up.
#include "ctl/rebuild_progress.h"

#include "gtest/gtest.h"

namespace qbox::ctl {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

RebuildObservation Recovering(int second, uint64_t applied, uint64_t leader_commit, uint64_t lag) {
  RebuildObservation o;
  o.at = kStart + absl::Seconds(second);
  o.node_known = true;
  o.node_answered = true;
  o.role = "recovering";
  o.applied_index = applied;
  o.commit_index = applied;
  o.leader = "site-a/n1";
  o.leader_commit_index = leader_commit;
  o.lag_entries = lag;
  return o;
}

TEST(RebuildTrackerTest, EstimatesRateAndTimeLeftFromAppliedProgress) {
  RebuildTracker tracker(0);
  RebuildEstimate first = tracker.Add(Recovering(0, 100, 1100, 1000));
  EXPECT_EQ(first.entries_to_go, 1000u);
  EXPECT_FALSE(first.entries_per_second) << "one poll gives no rate";
  EXPECT_FALSE(first.time_left);
  EXPECT_FALSE(first.caught_up);

  RebuildEstimate second = tracker.Add(Recovering(2, 500, 1100, 400));
  ASSERT_TRUE(second.entries_per_second);
  EXPECT_DOUBLE_EQ(*second.entries_per_second, 200.0);
  EXPECT_EQ(second.entries_to_go, 600u) << "leader commit - applied exceeds the lag figure";
  ASSERT_TRUE(second.time_left);
  EXPECT_EQ(*second.time_left, absl::Seconds(3));
  EXPECT_FALSE(second.caught_up) << "still recovering";
}

TEST(RebuildTrackerTest, CaughtUpOnlyWhenSettledAppliedAndWithinMaxLag) {
  RebuildObservation o = Recovering(0, 1100, 1100, 0);
  EXPECT_FALSE(RebuildTracker(0).Add(o).caught_up) << "recovering";
  o.role = "follower";
  EXPECT_TRUE(RebuildTracker(0).Add(o).caught_up);
  o.role = "candidate";
  EXPECT_FALSE(RebuildTracker(0).Add(o).caught_up);
  o.role = "follower";
  o.lag_entries = 3;
  EXPECT_FALSE(RebuildTracker(0).Add(o).caught_up);
  EXPECT_TRUE(RebuildTracker(5).Add(o).caught_up) << "--max-lag 5";
  o.commit_index = 1105;  // knows of entries it has not applied
  EXPECT_FALSE(RebuildTracker(5).Add(o).caught_up);
  o = Recovering(0, 1100, 1100, 0);
  o.role = "follower";
  o.node_answered = false;
  EXPECT_FALSE(RebuildTracker(0).Add(o).caught_up) << "the node must answer for itself";
  o = Recovering(0, 1100, 1100, 0);
  o.role = "follower";
  o.lag_entries.reset();
  o.leader_commit_index.reset();
  EXPECT_FALSE(RebuildTracker(0).Add(o).caught_up) << "no leader, no verdict";
}

TEST(RebuildTrackerTest, AnIndexThatMovesBackGivesNoRate) {
  RebuildTracker tracker(0);
  tracker.Add(Recovering(0, 900, 1000, 100));
  // A snapshot install can reset the applied index to the snapshot's.
  RebuildEstimate e = tracker.Add(Recovering(1, 500, 1000, 500));
  EXPECT_FALSE(e.entries_per_second);
  EXPECT_FALSE(e.time_left);
}

TEST(RebuildObserveTest, PicksTheNodeAndTheLeaderOutOfTheView) {
  ClusterView view;
  view.leader = "site-a/n1";
  NodeRow leader;
  leader.site = "site-a";
  leader.node = "n1";
  leader.answered = true;
  leader.role = "leader";
  leader.commit_index = 50;
  leader.applied_index = 50;
  leader.lag_entries = 0;
  NodeRow watched;
  watched.site = "site-c";
  watched.node = "n1";
  watched.role = "recovering";
  watched.lag_entries = 40;
  watched.error = "connection refused";
  view.nodes = {leader, watched};

  RebuildObservation o = Observe(view, "site-c/n1", kStart);
  EXPECT_TRUE(o.node_known);
  EXPECT_FALSE(o.node_answered);
  EXPECT_EQ(o.role, "recovering");
  EXPECT_FALSE(o.applied_index);
  EXPECT_EQ(o.lag_entries, 40u);
  EXPECT_EQ(o.leader_commit_index, 50u);
  EXPECT_EQ(o.error, "connection refused");
  EXPECT_FALSE(Observe(view, "site-z/n9", kStart).node_known);
}

}  // namespace
}  // namespace qbox::ctl

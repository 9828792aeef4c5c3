// When a node says it should take traffic (node/server/readiness.h): ready
// only once fully caught up, then steady while it trails by a little, and
// not ready again when it recovers, loses the leader or falls far behind.
#include "node/server/readiness.h"

#include <gtest/gtest.h>

namespace qbox::server {
namespace {

ReadinessInput At(uint64_t applied, uint64_t committed, absl::Time now = absl::UnixEpoch()) {
  ReadinessInput in;
  in.now = now;
  in.leader_known = true;
  in.applied = applied;
  in.committed = committed;
  return in;
}

TEST(ReadinessLatch, ANodeBehindIsNotReadyUntilItHasAppliedEverything) {
  ReadinessLatch latch(1000);
  absl::Status s = latch.Update(At(10, 20));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "catching up: applied 10 of 20");
  // Within the lag window, but it never caught up: still not ready.
  EXPECT_FALSE(latch.Update(At(19, 20)).ok());
  EXPECT_TRUE(latch.Update(At(20, 20)).ok());
}

TEST(ReadinessLatch, AFollowerAFewEntriesBehindUnderWritesStaysReady) {
  ReadinessLatch latch(1000);
  ASSERT_TRUE(latch.Update(At(100, 100)).ok());
  for (uint64_t commit = 101; commit < 5000; commit += 37) {
    EXPECT_TRUE(latch.Update(At(commit - 30, commit)).ok()) << commit;
  }
  EXPECT_TRUE(latch.Update(At(4000, 5000)).ok());  // exactly max_lag behind
}

TEST(ReadinessLatch, FallingFurtherBehindNeedsAFullCatchUpAgain) {
  ReadinessLatch latch(1000);
  ASSERT_TRUE(latch.Update(At(100, 100)).ok());
  absl::Status s = latch.Update(At(100, 1101));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "fell behind: applied 100 of 1101, more than 1000 entries");
  EXPECT_EQ(latch.Update(At(1100, 1101)).message(), "catching up: applied 1100 of 1101");
  EXPECT_TRUE(latch.Update(At(1101, 1101)).ok());
}

TEST(ReadinessLatch, RecoveringOrNoLeaderIsNeverReadyAndResetsTheLatch) {
  ReadinessLatch latch(1000);
  ASSERT_TRUE(latch.Update(At(100, 100)).ok());
  ReadinessInput recovering = At(100, 100);
  recovering.recovering = true;
  EXPECT_EQ(latch.Update(recovering).message(), "recovering: rebuilding from the other sites");
  EXPECT_FALSE(latch.Update(At(99, 100)).ok());
  ASSERT_TRUE(latch.Update(At(100, 100)).ok());
  ReadinessInput leaderless = At(100, 100);
  leaderless.leader_known = false;
  EXPECT_EQ(latch.Update(leaderless).message(), "no leader known");
  EXPECT_FALSE(latch.Update(At(99, 100)).ok());
}

// Reads on a node wait until it has applied their read index: a node
// whose applying is stuck must not stay ready just because few entries
// arrived since.
TEST(ReadinessLatch, ANodeWhoseApplyingIsStuckTurnsUnready) {
  const absl::Time t0 = absl::UnixEpoch() + absl::Hours(1);
  ReadinessLatch latch(1000, absl::Seconds(10));
  ASSERT_TRUE(latch.Update(At(100, 100, t0)).ok());
  EXPECT_TRUE(latch.Update(At(100, 105, t0 + absl::Seconds(1))).ok());
  EXPECT_TRUE(latch.Update(At(100, 106, t0 + absl::Seconds(10))).ok());  // 10 s: not yet
  absl::Status s = latch.Update(At(100, 107, t0 + absl::Seconds(12)));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "applying is stuck: applied 100 of 107, nothing applied for 12s");
  // Applying again, but ready only once fully caught up.
  EXPECT_FALSE(latch.Update(At(105, 107, t0 + absl::Seconds(13))).ok());
  EXPECT_TRUE(latch.Update(At(107, 107, t0 + absl::Seconds(14))).ok());
}

TEST(ReadinessLatch, SlowButSteadyApplyingStaysReady) {
  const absl::Time t0 = absl::UnixEpoch() + absl::Hours(1);
  ReadinessLatch latch(1000, absl::Seconds(10));
  ASSERT_TRUE(latch.Update(At(100, 100, t0)).ok());
  for (int second = 1; second <= 60; ++second) {
    EXPECT_TRUE(latch.Update(At(100 + second, 110 + second, t0 + absl::Seconds(second))).ok())
        << second;
  }
  // An idle node, fully applied, is never stuck however long nothing comes.
  EXPECT_TRUE(latch.Update(At(170, 170, t0 + absl::Hours(5))).ok());
}

TEST(ReadinessLatch, ZeroLagIsReadyOnlyWhileFullyApplied) {
  ReadinessLatch latch(0);
  ASSERT_TRUE(latch.Update(At(100, 100)).ok());
  EXPECT_FALSE(latch.Update(At(100, 101)).ok());
  EXPECT_TRUE(latch.Update(At(101, 101)).ok());
  EXPECT_TRUE(latch.Update(At(102, 101)).ok());  // a commit index not heard yet
}

TEST(ReadinessLatch, ADegradedNodeIsNotReadyAndMustCatchUpFullyAfterwards) {
  ReadinessLatch latch(1000);
  ASSERT_TRUE(latch.Update(At(100, 100)).ok());
  ReadinessInput degraded = At(100, 100);
  degraded.degraded = "NOSPACE: 3.0 MiB free of 64 MiB under /data";
  absl::Status s = latch.Update(degraded);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), degraded.degraded);
  // Back, a little behind: within max_lag, but it must catch up first.
  EXPECT_FALSE(latch.Update(At(100, 150)).ok());
  EXPECT_TRUE(latch.Update(At(150, 150)).ok());
}

}  // namespace
}  // namespace qbox::server

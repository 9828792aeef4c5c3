// When a node says it should take traffic (node/server/readiness.h): ready
// only once fully caught up, then steady while it trails by a little, and
// not ready again when it recovers, loses the leader or falls far behind.
#include "node/server/readiness.h"

#include <gtest/gtest.h>

namespace qbox::server {
namespace {

ReadinessInput At(uint64_t applied, uint64_t committed) {
  ReadinessInput in;
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

TEST(ReadinessLatch, ZeroLagIsReadyOnlyWhileFullyApplied) {
  ReadinessLatch latch(0);
  ASSERT_TRUE(latch.Update(At(100, 100)).ok());
  EXPECT_FALSE(latch.Update(At(100, 101)).ok());
  EXPECT_TRUE(latch.Update(At(101, 101)).ok());
  EXPECT_TRUE(latch.Update(At(102, 101)).ok());  // a commit index not heard yet
}

}  // namespace
}  // namespace qbox::server

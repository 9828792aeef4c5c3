#include "node/server/snapshot_policy.h"

#include <gtest/gtest.h>

namespace qbox::server {
namespace {

TEST(SnapshotPolicyTest, WaitsForTheEntryCount) {
  const SnapshotPolicy policy{100, 1.0};
  EXPECT_FALSE(SnapshotDue(policy, 99, 1 << 30, 0));
  EXPECT_TRUE(SnapshotDue(policy, 100, 0, 0));  // no snapshot yet: entries decide
}

TEST(SnapshotPolicyTest, ALargeStateWaitsForAsManyLogBytes) {
  const SnapshotPolicy policy{100, 1.0};
  // 1 GB of state: 10,000 small entries are not worth rewriting it.
  EXPECT_FALSE(SnapshotDue(policy, 10000, 40 << 20, 1 << 30));
  EXPECT_TRUE(SnapshotDue(policy, 300000, 1 << 30, 1 << 30));
}

TEST(SnapshotPolicyTest, RatioZeroLeavesItToTheEntryCount) {
  EXPECT_TRUE(SnapshotDue({100, 0.0}, 100, 0, uint64_t{1} << 40));
}

TEST(SnapshotPolicyTest, EveryZeroMeansNever) {
  EXPECT_FALSE(SnapshotDue({0, 0.0}, uint64_t{1} << 40, uint64_t{1} << 40, 0));
}

}  // namespace
}  // namespace qbox::server

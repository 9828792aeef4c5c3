#include "node/server/log_retention.h"

#include "gtest/gtest.h"

namespace qbox::server {
namespace {

TEST(LogRetentionTest, KeepsAtLeastTheBudgetOfTheNewestEntries) {
  LogRetention retention;
  EXPECT_EQ(retention.CompactableUpTo(100), 0u) << "nothing recorded yet";
  retention.Applied(10, 40);  // entries 1-10
  retention.Applied(20, 40);  // 11-20
  retention.Applied(30, 40);  // 21-30
  // 120 bytes recorded: keeping 80 allows compacting up to 10, keeping 81
  // allows nothing (the entries after 10 hold only 80).
  EXPECT_EQ(retention.CompactableUpTo(80), 10u);
  EXPECT_EQ(retention.CompactableUpTo(40), 20u);
  EXPECT_EQ(retention.CompactableUpTo(81), 0u);
  EXPECT_EQ(retention.CompactableUpTo(1000), 0u);
  EXPECT_EQ(retention.CompactableUpTo(0), 30u) << "no budget: everything applied";
}

TEST(LogRetentionTest, ForgetsWhatWasCompactedAndEverythingAtAnInstall) {
  LogRetention retention;
  retention.Applied(10, 50);
  retention.Applied(20, 50);
  retention.Applied(30, 50);
  retention.Compacted(20);
  // Only the mark at 30 is left: it may be compacted once 0 bytes are kept.
  EXPECT_EQ(retention.CompactableUpTo(50), 0u);
  EXPECT_EQ(retention.CompactableUpTo(0), 30u);
  retention.Applied(40, 50);
  EXPECT_EQ(retention.CompactableUpTo(50), 30u);

  retention.Reset();
  EXPECT_EQ(retention.CompactableUpTo(0), 0u);
  retention.Applied(100, 10);
  EXPECT_EQ(retention.CompactableUpTo(0), 100u);
  EXPECT_EQ(retention.CompactableUpTo(1), 0u);
}

TEST(LogRetentionTest, AnIndexThatDoesNotAscendIsNotAMark) {
  LogRetention retention;
  retention.Applied(10, 50);
  retention.Applied(10, 50);  // counted, but no second mark at 10
  retention.Applied(5, 50);
  EXPECT_EQ(retention.CompactableUpTo(100), 10u);
  EXPECT_EQ(retention.CompactableUpTo(101), 0u);
}

}  // namespace
}  // namespace qbox::server

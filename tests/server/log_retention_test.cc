#include "node/server/log_retention.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/raft/memory_log_storage.h"

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

// A log whose entry at index i+1 carries sizes[i] bytes of data, compacted
// up to `compacted` behind a snapshot there: what a node finds at a restart.
std::unique_ptr<raft::MemoryLogStorage> LogWith(const std::vector<size_t>& sizes,
                                                uint64_t compacted) {
  auto log = std::make_unique<raft::MemoryLogStorage>();
  std::vector<raft::Entry> entries;
  for (size_t i = 0; i < sizes.size(); ++i) {
    raft::Entry entry;
    entry.index = i + 1;
    entry.term = 1;
    entry.data = std::string(sizes[i], 'x');
    entries.push_back(std::move(entry));
  }
  EXPECT_TRUE(log->Persist(entries, nullptr).ok());
  if (compacted > 0) {
    raft::SnapshotMeta meta;
    meta.index = compacted;
    meta.term = 1;
    EXPECT_TRUE(log->SaveStateMachineSnapshot(meta).ok());
    EXPECT_TRUE(log->Compact(compacted).ok());
  }
  return log;
}

std::unique_ptr<raft::MemoryLogStorage> LogOf(uint64_t count, size_t bytes, uint64_t compacted) {
  return LogWith(std::vector<size_t>(count, bytes), compacted);
}

TEST(LogRetentionTest, CountsTheLogKeptFromBeforeAStartFromTheStoragesEstimate) {
  // Entries 101-164 of 100 bytes each were kept behind the snapshot at 164
  // before the restart: 32 ranges of two entries, 200 bytes each, of which
  // 150 count.
  std::unique_ptr<raft::MemoryLogStorage> log = LogOf(164, 100, 100);
  LogRetention retention;
  absl::StatusOr<uint64_t> counted = retention.Seed(*log, 101, 164);
  ASSERT_TRUE(counted.ok()) << counted.status();
  EXPECT_EQ(*counted, 32u * 150);
  // Right away, not only after a whole budget of new entries: keeping 1,500
  // bytes leaves the last 10 ranges (entries 145-164, 2,000 bytes).
  EXPECT_EQ(retention.CompactableUpTo(1500), 144u);
  EXPECT_EQ(retention.CompactableUpTo(0), 164u);
  EXPECT_EQ(retention.CompactableUpTo(32 * 150 + 1), 0u);
  // Entries applied from here on count exactly, after the seeded ones.
  retention.Applied(170, 600);
  EXPECT_EQ(retention.CompactableUpTo(1500), 152u);
  EXPECT_EQ(retention.CompactableUpTo(600), 164u);
  retention.Compacted(152);
  EXPECT_EQ(retention.CompactableUpTo(1500), 0u) << "what is left is the budget";
  EXPECT_EQ(retention.CompactableUpTo(1350), 154u);
}

TEST(LogRetentionTest, SeededRangesTileTheLogExactly) {
  // 70 entries do not split evenly into 32 ranges: none may be lost or
  // counted twice, or the storage would be asked about entries it lacks.
  std::unique_ptr<raft::MemoryLogStorage> log = LogOf(75, 40, 5);
  LogRetention retention;
  absl::StatusOr<uint64_t> counted = retention.Seed(*log, 6, 75);
  ASSERT_TRUE(counted.ok()) << counted.status();
  uint64_t expected = 0;  // 75% of each range's 40 bytes an entry, summed
  for (uint64_t entries : {3, 3, 3, 3, 3, 3}) expected += entries * 40 * 3 / 4;
  for (int r = 0; r < 26; ++r) expected += 2 * 40 * 3 / 4;
  EXPECT_EQ(*counted, expected);
  EXPECT_EQ(retention.CompactableUpTo(0), 75u);
  EXPECT_EQ(retention.CompactableUpTo(expected), 0u)
      << "the first mark is at the first range's end";
  EXPECT_EQ(retention.CompactableUpTo(expected - 90), 8u);

  // Fewer entries than ranges: one mark each.
  LogRetention small;
  ASSERT_TRUE(small.Seed(*log, 74, 75).ok());
  EXPECT_EQ(small.CompactableUpTo(30), 74u);
  EXPECT_EQ(small.CompactableUpTo(31), 0u);
  EXPECT_EQ(*small.Seed(*log, 76, 75), 0u) << "an empty range counts nothing";
}

TEST(LogRetentionTest, EntriesEstimatedAtNothingAreKeptAndMakeNoRoom) {
  // Entries 1-32 carry 100 bytes each; 33-64 are estimated at 0 (as RocksDB
  // answers for what is not flushed yet). Those count as free: they are
  // kept, and they do not let anything before them be compacted.
  std::vector<size_t> sizes(64, 0);
  std::fill(sizes.begin(), sizes.begin() + 32, 100);
  std::unique_ptr<raft::MemoryLogStorage> log = LogWith(sizes, 0);
  LogRetention retention;
  ASSERT_EQ(*retention.Seed(*log, 1, 64), 16u * 150);
  EXPECT_EQ(retention.CompactableUpTo(150), 30u);
  EXPECT_EQ(retention.CompactableUpTo(16 * 150), 0u);
}

TEST(LogRetentionTest, ASeedThatCannotBeEstimatedRecordsNothing) {
  std::unique_ptr<raft::MemoryLogStorage> log = LogOf(50, 100, 10);
  LogRetention retention;
  // The last of the 32 ranges reaches past the log, after 31 answered.
  absl::StatusOr<uint64_t> counted = retention.Seed(*log, 11, 51);
  EXPECT_EQ(counted.status().code(), absl::StatusCode::kOutOfRange) << counted.status();
  EXPECT_EQ(retention.CompactableUpTo(0), 0u) << "no mark from the ranges that did answer";

  retention.Applied(60, 100);
  counted = retention.Seed(*log, 11, 50);
  EXPECT_EQ(counted.status().code(), absl::StatusCode::kFailedPrecondition) << counted.status();
  EXPECT_EQ(retention.CompactableUpTo(0), 60u);
  EXPECT_EQ(retention.CompactableUpTo(1), 0u);
}

}  // namespace
}  // namespace qbox::server

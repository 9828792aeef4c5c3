#include "node/storage/record_codec.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/storage/log_test_util.h"

namespace qbox::storage {
namespace {

using ::testing::HasSubstr;

constexpr char kDir[] = "/var/lib/qbox/raft";

TEST(RecordCodecTest, LogKeysSortInIndexOrder) {
  EXPECT_LT(LogKey(1), LogKey(2));
  EXPECT_LT(LogKey(255), LogKey(256));
  EXPECT_LT(LogKey(0xffffffff), LogKey(0x100000000));
  EXPECT_EQ(*ParseLogKey(LogKey(123456789), kDir), 123456789u);
  EXPECT_EQ(ParseLogKey("short", kDir).status().code(), absl::StatusCode::kDataLoss);
}

TEST(RecordCodecTest, EntryRoundTrips) {
  for (const raft::Entry& entry : testing::MakeEntries(41, 3, 7, {}, 1000)) {
    auto decoded = DecodeEntry(entry.index, EncodeEntry(entry), kDir);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_TRUE(testing::SameEntry(*decoded, entry));
  }
  raft::Entry empty;
  empty.index = 1;
  EXPECT_TRUE(testing::SameEntry(*DecodeEntry(1, EncodeEntry(empty), kDir), empty));
}

TEST(RecordCodecTest, EveryFlippedBitInAnEntryIsDetected) {
  const raft::Entry entry = testing::MakeEntries(42, 1, 3)[0];
  const std::string good = EncodeEntry(entry);
  for (size_t byte = 0; byte < good.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[byte] ^= static_cast<char>(1 << bit);
      auto decoded = DecodeEntry(42, bad, kDir);
      ASSERT_EQ(decoded.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << byte << " bit " << bit;
    }
  }
  auto decoded = DecodeEntry(42, good.substr(0, good.size() - 1) + "?", kDir);
  EXPECT_EQ(std::string(decoded.status().message()),
            "raft log record at index 42 in /var/lib/qbox/raft is corrupt: checksum mismatch");
}

TEST(RecordCodecTest, TruncatedEntriesAreDetected) {
  const std::string good = EncodeEntry(testing::MakeEntries(5, 1, 1)[0]);
  for (size_t length = 0; length < good.size(); ++length) {
    EXPECT_EQ(DecodeEntry(5, good.substr(0, length), kDir).status().code(),
              absl::StatusCode::kDataLoss)
        << "length " << length;
  }
}

TEST(RecordCodecTest, EntryUnderTheWrongKeyIsDetected) {
  const std::string value = EncodeEntry(testing::MakeEntries(5, 1, 1)[0]);
  absl::Status status = DecodeEntry(6, value, kDir).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("index 6"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("holds index 5"));
}

TEST(RecordCodecTest, HardStateRoundTripsAndDetectsDamage) {
  raft::HardState state;
  state.term = 9;
  state.vote = 3;
  state.commit = 1234;
  state.recovering = true;
  state.recovery_target = 99;
  const std::string encoded = EncodeHardState(state);
  EXPECT_EQ(*DecodeHardState(encoded, kDir), state);
  std::string bad = encoded;
  bad.back() ^= 1;
  absl::Status status = DecodeHardState(bad, kDir).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr(kDir));
}

TEST(RecordCodecTest, SnapshotMetaRoundTripsAndDetectsDamage) {
  raft::SnapshotMeta meta;
  meta.index = 100;
  meta.term = 4;
  meta.chain[31] = 7;
  meta.conf.voters = {1, 2, 3};
  meta.conf.learners = {8, 9};
  meta.data_size = 4096;
  meta.data_digest[0] = 0xee;
  auto decoded = DecodeSnapshotMeta(EncodeSnapshotMeta(meta), kDir);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->index, meta.index);
  EXPECT_EQ(decoded->term, meta.term);
  EXPECT_EQ(decoded->chain, meta.chain);
  EXPECT_EQ(decoded->conf.voters, meta.conf.voters);
  EXPECT_EQ(decoded->conf.learners, meta.conf.learners);
  EXPECT_EQ(decoded->data_size, meta.data_size);
  EXPECT_EQ(decoded->data_digest, meta.data_digest);
  std::string bad = EncodeSnapshotMeta(meta);
  bad[10] ^= 0x10;
  EXPECT_EQ(DecodeSnapshotMeta(bad, kDir).status().code(), absl::StatusCode::kDataLoss);
}

TEST(RecordCodecTest, HeldSnapshotMetaRoundTripsAndDataSnapshotsKeepTheirLayout) {
  raft::SnapshotMeta meta;
  meta.index = 100;
  meta.term = 4;
  meta.conf.voters = {1, 2, 3};
  const std::string with_data = EncodeSnapshotMeta(meta);
  meta.held_by_state_machine = true;
  const std::string held = EncodeSnapshotMeta(meta);
  // One trailing byte, only when held: records written before stay valid.
  EXPECT_EQ(held.size(), with_data.size() + 1);
  auto decoded = DecodeSnapshotMeta(held, kDir);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(decoded->held_by_state_machine);
  EXPECT_EQ(decoded->index, 100u);
  EXPECT_EQ(decoded->conf.voters, meta.conf.voters);
  auto plain = DecodeSnapshotMeta(with_data, kDir);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->held_by_state_machine);
  // A held snapshot cannot claim data.
  meta.data_size = 10;
  EXPECT_EQ(DecodeSnapshotMeta(EncodeSnapshotMeta(meta), kDir).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(RecordCodecTest, LogStartRoundTrips) {
  LogStart start{17, 3, {}};
  start.chain[5] = 1;
  auto decoded = DecodeLogStart(EncodeLogStart(start), kDir);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->index, 17u);
  EXPECT_EQ(decoded->term, 3u);
  EXPECT_EQ(decoded->chain, start.chain);
}

}  // namespace
}  // namespace qbox::storage

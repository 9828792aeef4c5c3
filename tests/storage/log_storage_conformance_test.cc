// Behaviour every raft::LogStorage must share, run against both
// implementations: RocksDbLogStorage on a real RocksDB in a temporary
// directory, and the in-memory MemoryLogStorage the simulation uses. If the
// two ever disagree, the simulation would be proving things about a log the
// node does not have.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/raft/log_storage.h"
#include "node/raft/memory_log_storage.h"
#include "node/storage/rocksdb_log_storage.h"
#include "tests/storage/log_storage_factories.h"
#include "tests/storage/log_test_util.h"

namespace qbox {
namespace {

using raft::Entry;
using raft::HardState;
using raft::LogStorage;
using raft::SnapshotMeta;
using testing::MakeEntries;
using ::testing::HasSubstr;
using testing::SameEntry;

constexpr uint64_t kUnlimited = ~uint64_t{0};

template <typename Factory>
class LogStorageConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = factory_.Create();
    ASSERT_NE(log_, nullptr);
  }

  // Appends `entries` and fails the test if that does not work.
  void Append(const std::vector<Entry>& entries) {
    ASSERT_TRUE(log_->Persist(entries, nullptr).ok());
  }

  std::vector<Entry> ReadAll() {
    auto entries = log_->Entries(log_->FirstIndex(), log_->LastIndex() + 1, kUnlimited);
    EXPECT_TRUE(entries.ok()) << entries.status();
    return entries.ok() ? *entries : std::vector<Entry>{};
  }

  void ExpectEntries(const std::vector<Entry>& expected) {
    std::vector<Entry> actual = ReadAll();
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_TRUE(SameEntry(actual[i], expected[i])) << "at position " << i;
    }
  }

  // Stages `data` in chunks of `chunk` bytes and returns a meta describing it.
  SnapshotMeta Stage(const std::string& data, uint64_t index, uint64_t term, size_t chunk = 7) {
    for (size_t offset = 0; offset < data.size(); offset += chunk) {
      EXPECT_TRUE(log_->WriteSnapshotChunk(offset, data.substr(offset, chunk)).ok());
    }
    SnapshotMeta meta;
    meta.index = index;
    meta.term = term;
    meta.chain[0] = 0xab;
    meta.conf.voters = {1, 2, 3};
    meta.conf.learners = {4};
    meta.data_size = data.size();
    meta.data_digest = raft::Sha256(data);
    return meta;
  }

  // Writes `data` to a new file in the scratch directory; returns its path.
  std::string WriteScratchFile(const std::string& name, const std::string& data) {
    const std::string path = factory_.ScratchDir() + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    out.close();
    EXPECT_TRUE(out.good()) << path;
    return path;
  }

  Factory factory_;
  std::unique_ptr<LogStorage> log_;
};

TYPED_TEST_SUITE(LogStorageConformanceTest, testing::LogStorageImplementations,
                 testing::LogStorageImplementationNames);

TYPED_TEST(LogStorageConformanceTest, EmptyLog) {
  EXPECT_EQ(this->log_->FirstIndex(), 1u);
  EXPECT_EQ(this->log_->LastIndex(), 0u);
  EXPECT_EQ(*this->log_->Term(0), 0u);
  EXPECT_EQ(*this->log_->Chain(0), raft::ChainHash{});
  EXPECT_EQ(this->log_->Term(1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(this->log_->Snapshot().index, 0u);
  auto state = this->log_->LoadInitialState();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->empty);
  EXPECT_EQ(state->hard_state, HardState{});
  EXPECT_TRUE(this->log_->Entries(1, 1, kUnlimited)->empty());
  EXPECT_EQ(this->log_->Entries(1, 2, kUnlimited).status().code(), absl::StatusCode::kOutOfRange);
}

TYPED_TEST(LogStorageConformanceTest, AppendsAndReadsBack) {
  auto entries = MakeEntries(1, 10, 1);
  this->Append(entries);
  EXPECT_EQ(this->log_->FirstIndex(), 1u);
  EXPECT_EQ(this->log_->LastIndex(), 10u);
  this->ExpectEntries(entries);
  for (const Entry& entry : entries) {
    EXPECT_EQ(*this->log_->Term(entry.index), entry.term);
    EXPECT_EQ(*this->log_->Chain(entry.index), entry.chain);
  }
  EXPECT_EQ(this->log_->Term(11).status().code(), absl::StatusCode::kOutOfRange);
  auto sub = this->log_->Entries(3, 6, kUnlimited);
  ASSERT_TRUE(sub.ok());
  ASSERT_EQ(sub->size(), 3u);
  EXPECT_TRUE(SameEntry((*sub)[0], entries[2]));
  EXPECT_FALSE(this->log_->LoadInitialState()->empty);

  // Appending after the end continues the log.
  auto more = MakeEntries(11, 5, 2, entries.back().chain);
  this->Append(more);
  EXPECT_EQ(this->log_->LastIndex(), 15u);
  EXPECT_EQ(*this->log_->Term(15), 2u);
}

TYPED_TEST(LogStorageConformanceTest, EntriesStopAtMaxBytesButReturnAtLeastOne) {
  auto entries = MakeEntries(1, 10, 1);
  this->Append(entries);
  auto one = this->log_->Entries(1, 11, 0);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  const uint64_t three = entries[0].ByteSize() + entries[1].ByteSize() + entries[2].ByteSize();
  auto limited = this->log_->Entries(1, 11, three);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 3u);
  auto just_under = this->log_->Entries(1, 11, three - 1);
  ASSERT_TRUE(just_under.ok());
  EXPECT_EQ(just_under->size(), 2u);
}

TYPED_TEST(LogStorageConformanceTest, PersistsHardStateAloneAndWithEntries) {
  HardState hs;
  hs.term = 4;
  hs.vote = 2;
  hs.commit = 0;
  hs.recovering = true;
  hs.recovery_target = 17;
  ASSERT_TRUE(this->log_->Persist({}, &hs).ok());
  auto state = this->log_->LoadInitialState();
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(state->empty);
  EXPECT_EQ(state->hard_state, hs);

  hs.commit = 3;
  hs.recovering = false;
  ASSERT_TRUE(this->log_->Persist(MakeEntries(1, 3, 4), &hs).ok());
  EXPECT_EQ(this->log_->LoadInitialState()->hard_state, hs);
  EXPECT_EQ(this->log_->LastIndex(), 3u);
}

TYPED_TEST(LogStorageConformanceTest, ReplacesSuffixWithShorterOne) {
  auto entries = MakeEntries(1, 10, 1);
  this->Append(entries);
  auto replacement = MakeEntries(5, 3, 2, entries[3].chain);
  this->Append(replacement);
  EXPECT_EQ(this->log_->LastIndex(), 7u);
  std::vector<Entry> expected(entries.begin(), entries.begin() + 4);
  expected.insert(expected.end(), replacement.begin(), replacement.end());
  this->ExpectEntries(expected);
  EXPECT_EQ(*this->log_->Term(5), 2u);
  EXPECT_EQ(*this->log_->Chain(7), replacement.back().chain);
  EXPECT_EQ(this->log_->Term(8).status().code(), absl::StatusCode::kOutOfRange);
}

TYPED_TEST(LogStorageConformanceTest, ReplacesSuffixWithLongerOne) {
  auto entries = MakeEntries(1, 5, 1);
  this->Append(entries);
  auto replacement = MakeEntries(3, 6, 3, entries[1].chain);
  this->Append(replacement);
  EXPECT_EQ(this->log_->LastIndex(), 8u);
  EXPECT_EQ(*this->log_->Term(2), 1u);
  EXPECT_EQ(*this->log_->Term(3), 3u);
  EXPECT_EQ(*this->log_->Term(8), 3u);
}

TYPED_TEST(LogStorageConformanceTest, RejectsGapAndChangesNothing) {
  auto entries = MakeEntries(1, 3, 1);
  this->Append(entries);
  HardState hs;
  hs.term = 9;
  absl::Status status = this->log_->Persist(MakeEntries(5, 2, 1), &hs);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(this->log_->LastIndex(), 3u);
  this->ExpectEntries(entries);
  EXPECT_EQ(this->log_->LoadInitialState()->hard_state, HardState{});
}

TYPED_TEST(LogStorageConformanceTest, RejectsNonContiguousEntriesAndChangesNothing) {
  auto entries = MakeEntries(1, 4, 1);
  entries.erase(entries.begin() + 2);  // 1, 2, 4
  absl::Status status = this->log_->Persist(entries, nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(this->log_->LastIndex(), 0u);
  EXPECT_TRUE(this->log_->LoadInitialState()->empty);
}

TYPED_TEST(LogStorageConformanceTest, RejectsIndexZero) {
  absl::Status status = this->log_->Persist(MakeEntries(0, 2, 1), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_EQ(this->log_->LastIndex(), 0u);
}

TYPED_TEST(LogStorageConformanceTest, SavesSnapshotThenCompacts) {
  auto entries = MakeEntries(1, 10, 2);
  this->Append(entries);
  SnapshotMeta meta;
  meta.index = 6;
  meta.term = 2;
  meta.chain = entries[5].chain;
  meta.conf.voters = {1, 2, 3};
  const std::string data = "state machine as of index 6";
  ASSERT_TRUE(this->log_->SaveSnapshot(meta, data).ok());

  SnapshotMeta saved = this->log_->Snapshot();
  EXPECT_EQ(saved.index, 6u);
  EXPECT_EQ(saved.term, 2u);
  EXPECT_EQ(saved.chain, entries[5].chain);
  EXPECT_EQ(saved.conf, meta.conf);
  EXPECT_EQ(saved.data_size, data.size());
  EXPECT_EQ(saved.data_digest, raft::Sha256(data));
  // Saving keeps the entries; only Compact drops them.
  EXPECT_EQ(this->log_->FirstIndex(), 1u);

  std::string read;
  for (uint64_t offset = 0; offset < data.size(); offset += 5) {
    auto chunk = this->log_->ReadSnapshotChunk(offset, 5);
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    read += *chunk;
  }
  EXPECT_EQ(read, data);
  EXPECT_EQ(this->log_->ReadSnapshotChunk(data.size() + 1, 5).status().code(),
            absl::StatusCode::kOutOfRange);

  ASSERT_TRUE(this->log_->Compact(6).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 7u);
  EXPECT_EQ(this->log_->LastIndex(), 10u);
  EXPECT_EQ(*this->log_->Term(6), 2u);
  EXPECT_EQ(*this->log_->Chain(6), entries[5].chain);
  EXPECT_EQ(this->log_->Term(5).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(this->log_->Entries(6, 8, kUnlimited).status().code(), absl::StatusCode::kOutOfRange);
  this->ExpectEntries(std::vector<Entry>(entries.begin() + 6, entries.end()));

  // Compacting again to the same point changes nothing.
  ASSERT_TRUE(this->log_->Compact(6).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 7u);
}

TYPED_TEST(LogStorageConformanceTest, SnapshotHeldByTheStateMachineHasNoDataUntilOneIsSaved) {
  auto entries = MakeEntries(1, 10, 2);
  this->Append(entries);
  ASSERT_TRUE(this->log_->SaveSnapshot(SnapshotMeta{4, 2, entries[3].chain, {{1, 2, 3}, {}}},
                                       "state as of index 4")
                  .ok());
  SnapshotMeta meta;
  meta.index = 7;
  meta.term = 2;
  meta.chain = entries[6].chain;
  meta.conf.voters = {1, 2, 3};
  meta.data_size = 99;  // ignored: a held snapshot has no data
  ASSERT_TRUE(this->log_->SaveStateMachineSnapshot(meta).ok());

  SnapshotMeta held = this->log_->Snapshot();
  EXPECT_TRUE(held.held_by_state_machine);
  EXPECT_EQ(held.index, 7u);
  EXPECT_EQ(held.term, 2u);
  EXPECT_EQ(held.chain, entries[6].chain);
  EXPECT_EQ(held.conf, meta.conf);
  EXPECT_EQ(held.data_size, 0u);
  EXPECT_EQ(held.data_digest, raft::ChainHash{});
  // The old data is gone with the old snapshot; the new one has none.
  absl::StatusOr<std::string> chunk = this->log_->ReadSnapshotChunk(0, 100);
  EXPECT_EQ(chunk.status().code(), absl::StatusCode::kFailedPrecondition) << chunk.status();
  EXPECT_THAT(std::string(chunk.status().message()), HasSubstr("state machine"));

  // It allows compaction as a snapshot with data does.
  ASSERT_TRUE(this->log_->Compact(7).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 8u);
  EXPECT_EQ(*this->log_->Term(7), 2u);
  EXPECT_EQ(*this->log_->Chain(7), entries[6].chain);

  // Refused like SaveSnapshot: older than the current one, a wrong term,
  // beyond the log; nothing changes.
  SnapshotMeta older = meta;
  older.index = 6;
  EXPECT_EQ(this->log_->SaveStateMachineSnapshot(older).code(),
            absl::StatusCode::kFailedPrecondition);
  SnapshotMeta wrong_term = meta;
  wrong_term.index = 9;
  wrong_term.term = 3;
  EXPECT_EQ(this->log_->SaveStateMachineSnapshot(wrong_term).code(),
            absl::StatusCode::kInvalidArgument);
  SnapshotMeta beyond = meta;
  beyond.index = 11;
  EXPECT_EQ(this->log_->SaveStateMachineSnapshot(beyond).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->log_->Snapshot().index, 7u);

  // A snapshot with data at the same index replaces it, for a follower.
  const std::string data = "state as of index 7, written for a follower";
  ASSERT_TRUE(this->log_->SaveSnapshot(meta, data).ok());
  SnapshotMeta written = this->log_->Snapshot();
  EXPECT_FALSE(written.held_by_state_machine);
  EXPECT_EQ(written.index, 7u);
  EXPECT_EQ(written.data_size, data.size());
  EXPECT_EQ(*this->log_->ReadSnapshotChunk(0, 1000), data);
}

TYPED_TEST(LogStorageConformanceTest, AReceivedSnapshotCannotClaimToBeHeld) {
  this->Append(MakeEntries(1, 3, 1));
  SnapshotMeta meta = this->Stage("received state", 8, 2);
  meta.held_by_state_machine = true;
  absl::Status status = this->log_->InstallStagedSnapshot(meta);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("held_by_state_machine"));
  EXPECT_EQ(this->log_->Snapshot().index, 0u);
  EXPECT_EQ(this->log_->LastIndex(), 3u);
}

TYPED_TEST(LogStorageConformanceTest, CompactionBelowSnapshotKeepsTheCompactionPointTerm) {
  auto entries = MakeEntries(1, 4, 1);
  auto later = MakeEntries(5, 6, 2, entries.back().chain);
  this->Append(entries);
  this->Append(later);
  SnapshotMeta meta;
  meta.index = 8;
  meta.term = 2;
  meta.chain = later[3].chain;
  ASSERT_TRUE(this->log_->SaveSnapshot(meta, "at 8").ok());
  ASSERT_TRUE(this->log_->Compact(4).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 5u);
  EXPECT_EQ(*this->log_->Term(4), 1u);
  EXPECT_EQ(*this->log_->Chain(4), entries.back().chain);
  EXPECT_EQ(this->log_->Term(3).status().code(), absl::StatusCode::kOutOfRange);
  this->ExpectEntries(later);
}

TYPED_TEST(LogStorageConformanceTest, RefusesToCompactBeyondSnapshot) {
  this->Append(MakeEntries(1, 10, 1));
  absl::Status status = this->log_->Compact(3);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
  EXPECT_EQ(this->log_->FirstIndex(), 1u);
  EXPECT_EQ(this->log_->LastIndex(), 10u);
}

TYPED_TEST(LogStorageConformanceTest, RejectsEntriesAtOrBelowSnapshot) {
  auto entries = MakeEntries(1, 10, 1);
  this->Append(entries);
  SnapshotMeta meta;
  meta.index = 5;
  meta.term = 1;
  ASSERT_TRUE(this->log_->SaveSnapshot(meta, "snap").ok());
  absl::Status status = this->log_->Persist(MakeEntries(5, 2, 2), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  ASSERT_TRUE(this->log_->Compact(5).ok());
  status = this->log_->Persist(MakeEntries(3, 2, 2), nullptr);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  this->ExpectEntries(std::vector<Entry>(entries.begin() + 5, entries.end()));
}

TYPED_TEST(LogStorageConformanceTest, InstallsStagedSnapshotKeepingMatchingSuffix) {
  this->Append(MakeEntries(1, 10, 1));
  const std::string data = "a snapshot received in several chunks";
  SnapshotMeta meta = this->Stage(data, 6, 1);
  ASSERT_TRUE(this->log_->InstallStagedSnapshot(meta).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 7u);
  EXPECT_EQ(this->log_->LastIndex(), 10u);
  EXPECT_EQ(*this->log_->Term(6), 1u);
  EXPECT_EQ(*this->log_->Chain(6), meta.chain);
  EXPECT_EQ(this->log_->Snapshot().index, 6u);
  EXPECT_EQ(this->log_->Snapshot().conf, meta.conf);
  EXPECT_EQ(*this->log_->ReadSnapshotChunk(0, 1000), data);
}

TYPED_TEST(LogStorageConformanceTest, InstallsStagedSnapshotDiscardingConflictingLog) {
  this->Append(MakeEntries(1, 10, 1));
  SnapshotMeta meta = this->Stage("conflicting", 6, 3);
  ASSERT_TRUE(this->log_->InstallStagedSnapshot(meta).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 7u);
  EXPECT_EQ(this->log_->LastIndex(), 6u);
  EXPECT_EQ(*this->log_->Term(6), 3u);
  EXPECT_TRUE(this->ReadAll().empty());
  // The log continues after the snapshot.
  ASSERT_TRUE(this->log_->Persist(MakeEntries(7, 2, 3, meta.chain), nullptr).ok());
  EXPECT_EQ(this->log_->LastIndex(), 8u);
}

TYPED_TEST(LogStorageConformanceTest, InstallsStagedSnapshotBeyondTheLog) {
  this->Append(MakeEntries(1, 3, 1));
  SnapshotMeta meta = this->Stage("far ahead", 20, 4);
  ASSERT_TRUE(this->log_->InstallStagedSnapshot(meta).ok());
  EXPECT_EQ(this->log_->FirstIndex(), 21u);
  EXPECT_EQ(this->log_->LastIndex(), 20u);
  EXPECT_EQ(*this->log_->Term(20), 4u);
  EXPECT_FALSE(this->log_->LoadInitialState()->empty);
}

TYPED_TEST(LogStorageConformanceTest, RejectsStagedSnapshotWithBadDigestOrSize) {
  auto entries = MakeEntries(1, 10, 1);
  this->Append(entries);
  SnapshotMeta meta = this->Stage("the real bytes", 6, 1);
  SnapshotMeta bad_digest = meta;
  bad_digest.data_digest[0] ^= 1;
  EXPECT_EQ(this->log_->InstallStagedSnapshot(bad_digest).code(), absl::StatusCode::kDataLoss);
  SnapshotMeta bad_size = meta;
  bad_size.data_size += 1;
  EXPECT_EQ(this->log_->InstallStagedSnapshot(bad_size).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(this->log_->Snapshot().index, 0u);
  EXPECT_EQ(this->log_->FirstIndex(), 1u);
  this->ExpectEntries(entries);
  // The good metadata still installs the same staged bytes.
  EXPECT_TRUE(this->log_->InstallStagedSnapshot(meta).ok());
}

TYPED_TEST(LogStorageConformanceTest, RejectsSnapshotChunkThatDoesNotFollow) {
  ASSERT_TRUE(this->log_->WriteSnapshotChunk(0, "abc").ok());
  EXPECT_EQ(this->log_->WriteSnapshotChunk(5, "def").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->log_->WriteSnapshotChunk(2, "def").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(this->log_->WriteSnapshotChunk(3, "def").ok());
  SnapshotMeta meta;
  meta.index = 1;
  meta.term = 1;
  meta.data_size = 6;
  meta.data_digest = raft::Sha256("abcdef");
  EXPECT_TRUE(this->log_->InstallStagedSnapshot(meta).ok());
  // Offset 0 starts over.
  ASSERT_TRUE(this->log_->WriteSnapshotChunk(0, "xy").ok());
  meta.index = 2;
  meta.data_size = 2;
  meta.data_digest = raft::Sha256("xy");
  EXPECT_TRUE(this->log_->InstallStagedSnapshot(meta).ok());
  EXPECT_EQ(*this->log_->ReadSnapshotChunk(0, 100), "xy");
}

TYPED_TEST(LogStorageConformanceTest, RefusesSnapshotBeyondTheLog) {
  this->Append(MakeEntries(1, 3, 1));
  SnapshotMeta meta;
  meta.index = 4;
  meta.term = 1;
  EXPECT_EQ(this->log_->SaveSnapshot(meta, "x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->log_->Snapshot().index, 0u);
}

TYPED_TEST(LogStorageConformanceTest, SavesSnapshotFromAFileAndTakesTheFile) {
  auto entries = MakeEntries(1, 10, 2);
  this->Append(entries);
  SnapshotMeta meta;
  meta.index = 7;
  meta.term = 2;
  meta.chain = entries[6].chain;
  meta.conf.voters = {1, 2, 3};
  const std::string data(100000, 's');
  const std::string path = this->WriteScratchFile("local-snapshot.tmp", data);
  ASSERT_TRUE(this->log_->SaveSnapshotFile(meta, path).ok());

  EXPECT_FALSE(std::filesystem::exists(path)) << "the storage took the file over";
  SnapshotMeta saved = this->log_->Snapshot();
  EXPECT_EQ(saved.index, 7u);
  EXPECT_EQ(saved.conf, meta.conf);
  EXPECT_EQ(saved.data_size, data.size());
  EXPECT_EQ(saved.data_digest, raft::Sha256(data));
  auto read = this->log_->ReadSnapshotChunk(0, data.size());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);
  EXPECT_EQ(this->log_->FirstIndex(), 1u);  // kept until Compact
}

TYPED_TEST(LogStorageConformanceTest, SavesAHashedSnapshotFileUnderTheDigestItsWriterComputed) {
  auto entries = MakeEntries(1, 10, 2);
  this->Append(entries);
  SnapshotMeta meta;
  meta.index = 7;
  meta.term = 2;
  meta.chain = entries[6].chain;
  const std::string data(100000, 'h');
  const std::string path = this->WriteScratchFile("local-snapshot.tmp", data);
  ASSERT_TRUE(this->log_->SaveSnapshotFileHashed(meta, path, raft::Sha256(data)).ok());

  EXPECT_FALSE(std::filesystem::exists(path)) << "the storage took the file over";
  SnapshotMeta saved = this->log_->Snapshot();
  EXPECT_EQ(saved.index, 7u);
  EXPECT_EQ(saved.data_size, data.size());
  EXPECT_EQ(saved.data_digest, raft::Sha256(data));
  auto read = this->log_->ReadSnapshotChunk(0, data.size());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);

  // The same checks as for any snapshot: a bad index is refused and the
  // file stays.
  meta.index = 40;
  const std::string refused = this->WriteScratchFile("refused.tmp", data);
  EXPECT_EQ(this->log_->SaveSnapshotFileHashed(meta, refused, raft::Sha256(data)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::filesystem::exists(refused));
  EXPECT_EQ(this->log_->Snapshot().index, 7u);
}

TYPED_TEST(LogStorageConformanceTest, RefusedSnapshotFileStaysAndChangesNothing) {
  this->Append(MakeEntries(1, 3, 1));
  SnapshotMeta meta;
  meta.index = 4;  // beyond the log
  meta.term = 1;
  const std::string path = this->WriteScratchFile("local-snapshot.tmp", "state");
  EXPECT_EQ(this->log_->SaveSnapshotFile(meta, path).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::filesystem::exists(path)) << "a refused file is left to the caller";
  EXPECT_EQ(this->log_->Snapshot().index, 0u);

  meta.index = 2;
  meta.term = 5;  // not the log's term at 2
  EXPECT_EQ(this->log_->SaveSnapshotFile(meta, path).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(this->log_->Snapshot().index, 0u);
}

TYPED_TEST(LogStorageConformanceTest, MissingSnapshotFileIsNamed) {
  this->Append(MakeEntries(1, 3, 1));
  SnapshotMeta meta;
  meta.index = 2;
  meta.term = 1;
  const std::string path = this->factory_.ScratchDir() + "/no-such-snapshot";
  absl::Status status = this->log_->SaveSnapshotFile(meta, path);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_NE(status.message().find(path), std::string::npos) << status;
  EXPECT_EQ(this->log_->Snapshot().index, 0u);
}

}  // namespace
}  // namespace qbox

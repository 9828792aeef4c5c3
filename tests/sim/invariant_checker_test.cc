// The checker must be able to fail: each test feeds it a fabricated history
// that breaks one invariant and expects that invariant to be reported, next
// to a consistent history that must pass.
#include "tests/sim/invariant_checker.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qbox::sim {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A chain-valid log of entries with the given terms, optionally with one
// payload changed at `fork_index` (and every chain after it).
std::vector<Entry> MakeLog(const std::vector<uint64_t>& terms, uint64_t fork_index = 0) {
  std::vector<Entry> log;
  ChainHash prev{};
  for (size_t i = 0; i < terms.size(); ++i) {
    Entry e;
    e.index = i + 1;
    e.term = terms[i];
    e.data = e.index == fork_index ? "forked" : "cmd" + std::to_string(e.index);
    e.chain = raft::ComputeChain(prev, e.term, e.index, e.type, e.data);
    prev = e.chain;
    log.push_back(e);
  }
  return log;
}

void Commit(InvariantChecker& checker, NodeId node, const std::vector<Entry>& log, uint64_t upto,
            uint64_t term) {
  for (const Entry& e : log) {
    if (e.index <= upto) checker.ObserveCommitted(node, PositionOf(e), term);
  }
}

TEST(InvariantChecker, ConsistentHistoryPasses) {
  InvariantChecker checker;
  std::vector<Entry> log = MakeLog({1, 1, 2, 2});
  for (NodeId n : {1, 2, 3}) {
    checker.ObserveStoredEntries(n, LogPosition{}, log, 3, 2);
    checker.ObserveCommitIndex(n, 3);
    checker.ObserveStateMachineStart(n, 0, 0);
    uint64_t digest = 0;
    for (const Entry& e : log) {
      if (e.index > 3) break;
      checker.ObserveCommitted(n, PositionOf(e), 2);
      checker.ObserveApplied(n, PositionOf(e), ++digest);
    }
  }
  checker.ObserveRole(1, 1, raft::Role::kLeader);
  checker.ObserveRole(2, 2, raft::Role::kLeader);
  checker.ObserveRole(2, 2, raft::Role::kLeader);
  checker.ObserveLeaderLog(3, 3, 0, [&](uint64_t i) -> std::optional<LogPosition> {
    return i <= log.size() ? std::optional<LogPosition>(PositionOf(log[i - 1])) : std::nullopt;
  });
  checker.ObserveReadRequested("r");
  checker.ObserveReadState(1, "r", 3);
  EXPECT_TRUE(checker.ok()) << checker.first_violation();
}

TEST(InvariantChecker, TwoLeadersInOneTerm) {
  InvariantChecker checker;
  checker.ObserveRole(1, 5, raft::Role::kLeader);
  checker.ObserveRole(2, 5, raft::Role::kFollower);
  EXPECT_TRUE(checker.ok());
  checker.ObserveRole(2, 5, raft::Role::kLeader);
  EXPECT_THAT(checker.first_violation(), StartsWith("[one leader per term]"));
}

TEST(InvariantChecker, WipedNodeLeadingItsOldTermAgainIsASecondLeader) {
  InvariantChecker checker;
  checker.ObserveRole(1, 5, raft::Role::kLeader);
  checker.ObserveWipe(1);
  checker.ObserveRole(1, 5, raft::Role::kLeader);
  EXPECT_THAT(checker.first_violation(), StartsWith("[one leader per term]"));
}

TEST(InvariantChecker, ChangedCommittedEntry) {
  InvariantChecker checker;
  Commit(checker, 1, MakeLog({1, 1, 1}), 3, 1);
  EXPECT_TRUE(checker.ok());
  Commit(checker, 2, MakeLog({1, 1, 1}, /*fork_index=*/3), 3, 1);
  EXPECT_THAT(checker.first_violation(), StartsWith("[committed entry changed]"));
}

TEST(InvariantChecker, OverwriteBelowCommitOnDisk) {
  InvariantChecker checker;
  checker.ObserveStoredEntries(1, LogPosition{}, MakeLog({1, 1, 1}), 3, 1);
  EXPECT_TRUE(checker.ok());
  // The same node later stores a different entry 3 (term 2) below its commit.
  checker.ObserveStoredEntries(1, LogPosition{}, MakeLog({1, 1, 2}), 3, 2);
  EXPECT_THAT(checker.first_violation(), StartsWith("[committed entry changed]"));
}

TEST(InvariantChecker, LogMatching) {
  InvariantChecker checker;
  checker.ObserveStoredEntries(1, LogPosition{}, MakeLog({1, 1, 1}), 0, 1);
  checker.ObserveStoredEntries(2, LogPosition{}, MakeLog({1, 1, 1}, /*fork_index=*/2), 0, 1);
  EXPECT_THAT(checker.first_violation(), StartsWith("[log matching]"));
}

TEST(InvariantChecker, BrokenHashChain) {
  InvariantChecker checker;
  std::vector<Entry> log = MakeLog({1, 1, 1});
  log[1].data = "tampered";  // chain no longer covers the payload
  checker.ObserveStoredEntries(1, LogPosition{}, log, 0, 1);
  EXPECT_THAT(checker.first_violation(), StartsWith("[hash chain]"));
}

TEST(InvariantChecker, GapInStoredLog) {
  InvariantChecker checker;
  std::vector<Entry> log = MakeLog({1, 1, 1});
  log.erase(log.begin() + 1);
  checker.ObserveStoredEntries(1, LogPosition{}, log, 0, 1);
  EXPECT_THAT(checker.first_violation(), StartsWith("[hash chain]"));
}

TEST(InvariantChecker, LeaderMissingCommittedEntry) {
  InvariantChecker checker;
  std::vector<Entry> log = MakeLog({1, 1, 2, 2});
  Commit(checker, 1, log, 4, 2);
  // A leader of term 3 whose log stops at index 2.
  checker.ObserveLeaderLog(2, 3, 0, [&](uint64_t i) -> std::optional<LogPosition> {
    return i <= 2 ? std::optional<LogPosition>(PositionOf(log[i - 1])) : std::nullopt;
  });
  EXPECT_THAT(checker.first_violation(), StartsWith("[leader completeness]"));
}

TEST(InvariantChecker, LeaderOfTheCommittingTermIsNotRequiredToHaveLaterEntries) {
  InvariantChecker checker;
  std::vector<Entry> log = MakeLog({1, 1, 2, 2});
  Commit(checker, 1, log, 4, 2);
  // Leader of term 2 itself (observed before it appended 3 and 4) is fine;
  // so is term 1's leader.
  auto short_log = [&](uint64_t i) -> std::optional<LogPosition> {
    return i <= 2 ? std::optional<LogPosition>(PositionOf(log[i - 1])) : std::nullopt;
  };
  checker.ObserveLeaderLog(2, 2, 0, short_log);
  checker.ObserveLeaderLog(2, 1, 0, short_log);
  EXPECT_TRUE(checker.ok()) << checker.first_violation();
}

TEST(InvariantChecker, CommitIndexDecreases) {
  InvariantChecker checker;
  checker.ObserveCommitIndex(1, 5);
  checker.ObserveCommitIndex(1, 5);
  EXPECT_TRUE(checker.ok());
  checker.ObserveCommitIndex(1, 4);
  EXPECT_THAT(checker.first_violation(), StartsWith("[commit decreased]"));
}

TEST(InvariantChecker, RestartBelowPersistedCommit) {
  InvariantChecker checker;
  checker.ObservePersistedCommit(1, 4);
  checker.ObserveCommitIndex(1, 7);
  checker.ObserveRestart(1);
  checker.ObserveCommitIndex(1, 4);  // in-memory commit 7 may be forgotten
  EXPECT_TRUE(checker.ok()) << checker.first_violation();
  checker.ObserveRestart(1);
  checker.ObserveCommitIndex(1, 3);  // persisted 4 may not
  EXPECT_THAT(checker.first_violation(), StartsWith("[commit decreased]"));
}

TEST(InvariantChecker, WipeResetsTheCommitFloor) {
  InvariantChecker checker;
  checker.ObservePersistedCommit(1, 4);
  checker.ObserveWipe(1);
  checker.ObserveCommitIndex(1, 0);
  EXPECT_TRUE(checker.ok()) << checker.first_violation();
}

TEST(InvariantChecker, AppliedPrefixesDisagree) {
  InvariantChecker checker;
  std::vector<Entry> log = MakeLog({1, 1});
  Commit(checker, 1, log, 2, 1);
  checker.ObserveStateMachineStart(1, 0, 0);
  checker.ObserveStateMachineStart(2, 0, 0);
  checker.ObserveApplied(1, PositionOf(log[0]), 11);
  checker.ObserveApplied(2, PositionOf(log[0]), 12);
  EXPECT_THAT(checker.first_violation(), StartsWith("[applied prefix]"));
}

TEST(InvariantChecker, AppliedGapOrUncommitted) {
  InvariantChecker gap;
  std::vector<Entry> log = MakeLog({1, 1, 1});
  Commit(gap, 1, log, 3, 1);
  gap.ObserveStateMachineStart(1, 0, 0);
  gap.ObserveApplied(1, PositionOf(log[1]), 1);
  EXPECT_THAT(gap.first_violation(), HasSubstr("right after index 0"));

  InvariantChecker uncommitted;
  uncommitted.ObserveStateMachineStart(1, 0, 0);
  uncommitted.ObserveApplied(1, PositionOf(log[0]), 1);
  EXPECT_THAT(uncommitted.first_violation(), HasSubstr("not the committed entry"));
}

TEST(InvariantChecker, StaleRead) {
  InvariantChecker checker;
  Commit(checker, 1, MakeLog({1, 1, 1}), 3, 1);
  checker.ObserveReadRequested("r1");
  checker.ObserveReadState(2, "r1", 2);
  EXPECT_THAT(checker.first_violation(), StartsWith("[stale read]"));
}

}  // namespace
}  // namespace qbox::sim

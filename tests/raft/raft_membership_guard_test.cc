// G2 in the core: a follower asks the layer above before it appends a
// membership change, so a leader alone cannot remove a voter the charter
// did not remove.
#include <gtest/gtest.h>

#include "tests/raft/raft_test_util.h"

namespace qbox::raft::testing {
namespace {

TEST(RaftMembershipGuard, FollowersRefuseARemovalTheirGuardForbidsAndRaiseAnAlarm) {
  RaftConfig config;
  config.election_ticks = 10;
  int asked = 0;
  config.membership_guard = [&asked](const ConfChange& change, const ConfState& before) {
    ++asked;
    if (change.kind == ConfChange::Kind::kRemoveNode && before.IsVoter(change.node)) {
      return absl::FailedPreconditionError("no executed proposal removed it");
    }
    return absl::OkStatus();
  };
  TestCluster c(3, config);
  c.Elect(1);
  ConfChange remove;
  remove.kind = ConfChange::Kind::kRemoveNode;
  remove.node = 3;
  const uint64_t commit = c.node(2).Status().hard_state.commit;
  ASSERT_TRUE(c.node(1).ProposeConfChange(remove).ok());
  c.TickAll(20);
  EXPECT_GT(asked, 0);
  // Nobody else appended it, so it never committed and node 3 is still a voter.
  EXPECT_TRUE(c.node(2).Status().conf.IsVoter(3));
  EXPECT_TRUE(c.node(3).Status().conf.IsVoter(3));
  EXPECT_LE(c.node(2).Status().hard_state.commit, commit + 1);
  bool alarmed = false;
  for (const Alarm& a : c.alarms(2)) {
    alarmed |= a.kind == Alarm::Kind::kRefusedMembership && a.from == 1;
  }
  EXPECT_TRUE(alarmed);
}

TEST(RaftMembershipGuard, AllowedChangesPassAsBefore) {
  RaftConfig config;
  config.election_ticks = 10;
  config.membership_guard = [](const ConfChange&, const ConfState&) { return absl::OkStatus(); };
  TestCluster c(3, config);
  c.Elect(1);
  ConfChange remove;
  remove.kind = ConfChange::Kind::kRemoveNode;
  remove.node = 3;
  ASSERT_TRUE(c.node(1).ProposeConfChange(remove).ok());
  c.TickAll(20);
  EXPECT_FALSE(c.node(2).Status().conf.IsVoter(3));
  EXPECT_TRUE(c.alarms(2).empty());
}

}  // namespace
}  // namespace qbox::raft::testing

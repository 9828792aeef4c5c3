// The floor under vanished records (like Cyrus IMAP's deletedmodseq): a
// mailbox keeps at most max_vanished_records of them, pruning the oldest
// while applying the expunge or move that goes over, and GetChanges from
// below the floor says vanished_incomplete. Pruning is part of the
// replicated state, so every replica must prune alike.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "node/mailbox/store.h"
#include "qbox/v1/mailbox_records.pb.h"
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

constexpr uint64_t kLimit = 10;  // keeps 9 after pruning

std::set<uint32_t> VanishedOf(const v1::GetChangesResponse& r) {
  return std::set<uint32_t>(r.vanished().begin(), r.vanished().end());
}
std::set<uint32_t> Range(uint32_t first, uint32_t last) {
  std::set<uint32_t> out;
  for (uint32_t uid = first; uid <= last; ++uid) out.insert(uid);
  return out;
}
std::map<uint32_t, std::string> ByUid(const std::vector<v1::MessageInfo>& messages) {
  std::map<uint32_t, std::string> out;
  for (const v1::MessageInfo& m : messages) out[m.uid()] = m.ShortDebugString();
  return out;
}
std::map<uint32_t, std::string> ByUid(const v1::GetChangesResponse& r) {
  return ByUid(std::vector<v1::MessageInfo>(r.changed().begin(), r.changed().end()));
}

class VanishedFloorTest : public MailboxTest {
 protected:
  void SetUp() override {
    max_vanished_records_ = kLimit;
    MailboxTest::SetUp();
    MustApply(CreateAccountCmd("alice"));
  }
  void AppendN(const std::string& mailbox, int n) {
    for (int i = 0; i < n; ++i) MustAppend(mailbox, "m" + std::to_string(i));
  }
  // Expunges one UID and returns the MODSEQ of its vanished record.
  uint64_t ExpungeOne(uint32_t uid, const std::string& mailbox = "INBOX") {
    auto r = MustApply(ExpungeCmd("alice", mailbox, std::to_string(uid))).expunge_messages();
    EXPECT_EQ(r.expunged_size(), 1) << "UID " << uid;
    return r.highest_modseq();
  }
  static v1::MailboxCommand MoveCmd(const std::string& uid_set, const std::string& target) {
    v1::MailboxCommand cmd;
    auto* r = cmd.mutable_move_messages();
    r->set_account("alice");
    r->set_mailbox("INBOX");
    r->set_uid_set(uid_set);
    r->set_target_mailbox(target);
    return cmd;
  }
};

TEST_F(VanishedFloorTest, PrunesTheOldestVanishedRecordsToNinetyPercentOverTheLimit) {
  AppendN("INBOX", 30);
  std::map<uint32_t, uint64_t> vanished_at;
  for (uint32_t uid = 1; uid <= 10; ++uid) vanished_at[uid] = ExpungeOne(uid);
  // At the limit: nothing pruned yet.
  auto at_limit = Changes("INBOX", 0);
  EXPECT_EQ(VanishedOf(at_limit), Range(1, 10));
  EXPECT_FALSE(at_limit.vanished_incomplete());

  // One over: the two oldest go (11 -> 9), in the expunge's own write.
  vanished_at[11] = ExpungeOne(11);
  auto pruned = Changes("INBOX", 0);
  EXPECT_EQ(VanishedOf(pruned), Range(3, 11));
  EXPECT_TRUE(pruned.vanished_incomplete());
  EXPECT_EQ(ByUid(pruned), ByUid(Fetch("INBOX")));  // every live message still listed
  EXPECT_EQ(pruned.changed_size(), 19);

  // The floor is the MODSEQ of the newest dropped record (UID 2's).
  EXPECT_TRUE(Changes("INBOX", vanished_at[2] - 1).vanished_incomplete());
  auto from_floor = Changes("INBOX", vanished_at[2]);
  EXPECT_FALSE(from_floor.vanished_incomplete());
  EXPECT_EQ(VanishedOf(from_floor), Range(3, 11));

  // Back at the limit after one more: no pruning until it is exceeded again.
  ExpungeOne(12);
  EXPECT_EQ(VanishedOf(Changes("INBOX", 0)), Range(3, 12));
  ExpungeOne(13);
  EXPECT_EQ(VanishedOf(Changes("INBOX", 0)), Range(5, 13));
}

// One expunge far over the limit prunes the records it wrote itself, in
// the same write (a scan that did not see its own pending writes would
// find nothing to prune).
TEST_F(VanishedFloorTest, OneExpungeOverTheLimitPrunesItsOwnRecords) {
  AppendN("INBOX", 30);
  const uint64_t before = Mailbox("INBOX").highest_modseq();
  MustApply(ExpungeCmd("alice", "INBOX", "1:25"));
  auto changes = Changes("INBOX", 0);
  EXPECT_EQ(VanishedOf(changes), Range(17, 25));
  EXPECT_TRUE(changes.vanished_incomplete());
  // UIDs vanished in UID order, one MODSEQ each: UID 16's is the floor.
  EXPECT_TRUE(Changes("INBOX", before + 15).vanished_incomplete());
  EXPECT_FALSE(Changes("INBOX", before + 16).vanished_incomplete());
  EXPECT_EQ(ByUid(changes), ByUid(Fetch("INBOX")));
}

TEST_F(VanishedFloorTest, LiveMessagesKeepTheirRecordsHoweverOld) {
  AppendN("INBOX", 20);
  // UIDs 1-5 change early and then stay put: their records are the oldest
  // in the index by the time vanished ones are pruned around them.
  MustApply(StoreCmd("alice", "INBOX", "1:3", v1::FLAG_OPERATION_ADD, {"\\Seen"}));
  for (uint32_t uid = 6; uid <= 20; ++uid) ExpungeOne(uid);
  AppendN("INBOX", 3);
  MustApply(StoreCmd("alice", "INBOX", "2", v1::FLAG_OPERATION_ADD, {"\\Flagged"}));

  auto changes = Changes("INBOX", 0);
  EXPECT_TRUE(changes.vanished_incomplete());
  EXPECT_LE(changes.vanished_size(), static_cast<int>(kLimit));
  EXPECT_EQ(ByUid(changes), ByUid(Fetch("INBOX")));
  EXPECT_EQ(changes.changed_size(), 8);
}

TEST_F(VanishedFloorTest, MovingAwayIsPrunedInTheSourceOnly) {
  MustApply(CreateMailboxCmd("alice", "Archive"));
  AppendN("INBOX", 15);
  for (uint32_t uid = 1; uid <= 12; ++uid) MustApply(MoveCmd(std::to_string(uid), "Archive"));

  auto inbox = Changes("INBOX", 0);
  EXPECT_TRUE(inbox.vanished_incomplete());
  EXPECT_EQ(VanishedOf(inbox), Range(3, 12));  // 11 -> 9 at the 11th move, 10 at the 12th
  auto archive = Changes("Archive", 0);
  EXPECT_FALSE(archive.vanished_incomplete());
  EXPECT_EQ(archive.changed_size(), 12);
  EXPECT_EQ(archive.vanished_size(), 0);

  // A mailbox deleted and created again under the name starts afresh.
  v1::MailboxCommand del;
  del.mutable_delete_mailbox()->set_account("alice");
  del.mutable_delete_mailbox()->set_name("Archive");
  for (uint32_t uid = 1; uid <= 12; ++uid) ExpungeOne(uid, "Archive");
  EXPECT_TRUE(Changes("Archive", 0).vanished_incomplete());
  MustApply(del);
  MustApply(CreateMailboxCmd("alice", "Archive", 2000));
  auto recreated = Changes("Archive", 0);
  EXPECT_FALSE(recreated.vanished_incomplete());
  EXPECT_EQ(recreated.vanished_size(), 0);
}

TEST_F(VanishedFloorTest, CountAndFloorSurviveRestartAndSnapshotRestore) {
  AppendN("INBOX", 30);
  for (uint32_t uid = 1; uid <= 10; ++uid) ExpungeOne(uid);
  Reopen();
  // The count (10) came back with the mailbox record: one more prunes.
  ExpungeOne(11);
  EXPECT_EQ(VanishedOf(Changes("INBOX", 0)), Range(3, 11));
  // The G5 accumulator kept write by write agrees with the pruned records:
  // the full pass at open finds no difference.
  Reopen();
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  EXPECT_EQ(sm_->FoundStoredStateChanges().total, 0u);

  const std::string path = dir_ + "/snap";
  ASSERT_TRUE(sm_->WriteSnapshot(path).ok());
  const std::string digest = DigestHex();
  const v1::GetChangesResponse before = Changes("INBOX", 0);
  Reopen("restored");
  ASSERT_TRUE(sm_->RestoreSnapshot(path).ok());
  index_ = sm_->applied_index();
  EXPECT_EQ(DigestHex(), digest);
  EXPECT_EQ(Changes("INBOX", 0).ShortDebugString(), before.ShortDebugString());
  // The restored count is 9: the second expunge from here goes over.
  ExpungeOne(12);
  EXPECT_EQ(VanishedOf(Changes("INBOX", 0)), Range(3, 12));
  ExpungeOne(13);
  EXPECT_EQ(VanishedOf(Changes("INBOX", 0)), Range(5, 13));
}

TEST_F(VanishedFloorTest, ReplicasApplyingTheSameCommandsAgreeOnTheDigest) {
  // Each replica starts empty and applies the whole log.
  std::vector<v1::MailboxCommand> commands;
  commands.push_back(CreateAccountCmd("alice"));
  commands.push_back(CreateMailboxCmd("alice", "Archive"));
  for (int i = 0; i < 40; ++i) commands.push_back(AppendCmd("alice", "INBOX", std::to_string(i)));
  for (uint32_t uid = 1; uid <= 8; ++uid) {
    commands.push_back(ExpungeCmd("alice", "INBOX", std::to_string(uid)));
  }
  commands.push_back(StoreCmd("alice", "INBOX", "9:12", v1::FLAG_OPERATION_ADD, {"\\Seen"}));
  commands.push_back(MoveCmd("13:15", "Archive"));
  commands.push_back(ExpungeCmd("alice", "INBOX", "16:25"));
  for (uint32_t uid = 26; uid <= 30; ++uid) {
    commands.push_back(MoveCmd(std::to_string(uid), "Archive"));
  }
  for (v1::MailboxCommand& cmd : commands) cmd.set_leader_time_ms(leader_now_ms_);

  // Replica A: one command at a time.
  Reopen("a");
  for (const v1::MailboxCommand& cmd : commands) MustApply(cmd);
  const std::string a_digest = DigestHex();
  const std::string a_changes = Changes("INBOX", 0).ShortDebugString();
  EXPECT_TRUE(Changes("INBOX", 0).vanished_incomplete());  // it did prune

  // Replica B: the same log applied in batches of 5 (one store write each,
  // so pruning must read the batch's own earlier writes).
  Reopen("b");
  std::vector<MailboxStateMachine::BatchCommand> batch;
  for (size_t i = 0; i < commands.size(); ++i) {
    batch.push_back({++index_, &commands[i]});
    if (batch.size() == 5 || i + 1 == commands.size()) {
      auto results = sm_->ApplyBatch(batch);
      ASSERT_TRUE(results.ok()) << results.status();
      for (const auto& r : *results) EXPECT_TRUE(r.ok()) << r.status();
      batch.clear();
    }
  }
  EXPECT_EQ(DigestHex(), a_digest);
  EXPECT_EQ(Changes("INBOX", 0).ShortDebugString(), a_changes);

  // Replica C with another limit holds another state: the limit must be
  // the same on every replica.
  max_vanished_records_ = 0;  // off, the default
  Reopen("c");
  for (const v1::MailboxCommand& cmd : commands) MustApply(cmd);
  EXPECT_NE(DigestHex(), a_digest);
  EXPECT_FALSE(Changes("INBOX", 0).vanished_incomplete());
}

// Off by default (kVanishedRecordsBound says why): every vanished record is
// kept and the mailbox records are exactly what a binary without pruning
// writes, so replicas of both kinds keep equal digests during an upgrade.
TEST_F(VanishedFloorTest, OffByDefaultNothingIsCountedOrPruned) {
  max_vanished_records_ = 0;
  Reopen("default");
  MustApply(CreateAccountCmd("alice"));
  AppendN("INBOX", 30);
  for (uint32_t uid = 1; uid <= 25; ++uid) ExpungeOne(uid);
  v1::GetChangesResponse changes = Changes("INBOX", 0);
  EXPECT_EQ(VanishedOf(changes), Range(1, 25));
  EXPECT_FALSE(changes.vanished_incomplete());

  const std::string store_dir = dir_ + "/default";
  sm_.reset();
  auto store = Store::Open(store_dir);
  ASSERT_TRUE(store.ok()) << store.status();
  StoreTxn txn(store->get());
  int mailboxes = 0;
  ASSERT_TRUE(txn.ScanPrefix(Cf::kMailboxes, "i",  // "i" mailbox_id -> MailboxRecord
                       [&](absl::string_view, absl::string_view value) {
                         v1::MailboxRecord record;
                         EXPECT_TRUE(record.ParseFromString(std::string(value)));
                         EXPECT_EQ(record.vanished_count(), 0u) << record.name();
                         EXPECT_EQ(record.vanished_floor_modseq(), 0u) << record.name();
                         ++mailboxes;
                         return true;
                       })
                  .ok());
  EXPECT_GT(mailboxes, 0);
}

}  // namespace
}  // namespace qbox::mailbox::testing

// Bodies stored once per account and reference-counted; copy and move.
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class CopyMoveTest : public MailboxTest {
 protected:
  void SetUp() override {
    MailboxTest::SetUp();
    MustApply(CreateAccountCmd("alice"));
    MustApply(CreateMailboxCmd("alice", "Archive"));
  }
  MailboxStateMachine::BodyRefs Refs(const std::string& sha) {
    auto refs = sm_->GetBodyRefs("alice", sha);
    EXPECT_TRUE(refs.ok()) << refs.status();
    return refs.ok() ? *refs : MailboxStateMachine::BodyRefs();
  }
  static v1::MailboxCommand CopyCmd(const std::string& uid_set, const std::string& target,
                                    bool move) {
    v1::MailboxCommand cmd;
    if (move) {
      auto* r = cmd.mutable_move_messages();
      r->set_account("alice");
      r->set_mailbox("INBOX");
      r->set_uid_set(uid_set);
      r->set_target_mailbox(target);
    } else {
      auto* r = cmd.mutable_copy_messages();
      r->set_account("alice");
      r->set_mailbox("INBOX");
      r->set_uid_set(uid_set);
      r->set_target_mailbox(target);
    }
    return cmd;
  }
};

TEST_F(CopyMoveTest, SameBodyIsStoredOnceAndCountedPerMessage) {
  MustAppend("INBOX", "same bytes");
  MustAppend("INBOX", "same bytes");
  const std::string sha = Fetch("INBOX")[0].content_sha256();
  EXPECT_EQ(sha, Fetch("INBOX")[1].content_sha256());
  EXPECT_EQ(sha.size(), 32u);
  auto refs = Refs(sha);
  EXPECT_EQ(refs.live, 2u);
  EXPECT_TRUE(refs.stored);
}

TEST_F(CopyMoveTest, CopyKeepsFlagsSharesTheBodyAndReportsUidMapping) {
  MustAppend("INBOX", "body-a", {"\\Flagged"});
  MustAppend("INBOX", "body-b", {"\\Seen"});
  MustAppend("Archive", "already there");
  auto copy = MustApply(CopyCmd("1:2", "Archive", false)).copy_messages();
  EXPECT_EQ(std::vector<uint32_t>(copy.source_uids().begin(), copy.source_uids().end()),
            (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(std::vector<uint32_t>(copy.target_uids().begin(), copy.target_uids().end()),
            (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(copy.target_uidvalidity(), Mailbox("Archive").uidvalidity());
  const auto archived = Fetch("Archive", "2:3", /*bodies=*/true);
  ASSERT_EQ(archived.size(), 2u);
  EXPECT_EQ(archived[0].flags(0), "\\Flagged");
  EXPECT_EQ(archived[0].body(), "body-a");
  EXPECT_EQ(archived[1].flags(0), "\\Seen");
  EXPECT_EQ(Refs(archived[0].content_sha256()).live, 2u);
  EXPECT_EQ(Fetch("INBOX").size(), 2u);  // the source keeps its messages
}

TEST_F(CopyMoveTest, MoveGivesNewUidsAndVanishesThemFromTheSource) {
  MustAppend("INBOX", "one", {"\\Answered"});
  MustAppend("INBOX", "two");
  MustAppend("INBOX", "three");
  const uint64_t before = Mailbox("INBOX").highest_modseq();
  const std::string sha = Fetch("INBOX", "2")[0].content_sha256();
  auto moved = MustApply(CopyCmd("1:2", "Archive", true)).move_messages();
  EXPECT_EQ(std::vector<uint32_t>(moved.target_uids().begin(), moved.target_uids().end()),
            (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{3}));
  const auto changes = Changes("INBOX", before);
  EXPECT_EQ(std::vector<uint32_t>(changes.vanished().begin(), changes.vanished().end()),
            (std::vector<uint32_t>{1, 2}));
  const auto archived = Fetch("Archive", "1:*", true);
  ASSERT_EQ(archived.size(), 2u);
  EXPECT_EQ(archived[0].flags(0), "\\Answered");
  EXPECT_EQ(archived[1].body(), "two");
  EXPECT_EQ(Refs(sha).live, 1u);  // moved, not copied
  v1::GetQuotaRequest q;
  q.set_account("alice");
  EXPECT_EQ(sm_->GetQuota(q)->used_messages(), 3u);
}

TEST_F(CopyMoveTest, BodyIsFreedWhenTheLastReferenceGoes) {
  MustAppend("INBOX", "short-lived");
  const std::string sha = Fetch("INBOX")[0].content_sha256();
  MustApply(CopyCmd("1", "Archive", false));
  MustApply(ExpungeCmd("alice", "INBOX", "1:*"));
  MustApply(ExpungeCmd("alice", "Archive", "1:*"));
  auto refs = Refs(sha);
  EXPECT_EQ(refs.live, 0u);
  EXPECT_EQ(refs.vault, 2u);  // the vault still holds both expunges
  EXPECT_TRUE(refs.stored);
  local_now_ms_ += 31 * kDay;
  auto purged = sm_->PurgeExpired(local_now_ms_);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 2u);
  refs = Refs(sha);
  EXPECT_EQ(refs.vault, 0u);
  EXPECT_FALSE(refs.stored);
}

TEST_F(CopyMoveTest, CopyOverQuotaFailsAndChangesNothing) {
  MustApply(CreateAccountCmd("bob", 0, /*quota_messages=*/3));
  v1::MailboxCommand create = CreateMailboxCmd("bob", "Other");
  MustApply(create);
  ASSERT_TRUE(Apply(AppendCmd("bob", "INBOX", "a")).ok());
  ASSERT_TRUE(Apply(AppendCmd("bob", "INBOX", "b")).ok());
  const std::string digest = DigestHex();
  v1::MailboxCommand copy = CopyCmd("1:*", "Other", false);
  copy.mutable_copy_messages()->set_account("bob");
  auto result = Apply(copy);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DigestHex(), digest);
}

}  // namespace
}  // namespace qbox::mailbox::testing

// The retention vault (DESIGN.md G3): expunged messages and deleted
// mailboxes are kept, restorable, and purged by each node's own clock.
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class VaultTest : public MailboxTest {
 protected:
  void SetUp() override {
    MailboxTest::SetUp();
    MustApply(CreateAccountCmd("alice"));
  }
  v1::ListDeletedResponse Deleted() {
    v1::ListDeletedRequest req;
    req.set_account("alice");
    auto r = sm_->ListDeleted(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ListDeletedResponse();
  }
  static v1::MailboxCommand RestoreCmd(std::vector<uint64_t> ids, const std::string& target = "") {
    v1::MailboxCommand cmd;
    cmd.mutable_restore_deleted()->set_account("alice");
    for (uint64_t id : ids) cmd.mutable_restore_deleted()->add_vault_ids(id);
    cmd.mutable_restore_deleted()->set_target_mailbox(target);
    return cmd;
  }
  static v1::MailboxCommand DeleteMailboxCmd(const std::string& name) {
    v1::MailboxCommand cmd;
    cmd.mutable_delete_mailbox()->set_account("alice");
    cmd.mutable_delete_mailbox()->set_name(name);
    return cmd;
  }
};

TEST_F(VaultTest, ExpungedMessagesComeBackWithNewUidsAndTheirFlags) {
  MustAppend("INBOX", "keep");
  MustAppend("INBOX", "oops", {"\\Flagged", "\\Deleted"});
  auto expunged = MustApply(ExpungeCmd("alice", "INBOX", "", /*only_deleted=*/true));
  EXPECT_EQ(std::vector<uint32_t>(expunged.expunge_messages().expunged().begin(),
                                  expunged.expunge_messages().expunged().end()),
            (std::vector<uint32_t>{2}));
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{1}));
  auto deleted = Deleted();
  ASSERT_EQ(deleted.items_size(), 1);
  EXPECT_EQ(deleted.items(0).vault_id(), expunged.expunge_messages().vault_id());
  EXPECT_EQ(deleted.items(0).message_count(), 1u);
  EXPECT_FALSE(deleted.items(0).whole_mailbox());

  auto restored = MustApply(RestoreCmd({deleted.items(0).vault_id()})).restore_deleted();
  EXPECT_EQ(restored.restored_messages(), 1u);
  const auto msgs = Fetch("INBOX", "1:*", true);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].uid(), 3u);  // a new UID, never the old one
  EXPECT_EQ(msgs[1].body(), "oops");
  EXPECT_EQ(std::vector<std::string>(msgs[1].flags().begin(), msgs[1].flags().end()),
            (std::vector<std::string>{"\\Flagged", "\\Deleted"}));
  EXPECT_EQ(Deleted().items_size(), 0);
}

TEST_F(VaultTest, DeletedMailboxIsRestoredUnderItsNameWithNewUidvalidity) {
  MustApply(CreateMailboxCmd("alice", "Projects"));
  const uint32_t old_validity = Mailbox("Projects").uidvalidity();
  MustAppend("Projects", "p1", {"\\Seen"});
  MustAppend("Projects", "p2");
  auto del = MustApply(DeleteMailboxCmd("Projects")).delete_mailbox();
  v1::ListMailboxesRequest list;
  list.set_account("alice");
  EXPECT_EQ(sm_->ListMailboxes(list)->mailboxes_size(), 1);
  leader_now_ms_ += 1000 * 1000;
  MustApply(RestoreCmd({del.vault_id()}));
  const v1::MailboxInfo info = Mailbox("Projects");
  EXPECT_NE(info.uidvalidity(), old_validity);
  EXPECT_EQ(info.total(), 2u);
  EXPECT_EQ(info.unseen(), 1u);
  EXPECT_EQ(Fetch("Projects")[0].flags(0), "\\Seen");
}

TEST_F(VaultTest, RestoreIntoAnotherMailboxAndMissingTargets) {
  MustApply(CreateMailboxCmd("alice", "Gone"));
  MustAppend("Gone", "x");
  auto expunged = MustApply(ExpungeCmd("alice", "Gone", "1")).expunge_messages();
  MustApply(DeleteMailboxCmd("Gone"));
  // Its mailbox no longer exists: restore needs a target.
  auto missing = Apply(RestoreCmd({expunged.vault_id()}));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  MustApply(RestoreCmd({expunged.vault_id()}, "INBOX"));
  EXPECT_EQ(Fetch("INBOX").size(), 1u);
  auto unknown = Apply(RestoreCmd({9999}));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message().substr(0, 13), "vault_ids[0]:");
}

TEST_F(VaultTest, PurgeCountsFromTheLocalApplyTimeNotTheLeaders) {
  MustAppend("INBOX", "doomed");
  // A leader lying about time (far in the future) cannot make nodes purge
  // early: the vault stamp is the node's own clock.
  leader_now_ms_ += 365 * kDay;
  MustApply(ExpungeCmd("alice", "INBOX", "1:*"));
  ASSERT_EQ(Deleted().items_size(), 1);
  const std::string digest = DigestHex();
  EXPECT_EQ(*sm_->PurgeExpired(local_now_ms_ + 29 * kDay), 0u);
  EXPECT_EQ(Deleted().items_size(), 1);
  EXPECT_EQ(*sm_->PurgeExpired(local_now_ms_ + 30 * kDay), 1u);
  EXPECT_EQ(Deleted().items_size(), 0);
  // Purging is local and must not make replicas' digests disagree.
  EXPECT_EQ(DigestHex(), digest);
}

TEST_F(VaultTest, RestoreIsRefusedNearTheEndOfRetention) {
  MustAppend("INBOX", "old");
  auto expunged = MustApply(ExpungeCmd("alice", "INBOX", "1")).expunge_messages();
  leader_now_ms_ += 29 * kDay + 1;  // within a day of the 30-day retention
  const std::string digest = DigestHex();
  auto late = Apply(RestoreCmd({expunged.vault_id()}));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(DigestHex(), digest);
}

TEST_F(VaultTest, RestoreOverQuotaChangesNothing) {
  MustApply(CreateAccountCmd("bob", 0, /*quota_messages=*/1));
  ASSERT_TRUE(Apply(AppendCmd("bob", "INBOX", "a")).ok());
  v1::MailboxCommand expunge = ExpungeCmd("bob", "INBOX", "1");
  auto vault_id = MustApply(expunge).expunge_messages().vault_id();
  ASSERT_TRUE(Apply(AppendCmd("bob", "INBOX", "b")).ok());
  const std::string digest = DigestHex();
  v1::MailboxCommand restore = RestoreCmd({vault_id});
  restore.mutable_restore_deleted()->set_account("bob");
  EXPECT_EQ(Apply(restore).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DigestHex(), digest);
}

}  // namespace
}  // namespace qbox::mailbox::testing

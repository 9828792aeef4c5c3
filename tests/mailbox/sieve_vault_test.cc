// Sieve scripts in the retention vault (DESIGN.md G3): a script that is
// overwritten or deleted is kept like expunged mail, restorable for R days,
// and purged by each node's own clock.
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class SieveVaultTest : public MailboxTest {
 protected:
  void SetUp() override {
    MailboxTest::SetUp();
    MustApply(CreateAccountCmd("alice"));
  }
  static v1::MailboxCommand PutCmd(const std::string& name, const std::string& content) {
    v1::MailboxCommand cmd;
    cmd.mutable_put_sieve_script()->set_account("alice");
    cmd.mutable_put_sieve_script()->set_name(name);
    cmd.mutable_put_sieve_script()->set_content(content);
    return cmd;
  }
  static v1::MailboxCommand DeleteCmd(const std::string& name) {
    v1::MailboxCommand cmd;
    cmd.mutable_delete_sieve_script()->set_account("alice");
    cmd.mutable_delete_sieve_script()->set_name(name);
    return cmd;
  }
  static v1::MailboxCommand RestoreCmd(std::vector<uint64_t> ids, const std::string& target = "") {
    v1::MailboxCommand cmd;
    cmd.mutable_restore_deleted()->set_account("alice");
    for (uint64_t id : ids) cmd.mutable_restore_deleted()->add_vault_ids(id);
    cmd.mutable_restore_deleted()->set_target_mailbox(target);
    return cmd;
  }
  v1::ListDeletedResponse Deleted() {
    v1::ListDeletedRequest req;
    req.set_account("alice");
    auto r = sm_->ListDeleted(req);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::ListDeletedResponse();
  }
  // The script's text, or "<none>".
  std::string Script(const std::string& name) {
    v1::GetSieveScriptRequest req;
    req.set_account("alice");
    req.set_name(name);
    auto r = sm_->GetSieveScript(req);
    if (absl::IsNotFound(r.status())) return "<none>";
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->content() : "";
  }
};

TEST_F(SieveVaultTest, AnOverwrittenScriptGoesIntoTheVaultAndComesBack) {
  MustApply(PutCmd("filters", "keep;"));
  MustApply(PutCmd("filters", "keep;"));  // the same text again: nothing to keep
  EXPECT_EQ(Deleted().items_size(), 0);
  MustApply(PutCmd("filters", "discard;"));
  auto deleted = Deleted();
  ASSERT_EQ(deleted.items_size(), 1);
  EXPECT_EQ(deleted.items(0).sieve_script(), "filters");
  EXPECT_EQ(deleted.items(0).message_count(), 0u);
  EXPECT_FALSE(deleted.items(0).whole_mailbox());
  EXPECT_EQ(deleted.items(0).mailbox(), "");

  // Restoring puts the old text back, and the one it replaces is kept.
  auto restored = MustApply(RestoreCmd({deleted.items(0).vault_id()})).restore_deleted();
  ASSERT_EQ(restored.restored_sieve_scripts_size(), 1);
  EXPECT_EQ(restored.restored_sieve_scripts(0), "filters");
  EXPECT_EQ(restored.restored_messages(), 0u);
  EXPECT_EQ(Script("filters"), "keep;");
  deleted = Deleted();
  ASSERT_EQ(deleted.items_size(), 1);
  EXPECT_EQ(deleted.items(0).sieve_script(), "filters");
  MustApply(RestoreCmd({deleted.items(0).vault_id()}));
  EXPECT_EQ(Script("filters"), "discard;");
}

TEST_F(SieveVaultTest, ADeletedScriptIsRestorableAndPurgedByTheNodesOwnClock) {
  MustApply(PutCmd("vacation", "vacation \"away\";"));
  MustApply(DeleteCmd("vacation"));
  EXPECT_EQ(Script("vacation"), "<none>");
  auto deleted = Deleted();
  ASSERT_EQ(deleted.items_size(), 1);
  EXPECT_EQ(deleted.items(0).sieve_script(), "vacation");

  // Mail restore options do not apply to a script.
  const std::string digest = DigestHex();
  auto refused = Apply(RestoreCmd({deleted.items(0).vault_id()}, "INBOX"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_NE(refused.status().message().find("target_mailbox: "), absl::string_view::npos);
  EXPECT_EQ(DigestHex(), digest);

  MustApply(RestoreCmd({deleted.items(0).vault_id()}));
  EXPECT_EQ(Script("vacation"), "vacation \"away\";");
  EXPECT_EQ(Deleted().items_size(), 0);

  // Deleted again, and kept for R by this node's clock, then purged.
  MustApply(DeleteCmd("vacation"));
  EXPECT_EQ(*sm_->PurgeExpired(local_now_ms_ + 29 * kDay), 0u);
  EXPECT_EQ(Deleted().items_size(), 1);
  EXPECT_EQ(*sm_->PurgeExpired(local_now_ms_ + 30 * kDay), 1u);
  EXPECT_EQ(Deleted().items_size(), 0);
}

}  // namespace
}  // namespace qbox::mailbox::testing

// Core semantics: UIDs, UIDVALIDITY, MODSEQ, changes, quota, idempotency,
// re-applied indexes, rename and sieve scripts.
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class StateMachineTest : public MailboxTest {
 protected:
  void SetUp() override {
    MailboxTest::SetUp();
    MustApply(CreateAccountCmd("alice"));
  }
};

TEST_F(StateMachineTest, NewAccountHasAnInbox) {
  v1::MailboxInfo inbox = Mailbox("INBOX");
  EXPECT_EQ(inbox.uidnext(), 1u);
  EXPECT_EQ(inbox.uidvalidity(), 1000u);
  EXPECT_EQ(inbox.total(), 0u);
}

TEST_F(StateMachineTest, UidsAscendAndAreNeverReusedAfterExpungeAndReopen) {
  EXPECT_EQ(MustAppend("INBOX", "m1").uid(), 1u);
  EXPECT_EQ(MustAppend("INBOX", "m2").uid(), 2u);
  EXPECT_EQ(MustAppend("INBOX", "m3").uid(), 3u);
  MustApply(ExpungeCmd("alice", "INBOX", "2:3"));
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{1}));
  Reopen();
  EXPECT_EQ(MustAppend("INBOX", "m4").uid(), 4u);
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{1, 4}));
  EXPECT_EQ(Mailbox("INBOX").uidnext(), 5u);
}

TEST_F(StateMachineTest, UidvalidityChangesOnlyWhenTheNameIsDeletedAndRecreated) {
  // The leader's proposal is the same each time (clock went backwards):
  // the apply still hands out a new value for the re-created name.
  MustApply(CreateMailboxCmd("alice", "Work", 500));
  const uint32_t first = Mailbox("Work").uidvalidity();
  MustAppend("Work", "x");
  EXPECT_EQ(Mailbox("Work").uidvalidity(), first);
  v1::MailboxCommand rename;
  rename.mutable_rename_mailbox()->set_account("alice");
  rename.mutable_rename_mailbox()->set_name("Work");
  rename.mutable_rename_mailbox()->set_new_name("Job");
  MustApply(rename);
  EXPECT_EQ(Mailbox("Job").uidvalidity(), first);  // rename keeps it

  v1::MailboxCommand del;
  del.mutable_delete_mailbox()->set_account("alice");
  del.mutable_delete_mailbox()->set_name("Job");
  MustApply(del);
  MustApply(CreateMailboxCmd("alice", "Job", 500));
  EXPECT_NE(Mailbox("Job").uidvalidity(), first);
  EXPECT_GT(Mailbox("Job").uidvalidity(), first);
  EXPECT_EQ(Mailbox("Job").uidnext(), 1u);
}

TEST_F(StateMachineTest, ModseqStrictlyIncreasesPerMessageAndMailbox) {
  uint64_t last = Mailbox("INBOX").highest_modseq();
  const auto a = MustAppend("INBOX", "a");
  EXPECT_GT(a.modseq(), last);
  last = a.modseq();
  const auto b = MustAppend("INBOX", "b");
  EXPECT_GT(b.modseq(), last);
  auto stored = MustApply(StoreCmd("alice", "INBOX", "1", v1::FLAG_OPERATION_ADD, {"\\Seen"}));
  ASSERT_EQ(stored.store_flags().updated_size(), 1);
  EXPECT_GT(stored.store_flags().updated(0).modseq(), b.modseq());
  EXPECT_EQ(stored.store_flags().highest_modseq(), stored.store_flags().updated(0).modseq());
  EXPECT_EQ(Mailbox("INBOX").highest_modseq(), stored.store_flags().highest_modseq());
  const auto msgs = Fetch("INBOX");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].modseq(), stored.store_flags().updated(0).modseq());
  EXPECT_EQ(msgs[1].modseq(), b.modseq());
  // A store that changes nothing does not bump the MODSEQ.
  auto again = MustApply(StoreCmd("alice", "INBOX", "1", v1::FLAG_OPERATION_ADD, {"\\Seen"}));
  EXPECT_EQ(again.store_flags().highest_modseq(), stored.store_flags().highest_modseq());
}

TEST_F(StateMachineTest, GetChangesReturnsExactlyChangedAndVanishedSince) {
  for (const char* body : {"1", "2", "3", "4"}) MustAppend("INBOX", body);
  const uint64_t checkpoint = Mailbox("INBOX").highest_modseq();
  MustApply(StoreCmd("alice", "INBOX", "2", v1::FLAG_OPERATION_ADD, {"\\Flagged"}));
  MustApply(ExpungeCmd("alice", "INBOX", "3"));
  MustAppend("INBOX", "5");
  MustApply(StoreCmd("alice", "INBOX", "2", v1::FLAG_OPERATION_ADD, {"\\Seen"}));

  const auto changes = Changes("INBOX", checkpoint);
  std::vector<uint32_t> changed;
  for (const auto& m : changes.changed()) changed.push_back(m.uid());
  EXPECT_EQ(changed, (std::vector<uint32_t>{2, 5}));
  EXPECT_EQ(std::vector<uint32_t>(changes.vanished().begin(), changes.vanished().end()),
            (std::vector<uint32_t>{3}));
  EXPECT_EQ(changes.highest_modseq(), Mailbox("INBOX").highest_modseq());
  // Nothing changed since the latest MODSEQ.
  const auto none = Changes("INBOX", changes.highest_modseq());
  EXPECT_EQ(none.changed_size(), 0);
  EXPECT_EQ(none.vanished_size(), 0);
  // Since 0: every live message, and the expunged UID as vanished.
  EXPECT_EQ(Changes("INBOX", 0).changed_size(), 4);
}

TEST_F(StateMachineTest, UnchangedSinceSkipsMessagesModifiedLater) {
  MustAppend("INBOX", "a");
  const uint64_t seen = MustAppend("INBOX", "b").modseq();
  MustApply(StoreCmd("alice", "INBOX", "2", v1::FLAG_OPERATION_ADD, {"\\Answered"}));
  auto cmd = StoreCmd("alice", "INBOX", "1:*", v1::FLAG_OPERATION_ADD, {"\\Seen"});
  cmd.mutable_store_flags()->set_unchanged_since(seen);
  auto result = MustApply(cmd).store_flags();
  EXPECT_EQ(std::vector<uint32_t>(result.modified().begin(), result.modified().end()),
            (std::vector<uint32_t>{2}));
  ASSERT_EQ(result.updated_size(), 1);
  EXPECT_EQ(result.updated(0).uid(), 1u);
}

TEST_F(StateMachineTest, FlagsAndKeywordsAddRemoveReplaceAndCounts) {
  MustAppend("INBOX", "a", {"\\Seen"});
  MustAppend("INBOX", "b");
  EXPECT_EQ(Mailbox("INBOX").unseen(), 1u);
  MustApply(StoreCmd("alice", "INBOX", "1:*", v1::FLAG_OPERATION_ADD, {"\\Seen"}, {"$Work"}));
  EXPECT_EQ(Mailbox("INBOX").unseen(), 0u);
  MustApply(StoreCmd("alice", "INBOX", "1", v1::FLAG_OPERATION_REMOVE, {"\\Seen"}, {"$Work"}));
  MustApply(StoreCmd("alice", "INBOX", "2", v1::FLAG_OPERATION_REPLACE, {"\\Draft"}, {"b", "a"}));
  const auto msgs = Fetch("INBOX");
  EXPECT_EQ(msgs[0].flags_size(), 0);
  EXPECT_EQ(msgs[0].keywords_size(), 0);
  EXPECT_EQ(std::vector<std::string>(msgs[1].flags().begin(), msgs[1].flags().end()),
            (std::vector<std::string>{"\\Draft"}));
  EXPECT_EQ(std::vector<std::string>(msgs[1].keywords().begin(), msgs[1].keywords().end()),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Mailbox("INBOX").unseen(), 2u);
  EXPECT_EQ(Mailbox("INBOX").total(), 2u);
}

TEST_F(StateMachineTest, QuotaExceededStoresNothing) {
  MustApply(CreateAccountCmd("bob", /*quota_bytes=*/10, /*quota_messages=*/2));
  ASSERT_TRUE(Apply(AppendCmd("bob", "INBOX", "12345")).ok());
  const std::string before = DigestHex();
  auto too_big = Apply(AppendCmd("bob", "INBOX", "123456"));
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(DigestHex(), before);
  ASSERT_TRUE(Apply(AppendCmd("bob", "INBOX", "12345")).ok());
  auto too_many = Apply(AppendCmd("bob", "INBOX", "1"));
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(too_many.status().message().find("quota"), absl::string_view::npos);
  v1::GetQuotaRequest req;
  req.set_account("bob");
  auto quota = sm_->GetQuota(req);
  ASSERT_TRUE(quota.ok());
  EXPECT_EQ(quota->used_bytes(), 10u);
  EXPECT_EQ(quota->used_messages(), 2u);
  EXPECT_EQ(Fetch("INBOX", "1:*", false, "bob").size(), 2u);
}

TEST_F(StateMachineTest, RetriedAppendWithSameKeyAppliesOnceWithSameUid) {
  auto cmd = AppendCmd("alice", "INBOX", "hello");
  cmd.mutable_append_message()->mutable_request()->set_idempotency_key("k-1");
  auto first = MustApply(cmd);
  auto retry = MustApply(cmd);  // a new log index: the client retried
  EXPECT_EQ(retry.append_message().uid(), first.append_message().uid());
  EXPECT_EQ(retry.append_message().commit_index(), first.append_message().commit_index());
  EXPECT_EQ(Mailbox("INBOX").total(), 1u);
  Reopen();
  EXPECT_EQ(MustApply(cmd).append_message().uid(), first.append_message().uid());
  EXPECT_EQ(Mailbox("INBOX").total(), 1u);
}

TEST_F(StateMachineTest, ReapplyingAnIndexReturnsTheStoredResultAndChangesNothing) {
  const auto cmd = AppendCmd("alice", "INBOX", "once");
  auto first = sm_->Apply(++index_, cmd);
  ASSERT_TRUE(first.ok());
  const std::string digest = DigestHex();
  auto again = sm_->Apply(index_, cmd);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->append_message().uid(), first->append_message().uid());
  EXPECT_EQ(DigestHex(), digest);
  EXPECT_EQ(Mailbox("INBOX").total(), 1u);
  // A failed command's error is replayed too.
  auto bad = sm_->Apply(++index_, AppendCmd("alice", "Nope", "x"));
  auto bad_again = sm_->Apply(index_, AppendCmd("alice", "Nope", "x"));
  EXPECT_EQ(bad.status(), bad_again.status());
  EXPECT_EQ(sm_->applied_index(), index_);
}

TEST_F(StateMachineTest, RenameMovesChildrenAndCreatesParents) {
  MustApply(CreateMailboxCmd("alice", "Archive/2019"));  // creates "Archive" too
  MustApply(CreateMailboxCmd("alice", "Archive/2020"));
  MustAppend("Archive/2019", "old");
  const uint64_t id = Mailbox("Archive/2019").mailbox_id();
  v1::MailboxCommand rename;
  rename.mutable_rename_mailbox()->set_account("alice");
  rename.mutable_rename_mailbox()->set_name("Archive");
  rename.mutable_rename_mailbox()->set_new_name("Old/Archive");
  MustApply(rename);
  EXPECT_EQ(Mailbox("Old/Archive/2019").mailbox_id(), id);
  EXPECT_EQ(Fetch("Old/Archive/2019").size(), 1u);
  Mailbox("Old/Archive/2020");
  Mailbox("Old");
}

TEST_F(StateMachineTest, SieveScriptsPutGetListActivateDelete) {
  auto put = [&](const std::string& name, const std::string& content) {
    v1::MailboxCommand cmd;
    cmd.mutable_put_sieve_script()->set_account("alice");
    cmd.mutable_put_sieve_script()->set_name(name);
    cmd.mutable_put_sieve_script()->set_content(content);
    return Apply(cmd);
  };
  ASSERT_TRUE(put("main", "keep;").ok());
  ASSERT_TRUE(put("vacation", "vacation \"away\";").ok());
  v1::MailboxCommand activate;
  activate.mutable_set_active_sieve_script()->set_account("alice");
  activate.mutable_set_active_sieve_script()->set_name("main");
  MustApply(activate);

  v1::GetSieveScriptRequest get;
  get.set_account("alice");
  get.set_name("main");
  auto script = sm_->GetSieveScript(get);
  ASSERT_TRUE(script.ok()) << script.status();
  EXPECT_EQ(script->content(), "keep;");
  EXPECT_TRUE(script->active());

  v1::ListSieveScriptsRequest list;
  list.set_account("alice");
  auto listed = sm_->ListSieveScripts(list);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->scripts_size(), 2);
  EXPECT_EQ(listed->scripts(1).name(), "vacation");
  EXPECT_FALSE(listed->scripts(1).active());

  v1::MailboxCommand del;
  del.mutable_delete_sieve_script()->set_account("alice");
  del.mutable_delete_sieve_script()->set_name("main");
  EXPECT_EQ(Apply(del).status().code(), absl::StatusCode::kFailedPrecondition);
  activate.mutable_set_active_sieve_script()->set_name("");
  MustApply(activate);
  MustApply(del);
  EXPECT_EQ(sm_->GetSieveScript(get).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace qbox::mailbox::testing

// Every kind of bad input the issue lists gets the right code, a message
// that starts with the offending field, and changes nothing (same digest).
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

struct BadCase {
  std::string label;
  v1::MailboxCommand command;
  absl::StatusCode code;
  std::string field;  // the message must start with "<field>:"
};

class BadInputTest : public MailboxTest {
 protected:
  void SetUp() override {
    MailboxTest::SetUp();
    MustApply(CreateAccountCmd("alice", 0, 0, /*max_message_bytes=*/1024));
    MustApply(CreateMailboxCmd("alice", "Work"));
    MustAppend("INBOX", "a message");
  }
};

v1::MailboxCommand Rename(const std::string& from, const std::string& to) {
  v1::MailboxCommand cmd;
  cmd.mutable_rename_mailbox()->set_account("alice");
  cmd.mutable_rename_mailbox()->set_name(from);
  cmd.mutable_rename_mailbox()->set_new_name(to);
  return cmd;
}

TEST_F(BadInputTest, EachBadInputNamesItsFieldAndChangesNothing) {
  using C = absl::StatusCode;
  std::vector<BadCase> cases = {
      {"empty name", CreateMailboxCmd("alice", ""), C::kInvalidArgument, "name"},
      {"over-long name", CreateMailboxCmd("alice", std::string(600, 'x')), C::kInvalidArgument,
       "name"},
      {"invalid UTF-8", CreateMailboxCmd("alice", "Bad\xc3("), C::kInvalidArgument, "name"},
      {"separator at start", CreateMailboxCmd("alice", "/Work2"), C::kInvalidArgument, "name"},
      {"separator at end", CreateMailboxCmd("alice", "Work2/"), C::kInvalidArgument, "name"},
      {"empty level", CreateMailboxCmd("alice", "a//b"), C::kInvalidArgument, "name"},
      {"existing name", CreateMailboxCmd("alice", "Work"), C::kAlreadyExists, "name"},
      {"rename INBOX", Rename("INBOX", "Old"), C::kFailedPrecondition, "name"},
      {"rename inbox any case", Rename("inbox", "Old"), C::kFailedPrecondition, "name"},
      {"rename to bad name", Rename("Work", "Work/"), C::kInvalidArgument, "new_name"},
      {"rename into itself", Rename("Work", "Work/Sub"), C::kInvalidArgument, "new_name"},
      {"unknown account", AppendCmd("nobody", "INBOX", "x"), C::kNotFound, "account"},
      {"bad account name", AppendCmd("", "INBOX", "x"), C::kInvalidArgument, "account"},
      {"unknown mailbox", AppendCmd("alice", "Nope", "x"), C::kNotFound, "mailbox"},
      {"unparsable UID set", StoreCmd("alice", "INBOX", "1:x", v1::FLAG_OPERATION_ADD, {"\\Seen"}),
       C::kInvalidArgument, "uid_set"},
      {"empty UID set", StoreCmd("alice", "INBOX", "", v1::FLAG_OPERATION_ADD, {"\\Seen"}),
       C::kInvalidArgument, "uid_set"},
      {"message too large", AppendCmd("alice", "INBOX", std::string(1025, 'm')),
       C::kInvalidArgument, "body"},
      {"empty message", AppendCmd("alice", "INBOX", ""), C::kInvalidArgument, "body"},
      {"unknown system flag", AppendCmd("alice", "INBOX", "x", {"\\Recent"}), C::kInvalidArgument,
       "flags[0]"},
      {"keyword in flags", AppendCmd("alice", "INBOX", "x", {"\\Seen", "Work"}),
       C::kInvalidArgument, "flags[1]"},
      {"bad keyword", AppendCmd("alice", "INBOX", "x", {}, {"ok", "not ok"}), C::kInvalidArgument,
       "keywords[1]"},
      {"store with unknown flag",
       StoreCmd("alice", "INBOX", "1", v1::FLAG_OPERATION_ADD, {"\\Bogus"}), C::kInvalidArgument,
       "flags[0]"},
      {"store without operation",
       StoreCmd("alice", "INBOX", "1", v1::FLAG_OPERATION_UNSPECIFIED, {"\\Seen"}),
       C::kInvalidArgument, "operation"},
      {"expunge bad UID set", ExpungeCmd("alice", "INBOX", "*:"), C::kInvalidArgument, "uid_set"},
  };
  {
    v1::MailboxCommand del;
    del.mutable_delete_mailbox()->set_account("alice");
    del.mutable_delete_mailbox()->set_name("INBOX");
    cases.push_back({"delete INBOX", del, C::kFailedPrecondition, "name"});
    v1::MailboxCommand move;
    move.mutable_move_messages()->set_account("alice");
    move.mutable_move_messages()->set_mailbox("INBOX");
    move.mutable_move_messages()->set_uid_set("1");
    move.mutable_move_messages()->set_target_mailbox("Missing");
    cases.push_back({"move to unknown mailbox", move, C::kNotFound, "target_mailbox"});
    v1::MailboxCommand key = AppendCmd("alice", "INBOX", "x");
    key.mutable_append_message()->mutable_request()->set_idempotency_key(std::string(200, 'k'));
    cases.push_back({"over-long idempotency key", key, C::kInvalidArgument, "idempotency_key"});
  }

  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.label);
    const std::string before = DigestHex();
    const uint64_t applied_before = sm_->applied_index();
    auto result = Apply(c.command);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), c.code) << result.status();
    EXPECT_EQ(result.status().message().substr(0, c.field.size() + 1), c.field + ":")
        << result.status();
    EXPECT_EQ(DigestHex(), before);
    // The log entry is consumed even though the command failed.
    EXPECT_EQ(sm_->applied_index(), applied_before + 1);
  }
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{1}));
}

TEST_F(BadInputTest, ReadsValidateTheirInputToo) {
  v1::FetchMessagesRequest fetch;
  fetch.set_account("alice");
  fetch.set_mailbox("INBOX");
  fetch.set_uid_set("1,,2");
  absl::Status s = sm_->FetchMessages(fetch, [](v1::FetchMessagesResponse) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().substr(0, 8), "uid_set:");
  v1::GetChangesRequest changes;
  changes.set_account("alice");
  changes.set_mailbox("Nope");
  EXPECT_EQ(sm_->GetChanges(changes).status().code(), absl::StatusCode::kNotFound);
  v1::GetQuotaRequest quota;
  quota.set_account("nobody");
  EXPECT_EQ(sm_->GetQuota(quota).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace qbox::mailbox::testing

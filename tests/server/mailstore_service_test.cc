// MailStore through real stubs over mutual TLS against a real single-node
// cluster: every write goes through the runtime and RocksDB.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/service_test_fixture.h"

namespace qbox::server::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using MS = v1::MailStore::Stub;

TEST_F(ServiceTest, MailboxLifecycleEndToEnd) {
  CreateAccount("alice");

  v1::CreateMailboxRequest create;
  create.set_account("alice");
  create.set_name("Archive");
  create.set_special_use(v1::SPECIAL_USE_ARCHIVE);
  v1::CreateMailboxResponse created;
  ASSERT_TRUE(Call(*mail_, &MS::CreateMailbox, create, &created).ok());
  EXPECT_EQ(created.mailbox().name(), "Archive");
  EXPECT_GT(created.mailbox().uidvalidity(), 0u);

  // Two appends: UIDs ascend, MODSEQs increase, the commit index is reported.
  v1::AppendMessageRequest first = AppendRequest("alice", "INBOX", "Subject: one\r\n\r\nhello\r\n");
  first.add_flags("\\Flagged");
  first.add_keywords("Work");
  v1::AppendMessageResponse a1, a2;
  ASSERT_TRUE(Call(*mail_, &MS::AppendMessage, first, &a1).ok());
  v1::AppendMessageRequest second = AppendRequest("alice", "INBOX", "Subject: two\r\n\r\nbye\r\n");
  second.set_internal_date_ms(1'600'000'000'000);
  ASSERT_TRUE(Call(*mail_, &MS::AppendMessage, second, &a2).ok());
  EXPECT_EQ(a1.uid() + 1, a2.uid());
  EXPECT_LT(a1.modseq(), a2.modseq());
  EXPECT_GT(a2.commit_index(), a1.commit_index());
  EXPECT_LE(a2.commit_index(), node_->runtime()->applied_index());

  // Metadata only.
  v1::FetchMessagesRequest fetch;
  fetch.set_account("alice");
  fetch.set_mailbox("INBOX");
  fetch.set_uid_set("1:*");
  std::vector<v1::FetchMessagesResponse> fetched;
  ASSERT_TRUE(Fetch(fetch, &fetched).ok());
  ASSERT_EQ(fetched.size(), 2u);
  EXPECT_EQ(fetched[0].message().uid(), a1.uid());
  EXPECT_THAT(fetched[0].message().flags(), ElementsAre("\\Flagged"));
  EXPECT_THAT(fetched[0].message().keywords(), ElementsAre("Work"));
  EXPECT_TRUE(fetched[0].message().body().empty());
  EXPECT_EQ(fetched[1].message().internal_date_ms(), 1'600'000'000'000);
  // The leader stamped the first one with its clock: recent, not zero.
  EXPECT_GT(fetched[0].message().internal_date_ms(), 1'700'000'000'000);
  EXPECT_EQ(fetched[0].uidvalidity(), a1.uidvalidity());

  // With bodies.
  fetch.set_include_body(true);
  fetched.clear();
  ASSERT_TRUE(Fetch(fetch, &fetched).ok());
  ASSERT_EQ(fetched.size(), 2u);
  EXPECT_EQ(fetched[0].message().body(), first.body());
  EXPECT_EQ(fetched[1].message().body(), second.body());
  EXPECT_EQ(fetched[1].message().size(), second.body().size());

  // Flag, then expunge the first message into the vault.
  v1::StoreFlagsRequest flag;
  flag.set_account("alice");
  flag.set_mailbox("INBOX");
  flag.set_uid_set(std::to_string(a1.uid()));
  flag.set_operation(v1::FLAG_OPERATION_ADD);
  flag.add_flags("\\Deleted");
  v1::StoreFlagsResponse flagged;
  ASSERT_TRUE(Call(*mail_, &MS::StoreFlags, flag, &flagged).ok());
  ASSERT_EQ(flagged.updated_size(), 1);
  EXPECT_THAT(flagged.updated(0).flags(), ElementsAre("\\Flagged", "\\Deleted"));
  const uint64_t after_flag = flagged.highest_modseq();

  v1::ExpungeMessagesRequest expunge;
  expunge.set_account("alice");
  expunge.set_mailbox("INBOX");
  expunge.set_only_deleted(true);
  v1::ExpungeMessagesResponse expunged;
  ASSERT_TRUE(Call(*mail_, &MS::ExpungeMessages, expunge, &expunged).ok());
  EXPECT_THAT(expunged.expunged(), ElementsAre(a1.uid()));
  EXPECT_NE(expunged.vault_id(), 0u);

  // QRESYNC: the expunged UID vanished since the flag change.
  v1::GetChangesRequest changes_req;
  changes_req.set_account("alice");
  changes_req.set_mailbox("INBOX");
  changes_req.set_since_modseq(after_flag);
  v1::GetChangesResponse changes;
  ASSERT_TRUE(Call(*mail_, &MS::GetChanges, changes_req, &changes).ok());
  EXPECT_THAT(changes.vanished(), ElementsAre(a1.uid()));
  EXPECT_EQ(changes.changed_size(), 0);
  EXPECT_EQ(changes.uidvalidity(), a1.uidvalidity());

  // The vault lists it; restore brings it back with a new UID.
  v1::ListDeletedRequest list_deleted;
  list_deleted.set_account("alice");
  v1::ListDeletedResponse deleted;
  ASSERT_TRUE(Call(*mail_, &MS::ListDeleted, list_deleted, &deleted).ok());
  ASSERT_EQ(deleted.items_size(), 1);
  EXPECT_EQ(deleted.items(0).vault_id(), expunged.vault_id());
  EXPECT_EQ(deleted.items(0).message_count(), 1u);

  v1::RestoreDeletedRequest restore;
  restore.set_account("alice");
  restore.add_vault_ids(expunged.vault_id());
  v1::RestoreDeletedResponse restored;
  ASSERT_TRUE(Call(*mail_, &MS::RestoreDeleted, restore, &restored).ok());
  EXPECT_EQ(restored.restored_messages(), 1u);

  changes_req.set_since_modseq(changes.highest_modseq());
  ASSERT_TRUE(Call(*mail_, &MS::GetChanges, changes_req, &changes).ok());
  ASSERT_EQ(changes.changed_size(), 1);
  EXPECT_GT(changes.changed(0).uid(), a2.uid());  // UIDs are never reused

  v1::ListMailboxesRequest list;
  list.set_account("alice");
  v1::ListMailboxesResponse mailboxes;
  ASSERT_TRUE(Call(*mail_, &MS::ListMailboxes, list, &mailboxes).ok());
  ASSERT_EQ(mailboxes.mailboxes_size(), 2);
  EXPECT_EQ(mailboxes.mailboxes(0).name(), "Archive");
  EXPECT_EQ(mailboxes.mailboxes(1).name(), "INBOX");
  EXPECT_EQ(mailboxes.mailboxes(1).total(), 2u);
}

TEST_F(ServiceTest, CopyMoveRenameDelete) {
  CreateAccount("bob");
  v1::CreateMailboxRequest create;
  create.set_account("bob");
  create.set_name("Work");
  v1::CreateMailboxResponse created;
  ASSERT_TRUE(Call(*mail_, &MS::CreateMailbox, create, &created).ok());
  v1::AppendMessageResponse appended;
  ASSERT_TRUE(
      Call(*mail_, &MS::AppendMessage, AppendRequest("bob", "INBOX", "body"), &appended).ok());

  v1::CopyMessagesRequest copy;
  copy.set_account("bob");
  copy.set_mailbox("INBOX");
  copy.set_uid_set("1:*");
  copy.set_target_mailbox("Work");
  v1::CopyMessagesResponse copied;
  ASSERT_TRUE(Call(*mail_, &MS::CopyMessages, copy, &copied).ok());
  EXPECT_THAT(copied.source_uids(), ElementsAre(appended.uid()));
  EXPECT_EQ(copied.target_uids_size(), 1);

  v1::MoveMessagesRequest move;
  move.set_account("bob");
  move.set_mailbox("Work");
  move.set_uid_set("1:*");
  move.set_target_mailbox("INBOX");
  v1::MoveMessagesResponse moved;
  ASSERT_TRUE(Call(*mail_, &MS::MoveMessages, move, &moved).ok());
  EXPECT_EQ(moved.target_uids_size(), 1);
  EXPECT_GT(moved.target_uids(0), appended.uid());

  v1::RenameMailboxRequest rename;
  rename.set_account("bob");
  rename.set_name("Work");
  rename.set_new_name("Job");
  v1::RenameMailboxResponse renamed;
  ASSERT_TRUE(Call(*mail_, &MS::RenameMailbox, rename, &renamed).ok());
  EXPECT_EQ(renamed.mailbox().name(), "Job");
  EXPECT_EQ(renamed.mailbox().uidvalidity(), created.mailbox().uidvalidity());

  v1::DeleteMailboxRequest del;
  del.set_account("bob");
  del.set_name("Job");
  v1::DeleteMailboxResponse deleted;
  ASSERT_TRUE(Call(*mail_, &MS::DeleteMailbox, del, &deleted).ok());
  EXPECT_NE(deleted.vault_id(), 0u);
}

TEST_F(ServiceTest, SieveScripts) {
  CreateAccount("carol");
  v1::PutSieveScriptRequest put;
  put.set_account("carol");
  put.set_name("vacation");
  put.set_content("require \"vacation\";\n");
  v1::PutSieveScriptResponse put_resp;
  ASSERT_TRUE(Call(*mail_, &MS::PutSieveScript, put, &put_resp).ok());

  v1::SetActiveSieveScriptRequest activate;
  activate.set_account("carol");
  activate.set_name("vacation");
  v1::SetActiveSieveScriptResponse activated;
  ASSERT_TRUE(Call(*mail_, &MS::SetActiveSieveScript, activate, &activated).ok());

  v1::GetSieveScriptRequest get;
  get.set_account("carol");
  get.set_name("vacation");
  v1::GetSieveScriptResponse got;
  ASSERT_TRUE(Call(*mail_, &MS::GetSieveScript, get, &got).ok());
  EXPECT_EQ(got.content(), put.content());
  EXPECT_TRUE(got.active());

  v1::ListSieveScriptsRequest list;
  list.set_account("carol");
  v1::ListSieveScriptsResponse listed;
  ASSERT_TRUE(Call(*mail_, &MS::ListSieveScripts, list, &listed).ok());
  ASSERT_EQ(listed.scripts_size(), 1);
  EXPECT_EQ(listed.scripts(0).size(), put.content().size());

  // RFC 5804: the active script cannot be deleted.
  v1::DeleteSieveScriptRequest del;
  del.set_account("carol");
  del.set_name("vacation");
  v1::DeleteSieveScriptResponse deleted;
  EXPECT_EQ(Call(*mail_, &MS::DeleteSieveScript, del, &deleted).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  activate.set_name("");
  ASSERT_TRUE(Call(*mail_, &MS::SetActiveSieveScript, activate, &activated).ok());
  EXPECT_TRUE(Call(*mail_, &MS::DeleteSieveScript, del, &deleted).ok());
}

TEST_F(ServiceTest, RetriedAppendWithSameIdempotencyKeyKeepsItsUid) {
  CreateAccount("dave");
  v1::AppendMessageRequest req = AppendRequest("dave", "INBOX", "once only");
  req.set_idempotency_key("lmtp-queue-id-42");
  v1::AppendMessageResponse first, retry;
  ASSERT_TRUE(Call(*mail_, &MS::AppendMessage, req, &first).ok());
  ASSERT_TRUE(Call(*mail_, &MS::AppendMessage, req, &retry).ok());
  EXPECT_EQ(first.uid(), retry.uid());
  EXPECT_EQ(first.modseq(), retry.modseq());

  v1::GetQuotaRequest quota_req;
  quota_req.set_account("dave");
  v1::GetQuotaResponse quota;
  ASSERT_TRUE(Call(*mail_, &MS::GetQuota, quota_req, &quota).ok());
  EXPECT_EQ(quota.used_messages(), 1u);
  EXPECT_EQ(quota.used_bytes(), req.body().size());
  // The node's own limit (64 KiB in this fixture) is the effective one.
  EXPECT_EQ(quota.max_message_bytes(), 64u * 1024);
}

TEST_F(ServiceTest, AppendBeyondQuotaIsResourceExhaustedAndStoresNothing) {
  CreateAccount("erin", /*quota_bytes=*/0, /*quota_messages=*/1);
  v1::AppendMessageResponse resp;
  ASSERT_TRUE(
      Call(*mail_, &MS::AppendMessage, AppendRequest("erin", "INBOX", "first"), &resp).ok());
  const auto before = Digest();
  grpc::Status s =
      Call(*mail_, &MS::AppendMessage, AppendRequest("erin", "INBOX", "second"), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(Digest(), before);

  // Raising the quota (Admin.SetQuota) lets the same append through.
  v1::SetQuotaRequest raise;
  raise.set_account("erin");
  raise.set_quota_messages(10);
  v1::SetQuotaResponse raised;
  ASSERT_TRUE(Call(*admin_, &v1::Admin::Stub::SetQuota, raise, &raised).ok());
  EXPECT_TRUE(
      Call(*mail_, &MS::AppendMessage, AppendRequest("erin", "INBOX", "second"), &resp).ok());
}

// Each bad input answers the right code, names the field, and changes
// nothing. `stateless` cases must be refused before anything is proposed.
TEST_F(ServiceTest, BadInputIsRefusedNamingTheFieldAndChangesNothing) {
  CreateAccount("frank");
  v1::AppendMessageResponse appended;
  ASSERT_TRUE(
      Call(*mail_, &MS::AppendMessage, AppendRequest("frank", "INBOX", "x"), &appended).ok());

  struct Case {
    std::string what;
    std::function<grpc::Status()> call;
    grpc::StatusCode code;
    std::string field;  // the message starts with "<field>"
    bool stateless;
  };
  auto create_mailbox = [this](const std::string& name) {
    return [this, name] {
      v1::CreateMailboxRequest req;
      req.set_account("frank");
      req.set_name(name);
      v1::CreateMailboxResponse resp;
      return Call(*mail_, &MS::CreateMailbox, req, &resp);
    };
  };
  auto append = [this](v1::AppendMessageRequest req) {
    return [this, req] {
      v1::AppendMessageResponse resp;
      return Call(*mail_, &MS::AppendMessage, req, &resp);
    };
  };
  auto store = [this](const std::string& uid_set, const std::string& flag, v1::FlagOperation op) {
    return [this, uid_set, flag, op] {
      v1::StoreFlagsRequest req;
      req.set_account("frank");
      req.set_mailbox("INBOX");
      req.set_uid_set(uid_set);
      req.set_operation(op);
      req.add_flags(flag);
      v1::StoreFlagsResponse resp;
      return Call(*mail_, &MS::StoreFlags, req, &resp);
    };
  };
  v1::AppendMessageRequest with_bad_flag = AppendRequest("frank", "INBOX", "x");
  with_bad_flag.add_flags("\\Bogus");
  v1::AppendMessageRequest with_bad_keyword = AppendRequest("frank", "INBOX", "x");
  with_bad_keyword.add_keywords("two words");
  v1::AppendMessageRequest with_empty_key = AppendRequest("frank", "INBOX", "x");
  with_empty_key.set_idempotency_key("");

  const grpc::StatusCode kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
  const std::vector<Case> cases = {
      {"empty mailbox name", create_mailbox(""), kInvalid, "name", true},
      {"over-long mailbox name", create_mailbox(std::string(600, 'a')), kInvalid, "name", true},
      {"separator at the start", create_mailbox("/Archive"), kInvalid, "name", true},
      {"separator at the end", create_mailbox("Archive/"), kInvalid, "name", true},
      {"renaming INBOX",
       [this] {
         v1::RenameMailboxRequest req;
         req.set_account("frank");
         req.set_name("inbox");
         req.set_new_name("Old");
         v1::RenameMailboxResponse resp;
         return Call(*mail_, &MS::RenameMailbox, req, &resp);
       },
       grpc::StatusCode::FAILED_PRECONDITION, "name", true},
      {"bad account name", append(AppendRequest("a/b", "INBOX", "x")), kInvalid, "account", true},
      {"message over the node's limit",
       append(AppendRequest("frank", "INBOX", std::string(64 * 1024 + 1, 'x'))), kInvalid, "body",
       true},
      {"empty message", append(AppendRequest("frank", "INBOX", "")), kInvalid, "body", true},
      {"unknown system flag", append(with_bad_flag), kInvalid, "flags[0]", true},
      {"keyword that is not an atom", append(with_bad_keyword), kInvalid, "keywords[0]", true},
      {"empty idempotency key", append(with_empty_key), kInvalid, "idempotency_key", true},
      {"UID set that does not parse", store("1:x", "\\Seen", v1::FLAG_OPERATION_ADD), kInvalid,
       "uid_set", true},
      {"flag operation unspecified", store("1", "\\Seen", v1::FLAG_OPERATION_UNSPECIFIED), kInvalid,
       "operation", true},
      {"unknown account", append(AppendRequest("nobody", "INBOX", "x")),
       grpc::StatusCode::NOT_FOUND, "account", false},
      {"unknown mailbox", append(AppendRequest("frank", "Nowhere", "x")),
       grpc::StatusCode::NOT_FOUND, "mailbox", false},
      {"fetch with a bad UID set",
       [this] {
         v1::FetchMessagesRequest req;
         req.set_account("frank");
         req.set_mailbox("INBOX");
         req.set_uid_set("*:");
         std::vector<v1::FetchMessagesResponse> out;
         return Fetch(req, &out);
       },
       kInvalid, "uid_set", true},
      {"changes page larger than the server allows",
       [this] {
         v1::GetChangesRequest req;
         req.set_account("frank");
         req.set_mailbox("INBOX");
         req.set_max_changes(100'001);
         v1::GetChangesResponse resp;
         return Call(*mail_, &MS::GetChanges, req, &resp);
       },
       kInvalid, "max_changes", true},
  };

  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const auto digest_before = Digest();
    const uint64_t proposals_before = node_->runtime()->Status().proposals;
    grpc::Status s = c.call();
    EXPECT_EQ(s.error_code(), c.code) << s.error_message();
    EXPECT_THAT(s.error_message(), StartsWith(c.field)) << s.error_message();
    EXPECT_EQ(Digest(), digest_before);
    if (c.stateless) {
      EXPECT_EQ(node_->runtime()->Status().proposals, proposals_before)
          << "refused input must not reach the log";
    }
  }
}

// A resync of a big mailbox comes in pages; the caller loops on
// has_more_changes from changes_through_modseq and misses nothing.
TEST_F(ServiceTest, GetChangesPagesUntilHasMoreChangesIsFalse) {
  CreateAccount("paula");
  std::vector<uint32_t> appended;
  for (int i = 0; i < 5; ++i) {
    v1::AppendMessageResponse a;
    ASSERT_TRUE(Call(*mail_, &MS::AppendMessage,
                     AppendRequest("paula", "INBOX", "m" + std::to_string(i)), &a)
                    .ok());
    appended.push_back(a.uid());
  }
  v1::GetChangesRequest req;
  req.set_account("paula");
  req.set_mailbox("INBOX");
  req.set_max_changes(2);
  std::vector<uint32_t> seen;
  std::vector<int> page_sizes;
  v1::GetChangesResponse page;
  do {
    ASSERT_LT(page_sizes.size(), 10u) << "no end to the pages";
    grpc::Status s = Call(*mail_, &MS::GetChanges, req, &page);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const v1::MessageInfo& m : page.changed()) seen.push_back(m.uid());
    page_sizes.push_back(page.changed_size());
    req.set_since_modseq(page.changes_through_modseq());
  } while (page.has_more_changes());
  EXPECT_EQ(seen, appended);
  EXPECT_THAT(page_sizes, ElementsAre(2, 2, 1));
  EXPECT_EQ(page.changes_through_modseq(), page.highest_modseq());
}

// MailStore's text fields are `bytes` on the wire (see mailstore.proto), so
// invalid UTF-8 reaches the service's own check, which names the field.
TEST_F(ServiceTest, InvalidUtf8NameIsRefusedAndChangesNothing) {
  CreateAccount("hank");
  const auto before = Digest();
  const uint64_t proposals = node_->runtime()->Status().proposals;
  v1::CreateMailboxRequest req;
  req.set_account("hank");
  req.set_name("Bad\xff\xfe");
  v1::CreateMailboxResponse resp;
  grpc::Status s = Call(*mail_, &MS::CreateMailbox, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("name"), std::string::npos) << s.error_message();
  EXPECT_EQ(Digest(), before);
  EXPECT_EQ(node_->runtime()->Status().proposals, proposals);
}

TEST_F(ServiceTest, OnlyFrontendsMayCallMailStore) {
  CreateAccount("gina");
  v1::ListMailboxesRequest req;
  req.set_account("gina");
  v1::ListMailboxesResponse resp;
  for (const guard::PemCredential* wrong : {&credentials_.admin, &credentials_.node}) {
    auto stub = v1::MailStore::NewStub(node_->Channel(*wrong));
    grpc::Status s = Call(*stub, &MS::ListMailboxes, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(s.error_message(), HasSubstr("'frontend'"));
    EXPECT_THAT(s.error_message(), HasSubstr("site-a/"));
  }
  // Refused callers cannot write either.
  const auto before = Digest();
  auto admin_as_frontend = v1::MailStore::NewStub(node_->Channel(credentials_.admin));
  v1::AppendMessageResponse appended;
  EXPECT_EQ(
      Call(*admin_as_frontend, &MS::AppendMessage, AppendRequest("gina", "INBOX", "x"), &appended)
          .error_code(),
      grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Digest(), before);
}

}  // namespace
}  // namespace qbox::server::testing

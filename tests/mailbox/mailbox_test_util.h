// Shared fixture for the mailbox state machine tests: a real RocksDB store
// in a fresh temporary directory, a controllable local clock, and builders
// for the commands a leader would propose.
#ifndef QBOX_TESTS_MAILBOX_MAILBOX_TEST_UTIL_H_
#define QBOX_TESTS_MAILBOX_MAILBOX_TEST_UTIL_H_

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "node/mailbox/state_machine.h"

namespace qbox::mailbox::testing {

inline std::string MakeTempDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base ? base : "/tmp") + "/qbox-mailbox-test-XXXXXX";
  char* made = mkdtemp(pattern.data());
  EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
  return pattern;
}

class MailboxTest : public ::testing::Test {
 protected:
  static constexpr int64_t kDay = 24ll * 3600 * 1000;

  void SetUp() override {
    dir_ = MakeTempDir();
    Reopen();
  }
  void TearDown() override {
    sm_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Closes and opens the store again, as a node restart does.
  void Reopen(const std::string& sub = "sm") {
    sm_.reset();
    MailboxStateMachine::Options options;
    options.local_clock_ms = [this] { return local_now_ms_; };
    if (max_vanished_records_ != 0) options.max_vanished_records = max_vanished_records_;
    auto opened = MailboxStateMachine::Open(dir_ + "/" + sub, options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    sm_ = std::move(opened).value();
    index_ = sm_->applied_index();
  }

  // Applies at the next log index with the current leader time.
  absl::StatusOr<v1::CommandResult> Apply(v1::MailboxCommand cmd) {
    cmd.set_leader_time_ms(leader_now_ms_);
    return sm_->Apply(++index_, cmd);
  }

  static v1::MailboxCommand CreateAccountCmd(const std::string& account, uint64_t quota_bytes = 0,
                                             uint64_t quota_messages = 0,
                                             uint64_t max_message_bytes = 0) {
    v1::MailboxCommand cmd;
    auto* c = cmd.mutable_create_account();
    c->mutable_request()->set_account(account);
    c->mutable_request()->set_quota_bytes(quota_bytes);
    c->mutable_request()->set_quota_messages(quota_messages);
    c->mutable_request()->set_max_message_bytes(max_message_bytes);
    c->set_inbox_uidvalidity(1000);
    return cmd;
  }
  static v1::MailboxCommand CreateMailboxCmd(const std::string& account, const std::string& name,
                                             uint32_t uidvalidity = 1000) {
    v1::MailboxCommand cmd;
    cmd.mutable_create_mailbox()->mutable_request()->set_account(account);
    cmd.mutable_create_mailbox()->mutable_request()->set_name(name);
    cmd.mutable_create_mailbox()->set_uidvalidity(uidvalidity);
    return cmd;
  }
  static v1::MailboxCommand AppendCmd(const std::string& account, const std::string& mailbox,
                                      const std::string& body, std::vector<std::string> flags = {},
                                      std::vector<std::string> keywords = {}) {
    v1::MailboxCommand cmd;
    auto* r = cmd.mutable_append_message()->mutable_request();
    r->set_account(account);
    r->set_mailbox(mailbox);
    r->set_body(body);
    for (auto& f : flags) r->add_flags(f);
    for (auto& k : keywords) r->add_keywords(k);
    cmd.mutable_append_message()->set_internal_date_ms(1'700'000'000'000);
    return cmd;
  }
  static v1::MailboxCommand StoreCmd(const std::string& account, const std::string& mailbox,
                                     const std::string& uid_set, v1::FlagOperation op,
                                     std::vector<std::string> flags,
                                     std::vector<std::string> keywords = {}) {
    v1::MailboxCommand cmd;
    auto* r = cmd.mutable_store_flags();
    r->set_account(account);
    r->set_mailbox(mailbox);
    r->set_uid_set(uid_set);
    r->set_operation(op);
    for (auto& f : flags) r->add_flags(f);
    for (auto& k : keywords) r->add_keywords(k);
    return cmd;
  }
  static v1::MailboxCommand ExpungeCmd(const std::string& account, const std::string& mailbox,
                                       const std::string& uid_set, bool only_deleted = false) {
    v1::MailboxCommand cmd;
    auto* r = cmd.mutable_expunge_messages();
    r->set_account(account);
    r->set_mailbox(mailbox);
    r->set_uid_set(uid_set);
    r->set_only_deleted(only_deleted);
    return cmd;
  }

  // Applies and asserts success.
  v1::CommandResult MustApply(const v1::MailboxCommand& cmd) {
    auto result = Apply(cmd);
    EXPECT_TRUE(result.ok()) << result.status() << " for " << cmd.ShortDebugString();
    return result.ok() ? *result : v1::CommandResult();
  }
  v1::AppendMessageResponse MustAppend(const std::string& mailbox, const std::string& body,
                                       std::vector<std::string> flags = {}) {
    return MustApply(AppendCmd("alice", mailbox, body, std::move(flags))).append_message();
  }

  std::vector<v1::MessageInfo> Fetch(const std::string& mailbox, const std::string& uid_set = "1:*",
                                     bool bodies = false, const std::string& account = "alice") {
    v1::FetchMessagesRequest req;
    req.set_account(account);
    req.set_mailbox(mailbox);
    req.set_uid_set(uid_set);
    req.set_include_body(bodies);
    std::vector<v1::MessageInfo> out;
    absl::Status s = sm_->FetchMessages(req, [&](v1::FetchMessagesResponse r) {
      out.push_back(r.message());
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
  std::vector<uint32_t> Uids(const std::string& mailbox) {
    std::vector<uint32_t> uids;
    for (const auto& m : Fetch(mailbox)) uids.push_back(m.uid());
    return uids;
  }
  v1::MailboxInfo Mailbox(const std::string& name, const std::string& account = "alice") {
    v1::ListMailboxesRequest req;
    req.set_account(account);
    auto list = sm_->ListMailboxes(req);
    EXPECT_TRUE(list.ok()) << list.status();
    if (list.ok()) {
      for (const auto& m : list->mailboxes()) {
        if (m.name() == name) return m;
      }
    }
    ADD_FAILURE() << "no mailbox " << name;
    return {};
  }
  v1::GetChangesResponse Changes(const std::string& mailbox, uint64_t since) {
    v1::GetChangesRequest req;
    req.set_account("alice");
    req.set_mailbox(mailbox);
    req.set_since_modseq(since);
    auto r = sm_->GetChanges(req);
    EXPECT_TRUE(r.ok()) << r.status();
    // One default page: the tests using this stay far below its size.
    if (r.ok()) {
      EXPECT_FALSE(r->has_more_changes()) << "use a paging loop";
    }
    return r.ok() ? *r : v1::GetChangesResponse();
  }
  std::string DigestHex() {
    auto d = sm_->Digest();
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) return "";
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(d->data()), d->size()));
  }

  std::string dir_;
  std::unique_ptr<MailboxStateMachine> sm_;
  uint64_t index_ = 0;
  int64_t leader_now_ms_ = 1'700'000'000'000;
  int64_t local_now_ms_ = 1'700'000'000'000;
  // Options::max_vanished_records for the next Reopen; 0 = the default.
  uint64_t max_vanished_records_ = 0;
};

}  // namespace qbox::mailbox::testing

#endif  // QBOX_TESTS_MAILBOX_MAILBOX_TEST_UTIL_H_

// GetChanges in pages (max_changes, has_more_changes, changes_through_modseq,
// JMAP-style): a front end that loops over the pages ends up knowing exactly
// what the mailbox holds, even when the mailbox changes between pages.
#include "node/mailbox/change_pages.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class ChangePagesTest : public MailboxTest {
 protected:
  void SetUp() override {
    MailboxTest::SetUp();
    MustApply(CreateAccountCmd("alice"));
  }

  absl::StatusOr<v1::GetChangesResponse> Page(const std::string& mailbox, uint64_t since,
                                              uint32_t max_changes) {
    v1::GetChangesRequest req;
    req.set_account("alice");
    req.set_mailbox(mailbox);
    req.set_since_modseq(since);
    req.set_max_changes(max_changes);
    return sm_->GetChanges(req);
  }

  // What a front end knows after applying pages in order: the live
  // messages with their latest state, and the UIDs it was told vanished.
  struct FrontEndView {
    std::map<uint32_t, std::string> messages;  // UID -> MessageInfo text
    std::set<uint32_t> vanished;
    int pages = 0;
  };

  // Loops from `since` with pages of `max_changes` until has_more_changes
  // is false, checking each page, and calls `between` after each page but
  // the last (with the number of pages read so far).
  FrontEndView PageThrough(const std::string& mailbox, uint64_t since, uint32_t max_changes,
                           const std::function<void(int pages)>& between = nullptr) {
    FrontEndView view;
    for (;;) {
      auto page = Page(mailbox, since, max_changes);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return view;
      ++view.pages;
      SCOPED_TRACE(::testing::Message() << "page " << view.pages << " since " << since);
      EXPECT_LE(page->changed_size() + page->vanished_size(), static_cast<int>(max_changes));
      // One consistent state per page: no UID is listed twice in it, and
      // every listed change lies in (since, changes_through_modseq].
      std::set<uint32_t> listed;
      for (const v1::MessageInfo& m : page->changed()) {
        EXPECT_TRUE(listed.insert(m.uid()).second) << "UID " << m.uid() << " listed twice";
        EXPECT_GT(m.modseq(), since);
        EXPECT_LE(m.modseq(), page->changes_through_modseq());
        view.messages[m.uid()] = m.ShortDebugString();
      }
      for (uint32_t uid : page->vanished()) {
        EXPECT_TRUE(listed.insert(uid).second) << "UID " << uid << " listed twice";
        view.messages.erase(uid);
        view.vanished.insert(uid);
      }
      EXPECT_LE(page->changes_through_modseq(), page->highest_modseq());
      if (!page->has_more_changes()) {
        EXPECT_EQ(page->changes_through_modseq(), page->highest_modseq());
        return view;
      }
      // A full page, and progress: otherwise a caller would loop forever.
      EXPECT_EQ(page->changed_size() + page->vanished_size(), static_cast<int>(max_changes));
      EXPECT_GT(page->changes_through_modseq(), since);
      if (page->changes_through_modseq() <= since) return view;
      since = page->changes_through_modseq();
      if (between) between(view.pages);
    }
  }

  // The mailbox as it is: UID -> MessageInfo text.
  std::map<uint32_t, std::string> Actual(const std::string& mailbox) {
    std::map<uint32_t, std::string> out;
    for (const v1::MessageInfo& m : Fetch(mailbox)) out[m.uid()] = m.ShortDebugString();
    return out;
  }

  v1::MailboxCommand CopyAllCmd(const std::string& mailbox) {
    v1::MailboxCommand cmd;
    auto* r = cmd.mutable_copy_messages();
    r->set_account("alice");
    r->set_mailbox(mailbox);
    r->set_uid_set("1:*");
    r->set_target_mailbox(mailbox);
    return cmd;
  }
};

// Some history: appends, flag changes and expunges over 45 UIDs.
TEST_F(ChangePagesTest, PagesTogetherEqualTheUnpagedAnswer) {
  for (int i = 1; i <= 40; ++i) MustAppend("INBOX", "m" + std::to_string(i));
  MustApply(StoreCmd("alice", "INBOX", "3,6,9,12,15,18,21", v1::FLAG_OPERATION_ADD, {"\\Seen"}));
  MustApply(ExpungeCmd("alice", "INBOX", "5:9,30"));
  const uint64_t middle = Mailbox("INBOX").highest_modseq();
  for (int i = 41; i <= 45; ++i) MustAppend("INBOX", "m" + std::to_string(i));
  MustApply(StoreCmd("alice", "INBOX", "1,2,44", v1::FLAG_OPERATION_ADD, {"\\Flagged"}));
  MustApply(ExpungeCmd("alice", "INBOX", "10,41"));

  for (uint64_t since : {uint64_t{0}, uint64_t{12}, middle}) {
    SCOPED_TRACE(::testing::Message() << "since " << since);
    const v1::GetChangesResponse whole = Changes("INBOX", since);
    ASSERT_FALSE(whole.has_more_changes());
    std::map<uint32_t, std::string> expected;
    for (const v1::MessageInfo& m : whole.changed()) expected[m.uid()] = m.ShortDebugString();
    const std::set<uint32_t> expected_vanished(whole.vanished().begin(), whole.vanished().end());
    const int entries = whole.changed_size() + whole.vanished_size();
    ASSERT_GT(entries, 7);

    const FrontEndView paged = PageThrough("INBOX", since, 7);
    EXPECT_EQ(paged.messages, expected);
    EXPECT_EQ(paged.vanished, expected_vanished);
    EXPECT_EQ(paged.pages, (entries + 6) / 7);
  }
  // A page of one entry at a time still ends with everything.
  const FrontEndView one_by_one = PageThrough("INBOX", 0, 1);
  EXPECT_EQ(one_by_one.messages, Actual("INBOX"));
}

TEST_F(ChangePagesTest, ChangesBetweenPagesAreReportedAndNothingIsLost) {
  for (int i = 1; i <= 30; ++i) MustAppend("INBOX", "m" + std::to_string(i));
  // Pages of 5 from 0 list UIDs 1-5 first. Between pages the mailbox
  // changes both behind the loop (UIDs already listed) and ahead of it.
  const FrontEndView view = PageThrough("INBOX", 0, 5, [&](int pages) {
    if (pages == 1) {
      MustApply(StoreCmd("alice", "INBOX", "2", v1::FLAG_OPERATION_ADD, {"\\Seen"}));   // listed
      MustApply(StoreCmd("alice", "INBOX", "20", v1::FLAG_OPERATION_ADD, {"\\Seen"}));  // ahead
      MustApply(ExpungeCmd("alice", "INBOX", "3"));                                     // listed
      MustApply(ExpungeCmd("alice", "INBOX", "25"));                                    // ahead
      MustAppend("INBOX", "new");
    }
    if (pages == 3) {
      MustApply(StoreCmd("alice", "INBOX", "2", v1::FLAG_OPERATION_REMOVE, {"\\Seen"}));
      MustApply(ExpungeCmd("alice", "INBOX", "12"));
    }
  });
  EXPECT_EQ(view.messages, Actual("INBOX"));
  EXPECT_EQ(view.vanished, (std::set<uint32_t>{3, 12, 25}));
  EXPECT_TRUE(view.messages.count(31));
}

TEST_F(ChangePagesTest, MaxChangesZeroMeansTheDefaultAndTheLimitIsEnforced) {
  // More UIDs than a default page: one message copied onto itself 14 times.
  MustAppend("INBOX", "m");
  for (int i = 0; i < 14; ++i) MustApply(CopyAllCmd("INBOX"));
  const uint64_t uids = 1u << 14;
  ASSERT_EQ(Mailbox("INBOX").total(), uids);
  ASSERT_GT(uids, kDefaultMaxChanges);

  auto by_default = Page("INBOX", 0, 0);
  ASSERT_TRUE(by_default.ok()) << by_default.status();
  EXPECT_EQ(by_default->changed_size(), static_cast<int>(kDefaultMaxChanges));
  EXPECT_TRUE(by_default->has_more_changes());
  EXPECT_EQ(by_default->changes_through_modseq(),
            by_default->changed(kDefaultMaxChanges - 1).modseq());

  auto largest = Page("INBOX", 0, kMaxMaxChanges);
  ASSERT_TRUE(largest.ok()) << largest.status();
  EXPECT_EQ(largest->changed_size(), static_cast<int>(uids));
  EXPECT_FALSE(largest->has_more_changes());
  EXPECT_EQ(largest->changes_through_modseq(), largest->highest_modseq());

  auto one = Page("INBOX", 0, 1);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->changed_size(), 1);
  EXPECT_EQ(one->changed(0).uid(), 1u);
  EXPECT_TRUE(one->has_more_changes());
}

TEST_F(ChangePagesTest, TooLargeMaxChangesIsRefusedNamingTheFieldAndChangesNothing) {
  MustAppend("INBOX", "m");
  const std::string digest = DigestHex();
  const uint64_t applied = sm_->applied_index();
  for (uint32_t bad : {kMaxMaxChanges + 1, uint32_t{UINT32_MAX}}) {
    auto page = Page("INBOX", 0, bad);
    ASSERT_FALSE(page.ok());
    EXPECT_EQ(page.status().code(), absl::StatusCode::kInvalidArgument) << page.status();
    EXPECT_EQ(page.status().message().substr(0, 12), "max_changes:") << page.status();
  }
  EXPECT_EQ(DigestHex(), digest);
  EXPECT_EQ(sm_->applied_index(), applied);
  EXPECT_EQ(Fetch("INBOX").size(), 1u);
}

}  // namespace
}  // namespace qbox::mailbox::testing

// Idempotency keys (node/mailbox/idempotency.h): a retry is answered once,
// a key reused for another request is refused, and keys are forgotten
// after the window so the store does not grow without bound.
#include "node/mailbox/idempotency.h"

#include <algorithm>
#include <string>
#include <vector>

#include "node/mailbox/keys.h"
#include "node/mailbox/store.h"
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class IdempotencyTest : public MailboxTest {
 protected:
  void SetUp() override {
    MailboxTest::SetUp();
    MustApply(CreateAccountCmd("alice"));
  }

  static v1::MailboxCommand KeyedAppend(const std::string& body, const std::string& key) {
    v1::MailboxCommand cmd = AppendCmd("alice", "INBOX", body);
    cmd.mutable_append_message()->mutable_request()->set_idempotency_key(key);
    return cmd;
  }

  // Makes `index` the next log index applied (indexes may skip: entries
  // that are not mailbox commands).
  void SkipTo(uint64_t index) {
    ASSERT_GT(index, index_);
    index_ = index - 1;
  }

  // Every key in the idempotency column family, read from the closed store.
  std::vector<std::string> IdempotencyKeys() {
    sm_.reset();
    std::vector<std::string> out;
    {
      auto store = Store::Open(dir_ + "/sm");
      EXPECT_TRUE(store.ok()) << store.status();
      if (store.ok()) {
        StoreTxn txn(store->get());
        EXPECT_TRUE(txn.Scan(Cf::kIdempotency, "", std::string(40, '\xff'),
                             [&](absl::string_view k, absl::string_view) {
                               out.emplace_back(k);
                               return true;
                             })
                        .ok());
      }
    }
    Reopen();
    return out;
  }
};

TEST_F(IdempotencyTest, AKeyReusedForAnotherRequestIsRefusedNamingTheFieldAndChangesNothing) {
  const uint32_t uid = MustApply(KeyedAppend("first body", "k-1")).append_message().uid();
  const std::string digest = DigestHex();

  auto reused = Apply(KeyedAppend("another body", "k-1"));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(reused.status().message());
  EXPECT_NE(message.find("idempotency_key"), std::string::npos) << message;
  EXPECT_NE(message.find("different request"), std::string::npos) << message;
  EXPECT_EQ(Mailbox("INBOX").total(), 1u);
  EXPECT_EQ(DigestHex(), digest) << "a refused reuse must change no replicated state";

  // The genuine retry is still answered with the first result.
  EXPECT_EQ(MustApply(KeyedAppend("first body", "k-1")).append_message().uid(), uid);
  EXPECT_EQ(Mailbox("INBOX").total(), 1u);
}

TEST_F(IdempotencyTest, TheSameKeyInAnotherAccountIsAnotherKey) {
  MustApply(CreateAccountCmd("bob"));
  MustApply(KeyedAppend("alice's", "shared-key"));
  v1::MailboxCommand bobs = AppendCmd("bob", "INBOX", "bob's");
  bobs.mutable_append_message()->mutable_request()->set_idempotency_key("shared-key");
  MustApply(bobs);
  EXPECT_EQ(Mailbox("INBOX", "alice").total(), 1u);
  EXPECT_EQ(Mailbox("INBOX", "bob").total(), 1u);
}

TEST_F(IdempotencyTest, AKeyIsRememberedForTheWholeWindowAndFreeAfterIt) {
  const uint32_t first = MustApply(KeyedAppend("body", "k-2")).append_message().uid();
  leader_now_ms_ += kIdempotencyWindowMs - 1;
  EXPECT_EQ(MustApply(KeyedAppend("body", "k-2")).append_message().uid(), first);
  EXPECT_EQ(Mailbox("INBOX").total(), 1u);

  leader_now_ms_ += 1;  // exactly the window after the first apply
  const uint32_t again = MustApply(KeyedAppend("body", "k-2")).append_message().uid();
  EXPECT_GT(again, first) << "after the window the key names a new append";
  EXPECT_EQ(Mailbox("INBOX").total(), 2u);
  // ...and from then on the key answers with the new result.
  EXPECT_EQ(MustApply(KeyedAppend("body", "k-2")).append_message().uid(), again);
}

TEST_F(IdempotencyTest, ExpiredKeysAreDeletedAtTheForgetIndexAndLiveOnesKept) {
  MustApply(KeyedAppend("old", "old-key"));
  MustApply(KeyedAppend("reused", "reused-key"));
  leader_now_ms_ += kIdempotencyWindowMs + 1;
  // Reused after expiry: its record is new, only its stale time entry goes.
  const uint32_t reused = MustApply(KeyedAppend("reused", "reused-key")).append_message().uid();
  MustApply(KeyedAppend("fresh", "fresh-key"));
  // A record and a time entry per key, plus reused-key's first time entry.
  ASSERT_EQ(IdempotencyKeys().size(), 7u);

  SkipTo(kIdempotencyForgetEvery * ((index_ / kIdempotencyForgetEvery) + 1));
  MustApply(AppendCmd("alice", "INBOX", "keyless, at the forget index"));

  const std::vector<std::string> left = IdempotencyKeys();
  EXPECT_EQ(left.size(), 4u) << "old-key's record and time entry, and reused-key's stale time "
                                "entry, are forgotten";
  EXPECT_EQ(std::count(left.begin(), left.end(), keys::Idempotency("alice", "old-key")), 0);
  EXPECT_EQ(std::count(left.begin(), left.end(), keys::Idempotency("alice", "reused-key")), 1);
  EXPECT_EQ(std::count(left.begin(), left.end(), keys::Idempotency("alice", "fresh-key")), 1);
  EXPECT_EQ(MustApply(KeyedAppend("reused", "reused-key")).append_message().uid(), reused);
}

TEST_F(IdempotencyTest, OnePassForgetsAtMostItsBatchAndTheNextPassTheRest) {
  // More expired keys than one pass may delete: applying an entry must not
  // take unbounded time however many keys expired at once.
  for (int i = 0; i < kIdempotencyForgetBatch + 10; ++i) {
    MustApply(KeyedAppend("m", "bulk-" + std::to_string(i)));
  }
  leader_now_ms_ += kIdempotencyWindowMs + 1;
  SkipTo(kIdempotencyForgetEvery * ((index_ / kIdempotencyForgetEvery) + 1));
  MustApply(AppendCmd("alice", "INBOX", "at the forget index"));
  // Each bulk key has a record and a time entry; one pass takes the
  // oldest kIdempotencyForgetBatch time entries and their records.
  EXPECT_EQ(IdempotencyKeys().size(), 2u * 10);
  SkipTo(index_ + kIdempotencyForgetEvery - (index_ % kIdempotencyForgetEvery));
  MustApply(AppendCmd("alice", "INBOX", "at the next forget index"));
  EXPECT_EQ(IdempotencyKeys().size(), 0u);
}

}  // namespace
}  // namespace qbox::mailbox::testing

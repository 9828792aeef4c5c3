// Snapshots for the consensus core, restart and the replicated digest.
#include <sys/resource.h>

#include <fstream>
#include <iterator>

#include "node/mailbox/keys.h"
#include "node/mailbox/store.h"
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class SnapshotTest : public MailboxTest {
 protected:
  void Populate() {
    MustApply(CreateAccountCmd("alice", 1 << 20, 100));
    MustApply(CreateMailboxCmd("alice", "Archive/2019"));
    MustAppend("INBOX", "first", {"\\Seen"});
    MustAppend("INBOX", "second");
    MustAppend("Archive/2019", "first");
    MustApply(ExpungeCmd("alice", "INBOX", "1"));
    v1::MailboxCommand sieve;
    sieve.mutable_put_sieve_script()->set_account("alice");
    sieve.mutable_put_sieve_script()->set_name("main");
    sieve.mutable_put_sieve_script()->set_content("keep;");
    MustApply(sieve);
  }

  // Writes a snapshot of the current state to `path` and returns its bytes.
  std::string WriteAndReadSnapshot(const std::string& path) {
    EXPECT_TRUE(sm_->WriteSnapshot(path).ok());
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

TEST_F(SnapshotTest, RestoredNodeHasTheSameStateDigestAndUidCounters) {
  Populate();
  const std::string path = dir_ + "/snap";
  std::array<uint8_t, 32> file_sha256{};
  auto index = sm_->WriteSnapshot(path, &file_sha256);
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(*index, index_);
  {
    // The hash computed while writing is the file's, trailer included.
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(bytes.size(), 32u);
    Sha256Stream whole;
    whole.Update(bytes);
    EXPECT_EQ(file_sha256, whole.Finish());
    Sha256Stream body;
    body.Update(absl::string_view(bytes).substr(0, bytes.size() - 32));
    const std::array<uint8_t, 32> trailer = body.Finish();
    EXPECT_EQ(bytes.substr(bytes.size() - 32),
              std::string(reinterpret_cast<const char*>(trailer.data()), trailer.size()));
  }
  const std::string digest = DigestHex();
  const uint64_t applied = index_;

  // A second node, with some unrelated state of its own, installs it.
  Reopen("other");
  MustApply(CreateAccountCmd("mallory"));
  local_now_ms_ += 10 * kDay;
  ASSERT_TRUE(sm_->RestoreSnapshot(path).ok());
  EXPECT_EQ(sm_->applied_index(), applied);
  EXPECT_EQ(DigestHex(), digest);
  v1::ListAccountsResponse accounts = *sm_->ListAccounts();
  ASSERT_EQ(accounts.accounts_size(), 1);
  EXPECT_EQ(accounts.accounts(0).account(), "alice");
  index_ = sm_->applied_index();
  // UIDs continue after the snapshot, never reusing the expunged UID 1.
  EXPECT_EQ(MustAppend("INBOX", "third").uid(), 3u);
  EXPECT_EQ(Fetch("Archive/2019", "1", true)[0].body(), "first");

  // The vault entry was re-stamped with this node's clock at install.
  EXPECT_EQ(*sm_->PurgeExpired(local_now_ms_ + 29 * kDay), 0u);
  EXPECT_EQ(*sm_->PurgeExpired(local_now_ms_ + 30 * kDay), 1u);

  // And it survives a restart.
  Reopen("other");
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{2, 3}));
}

TEST_F(SnapshotTest, DamagedSnapshotIsRefusedAndChangesNothing) {
  Populate();
  const std::string path = dir_ + "/snap";
  std::string bytes = WriteAndReadSnapshot(path);
  const std::string digest = DigestHex();
  bytes[bytes.size() / 2] ^= 0x01;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  absl::Status s = sm_->RestoreSnapshot(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(path), absl::string_view::npos) << s;
  EXPECT_EQ(DigestHex(), digest);
  EXPECT_EQ(sm_->RestoreSnapshot(dir_ + "/missing").code(), absl::StatusCode::kNotFound);
}

// A node that crashed half-way through installing a snapshot holds part of
// its old state and part of the snapshot. It must neither refuse to start
// (needing an operator) nor serve or apply to that mix: it drops it, and
// its runtime installs the snapshot its raft log storage kept again.
TEST_F(SnapshotTest, AnInterruptedRestoreIsDroppedAtOpenAndTheSnapshotCanBeInstalledAgain) {
  Populate();
  const std::string path = dir_ + "/snap";
  ASSERT_TRUE(sm_->WriteSnapshot(path).ok());
  const std::string digest = DigestHex();
  const uint64_t applied = index_;

  ASSERT_NO_FATAL_FAILURE(Reopen("other"));
  MustApply(CreateAccountCmd("mallory"));
  sm_.reset();
  {
    // What a crash mid-restore leaves: the marker, and records of both.
    auto store = Store::Open(dir_ + "/other");
    ASSERT_TRUE(store.ok()) << store.status();
    StoreTxn txn(store->get());
    txn.Put(Cf::kMeta, std::string(keys::kRestoring), "1");
    txn.Put(Cf::kMeta, std::string(keys::kAppliedIndex), keys::BigEndian64(applied));
    txn.Put(Cf::kAccounts, "alice", "half of a restored record");
    ASSERT_TRUE(txn.Commit().ok());
  }
  ASSERT_NO_FATAL_FAILURE(Reopen("other"));
  EXPECT_EQ(sm_->applied_index(), 0u);
  EXPECT_EQ(sm_->ListAccounts()->accounts_size(), 0);
  absl::StatusOr<v1::CommandResult> refused = sm_->Apply(1, CreateAccountCmd("bob"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss) << refused.status();
  EXPECT_NE(refused.status().message().find("restore was interrupted"), absl::string_view::npos);
  // Nor can it claim to hold anything durably: the runtime must not compact
  // its raft log behind such a store.
  absl::StatusOr<uint64_t> durable = sm_->MakeDurable();
  EXPECT_EQ(durable.status().code(), absl::StatusCode::kFailedPrecondition) << durable.status();
  // Still so after another restart before the snapshot came.
  ASSERT_NO_FATAL_FAILURE(Reopen("other"));
  EXPECT_EQ(sm_->Apply(1, CreateAccountCmd("bob")).status().code(), absl::StatusCode::kDataLoss);

  ASSERT_TRUE(sm_->RestoreSnapshot(path).ok());
  EXPECT_EQ(sm_->applied_index(), applied);
  EXPECT_EQ(DigestHex(), digest);
  index_ = applied;
  EXPECT_EQ(MustAppend("INBOX", "third").uid(), 3u);
  ASSERT_NO_FATAL_FAILURE(Reopen("other"));
  EXPECT_EQ(sm_->applied_index(), applied + 1);
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{2, 3}));
}

// A snapshot comes from another node (or an operator's file): a length
// field claiming gigabytes, a cut-off file or bytes after the checksum are
// refused as damaged, naming the file, and change nothing.
TEST_F(SnapshotTest, BadLengthsCutOffFilesAndTrailingBytesAreRefused) {
  Populate();
  const std::string path = dir_ + "/snap";
  std::string bytes = WriteAndReadSnapshot(path);
  const std::string digest = DigestHex();
  auto restore = [&](const std::string& content) {
    const std::string bad = dir_ + "/bad-snap";
    {
      std::ofstream out(bad, std::ios::binary | std::ios::trunc);
      out << content;
    }
    return sm_->RestoreSnapshot(bad);
  };
  // Header (8 + 4), then the first record: a tag byte and the key length.
  std::string huge_key = bytes;
  huge_key.replace(13, 4, std::string("\xff\xff\xff\xf0", 4));
  auto peak_rss_kib = [] {
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
  };
  const long peak_before = peak_rss_kib();
  absl::Status s = restore(huge_key);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("bad-snap is damaged: truncated"), absl::string_view::npos) << s;
  // Without first allocating the 4 GiB the field claims.
  EXPECT_LT(peak_rss_kib() - peak_before, 256 * 1024);

  s = restore(bytes.substr(0, bytes.size() - 40));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  s = restore(bytes.substr(0, bytes.size() - 1));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  s = restore(bytes + "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("trailing bytes"), absl::string_view::npos) << s;
  s = restore(bytes.substr(0, 10));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("bad header"), absl::string_view::npos) << s;
  EXPECT_EQ(DigestHex(), digest);
  // The intact file still restores.
  EXPECT_TRUE(restore(bytes).ok());
  EXPECT_EQ(DigestHex(), digest);
}

TEST_F(SnapshotTest, SameCommandsGiveTheSameDigestOnTwoNodes) {
  Populate();
  const std::string a = DigestHex();
  const uint64_t applied = index_;
  // Replay the same log on a fresh node with a different local clock.
  sm_.reset();
  Reopen("replica");
  local_now_ms_ += 5 * kDay;
  index_ = 0;
  Populate();
  EXPECT_EQ(index_, applied);
  EXPECT_EQ(DigestHex(), a);
  MustAppend("INBOX", "diverge");
  EXPECT_NE(DigestHex(), a);
}

TEST_F(SnapshotTest, AppliedIndexSurvivesRestartAndOldIndexesAreNoOps) {
  Populate();
  const uint64_t applied = index_;
  Reopen();
  EXPECT_EQ(sm_->applied_index(), applied);
  const std::string digest = DigestHex();
  auto replay = sm_->Apply(applied, AppendCmd("alice", "INBOX", "again"));
  EXPECT_TRUE(replay.ok()) << replay.status();  // the stored sieve result
  EXPECT_EQ(DigestHex(), digest);
}

}  // namespace
}  // namespace qbox::mailbox::testing

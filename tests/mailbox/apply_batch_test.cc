// ApplyBatch writes runs of committed commands to the store at once, and
// the store writes without a log of its own (store.h): the state, the
// results and the G5 checkpoints must be exactly those of applying one
// command at a time, and a crash must lose only what the raft log gives
// back.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/mailbox/guard_test_util.h"

namespace qbox::mailbox::testing {
namespace {

constexpr uint64_t kCheckpointEvery = 5;

class ApplyBatchTest : public GuardMailboxTest {
 protected:
  // Both machines get the same charter, with checkpoints every few entries
  // so that batches cross checkpoint indexes.
  void StartBoth() {
    batched_ = OpenMachine("batched", &local_now_ms_);
    ASSERT_NE(batched_, nullptr);
    v1::Charter charter = TestCharter();
    charter.set_checkpoint_every(kCheckpointEvery);
    ASSERT_TRUE(Genesis(sm_.get(), 1, charter).ok());
    ASSERT_TRUE(Genesis(batched_.get(), 1, charter).ok());
    index_ = 1;
  }

  // Applies `commands` one by one to sm_ and in one ApplyBatch to
  // batched_; every outcome must be the same.
  void ApplyToBoth(const std::vector<v1::MailboxCommand>& commands, const std::string& where) {
    std::vector<MailboxStateMachine::BatchCommand> batch;
    std::vector<absl::StatusOr<v1::CommandResult>> one_by_one;
    for (const v1::MailboxCommand& cmd : commands) {
      batch.push_back({++index_, &cmd});
      one_by_one.push_back(sm_->Apply(index_, cmd));
    }
    auto batched = batched_->ApplyBatch(batch);
    ASSERT_TRUE(batched.ok()) << where << ": " << batched.status();
    ASSERT_EQ(batched->size(), commands.size()) << where;
    for (size_t i = 0; i < commands.size(); ++i) {
      const absl::StatusOr<v1::CommandResult>& a = one_by_one[i];
      const absl::StatusOr<v1::CommandResult>& b = (*batched)[i];
      ASSERT_EQ(a.status(), b.status()) << where << ", command " << i << ": "
                                        << commands[i].ShortDebugString();
      if (a.ok()) {
        ASSERT_EQ(a->SerializeAsString(), b->SerializeAsString())
            << where << ", command " << i << ": " << a->ShortDebugString() << " against "
            << b->ShortDebugString();
      }
      outcomes_[a.ok() ? a->status_code() : static_cast<int>(a.status().code())]++;
    }
    ASSERT_EQ(sm_->applied_index(), batched_->applied_index()) << where;
  }

  std::array<uint8_t, 32> DigestOf(MailboxStateMachine* sm) {
    auto digest = sm->Digest();
    EXPECT_TRUE(digest.ok()) << digest.status();
    return digest.ok() ? *digest : std::array<uint8_t, 32>{};
  }

  std::unique_ptr<MailboxStateMachine> batched_;
  std::map<int, int> outcomes_;  // status code -> how many commands ended so
};

TEST_F(ApplyBatchTest, BatchesGiveTheSameResultsStateAndCheckpointsAsOneByOne) {
  StartBoth();
  std::mt19937 rng(11);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  // Small quotas, so that appends fail inside batches too.
  ApplyToBoth({CreateAccountCmd("alice", /*quota_bytes=*/20'000, /*quota_messages=*/40),
               CreateAccountCmd("bob")},
              "accounts");
  const std::vector<std::string> accounts = {"alice", "alice", "bob", "carol"};  // carol: unknown
  const std::vector<std::string> mailboxes = {"INBOX", "Archive", "Work", "Nope"};
  const std::vector<std::string> uid_sets = {"1:*", "1", "2:4", "3:*", "x"};  // "x": bad
  int guard_commands = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<v1::MailboxCommand> batch;
    const int size = 1 + pick(16);
    for (int i = 0; i < size; ++i) {
      const std::string& account = accounts[pick(accounts.size())];
      const std::string& mailbox = mailboxes[pick(mailboxes.size())];
      v1::MailboxCommand cmd;
      switch (pick(10)) {
        case 0:
          cmd = CreateMailboxCmd(account, mailboxes[1 + pick(2)], 2000 + round);
          break;
        case 1:
        case 2:
        case 3: {
          // Bodies repeat (content addressing), keys repeat within a batch
          // (retries) and are reused for other requests (refused).
          const std::string body =
              absl::StrCat("Subject: ", pick(6), "\r\n\r\n", std::string(pick(3000), 'b'));
          cmd = AppendCmd(account, pick(3) ? "INBOX" : mailbox, body,
                          {pick(2) ? "\\Seen" : "\\Flagged"});
          if (pick(2)) {
            cmd.mutable_append_message()->mutable_request()->set_idempotency_key(
                absl::StrCat("key-", pick(4)));
          }
          break;
        }
        case 4:
          cmd = StoreCmd(account, mailbox, uid_sets[pick(uid_sets.size())],
                         pick(2) ? v1::FLAG_OPERATION_ADD : v1::FLAG_OPERATION_REMOVE,
                         {"\\Deleted"});
          break;
        case 5: {
          auto* r = cmd.mutable_copy_messages();
          r->set_account(account);
          r->set_mailbox(mailbox);
          r->set_uid_set(uid_sets[pick(uid_sets.size())]);
          r->set_target_mailbox(mailboxes[pick(mailboxes.size())]);
          if (pick(2)) r->set_idempotency_key(absl::StrCat("copy-", pick(2)));
          break;
        }
        case 6:
          cmd = ExpungeCmd(account, mailbox, uid_sets[pick(uid_sets.size())], pick(2));
          break;
        case 7: {
          auto* r = cmd.mutable_restore_deleted();
          r->set_account(account);
          r->add_vault_ids(1 + pick(6));
          if (pick(2)) r->add_vault_ids(1 + pick(6));  // the second may fail after the first
          break;
        }
        case 8: {
          // An admin command: audited, refused ones too.
          cmd.set_actor("site-a/admin/alice");
          cmd.mutable_set_quota()->set_account(account);
          cmd.mutable_set_quota()->set_quota_bytes(pick(2) ? 20'000 : 30'000);
          break;
        }
        case 9:
          // A guard command cuts the batch: it may change the charter.
          cmd = CheckpointRequestCmd(2);
          ++guard_commands;
          break;
      }
      cmd.set_leader_time_ms(leader_now_ms_);
      leader_now_ms_ += 1000;
      batch.push_back(std::move(cmd));
    }
    ApplyToBoth(batch, absl::StrCat("round ", round));
    ASSERT_EQ(DigestOf(sm_.get()), DigestOf(batched_.get())) << "after round " << round;
  }
  EXPECT_GT(guard_commands, 0);
  for (const auto& [code, count] : outcomes_) {
    std::cerr << absl::StatusCodeToString(static_cast<absl::StatusCode>(code)) << ": " << count
              << "\n";
  }
  // The run reached successes and each kind of refusal.
  EXPECT_GT(outcomes_[0], 50);
  EXPECT_GT(outcomes_[static_cast<int>(absl::StatusCode::kResourceExhausted)], 0);
  EXPECT_GT(outcomes_[static_cast<int>(absl::StatusCode::kNotFound)], 0);
  EXPECT_GT(outcomes_[static_cast<int>(absl::StatusCode::kInvalidArgument)], 0);

  // Every checkpoint index got the same digest on both, taken at that index
  // even where it fell inside a batch.
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  ASSERT_TRUE(batched_->WaitForCheckpoints().ok());
  int compared = 0;
  for (uint64_t index = kCheckpointEvery; index <= index_; index += kCheckpointEvery) {
    auto a = sm_->GetOwnCheckpoint(index);
    auto b = batched_->GetOwnCheckpoint(index);
    ASSERT_TRUE(a.ok()) << "index " << index << ": " << a.status();
    ASSERT_TRUE(b.ok()) << "index " << index << ": " << b.status();
    EXPECT_EQ(*a, *b) << "checkpoint at " << index;
    ++compared;
  }
  EXPECT_GT(compared, 20);
  // Only the batch's stored accumulator, never a full pass, made these.
  EXPECT_EQ(batched_->FoundStoredStateChanges().total, 0u);
}

TEST_F(ApplyBatchTest, AFailedCommandInABatchLeavesOnlyItsResult) {
  MustApply(CreateAccountCmd("alice", /*quota_bytes=*/100));
  MustAppend("INBOX", "x");  // UID 1, to the vault next
  MustApply(ExpungeCmd("alice", "INBOX", "1"));
  v1::ListDeletedRequest list;
  list.set_account("alice");
  auto vault = sm_->ListDeleted(list);
  ASSERT_TRUE(vault.ok()) << vault.status();
  ASSERT_EQ(vault->items_size(), 1);
  const uint64_t vault_id = vault->items(0).vault_id();
  v1::GetQuotaRequest quota;
  quota.set_account("alice");
  auto before = sm_->GetQuota(quota);
  ASSERT_TRUE(before.ok()) << before.status();

  std::vector<v1::MailboxCommand> batch;
  auto append = [&](const std::string& mailbox, const std::string& body, const std::string& key) {
    v1::MailboxCommand cmd = AppendCmd("alice", mailbox, body);
    if (!key.empty()) cmd.mutable_append_message()->mutable_request()->set_idempotency_key(key);
    cmd.set_leader_time_ms(leader_now_ms_);
    batch.push_back(cmd);
  };
  append("INBOX", std::string(40, 'a'), "k1");  // stored, UID 2
  append("INBOX", std::string(70, 'b'), "");    // over the quota
  append("INBOX", std::string(40, 'a'), "k1");  // a retry of the first: UID 2 again
  append("INBOX", std::string(30, 'c'), "k1");  // k1 reused for another request
  append("Nope", std::string(10, 'd'), "");     // no such mailbox
  // Restores the vault entry, then finds the second one missing: what the
  // first part wrote must go too.
  v1::MailboxCommand restore;
  restore.mutable_restore_deleted()->set_account("alice");
  restore.mutable_restore_deleted()->add_vault_ids(vault_id);
  restore.mutable_restore_deleted()->add_vault_ids(vault_id + 100);
  restore.set_leader_time_ms(leader_now_ms_);
  batch.push_back(restore);
  append("INBOX", std::string(50, 'e'), "k2");  // stored, UID 3
  std::vector<MailboxStateMachine::BatchCommand> commands;
  for (const v1::MailboxCommand& cmd : batch) commands.push_back({++index_, &cmd});
  auto results = sm_->ApplyBatch(commands);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 7u);
  ASSERT_TRUE((*results)[0].ok()) << (*results)[0].status();
  EXPECT_EQ((*results)[0]->append_message().uid(), 2u);
  EXPECT_EQ((*results)[1].status().code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE((*results)[2].ok()) << (*results)[2].status();
  EXPECT_EQ((*results)[2]->append_message().uid(), 2u);
  EXPECT_EQ((*results)[3].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE((*results)[3].status().message().find("idempotency_key"), std::string::npos);
  EXPECT_EQ((*results)[4].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*results)[5].status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE((*results)[5].status().message().find("vault_ids[1]"), std::string::npos)
      << (*results)[5].status();
  ASSERT_TRUE((*results)[6].ok()) << (*results)[6].status();
  EXPECT_EQ((*results)[6]->append_message().uid(), 3u);
  EXPECT_EQ(sm_->applied_index(), index_);

  // Only the two stored messages count, in the mailbox and in the quota,
  // and the vault entry is still there.
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{2, 3}));
  auto after = sm_->GetQuota(quota);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->used_bytes() - before->used_bytes(), 90u);
  EXPECT_EQ(after->used_messages() - before->used_messages(), 2u);
  vault = sm_->ListDeleted(list);
  ASSERT_TRUE(vault.ok()) << vault.status();
  ASSERT_EQ(vault->items_size(), 1);
  EXPECT_EQ(vault->items(0).vault_id(), vault_id);
  // A re-applied index answers from the kept result, inside a batch too.
  auto again = sm_->ApplyBatch({{index_ - 3, &batch[3]}});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0].status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Uids("INBOX"), (std::vector<uint32_t>{2, 3}));
}

// ---- A crash: the store keeps what it flushed, the raft log gives back the rest

// In a child process (argv: --crash-child DIR MODE): applies the account
// and 30 appends, makes the store durable (MODE "snapshot": by writing a
// snapshot; "flush": MakeDurable, as the runtime's held snapshots do),
// applies 20 more appends in batches of 5 and is killed before it can close
// the store.
constexpr int kBeforeSnapshot = 30;
constexpr int kAfterSnapshot = 20;

// The fixture's command builders, for the child, which runs no test.
struct Commands : MailboxTest {
  using MailboxTest::AppendCmd;
  using MailboxTest::CreateAccountCmd;
};

v1::MailboxCommand NumberedAppend(int n) {
  v1::MailboxCommand cmd = Commands::AppendCmd(
      "alice", "INBOX", absl::StrCat("Subject: ", n, "\r\n\r\n", std::string(500, 'm')));
  cmd.mutable_append_message()->mutable_request()->set_idempotency_key(absl::StrCat("n", n));
  cmd.set_leader_time_ms(1'700'000'000'000 + n);
  return cmd;
}

[[noreturn]] void CrashChild(const std::string& dir, const std::string& mode) {
  auto fail = [](const std::string& what) {
    std::fprintf(stderr, "crash child: %s\n", what.c_str());
    std::_Exit(3);
  };
  auto opened = MailboxStateMachine::Open(dir + "/sm");
  if (!opened.ok()) fail(opened.status().ToString());
  MailboxStateMachine& sm = **opened;
  uint64_t index = 0;
  if (!sm.Apply(++index, Commands::CreateAccountCmd("alice")).ok()) fail("account");
  for (int n = 1; n <= kBeforeSnapshot; ++n) {
    if (!sm.Apply(++index, NumberedAppend(n)).ok()) fail(absl::StrCat("append ", n));
  }
  auto durable = mode == "flush" ? sm.MakeDurable() : sm.WriteSnapshot(dir + "/snapshot");
  if (!durable.ok()) fail(durable.status().ToString());
  if (*durable != index) fail(absl::StrCat("durable at ", *durable, ", applied ", index));
  std::vector<v1::MailboxCommand> commands;
  for (int n = kBeforeSnapshot + 1; n <= kBeforeSnapshot + kAfterSnapshot; ++n) {
    commands.push_back(NumberedAppend(n));
  }
  for (size_t i = 0; i < commands.size(); i += 5) {
    std::vector<MailboxStateMachine::BatchCommand> batch;
    for (size_t j = i; j < i + 5; ++j) batch.push_back({++index, &commands[j]});
    if (!sm.ApplyBatch(batch).ok()) fail("batch");
  }
  if (sm.applied_index() != index) fail("applied index");
  std::fflush(nullptr);
  raise(SIGKILL);  // no destructor, no flush: as a power cut or kill -9 leaves it
  std::_Exit(4);
}

class StoreCrashTest : public MailboxTest {
 protected:
  // Runs CrashChild in `mode`, then checks what the reopened store holds.
  void CrashAndRecover(const std::string& mode);
};

TEST_F(StoreCrashTest, ACrashLosesOnlyWhatTheLogAppliesAgain) { CrashAndRecover("snapshot"); }

TEST_F(StoreCrashTest, ACrashAfterMakeDurableKeepsWhatItReported) { CrashAndRecover("flush"); }

void StoreCrashTest::CrashAndRecover(const std::string& mode) {
  sm_.reset();
  const std::string crashed = dir_ + "/crashed";
  ASSERT_TRUE(std::filesystem::create_directories(crashed));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A fresh process image: RocksDB's threads do not survive a fork.
    execl("/proc/self/exe", "apply_batch_test", "--crash-child", crashed.c_str(), mode.c_str(),
          static_cast<char*>(nullptr));
    std::_Exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child did not get as far as its crash (status " << status << ")";

  MailboxStateMachine::Options options;
  std::vector<std::string> logs;
  options.logger = [&logs](std::string_view line) { logs.emplace_back(line); };
  auto reopened = MailboxStateMachine::Open(crashed + "/sm", options);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  MailboxStateMachine& sm = **reopened;
  // Nothing flushed the store after the snapshot (20 small appends fill no
  // memtable): it is back at the snapshot's index, consistent, with nothing
  // half-written and no record changed behind its back.
  EXPECT_EQ(sm.applied_index(), 1u + kBeforeSnapshot);
  ASSERT_TRUE(sm.WaitForCheckpoints().ok());
  EXPECT_EQ(sm.FoundStoredStateChanges().total, 0u);
  for (const std::string& line : logs) ADD_FAILURE() << "logged: " << line;

  // The runtime applies the log again from there: the same state as a node
  // that never crashed.
  for (int n = kBeforeSnapshot + 1; n <= kBeforeSnapshot + kAfterSnapshot; ++n) {
    auto applied = sm.Apply(1 + n, NumberedAppend(n));
    ASSERT_TRUE(applied.ok()) << applied.status();
    EXPECT_EQ(applied->append_message().uid(), static_cast<uint32_t>(n));
  }
  Reopen("reference");
  ASSERT_TRUE(sm_->Apply(1, CreateAccountCmd("alice")).ok());
  for (int n = 1; n <= kBeforeSnapshot + kAfterSnapshot; ++n) {
    ASSERT_TRUE(sm_->Apply(1 + n, NumberedAppend(n)).ok());
  }
  auto want = sm_->Digest();
  auto got = sm.Digest();
  ASSERT_TRUE(want.ok() && got.ok());
  EXPECT_EQ(*got, *want);
}

}  // namespace
}  // namespace qbox::mailbox::testing

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--crash-child") {
    qbox::mailbox::testing::CrashChild(argv[2], argv[3]);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

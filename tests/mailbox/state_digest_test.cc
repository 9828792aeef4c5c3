// The incremental G5 state digest (node/mailbox/state_digest.h): the
// multiset hash itself, the accumulator every store write keeps, and that
// checkpoints taken from it equal the full pass (Digest()) through real
// mailbox commands on real RocksDB, after tampering, after an upgrade from
// a store that kept none, and across a snapshot.
#include "node/mailbox/state_digest.h"

#include <iostream>
#include <map>
#include <random>
#include <string_view>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/records.h"
#include "node/mailbox/store.h"
#include "tests/mailbox/guard_test_util.h"

namespace qbox::mailbox::testing {
namespace {

// ---- The multiset hash

TEST(DigestAccumulatorTest, AddThenRemoveReturnsToEmpty) {
  DigestAccumulator acc;
  EXPECT_TRUE(acc.IsEmpty());
  acc.Add(Cf::kMessages, "k1", "v1");
  acc.Add(Cf::kAccounts, "k2", "v2");
  EXPECT_FALSE(acc.IsEmpty());
  acc.Remove(Cf::kMessages, "k1", "v1");
  acc.Remove(Cf::kAccounts, "k2", "v2");
  EXPECT_TRUE(acc.IsEmpty());
  EXPECT_EQ(acc.Finish(), DigestAccumulator().Finish());
}

TEST(DigestAccumulatorTest, OrderDoesNotMatterButEveryFieldDoes) {
  DigestAccumulator forward, backward, halves, other_half;
  const std::vector<std::pair<std::string, std::string>> records = {
      {"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}};
  for (size_t i = 0; i < records.size(); ++i) {
    forward.Add(Cf::kChanges, records[i].first, records[i].second);
    const auto& r = records[records.size() - 1 - i];
    backward.Add(Cf::kChanges, r.first, r.second);
    (i % 2 == 0 ? halves : other_half).Add(Cf::kChanges, records[i].first, records[i].second);
  }
  EXPECT_EQ(forward, backward);
  halves.Combine(other_half);
  EXPECT_EQ(halves, forward);
  halves.Subtract(other_half);
  halves.Combine(other_half);
  EXPECT_EQ(halves.Finish(), forward.Finish());

  // The column family, the key/value split and the value all count.
  DigestAccumulator one, in_other_cf, split_elsewhere, other_value;
  one.Add(Cf::kMessages, "ab", "c");
  in_other_cf.Add(Cf::kChanges, "ab", "c");
  split_elsewhere.Add(Cf::kMessages, "a", "bc");
  other_value.Add(Cf::kMessages, "ab", "d");
  EXPECT_NE(one, in_other_cf);
  EXPECT_NE(one, split_elsewhere);
  EXPECT_NE(one, other_value);
  // A multiset: the same record twice is not the record once.
  DigestAccumulator twice = one;
  twice.Add(Cf::kMessages, "ab", "c");
  EXPECT_NE(twice, one);
}

TEST(DigestAccumulatorTest, SerializeRoundTripsAndBadSizeIsDataLoss) {
  DigestAccumulator acc;
  acc.Add(Cf::kGuard, "key", "value");
  acc.Remove(Cf::kSieve, "gone", "script");  // lanes wrap below zero
  const std::string bytes = acc.Serialize();
  ASSERT_EQ(bytes.size(), DigestAccumulator::kSerializedSize);
  auto parsed = DigestAccumulator::Parse(bytes, "test store");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, acc);
  EXPECT_EQ(parsed->Finish(), acc.Finish());

  for (size_t size : {size_t{0}, size_t{255}, size_t{257}, size_t{32}}) {
    auto bad = DigestAccumulator::Parse(std::string(size, 'x'), "test store");
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss) << size;
    EXPECT_NE(bad.status().message().find("test store"), std::string_view::npos);
  }
}

// ---- The accumulator a store keeps, written through StoreTxn

class StoreDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto opened = Store::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }
  // The accumulator kept so far equals a full pass, and the stored one.
  void ExpectKeptEqualsFull(const std::string& when) {
    auto full = ComputeStateDigest(*store_, nullptr);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_EQ(store_->state_digest(), *full) << when;
    auto stored = ReadStoredStateDigest(*store_, nullptr);
    ASSERT_TRUE(stored.ok()) << stored.status();
    ASSERT_TRUE(stored->has_value()) << when;
    EXPECT_EQ(**stored, *full) << when;
  }

  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreDigestTest, RandomWritesKeepTheAccumulatorEqualToAFullPass) {
  std::mt19937 rng(20240601);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const Cf cfs[] = {Cf::kAccounts, Cf::kMessages, Cf::kGuard,  Cf::kVault,
                    Cf::kMeta,     Cf::kLocal,    Cf::kBodies, Cf::kBodies};
  const std::string body_kinds = "dlvx";
  for (int step = 0; step < 300; ++step) {
    StoreTxn txn(store_.get());
    const int writes = 1 + pick(6);
    for (int w = 0; w < writes; ++w) {
      const Cf cf = cfs[pick(8)];
      std::string key = absl::StrCat("k", pick(5));
      // Bodies: a few body ids, each with data, live and vault records.
      if (cf == Cf::kBodies)
        key = absl::StrCat("body", pick(3), std::string(1, body_kinds[pick(4)]));
      const std::string value = absl::StrCat("v", pick(4));
      switch (pick(5)) {
        case 0:
          txn.Delete(cf, key);
          break;
        case 1:  // bypasses the transaction's index, not the digest
          txn.raw_batch()->Put(store_->cf(cf), key, value);
          break;
        case 2:  // written and then dropped again
          txn.SetSavePoint();
          txn.Put(cf, key, value + "dropped");
          ASSERT_TRUE(txn.RollbackToSavePoint().ok());
          break;
        default:
          txn.Put(cf, key, value);
      }
    }
    ASSERT_TRUE(txn.Commit().ok());
    ExpectKeptEqualsFull(absl::StrCat("after step ", step));
    if (step % 100 == 99) {
      Reopen();
      ExpectKeptEqualsFull(absl::StrCat("after reopening at step ", step));
    }
  }
}

TEST_F(StoreDigestTest, BodyDataCountsOnlyWhileItsLiveCountExists) {
  DigestAccumulator expected;
  auto commit = [&](const std::function<void(StoreTxn&)>& write) {
    StoreTxn txn(store_.get());
    write(txn);
    ASSERT_TRUE(txn.Commit().ok());
  };
  commit([](StoreTxn& txn) { txn.Put(Cf::kBodies, "b1d", "BODY"); });  // no live count yet
  EXPECT_EQ(store_->state_digest(), expected);
  commit([](StoreTxn& txn) { txn.Put(Cf::kBodies, "b1v", "1"); });  // vault counts never count
  EXPECT_EQ(store_->state_digest(), expected);
  commit([](StoreTxn& txn) { txn.Put(Cf::kBodies, "b1l", "1"); });  // data comes with it
  expected.Add(Cf::kBodies, "b1d", "BODY");
  expected.Add(Cf::kBodies, "b1l", "1");
  EXPECT_EQ(store_->state_digest(), expected);
  commit([](StoreTxn& txn) { txn.Put(Cf::kBodies, "b1l", "2"); });
  expected.Remove(Cf::kBodies, "b1l", "1");
  expected.Add(Cf::kBodies, "b1l", "2");
  EXPECT_EQ(store_->state_digest(), expected);
  commit([](StoreTxn& txn) { txn.Delete(Cf::kBodies, "b1l"); });  // and goes with it
  expected.Remove(Cf::kBodies, "b1d", "BODY");
  expected.Remove(Cf::kBodies, "b1l", "2");
  EXPECT_EQ(store_->state_digest(), expected);
  EXPECT_TRUE(expected.IsEmpty());
  commit([](StoreTxn& txn) {  // both in one batch
    txn.Put(Cf::kBodies, "b2d", "OTHER");
    txn.Put(Cf::kBodies, "b2l", "1");
  });
  expected.Add(Cf::kBodies, "b2d", "OTHER");
  expected.Add(Cf::kBodies, "b2l", "1");
  EXPECT_EQ(store_->state_digest(), expected);
  ExpectKeptEqualsFull("at the end");
}

TEST_F(StoreDigestTest, RangeDeletesOfDigestedRecordsAreRefused) {
  StoreTxn txn(store_.get());
  txn.Put(Cf::kMessages, "m", "1");
  ASSERT_TRUE(txn.Commit().ok());
  const DigestAccumulator before = store_->state_digest();
  StoreTxn range(store_.get());
  range.raw_batch()->DeleteRange(store_->cf(Cf::kMessages), "a", "z");
  const absl::Status refused = range.Commit();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInternal) << refused;
  EXPECT_NE(refused.message().find("messages"), std::string_view::npos) << refused;
  EXPECT_EQ(store_->state_digest(), before);
  ExpectKeptEqualsFull("after the refused range delete");  // nothing was written
  // Not digested: allowed.
  StoreTxn meta(store_.get());
  meta.raw_batch()->DeleteRange(store_->cf(Cf::kMeta), "result/", "result0");
  EXPECT_TRUE(meta.Commit().ok());
}

// ---- Through the state machine

class StateDigestMachineTest : public GuardMailboxTest {
 protected:
  void SetUp() override {
    GuardMailboxTest::SetUp();
    Reopen();
  }
  // Opens dir_/sm again (a node restart), logging into logs_.
  void Reopen() {
    sm_.reset();
    sm_ = OpenLogged("sm");
    ASSERT_NE(sm_, nullptr);
    index_ = sm_->applied_index();
  }
  std::unique_ptr<MailboxStateMachine> OpenLogged(const std::string& sub) {
    return OpenMachine(sub, &local_now_ms_, [this](MailboxStateMachine::Options& options) {
      options.logger = [this](std::string_view line) {
        absl::MutexLock lock(&logs_mu_);
        logs_.emplace_back(line);
      };
    });
  }
  // How many log lines so far contain `needle`.
  int Logged(std::string_view needle) {
    absl::MutexLock lock(&logs_mu_);
    int n = 0;
    for (const std::string& line : logs_) n += line.find(needle) != std::string::npos;
    return n;
  }
  // A charter with a checkpoint at every entry: each one's digest is the
  // accumulator as kept incrementally (the full pass only runs every
  // kTamperCheckEvery-th, and would log any difference it corrected).
  void StartCheckpointingEveryEntry() {
    v1::Charter charter = TestCharter();
    charter.set_checkpoint_every(1);
    ASSERT_TRUE(Genesis(charter).ok());
  }
  // This node's own checkpoint digest at the last applied index.
  std::array<uint8_t, 32> LastCheckpoint(MailboxStateMachine* sm = nullptr) {
    sm = sm != nullptr ? sm : sm_.get();
    const absl::Status waited = sm->WaitForCheckpoints();
    EXPECT_TRUE(waited.ok()) << waited;
    auto own = sm->GetOwnCheckpoint(sm->applied_index());
    EXPECT_TRUE(own.ok()) << own.status();
    return own.ok() ? *own : std::array<uint8_t, 32>{};
  }
  std::array<uint8_t, 32> FullDigest(MailboxStateMachine* sm = nullptr) {
    auto digest = (sm != nullptr ? sm : sm_.get())->Digest();
    EXPECT_TRUE(digest.ok()) << digest.status();
    return digest.ok() ? *digest : std::array<uint8_t, 32>{};
  }

  absl::Mutex logs_mu_;
  std::vector<std::string> logs_ ABSL_GUARDED_BY(logs_mu_);
};

constexpr std::string_view kTamperLine = "state was changed outside the log";

// A seeded random run of mail commands: after every step the checkpoint
// digest (incremental) equals the full pass. Failed commands count too:
// they must change nothing the digest covers.
TEST_F(StateDigestMachineTest, IncrementalEqualsFullAfterEveryStep) {
  StartCheckpointingEveryEntry();
  MustApply(CreateAccountCmd("alice"));
  MustApply(CreateAccountCmd("bob"));
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> accounts = {"alice", "alice", "bob"};
  const std::vector<std::string> mailboxes = {"INBOX", "Archive", "Work", "Work/Old", "Trash"};
  const std::vector<std::string> bodies = {"Subject: a\r\n\r\nsame", "Subject: b\r\n\r\nother",
                                           "Subject: c\r\n\r\nthird", std::string(5000, 'x')};
  const std::vector<std::string> flags = {"\\Seen", "\\Flagged", "\\Deleted"};
  auto uid_set = [&] {
    const int kind = pick(3);
    if (kind == 0) return std::string("1:*");
    if (kind == 1) return absl::StrCat(1 + pick(6));
    return absl::StrCat(1 + pick(4), ":", 3 + pick(6));
  };

  std::map<std::string, int> succeeded;  // so the run shows it reached each case
  for (int step = 0; step < 400; ++step) {
    const std::string& account = accounts[pick(accounts.size())];
    const std::string& mailbox = mailboxes[pick(mailboxes.size())];
    const std::string& target = mailboxes[pick(mailboxes.size())];
    v1::MailboxCommand cmd;
    std::string what;
    switch (pick(15)) {
      case 0:
        what = "create mailbox";
        cmd = CreateMailboxCmd(account, mailbox, 1000 + step);
        break;
      case 1: {
        what = "rename mailbox";
        auto* r = cmd.mutable_rename_mailbox();
        r->set_account(account);
        r->set_name(mailbox);
        r->set_new_name(target);
        break;
      }
      case 2: {
        what = "delete mailbox";
        auto* r = cmd.mutable_delete_mailbox();
        r->set_account(account);
        r->set_name(mailbox);
        break;
      }
      case 3:
      case 4:
      case 5: {
        what = "append";
        cmd = AppendCmd(account, pick(2) ? "INBOX" : mailbox, bodies[pick(bodies.size())],
                        {flags[pick(flags.size())]});
        // A few keys, so that some appends are retries (the first result
        // stands) and some reuse a key for another request (refused).
        if (pick(3) == 0) {
          cmd.mutable_append_message()->mutable_request()->set_idempotency_key(
              absl::StrCat("key-", pick(3)));
        }
        break;
      }
      case 6: {
        what = "store flags";
        cmd = StoreCmd(account, mailbox, uid_set(),
                       pick(2) ? v1::FLAG_OPERATION_ADD : v1::FLAG_OPERATION_REMOVE,
                       {flags[pick(flags.size())]});
        break;
      }
      case 7:
      case 8: {
        const bool move = pick(2);
        what = move ? "move" : "copy";
        auto* r = move ? cmd.mutable_move_messages() : nullptr;
        auto* c = move ? nullptr : cmd.mutable_copy_messages();
        if (move) {
          r->set_account(account);
          r->set_mailbox(mailbox);
          r->set_uid_set(uid_set());
          r->set_target_mailbox(target);
        } else {
          c->set_account(account);
          c->set_mailbox(mailbox);
          c->set_uid_set(uid_set());
          c->set_target_mailbox(target);
          if (pick(2)) c->set_idempotency_key(absl::StrCat("copy-", pick(2)));
        }
        break;
      }
      case 9:
        what = "expunge";
        cmd = ExpungeCmd(account, pick(2) ? "INBOX" : mailbox, pick(2) ? "1:*" : uid_set(),
                         /*only_deleted=*/pick(4) == 0);
        break;
      case 10: {
        what = "restore from the vault";
        v1::ListDeletedRequest list;
        list.set_account(account);
        auto deleted = sm_->ListDeleted(list);
        ASSERT_TRUE(deleted.ok()) << deleted.status();
        auto* r = cmd.mutable_restore_deleted();
        r->set_account(account);
        r->add_vault_ids(deleted->items_size() > 0
                             ? deleted->items(pick(deleted->items_size())).vault_id()
                             : 99);
        if (pick(2)) r->set_target_mailbox(target);
        break;
      }
      case 11: {
        what = "put sieve script";
        auto* r = cmd.mutable_put_sieve_script();
        r->set_account(account);
        r->set_name(absl::StrCat("script", pick(2)));
        r->set_content(absl::StrCat("keep; # ", step));
        break;
      }
      case 12: {
        what = pick(2) ? "delete sieve script" : "activate sieve script";
        if (what[0] == 'd') {
          cmd.mutable_delete_sieve_script()->set_account(account);
          cmd.mutable_delete_sieve_script()->set_name(absl::StrCat("script", pick(2)));
        } else {
          cmd.mutable_set_active_sieve_script()->set_account(account);
          cmd.mutable_set_active_sieve_script()->set_name(absl::StrCat("script", pick(3)));
        }
        break;
      }
      case 13:
        // The vault is purged by this node's own clock, outside the log:
        // bodies that only the vault held go, which the digest must not see.
        what = "vault purge";
        local_now_ms_ += 10 * kDay;  // retention is 30 days: some go, some stay
        ASSERT_TRUE(sm_->PurgeExpired(local_now_ms_).status().ok());
        ASSERT_TRUE(sm_->ApplyNoop(++index_).ok());
        break;
      case 14:
        // A guard command: a peer's signed checkpoint (kept in the guard
        // column family, which is digested).
        what = "peer checkpoint";
        ASSERT_TRUE(Apply(CheckpointCmd(2, index_, LastCheckpoint())).ok());
        break;
    }
    if (cmd.op_case() != v1::MailboxCommand::OP_NOT_SET) {
      auto applied = Apply(cmd);  // refusals are fine; storage failures are not
      ASSERT_TRUE(applied.ok() ||
                  (!absl::IsDataLoss(applied.status()) && !absl::IsInternal(applied.status())))
          << applied.status();
      if (applied.ok()) ++succeeded[what];
    } else {
      ++succeeded[what];
    }
    ASSERT_EQ(LastCheckpoint(), FullDigest()) << "step " << step << ": " << what;
    leader_now_ms_ += 1000;
  }
  EXPECT_EQ(Logged(kTamperLine), 0);
  for (const auto& [what, count] : succeeded) std::cerr << what << ": " << count << "\n";
  EXPECT_EQ(succeeded.size(), 14u);  // every kind of step succeeded at least once

  // And what is stored is what a full pass gives.
  sm_.reset();
  auto store = Store::Open(dir_ + "/sm");
  ASSERT_TRUE(store.ok()) << store.status();
  auto full = ComputeStateDigest(**store, nullptr);
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ((*store)->state_digest(), *full);
}

// A body's data counts only while live messages reference it: it leaves
// the digest when the last live copy goes to the vault, though its bytes
// stay, and comes back with a restore.
TEST_F(StateDigestMachineTest, BodiesFollowTheirLiveCountThroughTheVault) {
  StartCheckpointingEveryEntry();
  MustApply(CreateAccountCmd("alice"));
  MustApply(CreateMailboxCmd("alice", "Archive"));
  const std::string body = "Subject: shared\r\n\r\nbody";
  auto step = [&](const std::string& what) { ASSERT_EQ(LastCheckpoint(), FullDigest()) << what; };
  MustAppend("INBOX", body);
  step("first copy");
  MustApply(AppendCmd("alice", "Archive", body));
  step("duplicate body");
  MustApply(ExpungeCmd("alice", "INBOX", "1:*"));
  step("one of two live copies to the vault");
  MustApply(ExpungeCmd("alice", "Archive", "1:*"));
  step("the last live copy to the vault: data stays, uncounted");
  auto refs = sm_->GetBodyRefs("alice", Sha256(body));
  ASSERT_TRUE(refs.ok()) << refs.status();
  EXPECT_EQ(refs->live, 0u);
  EXPECT_TRUE(refs->stored);
  v1::ListDeletedRequest list;
  list.set_account("alice");
  auto deleted = sm_->ListDeleted(list);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_EQ(deleted->items_size(), 2);
  v1::MailboxCommand restore;
  restore.mutable_restore_deleted()->set_account("alice");
  restore.mutable_restore_deleted()->add_vault_ids(deleted->items(0).vault_id());
  MustApply(restore);
  step("restored: counted again");
  MustApply(ExpungeCmd("alice", "INBOX", "1:*"));
  step("to the vault again");
  local_now_ms_ += 31 * kDay;
  ASSERT_TRUE(sm_->PurgeExpired(local_now_ms_).ok());
  ASSERT_TRUE(sm_->ApplyNoop(++index_).ok());
  step("purged: data gone");
  EXPECT_FALSE(sm_->GetBodyRefs("alice", Sha256(body))->stored);
  EXPECT_EQ(Logged(kTamperLine), 0);
}

TEST_F(StateDigestMachineTest, RecordsChangedWhileStoppedAreDetectedAndAdopted) {
  StartCheckpointingEveryEntry();
  MustApply(CreateAccountCmd("alice"));
  MustAppend("INBOX", "Subject: x\r\n\r\none");
  MustAppend("INBOX", "Subject: y\r\n\r\ntwo");
  const std::array<uint8_t, 32> honest = LastCheckpoint();
  ASSERT_EQ(honest, FullDigest());

  // Root edits one message record with RocksDB, behind the node's back.
  sm_.reset();
  {
    auto store = Store::Open(dir_ + "/sm");
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::ReadOptions read;
    std::unique_ptr<rocksdb::Iterator> it(
        (*store)->db()->NewIterator(read, (*store)->cf(Cf::kMessages)));
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    std::string value = it->value().ToString();
    value.back() ^= 1;
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put(rocksdb::WriteOptions(), (*store)->cf(Cf::kMessages), it->key(), value)
                    .ok());
  }
  Reopen();
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());  // the open-time check ran
  EXPECT_EQ(Logged(kTamperLine), 1);
  EXPECT_EQ(Logged(dir_ + "/sm"), 1);  // the line names the store

  // The node's next checkpoint shows what is really stored, so its peers'
  // comparison catches it.
  const std::array<uint8_t, 32> tampered = FullDigest();
  EXPECT_NE(tampered, honest);
  ASSERT_TRUE(sm_->ApplyNoop(++index_).ok());
  EXPECT_EQ(LastCheckpoint(), tampered);
  // And it stays corrected as applying goes on.
  MustAppend("INBOX", "Subject: z\r\n\r\nthree");
  EXPECT_EQ(LastCheckpoint(), FullDigest());
  Reopen();
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  EXPECT_EQ(Logged(kTamperLine), 1);  // adopted: nothing new to say
}

// Checkpoints taken while the open-time check still runs miss its
// correction when they are taken; the worker adds it when it keeps them.
// (Whether one is taken before the correction depends on timing; every
// checkpoint must show the stored state either way.)
TEST_F(StateDigestMachineTest, CheckpointsTakenDuringTheOpenCheckShowTheStoredStateToo) {
  StartCheckpointingEveryEntry();
  MustApply(CreateAccountCmd("alice"));
  for (int i = 0; i < 200; ++i) MustAppend("INBOX", absl::StrCat("Subject: ", i, "\r\n\r\nbody"));
  sm_.reset();
  {
    auto store = Store::Open(dir_ + "/sm");
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->db()
                    ->Put(rocksdb::WriteOptions(), (*store)->cf(Cf::kSieve), "slipped in", "x")
                    .ok());
  }
  Reopen();
  const uint64_t first = index_ + 1;
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(sm_->ApplyNoop(++index_).ok());  // no waiting
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  EXPECT_EQ(Logged(kTamperLine), 1);
  const std::array<uint8_t, 32> stored = FullDigest();
  for (uint64_t index = first; index <= index_; ++index) {
    auto own = sm_->GetOwnCheckpoint(index);
    ASSERT_TRUE(own.ok()) << own.status();
    EXPECT_EQ(*own, stored) << "checkpoint at " << index;
  }
}

TEST_F(StateDigestMachineTest, AStoreWithoutAnAccumulatorGetsOneAtOpen) {
  StartCheckpointingEveryEntry();
  MustApply(CreateAccountCmd("alice"));
  MustAppend("INBOX", "Subject: x\r\n\r\nbody");
  const std::array<uint8_t, 32> before = FullDigest();
  sm_.reset();
  {  // as a store written by the previous version looks
    auto store = Store::Open(dir_ + "/sm");
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)
                    ->db()
                    ->Delete(rocksdb::WriteOptions(), (*store)->cf(Cf::kMeta),
                             std::string(keys::kStateDigest))
                    .ok());
  }
  Reopen();
  EXPECT_EQ(Logged("kept no state digest accumulator"), 1);
  EXPECT_EQ(FullDigest(), before);
  ASSERT_TRUE(sm_->ApplyNoop(++index_).ok());
  EXPECT_EQ(LastCheckpoint(), before);
  EXPECT_EQ(Logged(kTamperLine), 0);
  Reopen();
  EXPECT_EQ(Logged("kept no state digest accumulator"), 1);  // once
}

TEST_F(StateDigestMachineTest, ARestoredSnapshotKeepsTheSameDigest) {
  StartCheckpointingEveryEntry();
  MustApply(CreateAccountCmd("alice"));
  MustAppend("INBOX", "Subject: x\r\n\r\none");
  v1::MailboxCommand copy;
  copy.mutable_copy_messages()->set_account("alice");
  copy.mutable_copy_messages()->set_mailbox("INBOX");
  copy.mutable_copy_messages()->set_uid_set("1");
  copy.mutable_copy_messages()->set_target_mailbox("Archive");
  MustApply(CreateMailboxCmd("alice", "Archive"));
  MustApply(copy);
  ASSERT_EQ(LastCheckpoint(), FullDigest());
  const std::string path = dir_ + "/snap";
  ASSERT_TRUE(sm_->WriteSnapshot(path).ok());

  // The receiver had other state before.
  std::unique_ptr<MailboxStateMachine> other = OpenLogged("other");
  ASSERT_NE(other, nullptr);
  v1::Charter charter = TestCharter();
  charter.set_checkpoint_every(1);
  ASSERT_TRUE(Genesis(other.get(), 1, charter).ok());
  v1::MailboxCommand bob = CreateAccountCmd("bob");
  ASSERT_TRUE(other->Apply(2, bob).ok());
  ASSERT_TRUE(other->RestoreSnapshot(path).ok());
  EXPECT_EQ(FullDigest(other.get()), FullDigest());
  // Both go on from the same state with the same entry: same checkpoint.
  ASSERT_TRUE(other->ApplyNoop(index_ + 1).ok());
  ASSERT_TRUE(sm_->ApplyNoop(++index_).ok());
  EXPECT_EQ(LastCheckpoint(other.get()), LastCheckpoint());
  EXPECT_EQ(LastCheckpoint(other.get()), FullDigest(other.get()));
  EXPECT_EQ(Logged(kTamperLine), 0);
}

// The periodic tamper check is a full pass: on a store of many GB it takes
// minutes. It runs beside the checkpoint worker, so checkpoints go on being
// kept meanwhile and applying never waits for it (max_waiting_checkpoints
// would have stopped applying after four).
TEST_F(StateDigestMachineTest, APeriodicCheckHoldsUpNoCheckpoint) {
  absl::Notification check_started;
  absl::Notification release_check;
  sm_.reset();
  // However the test ends, the held check is let go before the state
  // machine closes (its destructor joins the checker thread).
  auto release = absl::MakeCleanup([&] {
    if (!release_check.HasBeenNotified()) release_check.Notify();
    sm_.reset();
  });
  sm_ = OpenMachine("sm", &local_now_ms_, [&](MailboxStateMachine::Options& options) {
    options.logger = [this](std::string_view line) {
      absl::MutexLock lock(&logs_mu_);
      logs_.emplace_back(line);
    };
    options.max_waiting_checkpoints = 2;
    options.before_periodic_check = [&](uint64_t) {
      if (!check_started.HasBeenNotified()) check_started.Notify();
      release_check.WaitForNotification();
    };
  });
  ASSERT_NE(sm_, nullptr);
  index_ = sm_->applied_index();
  StartCheckpointingEveryEntry();
  MustApply(CreateAccountCmd("alice"));
  // Enough checkpoints for one periodic check, then many more while it is
  // held: none of them may wait for it. Applied on a thread of their own,
  // so that if they did wait this test fails at its deadline instead of
  // hanging.
  const uint64_t last_index = index_ + 40;
  std::thread appender([&] {
    for (int i = 0; i < 40; ++i) MustAppend("INBOX", absl::StrCat("Subject: ", i, "\r\n\r\nbody"));
  });
  auto join = absl::MakeCleanup([&] {
    if (!release_check.HasBeenNotified()) release_check.Notify();
    appender.join();
  });
  ASSERT_TRUE(check_started.WaitForNotificationWithTimeout(absl::Seconds(30)));
  // Every checkpoint up to the last entry is kept while the check is still
  // held (GetOwnCheckpoint answers from what the worker kept).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  absl::StatusOr<std::array<uint8_t, 32>> last = sm_->GetOwnCheckpoint(last_index);
  while (!last.ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
    last = sm_->GetOwnCheckpoint(last_index);
  }
  ASSERT_TRUE(last.ok()) << "the checkpoint at " << last_index
                         << " was not kept while a periodic check ran: " << last.status();
  EXPECT_EQ(*last, FullDigest());
  EXPECT_FALSE(release_check.HasBeenNotified());  // the check was held all along
  release_check.Notify();
  std::move(join).Invoke();
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  EXPECT_EQ(Logged(kTamperLine), 0);  // nothing was changed behind its back
}

}  // namespace
}  // namespace qbox::mailbox::testing

// The charter, audit log and checkpoints inside the mailbox state machine
// (DESIGN.md G2, G3, G5): genesis and membership, the audit chain, the
// charter's retention, determinism across nodes with different clocks,
// snapshots, and checkpoint callbacks.
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "node/guard/audit_chain.h"
#include "tests/mailbox/guard_test_util.h"

namespace qbox::mailbox::testing {
namespace {

using GuardStateTest = GuardMailboxTest;

TEST_F(GuardStateTest, GenesisInstallsTheCharterOnce) {
  EXPECT_EQ(sm_->GetCharter().status().code(), absl::StatusCode::kNotFound);
  const v1::Charter charter = TestCharter();
  ASSERT_TRUE(Genesis(charter).ok());
  auto installed = sm_->GetCharter();
  ASSERT_TRUE(installed.ok()) << installed.status();
  EXPECT_EQ(installed->SerializeAsString(), charter.SerializeAsString());

  v1::Charter other = charter;
  other.set_cluster("another");
  ASSERT_TRUE(Genesis(other).ok()) << "a refusal only advances the index";
  EXPECT_EQ(sm_->applied_index(), 2u);
  EXPECT_EQ(sm_->GetCharter()->cluster(), gt::kCluster);
  const std::vector<v1::AuditRecord> log = AuditLog();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].kind(), "charter.genesis");
  EXPECT_EQ(log[0].command(), charter.SerializeAsString());
  EXPECT_EQ(log[1].detail().rfind("refused: ", 0), 0u) << log[1].detail();
}

TEST_F(GuardStateTest, InvalidGenesisIsRefusedAndAudited) {
  v1::Charter charter = TestCharter();
  charter.set_required_sites(7);
  ASSERT_TRUE(Genesis(charter).ok());
  EXPECT_EQ(sm_->GetCharter().status().code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(AuditLog().size(), 1u);
  EXPECT_NE(AuditLog()[0].detail().find("required_sites"), std::string::npos)
      << AuditLog()[0].detail();
}

TEST_F(GuardStateTest, MembershipChangesTheCharterNodes) {
  ASSERT_TRUE(Genesis(TestCharter()).ok());
  v1::CharterNode learner;
  learner.set_id(4);
  learner.set_site("site-b");
  learner.set_name("n2");
  learner.set_address("127.0.0.1:7004");
  MembershipChange add{MembershipChange::Kind::kAddLearner, 4, learner.SerializeAsString()};
  ASSERT_TRUE(sm_->ApplyMembership(++index_, add).ok());
  auto charter = sm_->GetCharter();
  ASSERT_TRUE(charter.ok());
  ASSERT_EQ(charter->nodes_size(), 4);
  EXPECT_FALSE(charter->nodes(3).voter());
  EXPECT_EQ(charter->version(), 2u);
  // Promoting it would give site-b 2 of 4 voters: not more than half.
  ASSERT_TRUE(
      sm_->ApplyMembership(++index_, {MembershipChange::Kind::kPromoteLearner, 4, ""}).ok());
  EXPECT_TRUE(sm_->GetCharter()->nodes(3).voter());
  // Removing site-a's only node would leave site-b 2 of 3 voters (G7).
  ASSERT_TRUE(sm_->ApplyMembership(++index_, {MembershipChange::Kind::kRemoveNode, 1, ""}).ok());
  EXPECT_FALSE(sm_->GetCharter()->nodes(0).removed());
  EXPECT_NE(AuditLog().back().detail().find("refused"), std::string::npos);
  ASSERT_TRUE(sm_->ApplyMembership(++index_, {MembershipChange::Kind::kRemoveNode, 4, ""}).ok());
  EXPECT_TRUE(sm_->GetCharter()->nodes(3).removed());
  // Re-adding an id that was used is refused.
  ASSERT_TRUE(sm_->ApplyMembership(++index_, add).ok());
  EXPECT_EQ(sm_->GetCharter()->nodes_size(), 4);
  std::vector<std::string> kinds = AuditKinds();
  EXPECT_EQ(kinds, std::vector<std::string>({"charter.genesis", "membership.add_learner",
                                             "membership.promote_learner", "membership.remove_node",
                                             "membership.remove_node", "membership.add_learner"}));
}

TEST_F(GuardStateTest, AuditChainVerifiesAndCoversAdminCommandsOnly) {
  ASSERT_TRUE(Genesis(TestCharter()).ok());
  v1::MailboxCommand create = CreateAccountCmd("alice");
  create.set_actor("site-a/admin/alice");
  MustApply(create);
  EXPECT_FALSE(Apply(create).ok()) << "a second create is refused";
  MustAppend("INBOX", "Subject: x\r\n\r\nnot audited");
  v1::MailboxCommand quota;
  quota.set_actor("site-b/admin/bob");
  quota.mutable_set_quota()->set_account("alice");
  quota.mutable_set_quota()->set_quota_bytes(1 << 20);
  MustApply(quota);
  MustApplyGuard(EndorseCmd(
      gt::Approve(world_.bob, gt::SignProposal(world_.alice, gt::Body(gt::PurgeVault("alice"))))));

  const std::vector<v1::AuditRecord> log = AuditLog();
  ASSERT_EQ(log.size(), 5u);
  EXPECT_EQ(log[1].kind(), "admin.create_account");
  // Unsigned: the leader's word, marked as such (admin_attribution_test.cc).
  EXPECT_EQ(log[1].actor(), "unverified:site-a/admin/alice");
  EXPECT_EQ(log[2].kind(), "admin.create_account");
  EXPECT_NE(log[2].detail().find("refused"), std::string::npos);
  EXPECT_EQ(log[3].kind(), "admin.set_quota");
  EXPECT_EQ(log[4].kind(), "proposal.approve");
  EXPECT_NE(log[4].detail().find("refused"), std::string::npos) << "no such proposal";
  std::string prev(32, '\0');
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].seq(), i + 1);
    EXPECT_EQ(log[i].prev_hash(), prev);
    EXPECT_EQ(log[i].hash(), guard::AuditRecordHash(log[i]));
    prev = log[i].hash();
  }
  std::vector<uint64_t> from_three;
  ASSERT_TRUE(sm_->ReadAuditLog(3,
                                [&](const v1::AuditRecord& r) {
                                  from_three.push_back(r.seq());
                                  return from_three.size() < 2;
                                })
                  .ok());
  EXPECT_EQ(from_three, std::vector<uint64_t>({3, 4}));
}

TEST_F(GuardStateTest, RetentionComesFromTheCharter) {
  v1::Charter charter = TestCharter();
  charter.set_retention_ms(10 * kDay);
  ASSERT_TRUE(Genesis(charter).ok());
  MustApply(CreateAccountCmd("alice"));  // the account's own default is 30 days
  MustAppend("INBOX", "Subject: x\r\n\r\nbody");
  MustApply(ExpungeCmd("alice", "INBOX", "1"));
  // The restore window follows R too, so no node restores what another
  // may already have purged.
  v1::ListDeletedRequest list;
  list.set_account("alice");
  const uint64_t vault_id = sm_->ListDeleted(list)->items(0).vault_id();
  v1::MailboxCommand restore;
  restore.mutable_restore_deleted()->set_account("alice");
  restore.mutable_restore_deleted()->add_vault_ids(vault_id);
  leader_now_ms_ += 9 * kDay + 1;
  EXPECT_EQ(Apply(restore).status().code(), absl::StatusCode::kFailedPrecondition);
  auto purged = sm_->PurgeExpired(local_now_ms_ + 10 * kDay - 1);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 0u);
  purged = sm_->PurgeExpired(local_now_ms_ + 10 * kDay);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 1u);
}

TEST_F(GuardStateTest, NodesWithDifferentClocksAgreeOnTheDigest) {
  int64_t other_clock = local_now_ms_ + 123 * kHour;
  std::unique_ptr<MailboxStateMachine> other = OpenMachine("other", &other_clock);
  const v1::Charter charter = TestCharter();
  v1::SignedProposal proposal = gt::SignProposal(world_.alice, gt::Body(gt::PurgeVault("alice")));
  std::vector<v1::MailboxCommand> history = {CreateAccountCmd("alice"),
                                             AppendCmd("alice", "INBOX", "Subject: a\r\n\r\nb"),
                                             ExpungeCmd("alice", "INBOX", "1"),
                                             SubmitCmd(proposal),
                                             EndorseCmd(gt::Approve(world_.bob, proposal)),
                                             ClockCmd(2, v1::ProposalClock::EVENT_DELAY_ELAPSED),
                                             ClockCmd(3, v1::ProposalClock::EVENT_DELAY_ELAPSED)};
  for (MailboxStateMachine* sm : {sm_.get(), other.get()}) {
    ASSERT_TRUE(Genesis(sm, 1, charter).ok());
    for (size_t i = 0; i < history.size(); ++i) {
      v1::MailboxCommand cmd = history[i];
      cmd.set_leader_time_ms(leader_now_ms_);
      ASSERT_TRUE(sm->Apply(i + 2, cmd).ok());
    }
  }
  auto mine = sm_->GetProposal(gt::kProposalId);
  auto theirs = other->GetProposal(gt::kProposalId);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  EXPECT_EQ(mine->state(), v1::PROPOSAL_STATE_EXECUTED);
  EXPECT_EQ(mine->local_submitted_ms(), local_now_ms_);
  EXPECT_EQ(theirs->local_submitted_ms(), other_clock);
  auto a = sm_->Digest();
  auto b = other->Digest();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(AuditLog().back().hash(), AuditLog(other.get()).back().hash());
}

TEST_F(GuardStateTest, SnapshotKeepsCharterProposalsAndAuditAndRestampsClocks) {
  ASSERT_TRUE(Genesis(TestCharter()).ok());
  MustApply(CreateAccountCmd("alice"));
  v1::SignedProposal proposal = gt::SignProposal(world_.alice, gt::Body(gt::PurgeVault("alice")));
  MustApplyGuard(SubmitCmd(proposal));
  MustApplyGuard(EndorseCmd(gt::Approve(world_.bob, proposal)));
  const std::string path = dir_ + "/snap";
  ASSERT_TRUE(sm_->WriteSnapshot(path).ok());

  int64_t later = local_now_ms_ + 50 * kHour;
  std::unique_ptr<MailboxStateMachine> restored = OpenMachine("restored", &later);
  ASSERT_TRUE(restored->RestoreSnapshot(path).ok());
  EXPECT_EQ(restored->applied_index(), sm_->applied_index());
  EXPECT_EQ(*restored->Digest(), *sm_->Digest());
  EXPECT_EQ(restored->GetCharter()->SerializeAsString(), sm_->GetCharter()->SerializeAsString());
  auto record = restored->GetProposal(gt::kProposalId);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state(), v1::PROPOSAL_STATE_APPROVED);
  EXPECT_EQ(record->local_submitted_ms(), later);
  EXPECT_EQ(record->local_approved_ms(), later);
  // The delay counts from the install: not due at once.
  auto due = restored->DueClockStatements(later, "site-a");
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  EXPECT_EQ(restored->DueClockStatements(later + 1 * kHour, "site-a")->size(), 1u);
  const std::vector<v1::AuditRecord> a = AuditLog(), b = AuditLog(restored.get());
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(a.back().hash(), b.back().hash());
}

TEST_F(GuardStateTest, CheckpointsAtMultiplesAndOnRequestAndComparisons) {
  v1::Charter charter = TestCharter();
  charter.set_checkpoint_every(4);
  ASSERT_TRUE(Genesis(charter).ok());          // 1
  MustApply(CreateAccountCmd("alice"));        // 2
  ASSERT_TRUE(sm_->ApplyNoop(++index_).ok());  // 3
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  EXPECT_TRUE(Checkpoints().empty());
  MustAppend("INBOX", "Subject: x\r\n\r\nbody");  // 4
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  std::vector<OwnCheckpoint> checkpoints = Checkpoints();
  ASSERT_EQ(checkpoints.size(), 1u);
  EXPECT_EQ(checkpoints[0].index, 4u);
  EXPECT_EQ(checkpoints[0].digest, *sm_->Digest());
  EXPECT_EQ(*sm_->GetOwnCheckpoint(4), checkpoints[0].digest);
  EXPECT_EQ(sm_->GetOwnCheckpoint(3).status().code(), absl::StatusCode::kNotFound);

  // A peer that agrees, and one that does not.
  MustApplyGuard(CheckpointCmd(2, 4, checkpoints[0].digest));  // 5
  std::array<uint8_t, 32> wrong = checkpoints[0].digest;
  wrong[0] ^= 1;
  MustApplyGuard(CheckpointCmd(3, 4, wrong));  // 6
  std::vector<CheckpointComparison> comparisons = Comparisons();
  ASSERT_EQ(comparisons.size(), 2u);
  EXPECT_TRUE(comparisons[0].match);
  EXPECT_EQ(comparisons[0].peer_site, "site-b");
  EXPECT_FALSE(comparisons[1].match);
  EXPECT_EQ(comparisons[1].peer_node, "site-c/node/n1");
  EXPECT_EQ(comparisons[1].own_digest, checkpoints[0].digest);
  // The same node twice at one index is refused.
  EXPECT_EQ(MustApplyGuard(CheckpointCmd(3, 4, wrong)).status_code(),  // 7
            static_cast<int>(absl::StatusCode::kAlreadyExists));

  MustApplyGuard(CheckpointRequestCmd(3));  // 8: a multiple too
  MustApplyGuard(CheckpointRequestCmd(1));  // 9: on request only
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  checkpoints = Checkpoints();
  ASSERT_EQ(checkpoints.size(), 3u);
  EXPECT_EQ(checkpoints[1].index, 8u);
  EXPECT_EQ(checkpoints[2].index, 9u);
  EXPECT_EQ(Comparisons().size(), 2u);

  auto listed = sm_->GetCheckpoints(4);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[0].index(), 4u);
  EXPECT_EQ((*listed)[0].statements_size(), 2);
  EXPECT_EQ((*listed)[0].local_digest().size(), 32u);
  EXPECT_EQ(sm_->GetCheckpoints(5)->size(), 2u);
  // A range: one index alone, an empty one, and the upper end inclusive.
  auto only = sm_->GetCheckpoints(4, 4);
  ASSERT_TRUE(only.ok()) << only.status();
  ASSERT_EQ(only->size(), 1u);
  EXPECT_EQ((*only)[0].index(), 4u);
  EXPECT_EQ((*only)[0].statements_size(), 2);
  EXPECT_EQ((*only)[0].local_digest().size(), 32u);
  EXPECT_TRUE(sm_->GetCheckpoints(5, 7)->empty());
  EXPECT_TRUE(sm_->GetCheckpoints(9, 8)->empty());
  EXPECT_EQ(sm_->GetCheckpoints(4, 8)->size(), 2u);
}

TEST_F(GuardStateTest, CallbacksMayReadTheStateMachine) {
  v1::Charter charter = TestCharter();
  charter.set_checkpoint_every(2);
  MailboxStateMachine::Options options;
  options.local_clock_ms = [this] { return local_now_ms_; };
  absl::Mutex mu;
  std::vector<std::array<uint8_t, 32>> read_back;
  absl::Status wait_in_callback;
  MailboxStateMachine* machine = nullptr;
  options.on_checkpoint = [&](const OwnCheckpoint& c) {
    absl::MutexLock lock(&mu);
    read_back.push_back(*machine->GetOwnCheckpoint(c.index));
    wait_in_callback = machine->WaitForCheckpoints();
  };
  auto opened = MailboxStateMachine::Open(dir_ + "/reentrant", options);
  ASSERT_TRUE(opened.ok());
  machine = opened->get();
  ASSERT_TRUE(Genesis(machine, 1, charter).ok());
  ASSERT_TRUE(machine->ApplyNoop(2).ok());
  ASSERT_TRUE(machine->WaitForCheckpoints().ok());
  absl::MutexLock lock(&mu);
  ASSERT_EQ(read_back.size(), 1u);
  EXPECT_EQ(read_back[0], *machine->Digest());
  // Waiting from a callback would wait for itself: refused, not a hang.
  EXPECT_EQ(wait_in_callback.code(), absl::StatusCode::kFailedPrecondition);
}

// The digest runs on the worker: applying goes on meanwhile, and each
// digest is of the state at its own index, not of whatever was applied
// by the time the worker got to it.
TEST_F(GuardStateTest, ApplyingGoesOnWhileADigestIsComputed) {
  CheckpointGate gate;
  ASSERT_NO_FATAL_FAILURE(StartGatedEvery4(&gate));  // 1, 2
  MustAppend("INBOX", "Subject: 3\r\n\r\nthree");
  MustAppend("INBOX", "Subject: 4\r\n\r\nfour");
  const std::array<uint8_t, 32> at4 = *sm_->Digest();
  ASSERT_TRUE(gate.WaitUntilHeldAt(4));
  // The worker is stuck inside the checkpoint at 4; applying is not.
  for (int i = 5; i <= 8; ++i) MustAppend("INBOX", absl::StrCat("Subject: ", i, "\r\n\r\nmore"));
  const std::array<uint8_t, 32> at8 = *sm_->Digest();
  for (int i = 9; i <= 10; ++i) MustAppend("INBOX", absl::StrCat("Subject: ", i, "\r\n\r\nmore"));
  EXPECT_EQ(sm_->applied_index(), 10u);
  EXPECT_EQ(sm_->GetOwnCheckpoint(4).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Checkpoints().empty());
  EXPECT_NE(at4, at8);

  gate.Open();
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  const std::vector<OwnCheckpoint> checkpoints = Checkpoints();
  ASSERT_EQ(checkpoints.size(), 2u);
  EXPECT_EQ(checkpoints[0].index, 4u);
  EXPECT_EQ(checkpoints[0].digest, at4);
  EXPECT_EQ(checkpoints[1].index, 8u);
  EXPECT_EQ(checkpoints[1].digest, at8);
  EXPECT_EQ(*sm_->GetOwnCheckpoint(8), at8);
  EXPECT_EQ(Events(),
            (std::vector<std::string>{"captured 4", "captured 8", "checkpoint 4", "checkpoint 8"}));
}

// A faster peer's statement can be applied before this node's digest at
// that index is kept. The worker compares it when it keeps the digest;
// statements applied later are compared as they are applied. Each one
// exactly once, and a mismatch is reported either way.
TEST_F(GuardStateTest, StatementsAppliedBeforeTheDigestIsKeptAreComparedOnce) {
  CheckpointGate gate;
  ASSERT_NO_FATAL_FAILURE(StartGatedEvery4(&gate));  // 1, 2
  ASSERT_TRUE(sm_->ApplyNoop(++index_).ok());        // 3
  MustAppend("INBOX", "Subject: x\r\n\r\nbody");     // 4
  const std::array<uint8_t, 32> own = *sm_->Digest();
  ASSERT_TRUE(gate.WaitUntilHeldAt(4));

  std::array<uint8_t, 32> wrong = own;
  wrong[31] ^= 0x80;
  MustApplyGuard(CheckpointCmd(2, 4, own));    // 5: agrees
  MustApplyGuard(CheckpointCmd(3, 4, wrong));  // 6: does not
  EXPECT_TRUE(Comparisons().empty());          // nothing to compare with yet

  gate.Open();
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  std::vector<CheckpointComparison> comparisons = Comparisons();
  ASSERT_EQ(comparisons.size(), 2u);
  EXPECT_EQ(comparisons[0].index, 4u);
  EXPECT_TRUE(comparisons[0].match);
  EXPECT_EQ(comparisons[0].peer_site, "site-b");
  EXPECT_EQ(comparisons[0].peer_node, "site-b/node/n1");
  EXPECT_EQ(comparisons[0].own_digest, own);
  EXPECT_FALSE(comparisons[1].match);
  EXPECT_EQ(comparisons[1].peer_site, "site-c");
  EXPECT_EQ(comparisons[1].peer_node, "site-c/node/n1");
  EXPECT_EQ(comparisons[1].own_digest, own);
  v1::NodeStatement evidence;
  ASSERT_TRUE(evidence.ParseFromString(comparisons[1].peer.statement()));
  EXPECT_EQ(evidence.checkpoint().state_digest(),
            std::string(reinterpret_cast<const char*>(wrong.data()), wrong.size()));
  // This node's digest comes first: the signed evidence exists before a
  // mismatch is raised.
  EXPECT_EQ(Events(),
            (std::vector<std::string>{"captured 4", "checkpoint 4", "compared 4 site-b/node/n1",
                                      "compared 4 site-c/node/n1"}));

  // Applied after the digest was kept: compared at apply time, and the
  // earlier ones are not compared again.
  MustApplyGuard(CheckpointCmd(1, 4, own));  // 7
  MustApplyGuard(CheckpointRequestCmd(1));   // 8: another checkpoint
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  comparisons = Comparisons();
  ASSERT_EQ(comparisons.size(), 3u);
  EXPECT_EQ(comparisons[2].peer_node, "site-a/node/n1");
  EXPECT_TRUE(comparisons[2].match);
  EXPECT_EQ(Checkpoints().size(), 2u);
}

// Full queue: applying the next checkpoint entry waits for the worker
// (and says so) instead of piling up snapshots.
TEST_F(GuardStateTest, BackedUpCheckpointsHoldApplyingAndSaySo) {
  CheckpointGate gate;
  absl::Mutex log_mu;
  std::vector<std::string> log;
  sm_.reset();
  sm_ = OpenMachine("gated", &local_now_ms_, [&](MailboxStateMachine::Options& o) {
    o.before_checkpoint_digest = [&gate](uint64_t index) { gate.Hold(index); };
    o.max_waiting_checkpoints = 1;
    o.logger = [&](std::string_view line) {
      absl::MutexLock lock(&log_mu);
      log.emplace_back(line);
    };
  });
  v1::Charter charter = TestCharter();
  charter.set_checkpoint_every(1);
  ASSERT_TRUE(Genesis(charter).ok());  // 1: held in the worker
  ASSERT_TRUE(gate.WaitUntilHeldAt(1));
  ASSERT_TRUE(sm_->ApplyNoop(2).ok());                                // 2: waits in the queue
  std::thread applier([&] { EXPECT_TRUE(sm_->ApplyNoop(3).ok()); });  // 3: no room
  {
    absl::MutexLock lock(&log_mu);
    auto said = [&] {
      log_mu.AssertReaderHeld();
      return !log.empty();
    };
    ASSERT_TRUE(log_mu.AwaitWithTimeout(absl::Condition(&said), absl::Seconds(10)));
    EXPECT_NE(log[0].find("backed up"), std::string::npos) << log[0];
    EXPECT_NE(log[0].find("index 3"), std::string::npos) << log[0];
  }
  gate.Open();
  applier.join();
  ASSERT_TRUE(sm_->WaitForCheckpoints().ok());
  EXPECT_EQ(Checkpoints().size(), 3u);
}

// Closing finishes the captured checkpoints; a restore waits for them
// before it replaces the state they describe.
TEST_F(GuardStateTest, CloseAndRestoreFinishCapturedCheckpointsFirst) {
  v1::Charter charter = TestCharter();
  charter.set_checkpoint_every(2);
  ASSERT_TRUE(Genesis(charter).ok());    // 1
  MustApply(CreateAccountCmd("alice"));  // 2: a checkpoint
  const std::string path = dir_ + "/snap";
  ASSERT_TRUE(sm_->WriteSnapshot(path).ok());
  const std::array<uint8_t, 32> at2 = *sm_->Digest();
  sm_.reset();  // no wait: closing finishes the digest
  EXPECT_EQ(Checkpoints().size(), 1u);
  sm_ = OpenMachine("sm", &local_now_ms_);
  ASSERT_TRUE(sm_->GetOwnCheckpoint(2).ok());
  EXPECT_EQ(*sm_->GetOwnCheckpoint(2), at2);

  CheckpointGate gate;
  std::unique_ptr<MailboxStateMachine> other =
      OpenMachine("other", &local_now_ms_, [&](MailboxStateMachine::Options& o) {
        o.before_checkpoint_digest = [&gate](uint64_t index) { gate.Hold(index); };
      });
  ASSERT_TRUE(Genesis(other.get(), 1, charter).ok());
  ASSERT_TRUE(other->ApplyNoop(2).ok());
  ASSERT_TRUE(other->ApplyNoop(3).ok());
  ASSERT_TRUE(other->ApplyNoop(4).ok());  // a checkpoint, held in the worker
  ASSERT_TRUE(gate.WaitUntilHeldAt(2));
  absl::Notification restored;
  std::thread restorer([&] {
    EXPECT_TRUE(other->RestoreSnapshot(path).ok());
    restored.Notify();
  });
  // A bounded look, not a sync: the restore must still be waiting for the
  // held digest (only a broken restore could finish this early).
  EXPECT_FALSE(restored.WaitForNotificationWithTimeout(absl::Milliseconds(300)))
      << "the restore replaced the state while a digest of it was pending";
  gate.Open();
  restorer.join();
  // Both digests were kept before the restore, which dropped them; none
  // was kept after it.
  EXPECT_EQ(other->GetOwnCheckpoint(2).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(other->GetOwnCheckpoint(4).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(other->applied_index(), 2u);
  EXPECT_EQ(*other->Digest(), at2);
}

}  // namespace
}  // namespace qbox::mailbox::testing

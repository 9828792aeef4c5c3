// Proposals inside the mailbox state machine (DESIGN.md G2): a full life
// from submission to execution, vetoes, expiry and forged signatures, on a
// real store with real certificates and a fake local clock.
#include "tests/mailbox/guard_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class ProposalApplyTest : public GuardMailboxTest {
 protected:
  void SetUp() override {
    GuardMailboxTest::SetUp();
    ASSERT_TRUE(Genesis(TestCharter()).ok());
    MustApply(CreateAccountCmd("alice"));
    MustAppend("INBOX", "Subject: one\r\n\r\nbody one");
    MustAppend("INBOX", "Subject: two\r\n\r\nbody two");
    MustApply(ExpungeCmd("alice", "INBOX", "1"));
  }

  // Submits `action` by alice (site-a) and approves it by bob (site-b).
  v1::SignedProposal SubmitAndApprove(const v1::ProposedAction& action) {
    v1::SignedProposal proposal = gt::SignProposal(world_.alice, gt::Body(action));
    v1::CommandResult submitted = MustApplyGuard(SubmitCmd(proposal));
    EXPECT_EQ(submitted.status_code(), 0) << submitted.status_message();
    EXPECT_EQ(submitted.proposal().state(), v1::PROPOSAL_STATE_PENDING);
    EXPECT_EQ(submitted.proposal().local_submitted_ms(), local_now_ms_);
    local_now_ms_ += 10;
    v1::CommandResult approved = MustApplyGuard(EndorseCmd(gt::Approve(world_.bob, proposal)));
    EXPECT_EQ(approved.status_code(), 0) << approved.status_message();
    EXPECT_EQ(approved.proposal().state(), v1::PROPOSAL_STATE_APPROVED);
    EXPECT_EQ(approved.proposal().local_approved_ms(), local_now_ms_);
    return proposal;
  }

  // Lets T pass on this node's clock and has nodes of site-a and site-c say so.
  v1::ProposalRecord RunClock() {
    auto due = sm_->DueClockStatements(local_now_ms_, "site-a");
    EXPECT_TRUE(due.ok() && due->empty()) << "nothing is due before T passed";
    local_now_ms_ += 1 * kHour;
    due = sm_->DueClockStatements(local_now_ms_, "site-a");
    EXPECT_TRUE(due.ok()) << due.status();
    EXPECT_EQ(due->size(), 1u);
    if (due.ok() && !due->empty()) {
      EXPECT_EQ((*due)[0].event, v1::ProposalClock::EVENT_DELAY_ELAPSED);
    }
    v1::CommandResult first = MustApplyGuard(ClockCmd(1, v1::ProposalClock::EVENT_DELAY_ELAPSED));
    EXPECT_EQ(first.status_code(), 0) << first.status_message();
    EXPECT_EQ(first.proposal().state(), v1::PROPOSAL_STATE_APPROVED) << "one site is not M";
    due = sm_->DueClockStatements(local_now_ms_, "site-a");
    EXPECT_TRUE(due.ok() && due->empty()) << "site-a already said it";
    v1::CommandResult second = MustApplyGuard(ClockCmd(3, v1::ProposalClock::EVENT_DELAY_ELAPSED));
    EXPECT_EQ(second.status_code(), 0) << second.status_message();
    return second.proposal();
  }

  uint64_t VaultEntries(const std::string& account = "alice") {
    v1::ListDeletedRequest req;
    req.set_account(account);
    auto list = sm_->ListDeleted(req);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? list->items_size() : 0;
  }
};

TEST_F(ProposalApplyTest, PurgeVaultRunsOnlyAfterApprovalAndDelay) {
  ASSERT_EQ(VaultEntries(), 1u);
  SubmitAndApprove(gt::PurgeVault("alice"));
  EXPECT_EQ(VaultEntries(), 1u) << "approval alone runs nothing";
  v1::ProposalRecord done = RunClock();
  EXPECT_EQ(done.state(), v1::PROPOSAL_STATE_EXECUTED) << done.outcome();
  EXPECT_EQ(VaultEntries(), 0u);
  EXPECT_EQ(Uids("INBOX"), std::vector<uint32_t>({2})) << "live mail stays";

  const std::vector<std::string> kinds = AuditKinds();
  const std::vector<std::string> tail(kinds.end() - 5, kinds.end());
  EXPECT_EQ(tail,
            std::vector<std::string>({"proposal.submit", "proposal.approve", "node.proposal_clock",
                                      "node.proposal_clock", "proposal.execute"}));
  auto listed = sm_->ListProposals(/*include_closed=*/false);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  listed = sm_->ListProposals(/*include_closed=*/true);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].state(), v1::PROPOSAL_STATE_EXECUTED);
}

TEST_F(ProposalApplyTest, DeleteAccountRemovesEverything) {
  SubmitAndApprove([] {
    v1::ProposedAction action;
    action.mutable_delete_account()->set_account("alice");
    return action;
  }());
  EXPECT_EQ(RunClock().state(), v1::PROPOSAL_STATE_EXECUTED);
  auto accounts = sm_->ListAccounts();
  ASSERT_TRUE(accounts.ok());
  EXPECT_EQ(accounts->accounts_size(), 0);
  v1::ListMailboxesRequest req;
  req.set_account("alice");
  EXPECT_EQ(sm_->ListMailboxes(req).status().code(), absl::StatusCode::kNotFound);
  // The name can be used again from scratch.
  MustApply(CreateAccountCmd("alice"));
  EXPECT_TRUE(Uids("INBOX").empty());
  EXPECT_EQ(VaultEntries(), 0u);
}

TEST_F(ProposalApplyTest, FailingActionChangesNothingAndIsRecorded) {
  v1::ProposedAction action;
  action.mutable_delete_account()->set_account("nobody");
  SubmitAndApprove(action);
  const std::string before = DigestHex();
  const v1::ProposalRecord done = RunClock();
  EXPECT_EQ(done.state(), v1::PROPOSAL_STATE_FAILED);
  EXPECT_NE(done.outcome().find("nobody"), std::string::npos) << done.outcome();
  EXPECT_EQ(Uids("INBOX"), std::vector<uint32_t>({2}));
  const v1::AuditRecord last = AuditLog().back();
  EXPECT_EQ(last.kind(), "proposal.execute");
  EXPECT_NE(last.detail().find("failed"), std::string::npos) << last.detail();
  EXPECT_NE(DigestHex(), before) << "the proposal's record and audit are replicated state";
}

TEST_F(ProposalApplyTest, CharterActionChangesTheCharter) {
  v1::ProposedAction action;
  action.mutable_set_required_sites()->set_required_sites(3);
  SubmitAndApprove(action);
  EXPECT_EQ(RunClock().state(), v1::PROPOSAL_STATE_EXECUTED);
  auto charter = sm_->GetCharter();
  ASSERT_TRUE(charter.ok());
  EXPECT_EQ(charter->required_sites(), 3u);
  EXPECT_EQ(charter->version(), 2u);
}

TEST_F(ProposalApplyTest, VetoCancelsForGood) {
  v1::SignedProposal proposal = SubmitAndApprove(gt::PurgeVault("alice"));
  v1::CommandResult vetoed =
      MustApplyGuard(EndorseCmd(gt::Veto(world_.carol, proposal, "not without the owner")));
  EXPECT_EQ(vetoed.status_code(), 0) << vetoed.status_message();
  EXPECT_EQ(vetoed.proposal().state(), v1::PROPOSAL_STATE_VETOED);
  local_now_ms_ += 2 * kHour;
  auto due = sm_->DueClockStatements(local_now_ms_, "site-a");
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  // A late clock statement is refused, but recorded.
  v1::CommandResult late = MustApplyGuard(ClockCmd(1, v1::ProposalClock::EVENT_DELAY_ELAPSED));
  EXPECT_EQ(late.status_code(), static_cast<int>(absl::StatusCode::kFailedPrecondition))
      << late.status_message();
  EXPECT_EQ(AuditLog().back().kind(), "node.proposal_clock");
  EXPECT_EQ(VaultEntries(), 1u);
  EXPECT_EQ(AuditKinds()[AuditKinds().size() - 2], "proposal.veto");
}

TEST_F(ProposalApplyTest, UnapprovedProposalExpiresByTheNodesOwnClock) {
  v1::SignedProposal proposal = gt::SignProposal(world_.alice, gt::Body(gt::PurgeVault("alice")));
  ASSERT_EQ(MustApplyGuard(SubmitCmd(proposal)).status_code(), 0);
  local_now_ms_ += 5 * kHour - 1;
  auto due = sm_->DueClockStatements(local_now_ms_, "site-c");
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  local_now_ms_ += 1;
  due = sm_->DueClockStatements(local_now_ms_, "site-c");
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].event, v1::ProposalClock::EVENT_EXPIRED);
  // One site's clock is not enough (its statement may lie); M sites' are.
  v1::CommandResult said = MustApplyGuard(ClockCmd(3, v1::ProposalClock::EVENT_EXPIRED));
  EXPECT_EQ(said.proposal().state(), v1::PROPOSAL_STATE_PENDING);
  EXPECT_EQ(AuditLog().back().detail(),
            absl::StrCat("proposal ", gt::kProposalId,
                         ": site-c/node/n1 says its lifetime passed (1 of 2 sites)"));
  v1::CommandResult expired = MustApplyGuard(ClockCmd(2, v1::ProposalClock::EVENT_EXPIRED));
  EXPECT_EQ(expired.proposal().state(), v1::PROPOSAL_STATE_EXPIRED);
  // Approving afterwards changes nothing.
  v1::CommandResult late = MustApplyGuard(EndorseCmd(gt::Approve(world_.bob, proposal)));
  EXPECT_EQ(late.status_code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(VaultEntries(), 1u);
}

TEST_F(ProposalApplyTest, ForgedItemsAreRefusedButAudited) {
  v1::SignedProposal proposal = gt::SignProposal(world_.alice, gt::Body(gt::PurgeVault("alice")));
  ASSERT_EQ(MustApplyGuard(SubmitCmd(proposal)).status_code(), 0);
  const size_t audited = AuditLog().size();

  // An admin certificate from a CA that is not in the charter.
  guard::PemCredential rogue_ca = gt::NewSiteCa("site-b");
  guard::PemCredential mallory = gt::Issue(rogue_ca, "site-b", "admin", "bob");
  v1::CommandResult forged = MustApplyGuard(EndorseCmd(gt::Approve(mallory, proposal)));
  EXPECT_EQ(forged.status_code(), static_cast<int>(absl::StatusCode::kUnauthenticated))
      << forged.status_message();

  // Bob signed other bytes than the proposal's.
  v1::Endorsement wrong = gt::EndorsementOf(proposal, v1::ENDORSEMENT_DECISION_APPROVE);
  wrong.set_proposal_sha256(std::string(32, 'x'));
  v1::CommandResult mismatched = MustApplyGuard(EndorseCmd(gt::SignEndorsement(world_.bob, wrong)));
  EXPECT_EQ(mismatched.status_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));

  // A valid signature whose bytes were changed afterwards.
  v1::SignedEndorsement tampered = gt::Approve(world_.bob, proposal);
  tampered.mutable_endorsement()->back() ^= 1;
  EXPECT_NE(MustApplyGuard(EndorseCmd(tampered)).status_code(), 0);

  // A node statement signed by an admin, and a clock statement of node 2
  // signed by node 1's certificate.
  v1::NodeStatement statement;
  statement.set_cluster(gt::kCluster);
  statement.set_node_id(1);
  statement.set_signed_at_ms(gt::NowMs());
  *statement.mutable_proposal_clock() = gt::Clock(v1::ProposalClock::EVENT_EXPIRED);
  EXPECT_NE(
      MustApplyGuard(StatementCmd(gt::SignNodeStatement(world_.alice, statement))).status_code(),
      0);
  statement.set_node_id(2);
  EXPECT_EQ(
      MustApplyGuard(StatementCmd(gt::SignNodeStatement(world_.node_a, statement))).status_code(),
      static_cast<int>(absl::StatusCode::kPermissionDenied));

  // A proposal id that is already taken.
  EXPECT_EQ(MustApplyGuard(SubmitCmd(proposal)).status_code(),
            static_cast<int>(absl::StatusCode::kAlreadyExists));

  const std::vector<v1::AuditRecord> log = AuditLog();
  ASSERT_EQ(log.size(), audited + 6);
  for (size_t i = audited; i < log.size(); ++i) {
    EXPECT_EQ(log[i].detail().rfind("refused: ", 0), 0u) << log[i].detail();
  }
  auto record = sm_->GetProposal(gt::kProposalId);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->state(), v1::PROPOSAL_STATE_PENDING);
  EXPECT_EQ(record->approvals_size(), 1) << "only the proposer's own";

  // Re-applying a refused entry answers the same refusal.
  auto again = sm_->Apply(index_, StatementCmd(gt::SignNodeStatement(world_.node_a, statement)));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status_code(), static_cast<int>(absl::StatusCode::kAlreadyExists));
}

TEST_F(ProposalApplyTest, AnAlarmReportIsAuditedAsItsSignerSaidItAndAnOversizedOneRefused) {
  v1::NodeStatement statement;
  v1::AlarmReport* alarm = statement.mutable_alarm_report();
  alarm->set_kind("refused-truncation");
  alarm->set_offender(1);
  alarm->set_term(7);
  alarm->set_index(42);
  alarm->set_detail("leader 1 tried to overwrite committed entry 42");
  const size_t audited = AuditLog().size();
  EXPECT_EQ(MustApplyGuard(StatementCmd(NodeSigned(2, statement))).status_code(), 0);

  alarm->set_detail(std::string(1025, 'x'));
  v1::CommandResult oversized = MustApplyGuard(StatementCmd(NodeSigned(2, statement)));
  EXPECT_EQ(oversized.status_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(oversized.status_message().find("alarm_report.detail"), std::string::npos)
      << oversized.status_message();
  alarm->set_detail("ok");
  alarm->set_kind("");
  v1::CommandResult no_kind = MustApplyGuard(StatementCmd(NodeSigned(2, statement)));
  EXPECT_NE(no_kind.status_message().find("alarm_report.kind"), std::string::npos)
      << no_kind.status_message();
  // Another node's report signed with site-a's node key is not believed.
  alarm->set_kind("chain-mismatch");
  statement.set_cluster(gt::kCluster);
  statement.set_node_id(3);
  statement.set_signed_at_ms(gt::NowMs());
  EXPECT_EQ(
      MustApplyGuard(StatementCmd(gt::SignNodeStatement(world_.node_a, statement))).status_code(),
      static_cast<int>(absl::StatusCode::kPermissionDenied));

  const std::vector<v1::AuditRecord> log = AuditLog();
  ASSERT_EQ(log.size(), audited + 4);
  EXPECT_EQ(log[audited].kind(), "node.alarm");
  EXPECT_NE(log[audited].detail().find("raised an alarm: refused-truncation against node 1 (term "
                                       "7, index 42): leader 1 tried to overwrite"),
            std::string::npos)
      << log[audited].detail();
  for (size_t i = audited + 1; i < log.size(); ++i) {
    EXPECT_EQ(log[i].kind(), "node.alarm");
    EXPECT_EQ(log[i].detail().rfind("refused: ", 0), 0u) << log[i].detail();
  }
}

TEST_F(ProposalApplyTest, GuardCommandsBeforeGenesisAreRefusedAndAudited) {
  sm_ = OpenMachine("fresh", &local_now_ms_);
  index_ = 0;
  v1::SignedProposal proposal = gt::SignProposal(world_.alice, gt::Body(gt::PurgeVault("alice")));
  v1::CommandResult refused = MustApplyGuard(SubmitCmd(proposal));
  EXPECT_EQ(refused.status_code(), static_cast<int>(absl::StatusCode::kFailedPrecondition));
  ASSERT_EQ(AuditLog().size(), 1u);
  EXPECT_EQ(AuditLog()[0].kind(), "proposal.submit");
}

}  // namespace
}  // namespace qbox::mailbox::testing

#include "node/guard/proposal_rules.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/guard/charter_fixtures.h"

namespace qbox::guard {
namespace {

using testing::Approve;
using testing::Body;
using testing::Clock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Issue;
using testing::NewSiteCa;
using testing::PurgeVault;
using testing::SignEndorsement;
using testing::SignProposal;
using testing::SignRawLeaf;
using testing::Veto;

using Event = v1::ProposalClock;

class ProposalRulesTest : public ::testing::Test {
 protected:
  ProposalRulesTest() {
    proposal_ = SignProposal(world_.alice, Body(PurgeVault("victim@example.org")));
    absl::StatusOr<v1::ProposalRecord> record =
        AcceptProposal(world_.charter, world_.trust, proposal_, 10);
    EXPECT_TRUE(record.ok()) << record.status();
    if (record.ok()) record_ = *record;
  }

  absl::StatusOr<ProposalChange> Endorse(const v1::SignedEndorsement& e, uint64_t index) {
    return AcceptEndorsement(world_.charter, world_.trust, e, index, &record_);
  }

  // Runs `submit` and checks that it failed with `code` (and `text`) and
  // left the record exactly as it was.
  void ExpectRefusedUnchanged(const v1::SignedEndorsement& e, absl::StatusCode code,
                              const std::string& text) {
    const std::string before = record_.SerializeAsString();
    absl::StatusOr<ProposalChange> change = Endorse(e, 99);
    EXPECT_EQ(change.status().code(), code) << change.status();
    EXPECT_THAT(change.status().message(), HasSubstr(text));
    EXPECT_EQ(record_.SerializeAsString(), before) << "a refused endorsement changed the record";
  }

  testing::CharterWorld world_;
  v1::SignedProposal proposal_;
  v1::ProposalRecord record_;
};

TEST(ProposalIdTest, ThirtyTwoLowercaseHex) {
  EXPECT_TRUE(IsValidProposalId("0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(IsValidProposalId("0123456789ABCDEF0123456789abcdef"));
  EXPECT_FALSE(IsValidProposalId("0123456789abcdef0123456789abcde"));
  EXPECT_FALSE(IsValidProposalId("0123456789abcdef0123456789abcdeg"));
  EXPECT_FALSE(IsValidProposalId(""));
}

TEST_F(ProposalRulesTest, AcceptedProposalIsPendingWithTheProposersSiteCounted) {
  EXPECT_EQ(record_.proposal_id(), testing::kProposalId);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_PENDING);
  EXPECT_EQ(record_.signed_().SerializeAsString(), proposal_.SerializeAsString());
  EXPECT_EQ(record_.body().action().purge_vault().account(), "victim@example.org");
  EXPECT_EQ(record_.proposer().site(), "site-a");
  EXPECT_EQ(record_.proposer().name(), "site-a/admin/alice");
  EXPECT_EQ(record_.proposer().log_index(), 10u);
  ASSERT_EQ(record_.approvals_size(), 1);
  EXPECT_EQ(record_.approvals(0).name(), "site-a/admin/alice");
  EXPECT_THAT(record_.approved_sites(), ElementsAre("site-a"));
  EXPECT_EQ(record_.required_sites(), 2u);
  EXPECT_EQ(record_.ttl_ms(), kDefaultProposalTtlMs);
  EXPECT_EQ(record_.submitted_index(), 10u);
  EXPECT_EQ(record_.approved_index(), 0u);
  EXPECT_EQ(ProposalStateName(record_.state()), "PENDING");
  EXPECT_EQ(ProposalDigest(proposal_).size(), 32u);
}

TEST_F(ProposalRulesTest, WithMOneTheProposalIsApprovedAtOnce) {
  v1::Charter charter = world_.charter;
  charter.set_required_sites(1);
  charter.set_delay_ms(5000);
  absl::StatusOr<v1::ProposalRecord> record = AcceptProposal(charter, world_.trust, proposal_, 7);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->state(), v1::PROPOSAL_STATE_APPROVED);
  EXPECT_EQ(record->approved_index(), 7u);
  EXPECT_EQ(record->delay_ms(), 5000);
}

TEST_F(ProposalRulesTest, RefusesBadProposals) {
  struct Case {
    v1::SignedProposal proposal;
    absl::StatusCode code;
    std::string text;
  };
  v1::ProposalBody wrong_cluster = Body(PurgeVault("x"));
  wrong_cluster.set_cluster("other");
  v1::ProposalBody bad_id = Body(PurgeVault("x"), "not-an-id");
  v1::ProposalBody long_reason = Body(PurgeVault("x"));
  long_reason.set_reason(std::string(1025, 'r'));
  v1::SignedProposal unparsable = proposal_;
  unparsable.set_body("\xff\xff\xff");
  v1::SignedProposal other_bytes = proposal_;
  other_bytes.set_body(Body(PurgeVault("someone-else")).SerializeAsString());
  const Case cases[] = {
      {SignProposal(world_.alice, Body(v1::ProposedAction())), absl::StatusCode::kInvalidArgument,
       "action: unknown kind"},
      {SignProposal(world_.alice, wrong_cluster), absl::StatusCode::kInvalidArgument,
       "proposal.body.cluster: 'other' is not this cluster"},
      {SignProposal(world_.alice, bad_id), absl::StatusCode::kInvalidArgument,
       "proposal.body.proposal_id"},
      {SignProposal(world_.alice, long_reason), absl::StatusCode::kInvalidArgument,
       "proposal.body.reason: is 1025 bytes"},
      {unparsable, absl::StatusCode::kInvalidArgument, "proposal.body"},
      {other_bytes, absl::StatusCode::kUnauthenticated, "does not verify over these bytes"},
      {SignProposal(world_.frontend_b, Body(PurgeVault("x"))), absl::StatusCode::kPermissionDenied,
       "frontend"},
      {SignProposal(world_.node_a, Body(PurgeVault("x"))), absl::StatusCode::kPermissionDenied,
       "node"},
      {SignProposal(Issue(NewSiteCa("site-b"), "site-b", "admin", "bob"), Body(PurgeVault("x"))),
       absl::StatusCode::kUnauthenticated, "proposal.signature.certificate_pem"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<v1::ProposalRecord> record =
        AcceptProposal(world_.charter, world_.trust, c.proposal, 11);
    EXPECT_EQ(record.status().code(), c.code) << c.text << ": " << record.status();
    EXPECT_THAT(record.status().message(), HasSubstr(c.text));
  }
}

TEST_F(ProposalRulesTest, ASecondSiteApprovesAndTheDelayStarts) {
  absl::StatusOr<ProposalChange> change = Endorse(Approve(world_.bob, proposal_, "checked"), 12);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kApproved);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_APPROVED);
  EXPECT_EQ(record_.approved_index(), 12u);
  EXPECT_EQ(record_.delay_ms(), kDefaultDelayMs);
  EXPECT_THAT(record_.approved_sites(), ElementsAre("site-a", "site-b"));
  ASSERT_EQ(record_.approvals_size(), 2);
  EXPECT_EQ(record_.approvals(1).name(), "site-b/admin/bob");
  EXPECT_EQ(record_.approvals(1).comment(), "checked");
  EXPECT_EQ(record_.approvals(1).log_index(), 12u);

  // A third site's approval is recorded but changes nothing more.
  change = Endorse(Approve(world_.carol, proposal_), 13);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kNone);
  EXPECT_EQ(record_.approved_index(), 12u);
  EXPECT_EQ(record_.approvals_size(), 3);
}

TEST_F(ProposalRulesTest, TwoAdminsOfOneSiteCountOnce) {
  absl::StatusOr<ProposalChange> change = Endorse(Approve(world_.alan, proposal_), 12);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kNone);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_PENDING);
  EXPECT_EQ(record_.approvals_size(), 2);
  EXPECT_THAT(record_.approved_sites(), ElementsAre("site-a"));
}

TEST_F(ProposalRulesTest, TheSameAdminTwiceIsAlreadyExists) {
  ExpectRefusedUnchanged(Approve(world_.alice, proposal_), absl::StatusCode::kAlreadyExists,
                         "site-a/admin/alice already approved");
  ASSERT_TRUE(Endorse(Approve(world_.carol, proposal_), 12).ok());
  ExpectRefusedUnchanged(Approve(world_.carol, proposal_), absl::StatusCode::kAlreadyExists,
                         "site-c/admin/carol already approved");
}

TEST_F(ProposalRulesTest, RefusedEndorsementsLeaveTheRecordUnchanged) {
  ExpectRefusedUnchanged(Approve(world_.frontend_b, proposal_), absl::StatusCode::kPermissionDenied,
                         "frontend");
  ExpectRefusedUnchanged(Approve(Issue(NewSiteCa("site-b"), "site-b", "admin", "bob"), proposal_),
                         absl::StatusCode::kUnauthenticated,
                         "endorsement.signature.certificate_pem");
  ExpectRefusedUnchanged(
      Approve(SignRawLeaf(world_.sites.a, {"spiffe://site-b/admin/bob"}), proposal_),
      absl::StatusCode::kPermissionDenied, "impersonation");

  v1::Endorsement endorsement = testing::EndorsementOf(proposal_, v1::ENDORSEMENT_DECISION_APPROVE);
  v1::SignedEndorsement other_bytes = SignEndorsement(world_.bob, endorsement);
  endorsement.set_comment("changed after signing");
  other_bytes.set_endorsement(endorsement.SerializeAsString());
  ExpectRefusedUnchanged(other_bytes, absl::StatusCode::kUnauthenticated,
                         "does not verify over these bytes");

  v1::Endorsement wrong_digest =
      testing::EndorsementOf(proposal_, v1::ENDORSEMENT_DECISION_APPROVE);
  wrong_digest.set_proposal_sha256(std::string(32, 'x'));
  ExpectRefusedUnchanged(SignEndorsement(world_.bob, wrong_digest),
                         absl::StatusCode::kInvalidArgument, "endorsement.proposal_sha256");

  v1::Endorsement no_decision = testing::EndorsementOf(proposal_, v1::ENDORSEMENT_DECISION_APPROVE);
  no_decision.clear_decision();
  ExpectRefusedUnchanged(SignEndorsement(world_.bob, no_decision),
                         absl::StatusCode::kInvalidArgument, "endorsement.decision");

  // A decision of a kind this build does not know (a newer peer's enum
  // value) is refused, not read as an approval.
  v1::Endorsement future_decision =
      testing::EndorsementOf(proposal_, v1::ENDORSEMENT_DECISION_APPROVE);
  future_decision.set_decision(static_cast<v1::EndorsementDecision>(7));
  ExpectRefusedUnchanged(SignEndorsement(world_.bob, future_decision),
                         absl::StatusCode::kInvalidArgument, "endorsement.decision");

  v1::Endorsement wrong_cluster = testing::EndorsementOf(proposal_, v1::ENDORSEMENT_DECISION_VETO);
  wrong_cluster.set_cluster("elsewhere");
  ExpectRefusedUnchanged(SignEndorsement(world_.bob, wrong_cluster),
                         absl::StatusCode::kInvalidArgument, "endorsement.cluster");

  v1::Endorsement long_comment = testing::EndorsementOf(proposal_, v1::ENDORSEMENT_DECISION_VETO);
  long_comment.set_comment(std::string(1025, 'c'));
  ExpectRefusedUnchanged(SignEndorsement(world_.bob, long_comment),
                         absl::StatusCode::kInvalidArgument, "endorsement.comment");

  v1::SignedEndorsement garbage;
  garbage.set_endorsement("\xff\xff");
  ExpectRefusedUnchanged(garbage, absl::StatusCode::kInvalidArgument, "endorsement.endorsement");
  EXPECT_EQ(EndorsedProposalId(garbage).status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::string> id = EndorsedProposalId(Approve(world_.bob, proposal_));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, testing::kProposalId);

  // Signed with a certificate that had expired when the endorsement says it
  // was signed.
  LeafOptions past;
  past.not_before = absl::Now() - absl::Hours(48);
  past.validity = absl::Hours(24);
  ExpectRefusedUnchanged(Approve(Issue(world_.sites.b, "site-b", "admin", "old", past), proposal_),
                         absl::StatusCode::kUnauthenticated, "expired");
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_PENDING);
}

TEST_F(ProposalRulesTest, DelayElapsedNeedsMDistinctSitesThenExecutes) {
  // Before approval, no clock may start the action.
  absl::StatusOr<ProposalChange> early =
      AcceptProposalClock(Clock(Event::EVENT_DELAY_ELAPSED), "site-a", 11, &record_);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(early.status().message(), HasSubstr("PENDING"));

  ASSERT_TRUE(Endorse(Approve(world_.bob, proposal_), 12).ok());
  absl::StatusOr<ProposalChange> change =
      AcceptProposalClock(Clock(Event::EVENT_DELAY_ELAPSED), "site-a", 20, &record_);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kNone);
  // The same site again, from another of its nodes, still counts once.
  change = AcceptProposalClock(Clock(Event::EVENT_DELAY_ELAPSED), "site-a", 21, &record_);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kNone);
  change = AcceptProposalClock(Clock(Event::EVENT_DELAY_ELAPSED), "site-c", 22, &record_);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kExecute);
  EXPECT_THAT(record_.delay_elapsed_sites(), ElementsAre("site-a", "site-c"));

  FinishProposal(absl::OkStatus(), "purged 12 messages", 22, &record_);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_EXECUTED);
  EXPECT_EQ(record_.closed_index(), 22u);
  EXPECT_EQ(record_.outcome(), "purged 12 messages");
  ExpectRefusedUnchanged(Veto(world_.carol, proposal_, "too late"),
                         absl::StatusCode::kFailedPrecondition, "EXECUTED");
}

TEST_F(ProposalRulesTest, ExecutionErrorClosesAsFailed) {
  FinishProposal(absl::NotFoundError("account victim@example.org does not exist"), "", 30,
                 &record_);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_FAILED);
  EXPECT_EQ(record_.closed_index(), 30u);
  EXPECT_EQ(record_.outcome(), "account victim@example.org does not exist");
}

TEST_F(ProposalRulesTest, OneSitesClockDoesNotExpireAPendingProposalMSitesClocksDo) {
  absl::StatusOr<ProposalChange> change =
      AcceptProposalClock(Clock(Event::EVENT_EXPIRED), "site-b", 40, &record_);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kNone);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_PENDING);
  EXPECT_THAT(record_.expired_sites(), ElementsAre("site-b"));
  // The same site saying it again counts once.
  change = AcceptProposalClock(Clock(Event::EVENT_EXPIRED), "site-b", 41, &record_);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kNone);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_PENDING);

  change = AcceptProposalClock(Clock(Event::EVENT_EXPIRED), "site-c", 42, &record_);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kExpired);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_EXPIRED);
  EXPECT_EQ(record_.closed_index(), 42u);
  EXPECT_THAT(record_.expired_sites(), ElementsAre("site-b", "site-c"));
  EXPECT_THAT(record_.outcome(), HasSubstr("expired"));
  EXPECT_THAT(record_.outcome(), HasSubstr("1 of 2 sites"));
  EXPECT_THAT(record_.outcome(), HasSubstr("the clocks of site-b, site-c"));
  ExpectRefusedUnchanged(Approve(world_.bob, proposal_), absl::StatusCode::kFailedPrecondition,
                         "EXPIRED");
}

TEST_F(ProposalRulesTest, OneSitesExpiryStatementDoesNotStopTheOthersApproving) {
  ASSERT_TRUE(AcceptProposalClock(Clock(Event::EVENT_EXPIRED), "site-a", 40, &record_).ok());
  absl::StatusOr<ProposalChange> change = Endorse(Approve(world_.bob, proposal_), 41);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kApproved);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_APPROVED);
}

// A proposal to remove site-a (or replace its CA) signed by bob of site-b.
class EvictionProposalTest : public ProposalRulesTest {
 protected:
  void Propose(const v1::ProposedAction& action) {
    proposal_ = SignProposal(world_.bob, Body(action));
    absl::StatusOr<v1::ProposalRecord> record =
        AcceptProposal(world_.charter, world_.trust, proposal_, 10);
    ASSERT_TRUE(record.ok()) << record.status();
    record_ = *record;
  }
};

TEST_F(EvictionProposalTest, TheSiteARemoveSiteProposalNamesCannotVetoIt) {
  v1::ProposedAction action;
  action.mutable_remove_site()->set_site("site-a");
  Propose(action);
  EXPECT_EQ(SiteTheActionTargets(action), "site-a");
  ExpectRefusedUnchanged(Veto(world_.alice, proposal_, "keep us"),
                         absl::StatusCode::kPermissionDenied,
                         "endorsement.decision: site-a/admin/alice cannot veto");
  ExpectRefusedUnchanged(Veto(world_.alan, proposal_, "keep us"),
                         absl::StatusCode::kPermissionDenied, "has no veto over it");
  // It still takes its course: M sites approve, and another site may veto.
  ASSERT_TRUE(Endorse(Approve(world_.carol, proposal_), 12).ok());
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_APPROVED);
  ExpectRefusedUnchanged(Veto(world_.alice, proposal_, "still keep us"),
                         absl::StatusCode::kPermissionDenied, "cannot veto");
  absl::StatusOr<ProposalChange> vetoed = Endorse(Veto(world_.carol, proposal_, "changed"), 13);
  ASSERT_TRUE(vetoed.ok()) << vetoed.status();
  EXPECT_EQ(*vetoed, ProposalChange::kVetoed);
}

TEST_F(EvictionProposalTest, TheSiteAReplaceSiteCaProposalNamesCannotVetoIt) {
  v1::ProposedAction action;
  action.mutable_replace_site_ca()->set_site("site-a");
  action.mutable_replace_site_ca()->set_ca_cert_pem(NewSiteCa("site-a").certificate_pem);
  Propose(action);
  ExpectRefusedUnchanged(Veto(world_.alice, proposal_, "keep our CA"),
                         absl::StatusCode::kPermissionDenied, "cannot veto");
  // A proposal about another site: site-a's veto counts as before.
  v1::ProposedAction other = action;
  other.mutable_replace_site_ca()->set_site("site-c");
  other.mutable_replace_site_ca()->set_ca_cert_pem(NewSiteCa("site-c").certificate_pem);
  Propose(other);
  EXPECT_EQ(SiteTheActionTargets(PurgeVault("x")), "");
  absl::StatusOr<ProposalChange> vetoed = Endorse(Veto(world_.alice, proposal_, "no"), 13);
  ASSERT_TRUE(vetoed.ok()) << vetoed.status();
  EXPECT_EQ(*vetoed, ProposalChange::kVetoed);
}

TEST_F(ProposalRulesTest, ClockStatementsOutOfPlaceAreRefusedUnchanged) {
  ASSERT_TRUE(Endorse(Approve(world_.bob, proposal_), 12).ok());
  const std::string before = record_.SerializeAsString();
  absl::StatusOr<ProposalChange> expire =
      AcceptProposalClock(Clock(Event::EVENT_EXPIRED), "site-b", 41, &record_);
  EXPECT_EQ(expire.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(expire.status().message(), HasSubstr("APPROVED"));
  absl::StatusOr<ProposalChange> unknown =
      AcceptProposalClock(Clock(Event::EVENT_UNSPECIFIED), "site-b", 41, &record_);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<ProposalChange> other_id =
      AcceptProposalClock(Clock(Event::EVENT_DELAY_ELAPSED, "ffffffffffffffffffffffffffffffff"),
                          "site-b", 41, &record_);
  EXPECT_EQ(other_id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(record_.SerializeAsString(), before);
}

TEST_F(ProposalRulesTest, AnySiteMayVetoAfterApproval) {
  ASSERT_TRUE(Endorse(Approve(world_.bob, proposal_), 12).ok());
  absl::StatusOr<ProposalChange> change = Endorse(Veto(world_.carol, proposal_, "too soon"), 13);
  ASSERT_TRUE(change.ok()) << change.status();
  EXPECT_EQ(*change, ProposalChange::kVetoed);
  EXPECT_EQ(record_.state(), v1::PROPOSAL_STATE_VETOED);
  EXPECT_EQ(record_.closed_index(), 13u);
  EXPECT_EQ(record_.outcome(), "vetoed by site-c/admin/carol: too soon");
  ASSERT_EQ(record_.vetoes_size(), 1);
  EXPECT_EQ(record_.vetoes(0).site(), "site-c");

  const std::string before = record_.SerializeAsString();
  absl::StatusOr<ProposalChange> clock =
      AcceptProposalClock(Clock(Event::EVENT_DELAY_ELAPSED), "site-a", 14, &record_);
  EXPECT_EQ(clock.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(record_.SerializeAsString(), before);
  ExpectRefusedUnchanged(Approve(world_.carol, proposal_), absl::StatusCode::kFailedPrecondition,
                         "VETOED");
}

}  // namespace
}  // namespace qbox::guard

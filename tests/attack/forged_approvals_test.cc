// Scenario 3 of issue 5, forged approvals (DESIGN.md G2), and the bad
// input of signed statements: an approval signed by a front-end key, by a
// key no site's CA issued, or over other bytes is refused by every honest
// node; two approvals from one site count once; malformed charters,
// signatures, certificates and unknown proposal kinds get a clear error and
// change nothing.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/guard/credential_directory.h"
#include "node/guard/signed_statement.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "tests/attack/attack_support.h"

namespace qbox::attack {
namespace {

class ForgedApprovalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = StartCluster(AttackClusterOptions());
    ASSERT_TRUE(started.ok()) << started.status();
    cluster_ = *std::move(started);
    auto name = ClusterName(*cluster_);
    ASSERT_TRUE(name.ok()) << name.status();
    cluster_name_ = *name;
    auto committed = SeedMail(*cluster_, {"alice"}, 4);
    ASSERT_TRUE(committed.ok()) << committed.status();
    committed_ = *std::move(committed);
    for (int i = 0; i < cluster_->size(); ++i) {
      auto admin = IssuedCredential(*cluster_, i, "admin");
      ASSERT_TRUE(admin.ok()) << admin.status();
      admins_.push_back(*std::move(admin));
    }
  }

  void TearDown() override {
    if (HasFailure() && cluster_) std::cerr << AllLogTails(*cluster_);
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::string cluster_name_;
  MailByUid committed_;
  std::vector<PemCredential> admins_;  // t1 of site-a, site-b, site-c
};

TEST_F(ForgedApprovalsTest, ForgedApprovalsAreRejectedEverywhereAndOneSiteCountsOnce) {
  auto proposal = SignProposal(
      MakeProposalBody(cluster_name_, PurgeVault("alice"), "quota cleanup"), admins_[0]);
  ASSERT_TRUE(proposal.ok()) << proposal.status();
  auto submitted = SubmitProposal(*cluster_, admins_[0], *proposal);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  ASSERT_EQ(submitted->state(), v1::PROPOSAL_STATE_PENDING);
  const std::string id = submitted->proposal_id();
  std::vector<v1::Signature> refused, accepted = {proposal->signature()};

  const v1::Endorsement approve =
      MakeEndorsement(cluster_name_, *proposal, v1::ENDORSEMENT_DECISION_APPROVE);
  auto frontend_b = IssuedCredential(*cluster_, 1, "frontend");
  ASSERT_TRUE(frontend_b.ok()) << frontend_b.status();
  auto stranger = MintStrangerAdmin("site-b");
  ASSERT_TRUE(stranger.ok()) << stranger.status();

  // Each forgery is sent by site-b's real admin, so only the signature
  // inside can be what refuses it.
  auto expect_refused = [&](const std::string& what, const v1::SignedEndorsement& endorsement,
                            absl::StatusCode code) {
    SCOPED_TRACE(what);
    auto result = EndorseProposal(*cluster_, admins_[1], endorsement);
    EXPECT_EQ(result.status().code(), code) << result.status();
    refused.push_back(endorsement.signature());
  };
  {
    auto signed_by_frontend = SignEndorsement(approve, *frontend_b);
    ASSERT_TRUE(signed_by_frontend.ok()) << signed_by_frontend.status();
    expect_refused("front-end key", *signed_by_frontend, absl::StatusCode::kPermissionDenied);
  }
  {
    auto signed_by_stranger = SignEndorsement(approve, *stranger);
    ASSERT_TRUE(signed_by_stranger.ok()) << signed_by_stranger.status();
    expect_refused("unknown CA", *signed_by_stranger, absl::StatusCode::kUnauthenticated);
  }
  {
    // site-b's admin approved other proposal bytes (a purge of bob's
    // vault under the same id): it must not count for this one.
    v1::ProposalBody other;
    ASSERT_TRUE(other.ParseFromString(proposal->body()));
    other.mutable_action()->mutable_purge_vault()->set_account("bob");
    v1::SignedProposal other_signed = *proposal;
    other_signed.set_body(other.SerializeAsString());
    v1::Endorsement wrong = approve;
    wrong.set_proposal_sha256(
        MakeEndorsement(cluster_name_, other_signed, v1::ENDORSEMENT_DECISION_APPROVE)
            .proposal_sha256());
    auto signed_wrong = SignEndorsement(wrong, admins_[1]);
    ASSERT_TRUE(signed_wrong.ok()) << signed_wrong.status();
    expect_refused("approval of other bytes", *signed_wrong, absl::StatusCode::kInvalidArgument);
  }
  {
    // A real site-b signature, over a veto, with the bytes swapped for an
    // approval: the signature does not cover what is claimed.
    v1::Endorsement veto = approve;
    veto.set_decision(v1::ENDORSEMENT_DECISION_VETO);
    auto signed_veto = SignEndorsement(veto, admins_[1]);
    ASSERT_TRUE(signed_veto.ok()) << signed_veto.status();
    v1::SignedEndorsement swapped = *signed_veto;
    swapped.set_endorsement(approve.SerializeAsString());
    expect_refused("signature over different bytes", swapped, absl::StatusCode::kUnauthenticated);
  }
  {
    // The proposer approving again is the same admin twice.
    auto again = SignEndorsement(approve, admins_[0]);
    ASSERT_TRUE(again.ok()) << again.status();
    expect_refused("proposer approving again", *again, absl::StatusCode::kAlreadyExists);
  }
  {
    // A second admin of site-a: recorded, counts once.
    auto admin_a2 = MintLeaf(*cluster_, 0, "admin", "t2");
    ASSERT_TRUE(admin_a2.ok()) << admin_a2.status();
    auto second = SignEndorsement(
        MakeEndorsement(cluster_name_, *proposal, v1::ENDORSEMENT_DECISION_APPROVE), *admin_a2);
    ASSERT_TRUE(second.ok()) << second.status();
    auto result = EndorseProposal(*cluster_, admins_[0], *second);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->state(), v1::PROPOSAL_STATE_PENDING);
    accepted.push_back(second->signature());
  }

  // Every honest node decided the same: site-a alone approved (twice,
  // counted once), no forgery counted, alice's vault and mail untouched.
  for (int i = 0; i < cluster_->size(); ++i) {
    SCOPED_TRACE(cluster_->site(i));
    auto record = GetProposalOn(*cluster_, i, id);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_NE(record->state(), v1::PROPOSAL_STATE_APPROVED);
    EXPECT_NE(record->state(), v1::PROPOSAL_STATE_EXECUTED);
    ASSERT_EQ(record->approved_sites_size(), 1);
    EXPECT_EQ(record->approved_sites(0), "site-a");
    EXPECT_EQ(record->approvals_size(), 2);
    EXPECT_EQ(record->approved_index(), 0u);
  }
  absl::Status mail = CheckMailOnEveryNode(*cluster_, committed_);
  EXPECT_TRUE(mail.ok()) << mail;
  absl::Status audited = CheckAttemptsAudited(*cluster_, refused, accepted);
  EXPECT_TRUE(audited.ok()) << audited;
}

// Submits proposals that are bad in one way each; every one is refused with
// the expected code and a message naming what is wrong, is audited if it
// got as far as the log, and leaves the charter and the proposals as they
// were on every node.
TEST_F(ForgedApprovalsTest, BadSignedInputGetsAClearErrorAndChangesNothing) {
  auto charter_before = GetCharterOn(*cluster_, 0);
  ASSERT_TRUE(charter_before.ok()) << charter_before.status();
  const PemCredential& admin = admins_[0];

  struct Case {
    std::string what;
    v1::SignedProposal proposal;
    absl::StatusCode code;
    std::string message_names;  // a word the error must contain
    bool reaches_log;           // false: refused by the RPC's shape check
  };
  std::vector<Case> cases;
  auto signed_body = [&](const v1::ProposalBody& body, const PemCredential& signer) {
    auto p = SignProposal(body, signer);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.value_or(v1::SignedProposal());
  };
  {
    v1::ProposalBody body = MakeProposalBody(cluster_name_, v1::ProposedAction(), "nothing");
    cases.push_back({"unknown action kind", signed_body(body, admin),
                     absl::StatusCode::kInvalidArgument, "action", true});
  }
  {
    // An action of a kind this build does not know (field 99 of
    // ProposedAction): it parses as no action at all.
    v1::ProposalBody body = MakeProposalBody(cluster_name_, v1::ProposedAction(), "future");
    body.clear_action();
    const std::string bytes = body.SerializeAsString() + std::string("\x1a\x03\x98\x06\x01", 5);
    v1::ProposalBody reparsed;
    ASSERT_TRUE(reparsed.ParseFromString(bytes));
    ASSERT_EQ(reparsed.action().action_case(), v1::ProposedAction::ACTION_NOT_SET);
    auto p = SignProposalBytes(bytes, admin);
    ASSERT_TRUE(p.ok()) << p.status();
    cases.push_back({"action of a kind this build does not know", *p,
                     absl::StatusCode::kInvalidArgument, "action", true});
  }
  {
    // Signed garbage: only the parse can refuse it.
    auto p = SignProposalBytes("this is not a serialized ProposalBody \xff\xff\xff", admin);
    ASSERT_TRUE(p.ok()) << p.status();
    cases.push_back(
        {"malformed proposal body", *p, absl::StatusCode::kInvalidArgument, "proposal.body", true});
  }
  {
    v1::SignedProposal p = signed_body(
        MakeProposalBody(cluster_name_, ReplaceSiteCa("site-b", "not a certificate"), "x"), admin);
    cases.push_back({"malformed charter: a CA that does not parse", p,
                     absl::StatusCode::kInvalidArgument, "ca_cert_pem", true});
  }
  {
    v1::SignedProposal p =
        signed_body(MakeProposalBody(cluster_name_, SetRequiredSites(5), "x"), admin);
    cases.push_back({"malformed charter: M above the number of sites", p,
                     absl::StatusCode::kInvalidArgument, "required_sites", true});
  }
  {
    auto leaf = IssuedCredential(*cluster_, 1, "admin");
    ASSERT_TRUE(leaf.ok());
    v1::ProposedAction add;
    add.mutable_add_site()->set_site("site-d");
    add.mutable_add_site()->set_ca_cert_pem(leaf->certificate_pem);  // a leaf, not a CA
    v1::SignedProposal p = signed_body(MakeProposalBody(cluster_name_, add, "x"), admin);
    cases.push_back({"malformed charter: a leaf as a site's CA", p,
                     absl::StatusCode::kInvalidArgument, "ca_cert_pem", true});
  }
  {
    guard::LeafOptions expired;
    expired.not_before = absl::Now() - absl::Hours(48);
    expired.validity = absl::Hours(1);
    auto old_admin = MintLeaf(*cluster_, 0, "admin", "retired", expired);
    ASSERT_TRUE(old_admin.ok()) << old_admin.status();
    cases.push_back(
        {"expired certificate",
         signed_body(MakeProposalBody(cluster_name_, PurgeVault("alice"), "x"), *old_admin),
         absl::StatusCode::kUnauthenticated, "", true});
  }
  {
    guard::LeafOptions future;
    future.not_before = absl::Now() + absl::Hours(48);
    auto early_admin = MintLeaf(*cluster_, 0, "admin", "early", future);
    ASSERT_TRUE(early_admin.ok()) << early_admin.status();
    cases.push_back(
        {"certificate not valid yet",
         signed_body(MakeProposalBody(cluster_name_, PurgeVault("alice"), "x"), *early_admin),
         absl::StatusCode::kUnauthenticated, "", true});
  }
  {
    auto stranger = MintStrangerAdmin("site-a");
    ASSERT_TRUE(stranger.ok()) << stranger.status();
    cases.push_back(
        {"certificate of an unknown CA",
         signed_body(MakeProposalBody(cluster_name_, PurgeVault("alice"), "x"), *stranger),
         absl::StatusCode::kUnauthenticated, "", true});
  }
  {
    v1::SignedProposal p =
        signed_body(MakeProposalBody(cluster_name_, PurgeVault("alice"), "x"), admin);
    p.mutable_signature()->set_signature("\x30\x03\x02\x01");  // truncated DER
    cases.push_back(
        {"malformed signature", p, absl::StatusCode::kInvalidArgument, "signature", true});
  }
  {
    v1::SignedProposal p =
        signed_body(MakeProposalBody(cluster_name_, PurgeVault("alice"), "x"), admin);
    p.mutable_signature()->set_certificate_pem("-----BEGIN CERTIFICATE-----\nnope\n");
    cases.push_back(
        {"malformed certificate", p, absl::StatusCode::kInvalidArgument, "certificate_pem", true});
  }
  {
    v1::SignedProposal p =
        signed_body(MakeProposalBody(cluster_name_, PurgeVault("alice"), "x"), admin);
    p.mutable_signature()->clear_signature();
    cases.push_back({"empty signature", p, absl::StatusCode::kInvalidArgument, "signature", false});
  }
  {
    v1::SignedProposal p =
        signed_body(MakeProposalBody(cluster_name_, PurgeVault("alice"), "x"), admin);
    p.clear_body();
    cases.push_back({"empty body", p, absl::StatusCode::kInvalidArgument, "body", false});
  }

  std::vector<v1::Signature> refused;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto result = SubmitProposal(*cluster_, admin, c.proposal);
    EXPECT_EQ(result.status().code(), c.code) << result.status();
    if (!c.message_names.empty()) {
      EXPECT_TRUE(absl::StrContains(result.status().message(), c.message_names))
          << "the error should name '" << c.message_names << "': " << result.status();
    }
    if (c.reaches_log && !c.proposal.signature().signature().empty()) {
      refused.push_back(c.proposal.signature());
    }
  }

  // A malformed endorsement too: bytes that are no Endorsement.
  {
    v1::SignedEndorsement garbage;
    garbage.set_endorsement("\xff\xfe not an endorsement");
    auto sig = guard::SignStatement(guard::StatementKind::kEndorsement, garbage.endorsement(),
                                    admins_[1].certificate_pem, admins_[1].private_key_pem);
    ASSERT_TRUE(sig.ok()) << sig.status();
    *garbage.mutable_signature() = *sig;
    auto result = EndorseProposal(*cluster_, admins_[1], garbage);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_TRUE(absl::StrContains(result.status().message(), "endorsement")) << result.status();
    refused.push_back(garbage.signature());
  }

  for (int i = 0; i < cluster_->size(); ++i) {
    SCOPED_TRACE(cluster_->site(i));
    auto charter = GetCharterOn(*cluster_, i);
    ASSERT_TRUE(charter.ok()) << charter.status();
    EXPECT_EQ(charter->charter().SerializeAsString(),
              charter_before->charter().SerializeAsString());
    auto proposals = ListProposalsOn(*cluster_, i);
    ASSERT_TRUE(proposals.ok()) << proposals.status();
    EXPECT_TRUE(proposals->empty()) << proposals->size() << " proposals were created";
  }
  absl::Status mail = CheckMailOnEveryNode(*cluster_, committed_);
  EXPECT_TRUE(mail.ok()) << mail;
  absl::Status audited = CheckAttemptsAudited(*cluster_, refused, {});
  EXPECT_TRUE(audited.ok()) << audited;
}

}  // namespace
}  // namespace qbox::attack

namespace qbox::attack {
namespace {

// A malformed charter in the cluster configuration: the node refuses to
// start and says which field is wrong, instead of running with a charter
// the other sites never agreed to.
TEST(MalformedCharterTest, ANodeRefusesToStartNamingTheBadField) {
  auto cluster = LocalCluster::Create(AttackClusterOptions());
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto config = guard::ReadTextFile((*cluster)->cluster_config_path());
  ASSERT_TRUE(config.ok()) << config.status();
  const std::string good = "\"required_sites\": 2";
  const size_t at = config->find(good);
  ASSERT_NE(at, std::string::npos) << *config;
  std::string bad = *config;
  bad.replace(at, good.size(), "\"required_sites\": 7");
  ASSERT_TRUE(guard::WriteFileAtomically((*cluster)->cluster_config_path(), bad, 0644,
                                         /*overwrite=*/true)
                  .ok());
  ASSERT_TRUE((*cluster)->Start(0).ok());
  absl::Status exited = WaitFor(absl::Seconds(20), [&]() {
    return (*cluster)->Running(0) ? absl::FailedPreconditionError("still running")
                                  : absl::OkStatus();
  });
  ASSERT_TRUE(exited.ok()) << "a node started with M = 7 of 3 sites\n" << (*cluster)->LogTail(0);
  EXPECT_TRUE(absl::StrContains((*cluster)->LogTail(0), "required_sites"))
      << (*cluster)->LogTail(0);
}

}  // namespace
}  // namespace qbox::attack

// The audit log verifier on records built in memory: a log made of real
// signed statements (real CAs, real keys) verifies; altering any record, a
// signature, the order, or signing with a CA the charter never had breaks
// it at that record; records the nodes refused are only counted.
#include "ctl/audit_verifier.h"

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/admin_command.h"
#include "node/guard/audit_chain.h"
#include "node/guard/peer_identity.h"
#include "node/guard/signed_statement.h"
#include "node/guard/site_ca.h"
#include "qbox/v1/command.pb.h"

namespace qbox::ctl {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Site {
  std::string name;
  guard::PemCredential ca;
  guard::PemCredential admin;
};

Site MakeSite(const std::string& name) {
  Site site;
  site.name = name;
  site.ca = guard::CreateSiteCa(name).value();
  site.admin =
      guard::IssueLeafCertificate(site.ca, guard::MakePeerIdentity(name, "admin", "admin1").value())
          .value();
  return site;
}

class AuditVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sites_ = {MakeSite("site-a"), MakeSite("site-b"), MakeSite("site-c")};
    charter_.set_cluster("test");
    for (const Site& s : sites_) {
      v1::CharterSite* site = charter_.add_sites();
      site->set_name(s.name);
      site->set_ca_cert_pem(s.ca.certificate_pem);
    }
    charter_.set_required_sites(2);
    charter_.set_version(1);
  }

  void Append(const std::string& actor, const std::string& kind, const std::string& command,
              const std::string& detail, uint64_t log_index) {
    v1::AuditRecord record;
    record.set_log_index(log_index);
    record.set_actor(actor);
    record.set_kind(kind);
    record.set_command(command);
    record.set_detail(detail);
    guard::SealAuditRecord(records_.empty() ? nullptr : &records_.back(), &record);
    records_.push_back(record);
  }

  // A MailboxCommand carrying a proposal signed by `signer`.
  std::string ProposalCommand(const guard::PemCredential& signer, const std::string& id) {
    v1::ProposalBody body;
    body.set_cluster("test");
    body.set_proposal_id(id);
    body.mutable_action()->mutable_purge_vault()->set_account("alice");
    body.set_reason("test");
    body.set_created_at_ms(absl::ToUnixMillis(absl::Now()));
    v1::MailboxCommand command;
    v1::SignedProposal* p = command.mutable_submit_proposal();
    body.SerializeToString(p->mutable_body());
    *p->mutable_signature() = guard::SignStatement(guard::StatementKind::kProposalBody, p->body(),
                                                   signer.certificate_pem, signer.private_key_pem)
                                  .value();
    return command.SerializeAsString();
  }

  std::string EndorsementCommand(const guard::PemCredential& signer, const std::string& id) {
    v1::Endorsement e;
    e.set_cluster("test");
    e.set_proposal_id(id);
    e.set_proposal_sha256(std::string(32, 'x'));
    e.set_decision(v1::ENDORSEMENT_DECISION_APPROVE);
    e.set_signed_at_ms(absl::ToUnixMillis(absl::Now()));
    v1::MailboxCommand command;
    v1::SignedEndorsement* s = command.mutable_endorse_proposal();
    e.SerializeToString(s->mutable_endorsement());
    *s->mutable_signature() =
        guard::SignStatement(guard::StatementKind::kEndorsement, s->endorsement(),
                             signer.certificate_pem, signer.private_key_pem)
            .value();
    return command.SerializeAsString();
  }

  // genesis, an admin command, a proposal by site-a, an approval by site-b.
  void BuildHonestLog() {
    Append("", "charter.genesis", charter_.SerializeAsString(), "charter version 1", 1);
    v1::MailboxCommand create;
    create.mutable_create_account()->mutable_request()->set_account("alice");
    Append("site-a/admin/admin1", "admin.create_account", create.SerializeAsString(), "created", 3);
    Append("site-a/admin/admin1", "proposal.submit",
           ProposalCommand(sites_[0].admin, std::string(32, 'a')), "submitted", 4);
    Append("site-b/admin/admin1", "proposal.endorse",
           EndorsementCommand(sites_[1].admin, std::string(32, 'a')), "approved by site-b", 5);
  }

  AuditVerification Verify() { return VerifyAuditLog(records_, {}, charter_); }

  std::vector<Site> sites_;
  v1::Charter charter_;
  std::vector<v1::AuditRecord> records_;
};

TEST_F(AuditVerifierTest, HonestLogVerifies) {
  BuildHonestLog();
  AuditVerification v = Verify();
  ASSERT_FALSE(v.broken.has_value()) << v.broken->reason;
  EXPECT_EQ(v.records, 4u);
  EXPECT_EQ(v.signatures, 2u);
  EXPECT_EQ(v.refused, 0u);
  EXPECT_EQ(DescribeVerification(v),
            "OK: 4 records, 2 signatures verified, 0 refused attempts, head " + v.head_hex);
  EXPECT_EQ(v.head_hex.size(), 64u);
}

TEST_F(AuditVerifierTest, EmptyLogIsOk) {
  AuditVerification v = Verify();
  EXPECT_FALSE(v.broken.has_value());
  EXPECT_EQ(v.records, 0u);
}

TEST_F(AuditVerifierTest, AlteredDetailBreaksTheChainAtThatRecord) {
  BuildHonestLog();
  records_[2].set_detail("submitted (edited)");
  AuditVerification v = Verify();
  ASSERT_TRUE(v.broken.has_value());
  EXPECT_EQ(v.broken->seq, 3u);
  EXPECT_EQ(v.broken->log_index, 4u);
  EXPECT_THAT(DescribeVerification(v), StartsWith("BROKEN at seq 3 (log index 4): "));
  EXPECT_THAT(v.broken->reason, HasSubstr("altered"));
  EXPECT_EQ(v.records, 2u);
}

TEST_F(AuditVerifierTest, ResealedRecordBreaksTheLinkOfTheNext) {
  BuildHonestLog();
  // An attacker who rewrites a record and recomputes its hash still breaks
  // the next record's prev_hash.
  records_[1].set_actor("site-c/admin/admin1");
  guard::SealAuditRecord(&records_[0], &records_[1]);
  AuditVerification v = Verify();
  ASSERT_TRUE(v.broken.has_value());
  EXPECT_EQ(v.broken->seq, 3u);
  EXPECT_THAT(v.broken->reason, HasSubstr("prev_hash"));
}

TEST_F(AuditVerifierTest, MissingRecordIsASeqGap) {
  BuildHonestLog();
  records_.erase(records_.begin() + 1);
  AuditVerification v = Verify();
  ASSERT_TRUE(v.broken.has_value());
  EXPECT_EQ(v.broken->seq, 3u);
  EXPECT_THAT(v.broken->reason, HasSubstr("expected seq 2"));
}

TEST_F(AuditVerifierTest, ForgedSignatureInAnAcceptedRecordIsBroken) {
  BuildHonestLog();
  // A whole consistent chain whose proposal is signed by a CA that no
  // charter ever had: only the signature check can catch it.
  Site outsider = MakeSite("site-a");
  records_.resize(2);
  Append("site-a/admin/admin1", "proposal.submit",
         ProposalCommand(outsider.admin, std::string(32, 'b')), "submitted", 6);
  AuditVerification v = Verify();
  ASSERT_TRUE(v.broken.has_value());
  EXPECT_EQ(v.broken->seq, 3u);
  EXPECT_EQ(v.broken->log_index, 6u);
  EXPECT_THAT(v.broken->reason, HasSubstr("signature of the proposal"));
}

TEST_F(AuditVerifierTest, FlippedSignatureByteIsBroken) {
  BuildHonestLog();
  v1::MailboxCommand command;
  ASSERT_TRUE(command.ParseFromString(records_[3].command()));
  std::string* sig = command.mutable_endorse_proposal()->mutable_signature()->mutable_signature();
  (*sig)[sig->size() / 2] ^= 0x01;
  records_[3].set_command(command.SerializeAsString());
  guard::SealAuditRecord(&records_[2], &records_[3]);
  AuditVerification v = Verify();
  ASSERT_TRUE(v.broken.has_value());
  EXPECT_EQ(v.broken->seq, 4u);
  EXPECT_THAT(v.broken->reason, HasSubstr("endorsement"));
}

TEST_F(AuditVerifierTest, AnAdminCommandsActorMustBeItsVerifiedSignerOrMarkedUnverified) {
  BuildHonestLog();
  v1::MailboxCommand create;
  v1::CreateAccountRequest* req = create.mutable_create_account()->mutable_request();
  req->set_account("bob");
  *req->mutable_admin_signature() =
      guard::SignAdminCommand("test", *req, absl::ToUnixMillis(absl::Now()),
                              sites_[1].admin.certificate_pem, sites_[1].admin.private_key_pem)
          .value();
  Append("site-b/admin/admin1", "admin.create_account", create.SerializeAsString(), "done", 6);
  Append("unverified:site-c/admin/admin1", "admin.create_account", create.SerializeAsString(),
         "done (actor unverified: ...)", 7);
  AuditVerification v = Verify();
  ASSERT_FALSE(v.broken.has_value()) << v.broken->reason;
  EXPECT_EQ(v.signatures, 3u);

  // The same signed request attributed to someone else is caught.
  Append("site-c/admin/admin1", "admin.create_account", create.SerializeAsString(), "done", 8);
  v = Verify();
  ASSERT_TRUE(v.broken.has_value());
  EXPECT_EQ(v.broken->seq, 7u);
  EXPECT_THAT(v.broken->reason, HasSubstr("the actor is site-c/admin/admin1 but the admin "
                                          "signature is site-b/admin/admin1's"));
}

TEST_F(AuditVerifierTest, RefusedForgeryIsCountedNotBroken) {
  BuildHonestLog();
  Site outsider = MakeSite("site-b");
  Append("site-b/admin/admin1", "proposal.submit",
         ProposalCommand(outsider.admin, std::string(32, 'c')), "refused: unknown CA", 7);
  AuditVerification v = Verify();
  ASSERT_FALSE(v.broken.has_value()) << v.broken->reason;
  EXPECT_EQ(v.records, 5u);
  EXPECT_EQ(v.refused, 1u);
  EXPECT_EQ(v.signatures, 2u);
}

TEST_F(AuditVerifierTest, SignatureUnderAReplacedCaStillVerifies) {
  // site-b's CA was replaced by an executed proposal after site-b's admin
  // signed with the old one: the current charter alone would refuse it.
  BuildHonestLog();
  Site new_b = MakeSite("site-b");
  v1::Charter current = charter_;
  current.mutable_sites(1)->set_ca_cert_pem(new_b.ca.certificate_pem);
  // The old CA is known from the genesis record...
  AuditVerification v = VerifyAuditLog(records_, {}, current);
  ASSERT_FALSE(v.broken.has_value()) << v.broken->reason;
  EXPECT_EQ(v.signatures, 2u);

  // ...and a CA brought in by an executed replace-site-ca proposal counts too.
  Site newest_b = MakeSite("site-b");
  Append("site-b/admin/admin1", "proposal.endorse",
         EndorsementCommand(newest_b.admin, std::string(32, 'a')), "approved", 9);
  EXPECT_TRUE(VerifyAuditLog(records_, {}, current).broken.has_value());
  v1::ProposalRecord executed;
  executed.set_state(v1::PROPOSAL_STATE_EXECUTED);
  executed.mutable_body()->mutable_action()->mutable_replace_site_ca()->set_site("site-b");
  executed.mutable_body()->mutable_action()->mutable_replace_site_ca()->set_ca_cert_pem(
      newest_b.ca.certificate_pem);
  AuditVerification with_executed = VerifyAuditLog(records_, {executed}, current);
  EXPECT_FALSE(with_executed.broken.has_value()) << with_executed.broken->reason;
  EXPECT_EQ(with_executed.signatures, 3u);
}

}  // namespace
}  // namespace qbox::ctl

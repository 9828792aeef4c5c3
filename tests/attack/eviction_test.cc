// Threat A against governance (G2): a compromised site-a cannot keep itself
// in the cluster. Site-b proposes to remove site-a; site-a's admin vetoes
// (refused: the site a remove-site proposal names has no veto over it) and
// site-a's node signs a statement that the proposal's lifetime has passed
// (recorded, but one site's clock closes nothing). Site-c approves, T passes
// by the clocks of M sites, and the honest sites' charters no longer hold
// site-a. Every attempt is in the audit log, refused or accepted.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/attack/attack_support.h"

namespace qbox::attack {
namespace {

TEST(EvictionTest, TheSiteARemoveSiteProposalNamesCanNeitherVetoNorExpireIt) {
  auto started = StartCluster(AttackClusterOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  auto cluster_name = ClusterName(cluster);
  ASSERT_TRUE(cluster_name.ok()) << cluster_name.status();
  auto seeded = SeedMail(cluster, {"alice"}, 2);
  ASSERT_TRUE(seeded.ok()) << seeded.status();

  std::vector<PemCredential> admins;
  for (int i = 0; i < cluster.size(); ++i) {
    auto admin = IssuedCredential(cluster, i, "admin");
    ASSERT_TRUE(admin.ok()) << admin.status();
    admins.push_back(*std::move(admin));
  }
  std::vector<v1::Signature> refused, accepted;

  auto proposal = SignProposal(
      MakeProposalBody(*cluster_name, RemoveSite("site-a"), "site-a is compromised"), admins[1]);
  ASSERT_TRUE(proposal.ok()) << proposal.status();
  auto submitted = SubmitProposal(cluster, admins[1], *proposal);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  ASSERT_EQ(submitted->state(), v1::PROPOSAL_STATE_PENDING);
  accepted.push_back(proposal->signature());
  const std::string id = submitted->proposal_id();

  // Site-a's node says at once that the proposal outlived its lifetime.
  auto node_a = IssuedCredential(cluster, 0, "node");
  ASSERT_TRUE(node_a.ok()) << node_a.status();
  auto expired = SignProposalClock(*cluster_name, 1, id, v1::ProposalClock::EVENT_EXPIRED, *node_a);
  ASSERT_TRUE(expired.ok()) << expired.status();
  absl::Status sent = SubmitNodeStatement(cluster, *node_a, *expired);
  EXPECT_TRUE(sent.ok()) << sent;
  accepted.push_back(expired->signature());
  auto after_expiry = GetProposalOn(cluster, 1, id);
  ASSERT_TRUE(after_expiry.ok()) << after_expiry.status();
  EXPECT_EQ(after_expiry->state(), v1::PROPOSAL_STATE_PENDING) << after_expiry->outcome();

  // Site-a's admin vetoes, before and after M sites approved.
  auto veto = [&](const std::string& comment) {
    auto endorsement = SignEndorsement(
        MakeEndorsement(*cluster_name, *proposal, v1::ENDORSEMENT_DECISION_VETO), admins[0]);
    EXPECT_TRUE(endorsement.ok()) << endorsement.status();
    auto result = EndorseProposal(cluster, admins[0], *endorsement);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied)
        << comment << ": " << result.status();
    refused.push_back(endorsement->signature());
  };
  veto("while pending");
  auto approval = SignEndorsement(
      MakeEndorsement(*cluster_name, *proposal, v1::ENDORSEMENT_DECISION_APPROVE), admins[2]);
  ASSERT_TRUE(approval.ok()) << approval.status();
  auto approved = EndorseProposal(cluster, admins[2], *approval);
  ASSERT_TRUE(approved.ok()) << approved.status();
  EXPECT_EQ(approved->state(), v1::PROPOSAL_STATE_APPROVED);
  accepted.push_back(approval->signature());
  veto("while approved");

  // T passes by the clocks of site-b and site-c: site-a is removed.
  for (int i : {1, 2}) {
    absl::Status ran =
        WaitForProposalState(cluster, i, id, v1::PROPOSAL_STATE_EXECUTED, absl::Seconds(30));
    ASSERT_TRUE(ran.ok()) << ran << "\n" << AllLogTails(cluster);
    auto charter = GetCharterOn(cluster, i);
    ASSERT_TRUE(charter.ok()) << charter.status();
    for (const v1::CharterSite& site : charter->charter().sites()) {
      EXPECT_NE(site.name(), "site-a") << cluster.site(i) << " still holds site-a";
    }
    for (const v1::CharterNode& node : charter->charter().nodes()) {
      if (node.site() == "site-a") {
        EXPECT_TRUE(node.removed()) << cluster.site(i);
      }
    }
    auto record = GetProposalOn(cluster, i, id);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_EQ(record->vetoes_size(), 0) << cluster.site(i);
  }

  // Each attempt is in both honest audit logs, as refused or accepted.
  for (int i : {1, 2}) {
    auto records = AuditLogOn(cluster, i);
    ASSERT_TRUE(records.ok()) << records.status();
    EXPECT_TRUE(VerifyAuditChain(*records).ok());
    for (const v1::Signature& signature : refused) {
      const v1::AuditRecord* record = FindAuditRecord(*records, signature);
      ASSERT_NE(record, nullptr) << cluster.site(i) << " did not audit a refused veto";
      EXPECT_EQ(record->detail().rfind("refused", 0), 0u) << record->detail();
      EXPECT_NE(record->detail().find("has no veto over it"), std::string::npos)
          << record->detail();
    }
    for (const v1::Signature& signature : accepted) {
      const v1::AuditRecord* record = FindAuditRecord(*records, signature);
      ASSERT_NE(record, nullptr) << cluster.site(i) << " did not audit an accepted attempt";
      EXPECT_NE(record->detail().rfind("refused", 0), 0u) << record->detail();
    }
  }
  // Evicting a site touches no mail.
  for (int i : {1, 2}) {
    auto mail = ReadAllMail(cluster, i, AccountsOf(*seeded));
    ASSERT_TRUE(mail.ok()) << mail.status();
    EXPECT_EQ(*mail, *seeded) << cluster.site(i);
  }
  if (HasFailure()) std::cerr << AllLogTails(cluster);
}

}  // namespace
}  // namespace qbox::attack

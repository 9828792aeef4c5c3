// Scenario 2 of issue 5, impersonation (DESIGN.md G6): site-a's CA key is
// stolen and used to mint certificates naming site-b, and certificates of
// the wrong role are presented where an admin's is needed. Each is refused,
// as a TLS caller and as the signer of a proposal or approval, by every
// node, and nothing changes.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "qbox/v1/mailstore.grpc.pb.h"
#include "tests/attack/attack_support.h"

namespace qbox::attack {
namespace {

absl::StatusCode CodeOf(const grpc::Status& s) {
  return static_cast<absl::StatusCode>(s.error_code());
}

TEST(ImpersonationTest, SiteACertificatesNamingSiteBOrTheWrongRoleAreRefused) {
  auto started = StartCluster(AttackClusterOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  auto cluster_name = ClusterName(cluster);
  ASSERT_TRUE(cluster_name.ok()) << cluster_name.status();
  auto committed = SeedMail(cluster, {"alice"}, 4);
  ASSERT_TRUE(committed.ok()) << committed.status();

  auto ca_a = SiteCaOf(cluster, 0);
  ASSERT_TRUE(ca_a.ok()) << ca_a.status();
  auto fake_b_admin = MintImpostor(*ca_a, "spiffe://site-b/admin/mallory");
  ASSERT_TRUE(fake_b_admin.ok()) << fake_b_admin.status();
  auto fake_b_frontend = MintImpostor(*ca_a, "spiffe://site-b/frontend/mallory");
  ASSERT_TRUE(fake_b_frontend.ok()) << fake_b_frontend.status();
  auto admin_a = IssuedCredential(cluster, 0, "admin");
  ASSERT_TRUE(admin_a.ok()) << admin_a.status();
  auto frontend_b = IssuedCredential(cluster, 1, "frontend");
  ASSERT_TRUE(frontend_b.ok()) << frontend_b.status();
  auto node_b = IssuedCredential(cluster, 1, "node");
  ASSERT_TRUE(node_b.ok()) << node_b.status();

  // As TLS callers, on every node: the "site-b" admin from site-a's CA may
  // not even read, let alone create an account; the "site-b" front end may
  // not expunge; site-b's front end and node may not use Admin.
  for (int i = 0; i < cluster.size(); ++i) {
    SCOPED_TRACE(cluster.site(i));
    {
      auto stub = v1::Admin::NewStub(ChannelAs(cluster, i, *fake_b_admin));
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::GetClusterStatusResponse resp;
      grpc::Status s = stub->GetClusterStatus(&ctx, v1::GetClusterStatusRequest(), &resp);
      EXPECT_EQ(CodeOf(s), absl::StatusCode::kPermissionDenied) << s.error_message();
    }
    {
      auto stub = v1::Admin::NewStub(ChannelAs(cluster, i, *fake_b_admin));
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::CreateAccountRequest req;
      req.set_account("mallory");
      v1::CreateAccountResponse resp;
      grpc::Status s = stub->CreateAccount(&ctx, req, &resp);
      EXPECT_EQ(CodeOf(s), absl::StatusCode::kPermissionDenied) << s.error_message();
    }
    {
      auto stub = v1::MailStore::NewStub(ChannelAs(cluster, i, *fake_b_frontend));
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::ExpungeMessagesRequest req;
      req.set_account("alice");
      req.set_mailbox("INBOX");
      v1::ExpungeMessagesResponse resp;
      grpc::Status s = stub->ExpungeMessages(&ctx, req, &resp);
      EXPECT_EQ(CodeOf(s), absl::StatusCode::kPermissionDenied) << s.error_message();
    }
    for (const PemCredential* wrong_role : {&*frontend_b, &*node_b}) {
      auto stub = v1::Admin::NewStub(ChannelAs(cluster, i, *wrong_role));
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::CreateAccountRequest req;
      req.set_account("mallory");
      v1::CreateAccountResponse resp;
      grpc::Status s = stub->CreateAccount(&ctx, req, &resp);
      EXPECT_EQ(CodeOf(s), absl::StatusCode::kPermissionDenied) << s.error_message();
    }
  }

  // As signers. site-a's own admin proposes a purge (legitimately: it only
  // counts as site-a); then "site-b" approvals that are not site-b's admin.
  std::vector<v1::Signature> refused, accepted;
  auto proposal =
      SignProposal(MakeProposalBody(*cluster_name, PurgeVault("alice"), "make room"), *admin_a);
  ASSERT_TRUE(proposal.ok()) << proposal.status();
  auto submitted = SubmitProposal(cluster, *admin_a, *proposal);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  accepted.push_back(proposal->signature());
  const std::string id = submitted->proposal_id();

  struct Forgery {
    std::string what;
    const PemCredential* signer;
    absl::StatusCode expected;
  };
  const std::vector<Forgery> forgeries = {
      {"site-a CA naming site-b's admin", &*fake_b_admin, absl::StatusCode::kPermissionDenied},
      {"site-b front end", &*frontend_b, absl::StatusCode::kPermissionDenied},
      {"site-b node", &*node_b, absl::StatusCode::kPermissionDenied},
  };
  for (const Forgery& forgery : forgeries) {
    SCOPED_TRACE(forgery.what);
    auto endorsement =
        SignEndorsement(MakeEndorsement(*cluster_name, *proposal, v1::ENDORSEMENT_DECISION_APPROVE),
                        *forgery.signer);
    ASSERT_TRUE(endorsement.ok()) << endorsement.status();
    auto result = EndorseProposal(cluster, *admin_a, *endorsement);
    EXPECT_EQ(result.status().code(), forgery.expected) << result.status();
    refused.push_back(endorsement->signature());
  }
  // A proposal signed by the "site-b" impostor is refused as a whole.
  auto fake_proposal = SignProposal(
      MakeProposalBody(*cluster_name, SetRequiredSites(1), "site-b agrees"), *fake_b_admin);
  ASSERT_TRUE(fake_proposal.ok()) << fake_proposal.status();
  auto fake_submitted = SubmitProposal(cluster, *admin_a, *fake_proposal);
  EXPECT_EQ(fake_submitted.status().code(), absl::StatusCode::kPermissionDenied)
      << fake_submitted.status();
  refused.push_back(fake_proposal->signature());
  v1::ProposalBody fake_body;
  ASSERT_TRUE(fake_body.ParseFromString(fake_proposal->body()));

  // Every node: the purge still has site-a alone, the impostor's proposal
  // does not exist, alice has no vault loss, no "mallory" account, and all
  // mail is there byte for byte.
  for (int i = 0; i < cluster.size(); ++i) {
    SCOPED_TRACE(cluster.site(i));
    auto record = GetProposalOn(cluster, i, id);
    ASSERT_TRUE(record.ok()) << record.status();
    EXPECT_NE(record->state(), v1::PROPOSAL_STATE_APPROVED);
    EXPECT_NE(record->state(), v1::PROPOSAL_STATE_EXECUTED);
    ASSERT_EQ(record->approved_sites_size(), 1);
    EXPECT_EQ(record->approved_sites(0), "site-a");
    EXPECT_EQ(record->approvals_size(), 1);
    auto missing = GetProposalOn(cluster, i, fake_body.proposal_id());
    EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();

    auto stub = v1::Admin::NewStub(cluster.Channel(i, "admin", i));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::ListAccountsResponse accounts;
    ASSERT_TRUE(stub->ListAccounts(&ctx, v1::ListAccountsRequest(), &accounts).ok());
    for (const v1::AccountInfo& a : accounts.accounts()) EXPECT_NE(a.account(), "mallory");
  }
  absl::Status mail = CheckMailOnEveryNode(cluster, *committed);
  EXPECT_TRUE(mail.ok()) << mail;
  absl::Status audited = CheckAttemptsAudited(cluster, refused, accepted);
  EXPECT_TRUE(audited.ok()) << audited;
  if (HasFailure()) std::cerr << AllLogTails(cluster);
}

}  // namespace
}  // namespace qbox::attack

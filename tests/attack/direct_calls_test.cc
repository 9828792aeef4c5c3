// Issue 5: "These are proposals, never direct calls". With site-a in the
// attacker's hands (its admin and its node credentials), every direct path
// to an irreversible action is refused on every node: removing a voter
// through Admin.RemoveNode, and handing the leader a command other than a
// signed node statement through Raft.Submit (a purge, a charter change or an
// approval smuggled in as a node's own). Nothing changes: the members, the
// charter, the proposals and every committed message stay as they were.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "qbox/v1/command.pb.h"
#include "qbox/v1/raft.grpc.pb.h"
#include "node/common/status_macros.h"
#include "tests/attack/attack_support.h"

namespace qbox::attack {
namespace {

absl::StatusCode CodeOf(const grpc::Status& s) {
  return static_cast<absl::StatusCode>(s.error_code());
}

// The sites whose nodes node i lists as members, with their roles.
std::vector<std::string> MembersOn(const LocalCluster& cluster, int i) {
  std::vector<std::string> out;
  auto status = cluster.Status(i, absl::Seconds(5));
  if (!status.ok()) return {status.status().ToString()};
  for (const v1::NodeStatus& n : status->nodes()) out.push_back(n.site() + "/" + n.node_id());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(DirectCallsTest, NoDirectCallRemovesAVoterOrSmugglesAnIrreversibleCommand) {
  auto started = StartCluster(AttackClusterOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  auto cluster_name = ClusterName(cluster);
  ASSERT_TRUE(cluster_name.ok()) << cluster_name.status();
  auto committed = SeedMail(cluster, {"alice"}, 3);
  ASSERT_TRUE(committed.ok()) << committed.status();
  auto charter_before = GetCharterOn(cluster, 0);
  ASSERT_TRUE(charter_before.ok()) << charter_before.status();
  const std::vector<std::string> members_before = MembersOn(cluster, 0);
  ASSERT_EQ(members_before.size(), 3u);

  auto admin_a = IssuedCredential(cluster, 0, "admin");
  ASSERT_TRUE(admin_a.ok()) << admin_a.status();
  auto node_a = IssuedCredential(cluster, 0, "node");
  ASSERT_TRUE(node_a.ok()) << node_a.status();

  // Admin.RemoveNode of another site's voter, asked of every node (the
  // leader would carry it out; followers must not forward it blindly).
  for (int i = 0; i < cluster.size(); ++i) {
    for (const std::string site : {"site-b", "site-c"}) {
      SCOPED_TRACE(cluster.site(i) + " asked to remove " + site + "/n1");
      auto stub = v1::Admin::NewStub(ChannelAs(cluster, i, *admin_a));
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::RemoveNodeRequest req;
      req.set_site(site);
      req.set_node_id("n1");
      v1::RemoveNodeResponse resp;
      grpc::Status s = stub->RemoveNode(&ctx, req, &resp);
      // The leader refuses with the reason; a follower may instead point at
      // the leader. Either way nothing is removed.
      EXPECT_TRUE(CodeOf(s) == absl::StatusCode::kFailedPrecondition ||
                  CodeOf(s) == absl::StatusCode::kUnavailable)
          << s.error_code() << " " << s.error_message();
      if (CodeOf(s) == absl::StatusCode::kFailedPrecondition) {
        EXPECT_TRUE(absl::StrContains(s.error_message(), "proposal")) << s.error_message();
      }
    }
  }
  auto leader = cluster.WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  {
    // At the leader itself: the refusal must be the charter's, not a hint.
    auto stub = v1::Admin::NewStub(ChannelAs(cluster, *leader, *admin_a));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::RemoveNodeRequest req;
    req.set_site(*leader == 1 ? "site-c" : "site-b");
    req.set_node_id("n1");
    v1::RemoveNodeResponse resp;
    grpc::Status s = stub->RemoveNode(&ctx, req, &resp);
    EXPECT_EQ(CodeOf(s), absl::StatusCode::kFailedPrecondition) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "needs an approved proposal"))
        << s.error_message();
  }

  // Raft.Submit as site-a's node: only a node's own signed statement may go
  // in. A purge, a proposal or an approval wrapped as a raw command is
  // refused before it reaches the log.
  std::vector<v1::MailboxCommand> smuggled;
  {
    v1::MailboxCommand expunge;
    expunge.mutable_expunge_messages()->set_account("alice");
    expunge.mutable_expunge_messages()->set_mailbox("INBOX");
    expunge.mutable_expunge_messages()->set_uid_set("1:*");
    smuggled.push_back(expunge);
    auto proposal = SignProposal(
        MakeProposalBody(*cluster_name, SetRequiredSites(1), "node says so"), *admin_a);
    ASSERT_TRUE(proposal.ok()) << proposal.status();
    v1::MailboxCommand submit;
    *submit.mutable_submit_proposal() = *proposal;
    smuggled.push_back(submit);
    auto approval = SignEndorsement(
        MakeEndorsement(*cluster_name, *proposal, v1::ENDORSEMENT_DECISION_APPROVE), *admin_a);
    ASSERT_TRUE(approval.ok()) << approval.status();
    v1::MailboxCommand endorse;
    *endorse.mutable_endorse_proposal() = *approval;
    smuggled.push_back(endorse);
  }
  for (const v1::MailboxCommand& command : smuggled) {
    SCOPED_TRACE(command.ShortDebugString().substr(0, 80));
    auto stub = v1::Raft::NewStub(ChannelAs(cluster, *leader, *node_a));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::SubmitRequest req;
    req.set_command(command.SerializeAsString());
    v1::SubmitResponse resp;
    grpc::Status s = stub->Submit(&ctx, req, &resp);
    EXPECT_EQ(CodeOf(s), absl::StatusCode::kInvalidArgument) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "node_statement")) << s.error_message();
  }
  {
    // And an admin may not use the node-only Raft service at all.
    auto stub = v1::Raft::NewStub(ChannelAs(cluster, *leader, *admin_a));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::SubmitRequest req;
    req.set_command(smuggled[0].SerializeAsString());
    v1::SubmitResponse resp;
    grpc::Status s = stub->Submit(&ctx, req, &resp);
    EXPECT_EQ(CodeOf(s), absl::StatusCode::kPermissionDenied) << s.error_message();
  }

  // Nothing changed, on any node.
  for (int i = 0; i < cluster.size(); ++i) {
    SCOPED_TRACE(cluster.site(i));
    EXPECT_EQ(MembersOn(cluster, i), members_before);
    auto charter = GetCharterOn(cluster, i);
    ASSERT_TRUE(charter.ok()) << charter.status();
    EXPECT_EQ(charter->charter().SerializeAsString(), charter_before->charter().SerializeAsString())
        << charter->charter().DebugString();
    auto proposals = ListProposalsOn(cluster, i);
    ASSERT_TRUE(proposals.ok()) << proposals.status();
    EXPECT_TRUE(proposals->empty()) << proposals->size() << " proposals exist";
  }
  absl::Status mail = CheckMailOnEveryNode(cluster, *committed);
  EXPECT_TRUE(mail.ok()) << mail;
  // Every refused removal is in the audit log, reported and signed by the
  // node that refused it (issue 5: every attempt visible), and the chain
  // verifies on every node.
  absl::Status audited = WaitFor(absl::Seconds(30), [&]() -> absl::Status {
    for (int i = 0; i < cluster.size(); ++i) {
      absl::StatusOr<std::vector<v1::AuditRecord>> audit = AuditLogOn(cluster, i);
      if (!audit.ok()) return audit.status();
      RETURN_IF_ERROR(VerifyAuditChain(*audit));
      int refusals = 0;
      for (const v1::AuditRecord& r : *audit) {
        if (r.kind() == "node.alarm" && absl::StrContains(r.detail(), "refused-call") &&
            absl::StrContains(r.detail(), "site-a/admin/") &&
            absl::StrContains(r.detail(), "the removal of site-")) {
          ++refusals;
        }
      }
      // The leader alone refused three (two in the loop, then the explicit
      // call); followers check the charter before forwarding, so theirs
      // are usually there too.
      if (refusals < 3) {
        return absl::NotFoundError(absl::StrCat(cluster.site(i), "'s audit log holds ", refusals,
                                                " reports of the refused removals"));
      }
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(audited.ok()) << audited;
  if (HasFailure()) std::cerr << AllLogTails(cluster);
}

}  // namespace
}  // namespace qbox::attack

// A running cluster follows an executed CA replacement and a re-issued node
// certificate without any restart (issue 5; node/server/live_tls.h):
//  (a) once site-c's CA is replaced, site-a's and site-b's nodes refuse a
//      peer presenting a certificate from site-c's old CA;
//  (b) once site-c's node certificate is re-issued by the new CA into the
//      same files, site-c's node rejoins and catches up, still running;
//  (c) a broken certificate written in place of a node's is refused and
//      logged, and the node keeps serving with the pair it had.
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/guard/credential_directory.h"
#include "node/guard/site_ca.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "qbox/v1/raft.grpc.pb.h"
#include "tests/attack/attack_support.h"

namespace qbox::attack {
namespace {

constexpr int kSiteA = 0, kSiteB = 1, kSiteC = 2;

// Raft.Probe as `caller`: needs a TLS handshake and the node role.
absl::Status ProbeAs(const LocalCluster& cluster, int node, const PemCredential& caller) {
  auto stub = v1::Raft::NewStub(ChannelAs(cluster, node, caller));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  v1::ProbeResponse response;
  grpc::Status s = stub->Probe(&ctx, v1::ProbeRequest(), &response);
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

// Node i's applied index, from its plaintext /metrics (no TLS: it works
// whichever CAs the test's own bundle holds).
absl::StatusOr<uint64_t> AppliedIndex(const LocalCluster& cluster, int node) {
  auto got = cluster.HttpGet(node, "/metrics");
  if (!got.ok()) return got.status();
  const std::string needle = "qbox_raft{field=\"applied_index\"} ";
  size_t at = got->second.find(needle);
  if (got->first != 200 || at == std::string::npos) {
    return absl::UnavailableError(absl::StrCat(cluster.site(node), ": no applied_index yet"));
  }
  return static_cast<uint64_t>(std::strtod(got->second.c_str() + at + needle.size(), nullptr));
}

absl::Status LogSays(const LocalCluster& cluster, int node, const std::string& text) {
  return cluster.LogTail(node, 2000).find(text) != std::string::npos
             ? absl::OkStatus()
             : absl::NotFoundError(absl::StrCat(cluster.site(node), " never logged: ", text));
}

// Proposes replacing site-c's CA as site-a's admin, approves as site-b's,
// and waits until site-a's node has executed it.
void ReplaceSiteCCa(LocalCluster& cluster, const std::string& new_ca_pem) {
  auto name = ClusterName(cluster);
  ASSERT_TRUE(name.ok()) << name.status();
  auto admin_a = IssuedCredential(cluster, kSiteA, "admin");
  auto admin_b = IssuedCredential(cluster, kSiteB, "admin");
  ASSERT_TRUE(admin_a.ok() && admin_b.ok());
  auto proposal = SignProposal(
      MakeProposalBody(*name, ReplaceSiteCa("site-c", new_ca_pem), "site-c's CA key leaked"),
      *admin_a);
  ASSERT_TRUE(proposal.ok()) << proposal.status();
  auto submitted = SubmitProposal(cluster, *admin_a, *proposal);
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  auto approval = SignEndorsement(
      MakeEndorsement(*name, *proposal, v1::ENDORSEMENT_DECISION_APPROVE), *admin_b);
  ASSERT_TRUE(approval.ok()) << approval.status();
  ASSERT_TRUE(EndorseProposal(cluster, *admin_b, *approval).ok());
  absl::Status executed = WaitForProposalState(cluster, kSiteA, submitted->proposal_id(),
                                               v1::PROPOSAL_STATE_EXECUTED, absl::Seconds(40));
  ASSERT_TRUE(executed.ok()) << executed << AllLogTails(cluster);
}

// Waits until node i has applied at least what the leader (a or b) had
// applied after `accounts` were written.
absl::Status WaitCaughtUpWith(const LocalCluster& cluster, int node, uint64_t target,
                              absl::Duration timeout) {
  return WaitFor(timeout, [&]() -> absl::Status {
    auto applied = AppliedIndex(cluster, node);
    if (!applied.ok()) return applied.status();
    if (*applied < target) {
      return absl::UnavailableError(
          absl::StrCat(cluster.site(node), " applied ", *applied, " of ", target));
    }
    return absl::OkStatus();
  });
}

// Creates `accounts` through whichever of site-a's and site-b's nodes
// leads, as site-a's admin. (SeedMail waits for every running node to agree
// on a leader, which a cut-off site-c never does.)
absl::Status CreateAccountsViaHonestLeader(const LocalCluster& cluster,
                                           const std::vector<std::string>& accounts) {
  auto admin = IssuedCredential(cluster, kSiteA, "admin");
  if (!admin.ok()) return admin.status();
  for (const std::string& account : accounts) {
    absl::Status created = WaitFor(absl::Seconds(20), [&]() -> absl::Status {
      auto status = cluster.Status(kSiteA, absl::Seconds(2));
      if (!status.ok()) return status.status();
      int leader = -1;
      for (int i : {kSiteA, kSiteB}) {
        if (status->leader() == cluster.site(i) + "/n1") leader = i;
      }
      if (leader < 0) return absl::UnavailableError("no leader among site-a and site-b yet");
      auto stub = v1::Admin::NewStub(ChannelAs(cluster, leader, *admin));
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      v1::CreateAccountRequest request;
      request.set_account(account);
      request.set_idempotency_key(account);
      v1::CreateAccountResponse response;
      grpc::Status s = stub->CreateAccount(&ctx, request, &response);
      return s.ok()
                 ? absl::OkStatus()
                 : absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    });
    if (!created.ok()) return created;
  }
  return absl::OkStatus();
}

// The highest commit index site-a's and site-b's nodes report for
// themselves (Admin.GetClusterStatus: current, unlike the metrics, which
// are refreshed every 200 ms).
uint64_t HonestCommitIndex(const LocalCluster& cluster) {
  uint64_t best = 0;
  for (int i : {kSiteA, kSiteB}) {
    auto status = cluster.Status(i, absl::Seconds(5));
    if (!status.ok()) continue;
    for (const v1::NodeStatus& n : status->nodes()) {
      if (n.site() == cluster.site(i)) best = std::max<uint64_t>(best, n.commit_index());
    }
  }
  return best;
}

TEST(LiveTlsTest, ACaReplacementAndReissuedCertificatesTakeEffectWithoutRestart) {
  auto started = StartCluster(AttackClusterOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  auto old_c_node = IssuedCredential(cluster, kSiteC, "node");
  ASSERT_TRUE(old_c_node.ok()) << old_c_node.status();
  // Before: site-c's node certificate is a welcome peer everywhere.
  ASSERT_TRUE(ProbeAs(cluster, kSiteA, *old_c_node).ok());

  auto new_ca = guard::CreateSiteCa("site-c");
  ASSERT_TRUE(new_ca.ok()) << new_ca.status();
  ASSERT_NO_FATAL_FAILURE(ReplaceSiteCCa(cluster, new_ca->certificate_pem));
  // The operators' client bundle learns the new CA too, so that this test
  // can still reach site-c's node once it presents its re-issued certificate.
  auto bundle = guard::ReadTextFile(cluster.ca_bundle_path());
  ASSERT_TRUE(bundle.ok()) << bundle.status();
  ASSERT_TRUE(guard::WriteFileAtomically(cluster.ca_bundle_path(),
                                         *bundle + new_ca->certificate_pem, 0644, true)
                  .ok());

  // (a) Within a few seconds, and with no restart, site-a and site-b refuse
  // a peer whose certificate comes from site-c's old CA.
  for (int node : {kSiteA, kSiteB}) {
    absl::Status refused = WaitFor(absl::Seconds(10), [&]() -> absl::Status {
      return ProbeAs(cluster, node, *old_c_node).ok()
                 ? absl::FailedPreconditionError("the old site-c certificate is still accepted")
                 : absl::OkStatus();
    });
    EXPECT_TRUE(refused.ok()) << cluster.site(node) << ": " << refused << AllLogTails(cluster);
    EXPECT_TRUE(LogSays(cluster, node, "site-c's CA replaced").ok()) << cluster.LogTail(node);
    // Connections made before the change are dropped too: after this, no
    // stream to or from site-c's node carries its old certificate.
    absl::Status reconnected =
        WaitFor(absl::Seconds(10), [&] { return LogSays(cluster, node, "reconnecting to peers"); });
    EXPECT_TRUE(reconnected.ok()) << reconnected << cluster.LogTail(node);
    EXPECT_TRUE(cluster.Running(node));
  }
  // The honest majority keeps taking writes meanwhile.
  absl::Status seeded = CreateAccountsViaHonestLeader(cluster, {"cutoff-1", "cutoff-2"});
  ASSERT_TRUE(seeded.ok()) << seeded << AllLogTails(cluster);
  const uint64_t target = HonestCommitIndex(cluster);
  ASSERT_GT(target, 0u);
  auto behind = AppliedIndex(cluster, kSiteC);
  ASSERT_TRUE(behind.ok()) << behind.status();
  EXPECT_LT(*behind, target) << "site-c's node kept replicating with its old certificate";

  // (b) site-c re-issues its node certificate from the new CA into the same
  // files; its running node picks it up and catches up with the leader.
  auto identity = guard::MakePeerIdentity("site-c", "node", "n1");
  ASSERT_TRUE(identity.ok()) << identity.status();
  guard::LeafOptions leaf;
  leaf.dns_names = {"localhost"};
  leaf.ip_addresses = {"127.0.0.1"};
  auto reissued = guard::IssueLeafCertificate(*new_ca, *identity, leaf);
  ASSERT_TRUE(reissued.ok()) << reissued.status();
  ASSERT_TRUE(guard::WriteFileAtomically(cluster.key_path(kSiteC, "node"),
                                         reissued->private_key_pem, 0600, true)
                  .ok());
  ASSERT_TRUE(guard::WriteFileAtomically(cluster.cert_path(kSiteC, "node"),
                                         reissued->certificate_pem, 0644, true)
                  .ok());
  absl::Status picked_up = WaitFor(absl::Seconds(10), [&] {
    return LogSays(cluster, kSiteC, "picked up a re-issued node certificate");
  });
  EXPECT_TRUE(picked_up.ok()) << picked_up << cluster.LogTail(kSiteC);
  absl::Status caught_up = WaitCaughtUpWith(cluster, kSiteC, target, absl::Seconds(30));
  EXPECT_TRUE(caught_up.ok()) << caught_up << AllLogTails(cluster);
  EXPECT_TRUE(cluster.Running(kSiteC));
  // The re-issued certificate is a welcome peer again.
  absl::Status welcome = ProbeAs(cluster, kSiteA, *reissued);
  EXPECT_TRUE(welcome.ok()) << welcome;

  // (c) Garbage, then another node's certificate, written in place of
  // site-a's node certificate: each is refused and logged, the pair gRPC
  // serves with is untouched, and the node keeps working.
  const std::string a_cert = cluster.cert_path(kSiteA, "node");
  auto served = guard::ReadTextFile(cluster.data_dir(kSiteA) + "/tls/node-cert.pem");
  ASSERT_TRUE(served.ok()) << served.status();
  ASSERT_TRUE(guard::WriteFileAtomically(a_cert, "not a certificate\n", 0644, true).ok());
  absl::Status logged = WaitFor(absl::Seconds(10), [&] {
    return LogSays(cluster, kSiteA,
                   absl::StrCat("refused the new node certificate; keeping the "
                                "pair in use: ",
                                a_cert));
  });
  EXPECT_TRUE(logged.ok()) << logged << cluster.LogTail(kSiteA);
  auto b_cert = guard::ReadTextFile(cluster.cert_path(kSiteB, "node"));
  ASSERT_TRUE(b_cert.ok());
  ASSERT_TRUE(guard::WriteFileAtomically(a_cert, *b_cert, 0644, true).ok());
  logged = WaitFor(absl::Seconds(10),
                   [&] { return LogSays(cluster, kSiteA, "belongs to site-b/node/n1"); });
  EXPECT_TRUE(logged.ok()) << logged << cluster.LogTail(kSiteA);
  auto still_served = guard::ReadTextFile(cluster.data_dir(kSiteA) + "/tls/node-cert.pem");
  ASSERT_TRUE(still_served.ok());
  EXPECT_EQ(*still_served, *served);
  // New connections to site-a still handshake with its old pair, and it
  // keeps applying writes.
  EXPECT_TRUE(GetCharterOn(cluster, kSiteA).ok());
  absl::Status more = CreateAccountsViaHonestLeader(cluster, {"after-bad-cert"});
  ASSERT_TRUE(more.ok()) << more << AllLogTails(cluster);
  const uint64_t later = HonestCommitIndex(cluster);
  EXPECT_TRUE(WaitCaughtUpWith(cluster, kSiteA, later, absl::Seconds(10)).ok());
  EXPECT_TRUE(WaitCaughtUpWith(cluster, kSiteC, later, absl::Seconds(10)).ok());
  EXPECT_TRUE(cluster.Running(kSiteA));
}

}  // namespace
}  // namespace qbox::attack

// Scenario 1 of issue 5, the VFEmail replay (DESIGN.md threat A, G1-G5):
// an attacker holding everything of site-a (its admin, its CA key, so any
// number of site-a admins) tries every irreversible action, then wipes
// site-a's data and restarts it. Nothing destructive executes, site-a
// rebuilds from site-b and site-c, and its state digests match theirs.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "node/guard/site_ca.h"
#include "qbox/client.h"
#include "tests/attack/attack_support.h"

namespace qbox::attack {
namespace {

// Everything site-a's credentials can ask for that would destroy mail or
// hand the cluster to site-a.
struct Attempt {
  std::string what;
  v1::ProposedAction action;
  absl::StatusCode expected;  // what the RPC answers
};

std::vector<Attempt> DestructiveAttempts(const std::vector<std::string>& accounts,
                                         const std::string& hostile_site_b_ca) {
  std::vector<Attempt> out;
  for (const std::string& account : accounts) {
    out.push_back({"purge the vault of " + account, PurgeVault(account), absl::StatusCode::kOk});
    out.push_back({"delete account " + account, DeleteAccount(account), absl::StatusCode::kOk});
  }
  // R must stay positive: refused when applied, and audited.
  out.push_back({"set R to zero", SetRetention(0), absl::StatusCode::kInvalidArgument});
  out.push_back({"set T to zero", SetDelay(0), absl::StatusCode::kOk});
  out.push_back({"lower M to 1", SetRequiredSites(1), absl::StatusCode::kOk});
  out.push_back({"remove site-b", RemoveSite("site-b"), absl::StatusCode::kOk});
  out.push_back({"remove site-c", RemoveSite("site-c"), absl::StatusCode::kOk});
  out.push_back(
      {"replace site-b's CA", ReplaceSiteCa("site-b", hostile_site_b_ca), absl::StatusCode::kOk});
  return out;
}

TEST(VfemailReplayTest, SiteACredentialsAloneDestroyNothingAndAWipedSiteARebuilds) {
  auto started = StartCluster(AttackClusterOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  auto cluster_name = ClusterName(cluster);
  ASSERT_TRUE(cluster_name.ok()) << cluster_name.status();

  // Committed before the attack: mail in two mailboxes of two accounts, and
  // something in each vault for the purges to aim at.
  const std::vector<std::string> accounts = {"alice", "bob"};
  auto seeded = SeedMail(cluster, accounts, 6);
  ASSERT_TRUE(seeded.ok()) << seeded.status();
  {
    ClientOptions o;
    o.endpoints = cluster.endpoints();
    o.ca_bundle_file = cluster.ca_bundle_path();
    o.certificate_file = cluster.cert_path(1, "frontend");
    o.private_key_file = cluster.key_path(1, "frontend");
    auto client = Client::Open(o);
    ASSERT_TRUE(client.ok()) << client.status();
    for (const std::string& account : accounts) {
      v1::ExpungeMessagesRequest req;
      req.set_account(account);
      req.set_mailbox("INBOX");
      req.set_uid_set("1:2");
      auto expunged = (*client)->ExpungeMessages(req);
      ASSERT_TRUE(expunged.ok()) << expunged.status();
      ASSERT_EQ(expunged->expunged_size(), 2);
      for (uint32_t uid : expunged->expunged()) (*seeded)[account]["INBOX"].erase(uid);
    }
  }
  const MailByUid committed = *seeded;
  ASSERT_TRUE(CheckMailOnEveryNode(cluster, committed).ok());
  auto charter_before = GetCharterOn(cluster, 1);
  ASSERT_TRUE(charter_before.ok()) << charter_before.status();

  // The attacker: site-a's admin, a second admin minted with site-a's CA
  // key, a site-a-CA certificate claiming to be site-b's admin, and a fresh
  // CA to install as site-b's.
  auto admin_a = IssuedCredential(cluster, 0, "admin");
  ASSERT_TRUE(admin_a.ok()) << admin_a.status();
  auto admin_a2 = MintLeaf(cluster, 0, "admin", "t2");
  ASSERT_TRUE(admin_a2.ok()) << admin_a2.status();
  auto ca_a = SiteCaOf(cluster, 0);
  ASSERT_TRUE(ca_a.ok()) << ca_a.status();
  auto fake_b = MintImpostor(*ca_a, "spiffe://site-b/admin/mallory");
  ASSERT_TRUE(fake_b.ok()) << fake_b.status();
  auto hostile_ca = guard::CreateSiteCa("site-b");
  ASSERT_TRUE(hostile_ca.ok()) << hostile_ca.status();

  std::vector<v1::Signature> refused, accepted;
  std::vector<std::string> proposal_ids;
  for (const Attempt& attempt : DestructiveAttempts(accounts, hostile_ca->certificate_pem)) {
    SCOPED_TRACE(attempt.what);
    auto proposal = SignProposal(
        MakeProposalBody(*cluster_name, attempt.action, "routine maintenance"), *admin_a);
    ASSERT_TRUE(proposal.ok()) << proposal.status();
    auto submitted = SubmitProposal(cluster, *admin_a, *proposal);
    ASSERT_EQ(submitted.status().code(), attempt.expected) << submitted.status();
    if (!submitted.ok()) {
      refused.push_back(proposal->signature());
      continue;
    }
    accepted.push_back(proposal->signature());
    EXPECT_EQ(submitted->state(), v1::PROPOSAL_STATE_PENDING);
    proposal_ids.push_back(submitted->proposal_id());

    // A second site-a admin approves: recorded, but site-a counts once.
    auto second = SignEndorsement(
        MakeEndorsement(*cluster_name, *proposal, v1::ENDORSEMENT_DECISION_APPROVE), *admin_a2);
    ASSERT_TRUE(second.ok()) << second.status();
    auto endorsed = EndorseProposal(cluster, *admin_a, *second);
    ASSERT_TRUE(endorsed.ok()) << endorsed.status();
    accepted.push_back(second->signature());
    EXPECT_EQ(endorsed->state(), v1::PROPOSAL_STATE_PENDING);
    EXPECT_EQ(endorsed->approved_sites_size(), 1);

    // site-a's CA vouching for a "site-b" admin: refused, audited.
    auto forged = SignEndorsement(
        MakeEndorsement(*cluster_name, *proposal, v1::ENDORSEMENT_DECISION_APPROVE), *fake_b);
    ASSERT_TRUE(forged.ok()) << forged.status();
    auto impersonated = EndorseProposal(cluster, *admin_a, *forged);
    EXPECT_EQ(impersonated.status().code(), absl::StatusCode::kPermissionDenied)
        << impersonated.status();
    refused.push_back(forged->signature());
  }
  ASSERT_FALSE(proposal_ids.empty());

  // Then the attacker wipes site-a and restarts it.
  auto before_wipe = cluster.Status(1, absl::Seconds(5));
  ASSERT_TRUE(before_wipe.ok()) << before_wipe.status();
  uint64_t applied_before_wipe = 0;
  for (const v1::NodeStatus& n : before_wipe->nodes()) {
    applied_before_wipe = std::max(applied_before_wipe, n.applied_index());
  }
  ASSERT_TRUE(cluster.Stop(0).ok());
  cluster.WipeData(0);
  ASSERT_TRUE(cluster.Start(0).ok());
  absl::Status caught_up = cluster.WaitCaughtUp(absl::Seconds(90));
  ASSERT_TRUE(caught_up.ok()) << caught_up << "\n" << AllLogTails(cluster);

  // Nothing destructive executed, on any node, whatever its clock says.
  for (int i = 0; i < cluster.size(); ++i) {
    SCOPED_TRACE(cluster.site(i));
    for (const std::string& id : proposal_ids) {
      auto record = GetProposalOn(cluster, i, id);
      ASSERT_TRUE(record.ok()) << record.status();
      EXPECT_TRUE(record->state() == v1::PROPOSAL_STATE_PENDING ||
                  record->state() == v1::PROPOSAL_STATE_EXPIRED)
          << id << " is " << v1::ProposalState_Name(record->state()) << ": " << record->outcome();
      EXPECT_EQ(record->approved_sites_size(), 1) << id;
      EXPECT_EQ(record->approved_index(), 0u) << id;
    }
    auto charter = GetCharterOn(cluster, i);
    ASSERT_TRUE(charter.ok()) << charter.status();
    EXPECT_EQ(charter->charter().SerializeAsString(), charter_before->charter().SerializeAsString())
        << "charter changed on " << cluster.site(i) << ": " << charter->charter().DebugString();
    for (const std::string& account : accounts) {
      auto vault = VaultOn(cluster, i, account);
      ASSERT_TRUE(vault.ok()) << vault.status();
      ASSERT_EQ(vault->items_size(), 1) << account;
      EXPECT_EQ(vault->items(0).message_count(), 2u) << account;
    }
  }
  // Every message committed before the attack, byte for byte, everywhere
  // (site-a's copy came back from the other sites).
  absl::Status mail = CheckMailOnEveryNode(cluster, committed);
  EXPECT_TRUE(mail.ok()) << mail;

  // site-a's rebuilt state matches what the others attest: at a checkpoint
  // taken after the wipe, every node signed the same digest, and each
  // node's own digest there is that one.
  uint64_t checkpoint_index = 0;
  std::string agreed_digest;
  absl::Status attested = WaitFor(absl::Seconds(60), [&]() -> absl::Status {
    auto entries = CheckpointsOn(cluster, 0);
    if (!entries.ok()) return entries.status();
    for (const v1::CheckpointEntry& entry : *entries) {
      if (entry.index() <= applied_before_wipe || entry.local_digest().empty()) continue;
      std::set<uint64_t> signers;
      std::set<std::string> digests;
      for (const v1::SignedNodeStatement& signed_statement : entry.statements()) {
        v1::NodeStatement statement;
        if (!statement.ParseFromString(signed_statement.statement())) continue;
        signers.insert(statement.node_id());
        digests.insert(statement.checkpoint().state_digest());
      }
      if (signers.size() < 3) continue;
      if (digests.size() != 1) {
        return absl::DataLossError(
            absl::StrCat("nodes signed different digests at index ", entry.index()));
      }
      checkpoint_index = entry.index();
      agreed_digest = *digests.begin();
      return absl::OkStatus();
    }
    return absl::NotFoundError("no checkpoint after the wipe signed by all three nodes yet");
  });
  ASSERT_TRUE(attested.ok()) << attested << "\n" << AllLogTails(cluster);
  for (int i = 0; i < cluster.size(); ++i) {
    auto entries = CheckpointsOn(cluster, i);
    ASSERT_TRUE(entries.ok()) << entries.status();
    bool found = false;
    for (const v1::CheckpointEntry& entry : *entries) {
      if (entry.index() != checkpoint_index) continue;
      found = true;
      EXPECT_EQ(entry.local_digest(), agreed_digest)
          << cluster.site(i) << " at index " << checkpoint_index;
    }
    EXPECT_TRUE(found) << cluster.site(i) << " has no checkpoint at " << checkpoint_index;
  }
  // And site-a votes again: it answers for itself as a voter, not RECOVERING.
  auto status_a = cluster.Status(0, absl::Seconds(5));
  ASSERT_TRUE(status_a.ok()) << status_a.status();
  for (const v1::NodeStatus& n : status_a->nodes()) {
    if (n.site() != "site-a") continue;
    EXPECT_TRUE(n.role() == v1::NODE_ROLE_FOLLOWER || n.role() == v1::NODE_ROLE_LEADER)
        << v1::NodeRole_Name(n.role()) << " " << n.recovery();
  }

  // Every attempt, refused or merely recorded, is in every node's audit log.
  absl::Status audited = CheckAttemptsAudited(cluster, refused, accepted);
  EXPECT_TRUE(audited.ok()) << audited;
  if (HasFailure()) std::cerr << AllLogTails(cluster);
}

}  // namespace
}  // namespace qbox::attack

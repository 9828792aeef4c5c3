// Scenario 6 of issue 5, a stolen front-end key (DESIGN.md threat B, G3):
// the attacker expunges every message of every mailbox and deletes every
// mailbox it can. Deletion by a front end is soft: every message comes back
// from the vault, byte for byte, on every node; and the stolen key cannot
// reach the Admin service to purge the vault.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "qbox/client.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "tests/attack/attack_support.h"

namespace qbox::attack {
namespace {

ClientOptions FrontendOptions(const LocalCluster& cluster, int site) {
  ClientOptions o;
  o.endpoints = cluster.endpoints();
  o.ca_bundle_file = cluster.ca_bundle_path();
  o.certificate_file = cluster.cert_path(site, "frontend");
  o.private_key_file = cluster.key_path(site, "frontend");
  o.default_timeout = absl::Seconds(20);
  return o;
}

// The value of the unlabelled metric `name` in node i's /metrics, or -1 if
// the node does not export it.
double MetricOn(const LocalCluster& cluster, int node, const std::string& name) {
  auto got = cluster.HttpGet(node, "/metrics");
  if (!got.ok() || got->first != 200) return -1;
  std::istringstream lines(got->second);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::strtod(line.c_str() + name.size() + 1, nullptr);
  }
  return -1;
}

// The sum of `name` over every node (each counts the requests it answered),
// or -1 if a node does not export it.
double MetricSum(const LocalCluster& cluster, const std::string& name) {
  double sum = 0;
  for (int i = 0; i < cluster.size(); ++i) {
    const double value = MetricOn(cluster, i, name);
    if (value < 0) return -1;
    sum += value;
  }
  return sum;
}

TEST(StolenFrontendTest, ExpungingEverythingLeavesEveryMessageRestorableFromTheVault) {
  auto started = StartCluster(AttackClusterOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  auto cluster_name = ClusterName(cluster);
  ASSERT_TRUE(cluster_name.ok()) << cluster_name.status();
  const std::vector<std::string> accounts = {"alice", "bob"};
  auto committed = SeedMail(cluster, accounts, 5);
  ASSERT_TRUE(committed.ok()) << committed.status();
  const auto committed_bodies = BodiesByAccount(*committed);

  // The attacker holds site-a's front-end key.
  auto stolen = Client::Open(FrontendOptions(cluster, 0));
  ASSERT_TRUE(stolen.ok()) << stolen.status();
  for (const std::string& account : accounts) {
    v1::ListMailboxesRequest list;
    list.set_account(account);
    auto mailboxes = (*stolen)->ListMailboxes(list);
    ASSERT_TRUE(mailboxes.ok()) << mailboxes.status();
    for (const v1::MailboxInfo& mailbox : mailboxes->mailboxes()) {
      v1::ExpungeMessagesRequest expunge;
      expunge.set_account(account);
      expunge.set_mailbox(mailbox.name());
      expunge.set_uid_set("1:*");
      auto expunged = (*stolen)->ExpungeMessages(expunge);
      ASSERT_TRUE(expunged.ok()) << expunged.status();
      EXPECT_EQ(static_cast<size_t>(expunged->expunged_size()),
                (*committed)[account][mailbox.name()].size());
      if (mailbox.name() == "INBOX") continue;
      v1::DeleteMailboxRequest del;
      del.set_account(account);
      del.set_name(mailbox.name());
      auto deleted = (*stolen)->DeleteMailbox(del);
      ASSERT_TRUE(deleted.ok()) << deleted.status();
    }
  }
  // The same key cannot ask for the vault to be purged: front ends have no
  // access to the Admin service at all.
  {
    auto admin_a = IssuedCredential(cluster, 0, "admin");
    ASSERT_TRUE(admin_a.ok());
    auto frontend_a = IssuedCredential(cluster, 0, "frontend");
    ASSERT_TRUE(frontend_a.ok());
    auto proposal = SignProposal(MakeProposalBody(*cluster_name, PurgeVault("alice"), "free space"),
                                 *frontend_a);
    ASSERT_TRUE(proposal.ok()) << proposal.status();
    auto leader = cluster.WaitForLeader(absl::Seconds(10));
    ASSERT_TRUE(leader.ok()) << leader.status();
    auto stub = v1::Admin::NewStub(ChannelAs(cluster, *leader, *frontend_a));
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::SubmitProposalRequest req;
    *req.mutable_proposal() = *proposal;
    v1::SubmitProposalResponse resp;
    grpc::Status s = stub->SubmitProposal(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
    // Even handed to an admin to submit, a proposal signed with a front-end
    // key is refused when applied, and audited.
    auto via_admin = SubmitProposal(cluster, *admin_a, *proposal);
    EXPECT_EQ(via_admin.status().code(), absl::StatusCode::kPermissionDenied) << via_admin.status();
    absl::Status audited = CheckAttemptsAudited(cluster, {proposal->signature()}, {});
    EXPECT_TRUE(audited.ok()) << audited;
  }

  // Every node now shows empty mailboxes, and a vault holding everything.
  for (int i = 0; i < cluster.size(); ++i) {
    SCOPED_TRACE(cluster.site(i));
    auto held = ReadAllMail(cluster, i, accounts);
    ASSERT_TRUE(held.ok()) << held.status();
    for (const auto& [account, bodies] : BodiesByAccount(*held)) {
      EXPECT_TRUE(bodies.empty()) << account << " still has " << bodies.size();
    }
    for (const std::string& account : accounts) {
      auto vault = VaultOn(cluster, i, account);
      ASSERT_TRUE(vault.ok()) << vault.status();
      uint64_t held_in_vault = 0;
      for (const v1::DeletedItem& item : vault->items()) held_in_vault += item.message_count();
      EXPECT_EQ(held_in_vault, committed_bodies.at(account).size()) << account;
    }
  }

  // The honest operator restores everything (with site-b's front end).
  auto honest = Client::Open(FrontendOptions(cluster, 1));
  ASSERT_TRUE(honest.ok()) << honest.status();
  for (const std::string& account : accounts) {
    v1::ListDeletedRequest list;
    list.set_account(account);
    auto vault = (*honest)->ListDeleted(list);
    ASSERT_TRUE(vault.ok()) << vault.status();
    // Whole mailboxes first, so expunged messages of a mailbox that was
    // deleted afterwards have their mailbox back to return to.
    for (bool whole : {true, false}) {
      for (const v1::DeletedItem& item : vault->items()) {
        if (item.whole_mailbox() != whole) continue;
        v1::RestoreDeletedRequest restore;
        restore.set_account(account);
        restore.add_vault_ids(item.vault_id());
        auto restored = (*honest)->RestoreDeleted(restore);
        ASSERT_TRUE(restored.ok())
            << account << " vault item " << item.vault_id() << ": " << restored.status();
        EXPECT_EQ(restored->restored_messages(), item.message_count());
      }
    }
  }
  // Every message is back on every node, byte for byte (with new UIDs).
  for (int i = 0; i < cluster.size(); ++i) {
    SCOPED_TRACE(cluster.site(i));
    auto held = ReadAllMail(cluster, i, accounts);
    ASSERT_TRUE(held.ok()) << held.status();
    EXPECT_EQ(BodiesByAccount(*held), committed_bodies);
  }
  if (HasFailure()) std::cerr << AllLogTails(cluster);
}

// "Mass expunges are counted in metrics so that an alert can fire": what a
// stolen front-end key moves to the vault shows in every node's counters,
// and one request of 100 or more messages counts as a mass expunge while a
// small one does not.
TEST(StolenFrontendTest, MassExpungesAreCountedInMetrics) {
  auto started = StartCluster(AttackClusterOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  // 50 in INBOX and 50 in Archive; moved together, one expunge takes 100.
  auto committed = SeedMail(cluster, {"alice"}, 50);
  ASSERT_TRUE(committed.ok()) << committed.status();
  ASSERT_EQ(MetricSum(cluster, "qbox_expunged_messages_total"), 0);
  ASSERT_EQ(MetricSum(cluster, "qbox_mass_expunge_requests_total"), 0);

  auto stolen = Client::Open(FrontendOptions(cluster, 0));
  ASSERT_TRUE(stolen.ok()) << stolen.status();
  // A user's ordinary expunge of one message: counted, not a mass expunge.
  v1::ExpungeMessagesRequest one;
  one.set_account("alice");
  one.set_mailbox("INBOX");
  one.set_uid_set("1");
  auto expunged_one = (*stolen)->ExpungeMessages(one);
  ASSERT_TRUE(expunged_one.ok()) << expunged_one.status();
  ASSERT_EQ(expunged_one->expunged_size(), 1);
  EXPECT_EQ(MetricSum(cluster, "qbox_expunged_messages_total"), 1);
  EXPECT_EQ(MetricSum(cluster, "qbox_mass_expunge_requests_total"), 0);

  // The attacker gathers everything in one mailbox and expunges it at once.
  v1::MoveMessagesRequest gather;
  gather.set_account("alice");
  gather.set_mailbox("Archive");
  gather.set_uid_set("1:*");
  gather.set_target_mailbox("INBOX");
  auto moved = (*stolen)->MoveMessages(gather);
  ASSERT_TRUE(moved.ok()) << moved.status();
  v1::ExpungeMessagesRequest all;
  all.set_account("alice");
  all.set_mailbox("INBOX");
  all.set_uid_set("1:*");
  auto expunged_all = (*stolen)->ExpungeMessages(all);
  ASSERT_TRUE(expunged_all.ok()) << expunged_all.status();
  ASSERT_EQ(expunged_all->expunged_size(), 99);
  EXPECT_EQ(MetricSum(cluster, "qbox_expunged_messages_total"), 100);
  // 99 is not 100: still no mass expunge. One more message makes it one.
  EXPECT_EQ(MetricSum(cluster, "qbox_mass_expunge_requests_total"), 0);

  auto bulk = SeedMail(cluster, {"bob"}, 50);
  ASSERT_TRUE(bulk.ok()) << bulk.status();
  gather.set_account("bob");
  ASSERT_TRUE((*stolen)->MoveMessages(gather).ok());
  all.set_account("bob");
  auto expunged_bob = (*stolen)->ExpungeMessages(all);
  ASSERT_TRUE(expunged_bob.ok()) << expunged_bob.status();
  ASSERT_EQ(expunged_bob->expunged_size(), 100);
  EXPECT_EQ(MetricSum(cluster, "qbox_expunged_messages_total"), 200);
  EXPECT_EQ(MetricSum(cluster, "qbox_mass_expunge_requests_total"), 1);

  // And nothing was lost: the vaults hold all of it.
  for (int i = 0; i < cluster.size(); ++i) {
    for (const std::string account : {"alice", "bob"}) {
      auto vault = VaultOn(cluster, i, account);
      ASSERT_TRUE(vault.ok()) << vault.status();
      uint64_t held = 0;
      for (const v1::DeletedItem& item : vault->items()) held += item.message_count();
      EXPECT_EQ(held, 100u) << cluster.site(i) << " " << account;
    }
  }
  if (HasFailure()) std::cerr << AllLogTails(cluster);
}

}  // namespace
}  // namespace qbox::attack

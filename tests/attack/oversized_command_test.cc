// Bounds at apply against real processes: site-a runs qbox-node-hostile
// and, once it leads, commits on the followers a guard command of 2 MiB,
// twice what any node applies (node/mailbox/apply_limits.h). Each honest
// node refuses it when applying, audits the refusal with the command's
// SHA-256 instead of its 2 MiB, keeps every message, and the honest sites
// elect a leader of their own once site-a is gone.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "node/common/status_macros.h"
#include "qbox/admin_client.h"
#include "qbox/client.h"
#include "tests/attack/attack_support.h"
#include "tests/cluster/local_cluster.h"

namespace qbox::testing {
namespace {

constexpr char kHostile[] = "site-a/n1";

ClientOptions OptionsFor(const LocalCluster& c, const std::string& role,
                         std::vector<std::string> endpoints = {}) {
  return attack::HonestClientOptions(c, role, std::move(endpoints));
}

// The audit record of node i that refused the oversized command, if any.
absl::StatusOr<v1::AuditRecord> SizeRefusalOn(const LocalCluster& cluster, int i) {
  ASSIGN_OR_RETURN(std::vector<v1::AuditRecord> records, attack::AuditLogOn(cluster, i));
  for (const v1::AuditRecord& r : records) {
    if (absl::StartsWith(r.detail(), "refused: command: ") &&
        absl::StrContains(r.detail(), "the limit at apply is 1048576 bytes")) {
      return r;
    }
  }
  return absl::NotFoundError(
      absl::StrCat(cluster.site(i), "'s audit log has no refusal of an oversized command"));
}

TEST(OversizedCommandTest, HonestNodesRefuseAnOversizedCommittedCommandAtApply) {
  char scratch[] = "/tmp/qbox-oversized-XXXXXX";
  ASSERT_NE(::mkdtemp(scratch), nullptr);
  const std::string trigger = std::string(scratch) + "/arm";

  LocalClusterOptions options = attack::AttackClusterOptions();
  options.node_binary[0] = QBOX_HOSTILE_NODE_BINARY;
  options.node_extra_args[0] = {"--hostile", "oversized-command", "--hostile-trigger-file",
                                trigger};
  auto started = attack::StartCluster(options);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<LocalCluster> cluster = std::move(*started);
  auto mail = attack::SeedMail(*cluster, {"alice"}, 3);
  ASSERT_TRUE(mail.ok()) << mail.status();

  // Site-a becomes the leader.
  auto admin = AdminClient::Open(OptionsFor(*cluster, "admin"));
  ASSERT_TRUE(admin.ok()) << admin.status();
  absl::StatusOr<int> leader = cluster->WaitForLeader(absl::Seconds(10));
  const absl::Time transfer_deadline = absl::Now() + absl::Seconds(20);
  while (!(leader.ok() && *leader == 0) && absl::Now() < transfer_deadline) {
    v1::TransferLeadershipRequest to_a;
    to_a.set_target(kHostile);
    (void)(*admin)->TransferLeadership(to_a);
    leader = cluster->WaitForLeader(absl::Seconds(5));
  }
  ASSERT_TRUE(leader.ok() && *leader == 0) << "site-a did not become the leader";
  ASSERT_TRUE(cluster->WaitCaughtUp(absl::Seconds(20)).ok());

  ASSERT_TRUE(attack::WriteFileAtomically(trigger, "oversized-command").ok());
  for (int i : {1, 2}) {
    absl::StatusOr<v1::AuditRecord> refusal;
    absl::Status refused = attack::WaitFor(absl::Seconds(20), [&]() -> absl::Status {
      refusal = SizeRefusalOn(*cluster, i);
      return refusal.status();
    });
    ASSERT_TRUE(refused.ok()) << refused << "\n" << attack::AllLogTails(*cluster);
    EXPECT_EQ(refusal->kind(), "proposal.endorse");
    EXPECT_EQ(refusal->command().size(), 32u) << "the audit log keeps the digest, not 2 MiB";
    EXPECT_TRUE(absl::StartsWith(refusal->actor(), "unverified:")) << refusal->actor();
  }

  // Site-a goes away: the honest sites elect one of their own and commit,
  // and every message committed before is still there.
  cluster->Kill(0);
  absl::Status elected = attack::WaitFor(absl::Seconds(30), [&]() -> absl::Status {
    for (int i : {1, 2}) {
      auto st = cluster->Status(i, absl::Seconds(2));
      if (st.ok() && (st->leader() == "site-b/n1" || st->leader() == "site-c/n1")) {
        return absl::OkStatus();
      }
    }
    return absl::UnavailableError("no honest leader");
  });
  ASSERT_TRUE(elected.ok()) << elected << "\n" << attack::AllLogTails(*cluster);
  auto honest =
      Client::Open(OptionsFor(*cluster, "frontend", {cluster->address(1), cluster->address(2)}));
  ASSERT_TRUE(honest.ok()) << honest.status();
  v1::AppendMessageRequest after;
  after.set_account("alice");
  after.set_mailbox("INBOX");
  after.set_body("Subject: after\r\n\r\ncommitted after site-a left\r\n");
  absl::Status appended = absl::DeadlineExceededError("not tried");
  for (int attempt = 0; attempt < 5 && !appended.ok(); ++attempt) {
    appended = (*honest)->AppendMessage(after).status();
  }
  ASSERT_TRUE(appended.ok()) << appended;
  for (int i : {1, 2}) {
    auto now = attack::ReadAllMail(*cluster, i, attack::AccountsOf(*mail));
    ASSERT_TRUE(now.ok()) << now.status();
    for (const auto& [uid, body] : (*mail)["alice"]["INBOX"]) {
      EXPECT_EQ((*now)["alice"]["INBOX"][uid], body) << cluster->site(i) << " uid " << uid;
    }
    auto records = attack::AuditLogOn(*cluster, i);
    ASSERT_TRUE(records.ok()) << records.status();
    EXPECT_TRUE(attack::VerifyAuditChain(*records).ok());
  }
}

}  // namespace
}  // namespace qbox::testing

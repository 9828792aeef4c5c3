// Threat A against the membership (G7): site-a runs qbox-node-hostile and,
// once it leads, commits two forged learners of its own site on the
// followers, then sends both their promotions in one AppendEntries. Each
// promotion alone leaves site-a at 2 of 4 voters; together they would give
// it 3 of 5, and the honest sites could never elect without it again. The
// honest followers judge the configuration the whole batch produces, refuse
// it with an alarm naming site-a, keep every message, and elect a leader of
// their own once site-a is gone.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// The alarms node i reports about itself.
std::vector<std::string> AlarmsOf(const LocalCluster& cluster, int i) {
  auto st = cluster.Status(i, absl::Seconds(5));
  if (!st.ok()) return {};
  for (const v1::NodeStatus& n : st->nodes()) {
    if (n.site() == cluster.site(i)) return {n.alarms().begin(), n.alarms().end()};
  }
  return {};
}

bool HasAlarm(const LocalCluster& cluster, int i, const std::string& kind) {
  for (const std::string& a : AlarmsOf(cluster, i)) {
    if (absl::StrContains(a, kind) && absl::StrContains(a, kHostile)) return true;
  }
  return false;
}

TEST(BatchedPromotionTest, HonestSitesRefuseTwoPromotionsThatTogetherGiveOneSiteAMajority) {
  char scratch[] = "/tmp/qbox-promotion-XXXXXX";
  ASSERT_NE(::mkdtemp(scratch), nullptr);
  const std::string trigger = std::string(scratch) + "/arm";

  LocalClusterOptions options = attack::AttackClusterOptions();
  options.node_binary[0] = QBOX_HOSTILE_NODE_BINARY;
  options.node_extra_args[0] = {"--hostile", "double-promotion", "--hostile-trigger-file", trigger};
  auto started = attack::StartCluster(options);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<LocalCluster> cluster = std::move(*started);
  auto mail = attack::SeedMail(*cluster, {"alice", "bob"}, 3);
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

  ASSERT_TRUE(attack::WriteFileAtomically(trigger, "double-promotion").ok());
  absl::Status alarmed = attack::WaitFor(absl::Seconds(20), [&]() -> absl::Status {
    for (int i : {1, 2}) {
      if (!HasAlarm(*cluster, i, "refused-membership")) {
        return absl::NotFoundError(
            absl::StrCat(cluster->site(i), " raised no refused-membership alarm naming ", kHostile,
                         "; alarms: ", absl::StrJoin(AlarmsOf(*cluster, i), " | ")));
      }
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(alarmed.ok()) << alarmed << "\n" << attack::AllLogTails(*cluster);

  // The forged learners did reach the honest charters (a leader may add
  // learners); neither was promoted.
  for (int i : {1, 2}) {
    auto charter = attack::GetCharterOn(*cluster, i);
    ASSERT_TRUE(charter.ok()) << charter.status();
    int rogues = 0;
    for (const v1::CharterNode& node : charter->charter().nodes()) {
      if (!absl::StartsWith(node.name(), "rogue")) continue;
      ++rogues;
      EXPECT_EQ(node.site(), "site-a");
      EXPECT_FALSE(node.voter()) << cluster->site(i) << " holds " << node.name() << " as a voter";
    }
    EXPECT_EQ(rogues, 2) << cluster->site(i);
  }

  // Site-a goes away: the honest sites elect one of their own and commit.
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

  // Every message committed before the attack is still there, same UID.
  for (int i : {1, 2}) {
    auto now = attack::ReadAllMail(*cluster, i, attack::AccountsOf(*mail));
    ASSERT_TRUE(now.ok()) << now.status();
    for (const auto& [account, mailboxes] : *mail) {
      for (const auto& [mailbox, messages] : mailboxes) {
        for (const auto& [uid, body] : messages) {
          auto& held = (*now)[account][mailbox];
          auto it = held.find(uid);
          ASSERT_NE(it, held.end())
              << cluster->site(i) << " lost " << account << "/" << mailbox << " uid " << uid;
          EXPECT_EQ(it->second, body);
        }
      }
    }
  }

  // Each honest node's signed report of the refusal is in the audit log,
  // and the chain verifies.
  absl::Status audited = attack::WaitFor(absl::Seconds(30), [&]() -> absl::Status {
    for (int i : {1, 2}) {
      auto records = attack::AuditLogOn(*cluster, i);
      if (!records.ok()) return records.status();
      for (const std::string reporter : {"site-b/node/n1", "site-c/node/n1"}) {
        bool found = false;
        for (const v1::AuditRecord& r : *records) {
          found |= r.kind() == "node.alarm" &&
                   absl::StrContains(
                       r.detail(), absl::StrCat(reporter, " raised an alarm: refused-membership"));
        }
        if (!found) {
          return absl::NotFoundError(absl::StrCat(cluster->site(i), "'s audit log has no ",
                                                  "refused-membership report by ", reporter));
        }
      }
      RETURN_IF_ERROR(attack::VerifyAuditChain(*records));
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(audited.ok()) << audited;
}

}  // namespace
}  // namespace qbox::testing

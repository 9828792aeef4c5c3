// Threat A (a compromised site) as a hostile leader, against real qbox-node
// processes: site-a runs qbox-node-hostile and, once it leads and the test
// arms it, lies on the wire. G1/G5: the honest nodes refuse forged history,
// raise alarms naming site-a, and keep every committed message byte for
// byte. G7: when site-a then stops committing, site-b or site-c takes over
// within a bound and appends commit again.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <string>
#include <thread>
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

constexpr char kAccount[] = "alice";
constexpr char kHostile[] = "site-a/n1";

ClientOptions OptionsFor(const LocalCluster& c, const std::string& role,
                         std::vector<std::string> endpoints = {}) {
  return attack::HonestClientOptions(c, role, std::move(endpoints));
}

class HostileLeaderTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() && cluster_) {
      for (int i = 0; i < cluster_->size(); ++i) {
        std::cerr << "---- " << cluster_->site(i) << " log tail ----\n" << cluster_->LogTail(i, 40);
      }
    }
  }

  // body -> uid of every INBOX message, read from node i alone.
  std::map<std::string, uint32_t> InboxOf(int i) {
    auto client = Client::Open(OptionsFor(*cluster_, "frontend", {cluster_->address(i)}));
    EXPECT_TRUE(client.ok()) << client.status();
    std::map<std::string, uint32_t> out;
    if (!client.ok()) return out;
    v1::FetchMessagesRequest req;
    req.set_account(kAccount);
    req.set_mailbox("INBOX");
    req.set_uid_set("1:*");
    req.set_include_body(true);
    absl::Status s = (*client)->FetchMessages(req, [&](const v1::FetchMessagesResponse& r) {
      out.emplace(r.message().body(), r.message().uid());
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << cluster_->site(i) << ": " << s;
    return out;
  }

  // The alarms node i reports about itself.
  std::vector<std::string> AlarmsOf(int i) {
    auto st = cluster_->Status(i, absl::Seconds(5));
    if (!st.ok()) return {};
    for (const v1::NodeStatus& n : st->nodes()) {
      if (n.site() == cluster_->site(i)) return {n.alarms().begin(), n.alarms().end()};
    }
    return {};
  }

  bool HasAlarm(int i, const std::string& kind) {
    for (const std::string& a : AlarmsOf(i)) {
      if (absl::StrContains(a, kind) && absl::StrContains(a, kHostile)) return true;
    }
    return false;
  }

  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(HostileLeaderTest, HonestSitesRefuseForgeriesKeepTheirMailAndReplaceAStallingLeader) {
  char scratch[] = "/tmp/qbox-hostile-XXXXXX";
  ASSERT_NE(::mkdtemp(scratch), nullptr);
  const std::string trigger = std::string(scratch) + "/arm";

  LocalClusterOptions options;
  options.tick_ms = 20;
  options.election_ticks = 10;
  options.extra_args = {"--leader-stall-timeout", "2s"};
  options.node_binary[0] = QBOX_HOSTILE_NODE_BINARY;
  options.node_extra_args[0] = {"--hostile",
                                "overwrite-committed,broken-chain,bad-snapshot,stop-committing",
                                "--hostile-trigger-file", trigger};
  auto created = LocalCluster::Create(options);
  ASSERT_TRUE(created.ok()) << created.status();
  cluster_ = std::move(*created);
  ASSERT_TRUE(cluster_->StartAll().ok());
  auto first_leader = cluster_->WaitForLeader(absl::Seconds(20));
  ASSERT_TRUE(first_leader.ok()) << first_leader.status();

  // Commit mail while everyone is honest.
  auto admin = AdminClient::Open(OptionsFor(*cluster_, "admin"));
  ASSERT_TRUE(admin.ok()) << admin.status();
  v1::CreateAccountRequest account;
  account.set_account(kAccount);
  ASSERT_TRUE((*admin)->CreateAccount(account).ok());
  auto client = Client::Open(OptionsFor(*cluster_, "frontend"));
  ASSERT_TRUE(client.ok()) << client.status();
  for (int i = 0; i < 10; ++i) {
    v1::AppendMessageRequest req;
    req.set_account(kAccount);
    req.set_mailbox("INBOX");
    req.set_body(absl::StrCat("Subject: ", i, "\r\n\r\ncommitted before the attack ", i, "\r\n"));
    auto appended = (*client)->AppendMessage(req);
    ASSERT_TRUE(appended.ok()) << appended.status();
  }

  // Site-a becomes the leader.
  const absl::Time transfer_deadline = absl::Now() + absl::Seconds(20);
  absl::StatusOr<int> leader = first_leader;
  while (!(leader.ok() && *leader == 0) && absl::Now() < transfer_deadline) {
    v1::TransferLeadershipRequest to_a;
    to_a.set_target(kHostile);
    (void)(*admin)->TransferLeadership(to_a);
    leader = cluster_->WaitForLeader(absl::Seconds(5));
  }
  ASSERT_TRUE(leader.ok() && *leader == 0) << "site-a did not become the leader";
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(20)).ok());
  const std::map<std::string, uint32_t> before_b = InboxOf(1);
  const std::map<std::string, uint32_t> before_c = InboxOf(2);
  ASSERT_EQ(before_b.size(), 10u);
  ASSERT_EQ(before_b, before_c);

  // (a) + (b) + (c): forged history. The honest sites refuse and say who.
  ASSERT_TRUE(
      attack::WriteFileAtomically(trigger, "overwrite-committed,broken-chain,bad-snapshot").ok());
  const absl::Time alarm_deadline = absl::Now() + absl::Seconds(15);
  const std::vector<std::string> kinds = {"refused-truncation", "chain-mismatch",
                                          "snapshot-mismatch"};
  auto all_alarms = [&] {
    for (int i : {1, 2}) {
      for (const std::string& kind : kinds) {
        if (!HasAlarm(i, kind)) return false;
      }
    }
    return true;
  };
  while (!all_alarms() && absl::Now() < alarm_deadline) absl::SleepFor(absl::Milliseconds(200));
  for (int i : {1, 2}) {
    for (const std::string& kind : kinds) {
      EXPECT_TRUE(HasAlarm(i, kind))
          << cluster_->site(i) << " raised no " << kind << " alarm naming " << kHostile
          << "; alarms: " << absl::StrJoin(AlarmsOf(i), " | ");
    }
  }
  // Committed mail is unchanged, byte for byte, on both honest sites.
  EXPECT_EQ(InboxOf(1), before_b);
  EXPECT_EQ(InboxOf(2), before_c);

  // (d): site-a keeps heartbeating but commits nothing; it must be replaced
  // within the stall timeout (2 s) plus a few elections.
  ASSERT_TRUE(attack::WriteFileAtomically(trigger, "stop-committing").ok());
  const absl::Time stalled_at = absl::Now();
  int new_leader = -1;
  while (absl::Now() - stalled_at < absl::Seconds(20)) {
    for (int i : {1, 2}) {
      auto st = cluster_->Status(i, absl::Seconds(2));
      if (st.ok() && (st->leader() == "site-b/n1" || st->leader() == "site-c/n1")) {
        new_leader = st->leader() == "site-b/n1" ? 1 : 2;
      }
    }
    if (new_leader >= 0) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_GE(new_leader, 0) << "no honest leader within 20 s of the stall";
  std::cerr << "replaced the stalling leader after " << absl::Now() - stalled_at << "\n";
  EXPECT_TRUE(HasAlarm(1, "leader-stalled") || HasAlarm(2, "leader-stalled"));

  // New appends commit (through the honest sites).
  auto honest =
      Client::Open(OptionsFor(*cluster_, "frontend", {cluster_->address(1), cluster_->address(2)}));
  ASSERT_TRUE(honest.ok()) << honest.status();
  v1::AppendMessageRequest after;
  after.set_account(kAccount);
  after.set_mailbox("INBOX");
  after.set_body("Subject: after\r\n\r\ncommitted after the stall\r\n");
  absl::Status appended = absl::DeadlineExceededError("not tried");
  for (int attempt = 0; attempt < 5 && !appended.ok(); ++attempt) {
    appended = (*honest)->AppendMessage(after).status();
  }
  ASSERT_TRUE(appended.ok()) << appended;
  for (int i : {1, 2}) {
    std::map<std::string, uint32_t> now = InboxOf(i);
    EXPECT_EQ(now.size(), 11u) << cluster_->site(i);
    for (const auto& [body, uid] : before_b) {
      auto it = now.find(body);
      ASSERT_NE(it, now.end()) << cluster_->site(i) << " lost a committed message";
      EXPECT_EQ(it->second, uid);
    }
  }

  // Every attempt is in the audit log as well, not only in the honest
  // nodes' memory: each honest node signed a report of each kind of attempt
  // and the new leader committed it. Both honest nodes hold the same
  // records, and the chain verifies.
  auto reported_by = [](const std::vector<v1::AuditRecord>& records, const std::string& reporter,
                        const std::string& kind) {
    for (const v1::AuditRecord& r : records) {
      if (r.kind() == "node.alarm" &&
          absl::StrContains(r.detail(), absl::StrCat(reporter, " raised an alarm: ", kind))) {
        return true;
      }
    }
    return false;
  };
  const std::string reporter_b = "site-b/node/n1", reporter_c = "site-c/node/n1";
  absl::Status audited = attack::WaitFor(absl::Seconds(30), [&]() -> absl::Status {
    for (int i : {1, 2}) {
      absl::StatusOr<std::vector<v1::AuditRecord>> records = attack::AuditLogOn(*cluster_, i);
      if (!records.ok()) return records.status();
      for (const std::string& kind : kinds) {
        for (const std::string& reporter : {reporter_b, reporter_c}) {
          if (!reported_by(*records, reporter, kind)) {
            return absl::NotFoundError(absl::StrCat(cluster_->site(i), "'s audit log has no ", kind,
                                                    " report by ", reporter));
          }
        }
      }
      if (!reported_by(*records, reporter_b, "leader-stalled") &&
          !reported_by(*records, reporter_c, "leader-stalled")) {
        return absl::NotFoundError(
            absl::StrCat(cluster_->site(i), "'s audit log has no leader-stalled report"));
      }
      RETURN_IF_ERROR(attack::VerifyAuditChain(*records));
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(audited.ok()) << audited;
}

}  // namespace
}  // namespace qbox::testing

// G5: sites compare signed (index, digest, chain) checkpoints, and a node
// whose state diverged is caught. Here site-c's disk is tampered with behind
// the node's back (one record slipped into its mailbox database, as a
// compromised root could): at the next checkpoint the honest nodes raise an
// alarm that carries both signed checkpoints as evidence, and the operator
// sees it in GetClusterStatus.
#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/mailbox/store.h"
#include "rocksdb/db.h"
#include "qbox/v1/charter.pb.h"
#include "tests/attack/attack_support.h"

namespace qbox::attack {
namespace {

// The alarms node i reports about itself.
std::vector<std::string> AlarmsOf(const LocalCluster& cluster, int i) {
  auto status = cluster.Status(i, absl::Seconds(5));
  if (!status.ok()) return {};
  for (const v1::NodeStatus& node : status->nodes()) {
    if (node.site() == cluster.site(i)) return {node.alarms().begin(), node.alarms().end()};
  }
  return {};
}

// Three sites with a checkpoint every 20 entries and some of alice's mail,
// every node caught up.
absl::StatusOr<std::unique_ptr<LocalCluster>> StartSeededCluster() {
  auto started = StartCluster(AttackClusterOptions());
  if (!started.ok()) return started.status();
  auto seeded = SeedMail(**started, {"alice"}, 2);
  if (!seeded.ok()) return seeded.status();
  if (absl::Status s = (*started)->WaitCaughtUp(absl::Seconds(30)); !s.ok()) return s;
  return started;
}

// Waits for site-a's CHECKPOINT_MISMATCH alarm naming site-c; `alarm` gets
// its text.
absl::Status WaitForMismatchAboutSiteC(const LocalCluster& cluster, std::string* alarm) {
  return WaitFor(absl::Seconds(30), [&]() -> absl::Status {
    for (const std::string& a : AlarmsOf(cluster, 0)) {
      if (a.find("CHECKPOINT_MISMATCH") != std::string::npos && a.find("site-c") != std::string::npos) {
        *alarm = a;
        return absl::OkStatus();
      }
    }
    return absl::UnavailableError("no checkpoint alarm on site-a yet");
  });
}

TEST(CheckpointDivergenceTest, ATamperedReplicaIsCaughtWithSignedEvidence) {
  auto started = StartSeededCluster();
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;

  // Root on site-c slips a record into the node's mailbox database.
  ASSERT_TRUE(cluster.Stop(2).ok());
  {
    auto store = mailbox::Store::Open(cluster.data_dir(2) + "/mailbox");
    ASSERT_TRUE(store.ok()) << store.status();
    mailbox::StoreTxn txn(store->get());
    txn.Put(mailbox::Cf::kChanges, "\xff\xfftampered", "by root on site-c");
    ASSERT_TRUE(txn.Commit().ok());
  }
  ASSERT_TRUE(cluster.Start(2).ok());
  // Enough entries to pass the next checkpoint index.
  auto more = SeedMail(cluster, {"bob"}, 3);
  ASSERT_TRUE(more.ok()) << more.status();

  std::string alarm;
  absl::Status caught = WaitForMismatchAboutSiteC(cluster, &alarm);
  ASSERT_TRUE(caught.ok()) << caught << AllLogTails(cluster);

  // The evidence is both signed checkpoints: site-a's own and site-c's.
  const size_t peer_at = alarm.find(" peer=");
  const size_t own_at = alarm.find("evidence: own=");
  ASSERT_NE(peer_at, std::string::npos) << alarm;
  ASSERT_NE(own_at, std::string::npos) << alarm;
  std::string own_b64 = alarm.substr(own_at + 14, peer_at - own_at - 14);
  std::string peer_b64 = alarm.substr(peer_at + 6);
  std::string own_bytes, peer_bytes;
  ASSERT_TRUE(absl::Base64Unescape(own_b64, &own_bytes)) << own_b64;
  ASSERT_TRUE(absl::Base64Unescape(peer_b64, &peer_bytes)) << peer_b64;
  v1::SignedNodeStatement own, peer;
  ASSERT_TRUE(own.ParseFromString(own_bytes));
  ASSERT_TRUE(peer.ParseFromString(peer_bytes));
  v1::NodeStatement own_statement, peer_statement;
  ASSERT_TRUE(own_statement.ParseFromString(own.statement()));
  ASSERT_TRUE(peer_statement.ParseFromString(peer.statement()));
  EXPECT_EQ(own_statement.node_id(), 1u);
  EXPECT_EQ(peer_statement.node_id(), 3u);
  EXPECT_EQ(own_statement.checkpoint().index(), peer_statement.checkpoint().index());
  EXPECT_NE(own_statement.checkpoint().state_digest(), peer_statement.checkpoint().state_digest());
  EXPECT_FALSE(own.signature().signature().empty());
  EXPECT_FALSE(peer.signature().signature().empty());

  // site-b agrees with site-a and also flags site-c.
  absl::Status b_caught = WaitFor(absl::Seconds(10), [&]() -> absl::Status {
    for (const std::string& a : AlarmsOf(cluster, 1)) {
      if (a.find("CHECKPOINT_MISMATCH") != std::string::npos) return absl::OkStatus();
    }
    return absl::UnavailableError("no checkpoint alarm on site-b");
  });
  EXPECT_TRUE(b_caught.ok()) << b_caught;
  // And the mail the honest sites hold is untouched.
  auto mail_a = ReadAllMail(cluster, 0, {"alice", "bob"});
  auto mail_b = ReadAllMail(cluster, 1, {"alice", "bob"});
  ASSERT_TRUE(mail_a.ok() && mail_b.ok());
  EXPECT_EQ(*mail_a, *mail_b);
}

// The same root, but editing the RocksDB files directly, as a tool other
// than qbox-node would: the record changes, the state digest kept beside the
// records does not. site-c itself notices at start that its records no
// longer digest to what it kept, raises an alarm (in its status, its
// metrics and, signed, in every site's audit log) and checkpoints what is
// stored, so the other sites catch it too.
TEST(CheckpointDivergenceTest, FilesEditedBehindTheNodesBackAreReportedByTheNodeItself) {
  auto started = StartSeededCluster();
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;

  ASSERT_TRUE(cluster.Stop(2).ok());
  {
    auto store = mailbox::Store::Open(cluster.data_dir(2) + "/mailbox");
    ASSERT_TRUE(store.ok()) << store.status();
    rocksdb::DB* db = (*store)->db();
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), (*store)->cf(mailbox::Cf::kChanges),
                        "\xff\xfftampered", "by root on site-c, with a RocksDB tool")
                    .ok());
  }
  ASSERT_TRUE(cluster.Start(2).ok());

  // site-c's own alarm, in its status and its metrics.
  absl::Status noticed = WaitFor(absl::Seconds(30), [&]() -> absl::Status {
    for (const std::string& a : AlarmsOf(cluster, 2)) {
      if (a.find("STORED_STATE_CHANGED") != std::string::npos) return absl::OkStatus();
    }
    return absl::UnavailableError("site-c reports no STORED_STATE_CHANGED alarm yet");
  });
  ASSERT_TRUE(noticed.ok()) << noticed << AllLogTails(cluster);
  // /metrics samples the guard's alarms on its own schedule.
  std::string last_metrics;
  absl::Status counted = WaitFor(absl::Seconds(10), [&]() -> absl::Status {
    auto metrics = cluster.HttpGet(2, "/metrics");
    if (!metrics.ok()) return metrics.status();
    last_metrics = metrics->second;
    if (last_metrics.find("qbox_alarms{kind=\"stored-state-changed\"} 1") != std::string::npos) {
      return absl::OkStatus();
    }
    return absl::UnavailableError("/metrics does not count the alarm yet");
  });
  EXPECT_TRUE(counted.ok()) << counted << "\n" << last_metrics;

  // Enough entries to pass the next checkpoint index: the honest sites see
  // the difference as well.
  auto more = SeedMail(cluster, {"bob"}, 3);
  ASSERT_TRUE(more.ok()) << more.status();
  std::string alarm;
  absl::Status caught = WaitForMismatchAboutSiteC(cluster, &alarm);
  ASSERT_TRUE(caught.ok()) << caught << AllLogTails(cluster);

  // site-c's signed report is in the honest sites' audit log.
  absl::Status audited = WaitFor(absl::Seconds(30), [&]() -> absl::Status {
    auto records = AuditLogOn(cluster, 0);
    if (!records.ok()) return records.status();
    for (const v1::AuditRecord& r : *records) {
      if (r.kind() == "node.alarm" &&
          r.detail().find("site-c/node/n1 raised an alarm: stored-state-changed") !=
              std::string::npos) {
        return VerifyAuditChain(*records);
      }
    }
    return absl::NotFoundError("site-a's audit log has no stored-state-changed report by site-c");
  });
  EXPECT_TRUE(audited.ok()) << audited;
}

// The highest checkpoint index that all three nodes' statements reached,
// as node 0 applied them; 0 if none.
uint64_t FullySignedUpTo(const LocalCluster& cluster) {
  auto checkpoints = CheckpointsOn(cluster, 0);
  if (!checkpoints.ok()) return 0;
  uint64_t highest = 0;
  for (const v1::CheckpointEntry& entry : *checkpoints) {
    if (entry.statements_size() == 3) highest = std::max(highest, entry.index());
  }
  return highest;
}

std::string DescribeCheckpoints(const LocalCluster& cluster) {
  auto checkpoints = CheckpointsOn(cluster, 0);
  if (!checkpoints.ok()) return std::string(checkpoints.status().message());
  std::string out = "checkpoints on site-a:";
  for (const v1::CheckpointEntry& entry : *checkpoints) {
    absl::StrAppend(&out, " ", entry.index(), " (", entry.statements_size(), " signed)");
  }
  return out + "\n";
}

// After a kill -9 a node applies its log again from its store's last flush
// and computes the checkpoints there once more. The statements it signed
// before the crash are already applied: sending them again would only be
// refused as "already signed" and audited on every node, noise an operator
// would have to tell apart from a real refusal.
TEST(CheckpointDivergenceTest, ACrashedNodeDoesNotSendItsCheckpointsAgain) {
  auto started = StartSeededCluster();
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  // Past a few checkpoint indexes (one every 20 entries).
  auto seeded = SeedMail(cluster, {"carol", "dave"}, 10);
  ASSERT_TRUE(seeded.ok()) << seeded.status();
  uint64_t signed_before = 0;
  ASSERT_TRUE(WaitFor(absl::Seconds(30), [&]() -> absl::Status {
                signed_before = FullySignedUpTo(cluster);
                return signed_before >= 40 ? absl::OkStatus()
                                           : absl::UnavailableError("checkpoints not signed yet");
              }).ok())
      << DescribeCheckpoints(cluster) << AllLogTails(cluster);

  cluster.Kill(2);
  ASSERT_TRUE(cluster.Start(2).ok());
  ASSERT_TRUE(cluster.WaitCaughtUp(absl::Seconds(60)).ok()) << AllLogTails(cluster);
  // A later checkpoint signed by site-c shows its agent has gone through
  // the ones it computed again (they are queued in index order).
  auto more = SeedMail(cluster, {"bob"}, 3);
  ASSERT_TRUE(more.ok()) << more.status();
  absl::Status signed_after = WaitFor(absl::Seconds(30), [&]() -> absl::Status {
    return FullySignedUpTo(cluster) > signed_before
               ? absl::OkStatus()
               : absl::UnavailableError("no new checkpoint signed by all three");
  });
  ASSERT_TRUE(signed_after.ok()) << signed_after << AllLogTails(cluster);

  auto audit = AuditLogOn(cluster, 0);
  ASSERT_TRUE(audit.ok()) << audit.status();
  for (const v1::AuditRecord& record : *audit) {
    EXPECT_EQ(record.detail().find("already signed"), std::string::npos)
        << "seq " << record.seq() << ": " << record.detail();
  }
}

}  // namespace
}  // namespace qbox::attack

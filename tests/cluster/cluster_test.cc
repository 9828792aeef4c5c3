// Real qbox-node processes on loopback (issue 3, "Cluster tests"): appends
// survive leader crashes, a lagging follower catches up by snapshot, a wiped
// node rebuilds and votes again, and foreign or wrong-role certificates are
// refused.
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <mutex>
#include <set>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "qbox/admin_client.h"
#include "qbox/client.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/store.h"
#include "qbox/v1/mailstore.grpc.pb.h"
#include "tests/cluster/local_cluster.h"

namespace qbox::testing {
namespace {

constexpr char kAccount[] = "alice";

ClientOptions OptionsFor(const LocalCluster& c, const std::string& role,
                         std::vector<std::string> endpoints = {}) {
  ClientOptions o;
  o.endpoints = endpoints.empty() ? c.endpoints() : std::move(endpoints);
  o.ca_bundle_file = c.ca_bundle_path();
  o.certificate_file = c.cert_path(0, role);
  o.private_key_file = c.key_path(0, role);
  o.default_timeout = absl::Seconds(20);
  return o;
}

class ClusterTest : public ::testing::Test {
 protected:
  void StartCluster(LocalClusterOptions options = {}) {
    auto c = LocalCluster::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    ASSERT_TRUE(cluster_->StartAll().ok());
    auto leader = cluster_->WaitForLeader(absl::Seconds(30));
    ASSERT_TRUE(leader.ok()) << leader.status() << "\n" << cluster_->LogTail(0);
    auto admin = AdminClient::Open(OptionsFor(*cluster_, "admin"));
    ASSERT_TRUE(admin.ok()) << admin.status();
    v1::CreateAccountRequest req;
    req.set_account(kAccount);
    auto created = (*admin)->CreateAccount(req);
    ASSERT_TRUE(created.ok()) << created.status();
    // A node that starts after the other two wrote the genesis entry joins
    // as a recovering non-voter (G4) until another site attested its state.
    // Tests that stop a node right away need all three voting first.
    absl::Status caught_up = cluster_->WaitCaughtUp(absl::Seconds(60));
    ASSERT_TRUE(caught_up.ok()) << caught_up;
  }

  void TearDown() override {
    if (HasFailure() && cluster_) {
      for (int i = 0; i < cluster_->size(); ++i) {
        std::cerr << "---- " << cluster_->site(i) << " log tail ----\n" << cluster_->LogTail(i, 40);
      }
    }
  }

  // Appends `count` small messages ("Subject: <prefix><i>") to INBOX as the
  // front end, failing the test at the first error.
  void AppendToInbox(int count, absl::string_view prefix = "") {
    auto client = Client::Open(OptionsFor(*cluster_, "frontend"));
    ASSERT_TRUE(client.ok()) << client.status();
    for (int i = 0; i < count; ++i) {
      v1::AppendMessageRequest req;
      req.set_account(kAccount);
      req.set_mailbox("INBOX");
      req.set_body(absl::StrCat("Subject: ", prefix, i, "\r\n\r\n.\r\n"));
      absl::StatusOr<v1::AppendMessageResponse> appended = (*client)->AppendMessage(req);
      ASSERT_TRUE(appended.ok()) << "append " << i << ": " << appended.status();
    }
  }

  // Appends `count` messages of `body_bytes` bytes to INBOX from `clients`
  // front ends at once (group commit makes that quicker than one by one),
  // failing the test at the first error.
  void AppendToInboxConcurrently(int count, size_t body_bytes, absl::string_view prefix,
                                 int clients = 8) {
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
      threads.emplace_back([&, t] {
        auto client = Client::Open(OptionsFor(*cluster_, "frontend"));
        if (!client.ok()) {
          ADD_FAILURE() << client.status();
          ++failed;
          return;
        }
        for (int i = t; i < count && failed.load() == 0; i += clients) {
          v1::AppendMessageRequest req;
          req.set_account(kAccount);
          req.set_mailbox("INBOX");
          std::string body = absl::StrCat("Subject: ", prefix, i, "\r\n\r\n");
          body.resize(std::max(body.size(), body_bytes), 'x');
          req.set_body(body);
          absl::StatusOr<v1::AppendMessageResponse> appended = (*client)->AppendMessage(req);
          if (!appended.ok()) {
            ADD_FAILURE() << "append " << i << ": " << appended.status();
            ++failed;
          }
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(failed.load(), 0);
  }

  // A field of node i's qbox_raft gauge on /metrics (first_index, ...), or
  // -1 if it cannot be read.
  double RaftGauge(int i, const std::string& field) {
    auto metrics = cluster_->HttpGet(i, "/metrics");
    if (!metrics.ok()) return -1;
    const std::string needle = "qbox_raft{field=\"" + field + "\"} ";
    const size_t at = metrics->second.find(needle);
    if (at == std::string::npos) return -1;
    return std::strtod(metrics->second.c_str() + at + needle.size(), nullptr);
  }

  // Waits until node i's raft gauge `field` exceeds `than`; returns its last
  // value (the test checks it).
  double WaitForRaftGaugeAbove(int i, const std::string& field, double than,
                               absl::Duration timeout) {
    const absl::Time give_up = absl::Now() + timeout;
    double value = RaftGauge(i, field);
    while (value <= than && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(100));
      value = RaftGauge(i, field);
    }
    return value;
  }

  // body -> uid as node i holds INBOX, read from node i alone.
  std::multimap<std::string, uint32_t> InboxOf(int i) {
    auto client = Client::Open(OptionsFor(*cluster_, "frontend", {cluster_->address(i)}));
    EXPECT_TRUE(client.ok()) << client.status();
    std::multimap<std::string, uint32_t> out;
    v1::FetchMessagesRequest req;
    req.set_account(kAccount);
    req.set_mailbox("INBOX");
    req.set_uid_set("1:*");
    req.set_include_body(true);
    CallOptions call;
    call.timeout = absl::Seconds(60);
    absl::Status s = (*client)->FetchMessages(
        req,
        [&](const v1::FetchMessagesResponse& r) {
          out.emplace(r.message().body(), r.message().uid());
          return absl::OkStatus();
        },
        call);
    EXPECT_TRUE(s.ok()) << cluster_->site(i) << ": " << s;
    return out;
  }

  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(ClusterTest, AcknowledgedAppendsSurviveLeaderCrashesExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  constexpr int kClients = 8;
  constexpr int kPerClient = 250;  // 2,000 messages
  std::mutex mu;
  std::map<std::string, uint32_t> acked;  // body -> uid
  std::atomic<int> done{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      auto client = Client::Open(OptionsFor(*cluster_, "frontend"));
      ASSERT_TRUE(client.ok()) << client.status();
      for (int i = 0; i < kPerClient; ++i) {
        v1::AppendMessageRequest req;
        req.set_account(kAccount);
        req.set_mailbox("INBOX");
        std::string body = absl::StrCat("From: t", t, "\r\nSubject: ", i, "\r\n\r\nmessage ", t,
                                        "-", i, "\r\n");
        req.set_body(body);
        CallOptions call;
        call.timeout = absl::Seconds(30);
        auto resp = (*client)->AppendMessage(req, call);
        if (resp.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          acked[body] = resp->uid();
        }
        done.fetch_add(1);
      }
    });
  }
  // Kill the leader twice while the clients append, and bring it back.
  for (int round = 0; round < 2; ++round) {
    int target = (round + 1) * kClients * kPerClient / 3;
    while (done.load() < target) absl::SleepFor(absl::Milliseconds(20));
    auto leader = cluster_->WaitForLeader(absl::Seconds(30));
    ASSERT_TRUE(leader.ok()) << leader.status();
    cluster_->Kill(*leader);
    absl::SleepFor(absl::Milliseconds(500));
    ASSERT_TRUE(cluster_->Start(*leader).ok());
  }
  for (std::thread& c : clients) c.join();
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  // Most appends must have been acknowledged despite the crashes.
  EXPECT_GT(acked.size(), kClients * kPerClient * 9 / 10);
  for (int i = 0; i < cluster_->size(); ++i) {
    std::multimap<std::string, uint32_t> inbox = InboxOf(i);
    std::set<uint32_t> uids;
    for (const auto& [body, uid] : inbox) {
      EXPECT_TRUE(uids.insert(uid).second) << cluster_->site(i) << ": UID " << uid << " twice";
    }
    for (const auto& [body, uid] : acked) {
      ASSERT_EQ(inbox.count(body), 1u) << cluster_->site(i) << " holds an acknowledged append "
                                       << inbox.count(body) << " times";
      EXPECT_EQ(inbox.find(body)->second, uid) << cluster_->site(i);
    }
    // Unacknowledged appends may or may not have committed, but never twice.
    for (auto it = inbox.begin(); it != inbox.end(); it = inbox.upper_bound(it->first)) {
      EXPECT_EQ(inbox.count(it->first), 1u) << cluster_->site(i) << ": duplicate message";
    }
  }
}

TEST_F(ClusterTest, FollowerBehindTheCompactedLogCatchesUpBySnapshot) {
  LocalClusterOptions options;
  // Snapshots are held by the mailbox store (a flush, no copy), so the
  // entry count alone decides when the log is compacted, once no log is
  // kept for followers back from a restart.
  options.snapshot_every = 100;
  options.extra_args = {"--keep-log-bytes", "0", "--accept-unattested-snapshots"};
  ASSERT_NO_FATAL_FAILURE(StartCluster(options));
  int leader = *cluster_->WaitForLeader(absl::Seconds(30));
  int follower = (leader + 1) % cluster_->size();
  ASSERT_TRUE(cluster_->Stop(follower).ok());
  // Enough entries that snapshots are taken and the log behind them is
  // compacted past where the stopped follower was.
  ASSERT_NO_FATAL_FAILURE(AppendToInbox(2600));
  ASSERT_TRUE(cluster_->Start(follower).ok());
  absl::Status caught_up = cluster_->WaitCaughtUp(absl::Seconds(60));
  ASSERT_TRUE(caught_up.ok()) << caught_up;
  EXPECT_EQ(InboxOf(follower).size(), 2600u);
  EXPECT_EQ(InboxOf(follower), InboxOf(leader));
  std::string log = cluster_->LogTail(follower, 100000);
  EXPECT_NE(log.find("installing snapshot"), std::string::npos) << log;
  // The leader's own snapshots were held by its store; the one sent was
  // written when the follower turned out to need it.
  const std::string leader_log = cluster_->LogTail(leader, 1000000);
  EXPECT_NE(leader_log.find("held by the state machine, waiting for one written to send"),
            std::string::npos)
      << leader_log;
  EXPECT_NE(leader_log.find("written for a follower"), std::string::npos) << leader_log;
  EXPECT_NE(leader_log.find("(held by the state machine"), std::string::npos) << leader_log;
  // And /metrics counts both kinds, for operators.
  auto metrics = cluster_->HttpGet(leader, "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto counted = [&](const std::string& field) {
    const std::string needle = "qbox_raft{field=\"" + field + "\"} ";
    const size_t at = metrics->second.find(needle);
    return at == std::string::npos ? -1.0
                                   : std::strtod(metrics->second.c_str() + at + needle.size(),
                                                 nullptr);
  };
  EXPECT_GE(counted("snapshots_held_total"), 20.0) << metrics->second;  // 2,600 entries / 100
  EXPECT_GE(counted("snapshots_written_total"), 1.0) << metrics->second;

  // A crash half-way through installing a snapshot leaves part of the old
  // state and part of the snapshot, and the marker saying so. The node
  // drops that mix at start and installs the snapshot its raft log storage
  // kept again, with no operator involved.
  ASSERT_TRUE(cluster_->Stop(follower).ok());
  {
    auto store = mailbox::Store::Open(cluster_->data_dir(follower) + "/mailbox");
    ASSERT_TRUE(store.ok()) << store.status();
    mailbox::StoreTxn txn(store->get());
    txn.Put(mailbox::Cf::kMeta, std::string(mailbox::keys::kRestoring), "1");
    txn.Put(mailbox::Cf::kMessages, "\xff\xffhalf-restored", "part of a record");
    ASSERT_TRUE(txn.Commit().ok());
  }
  ASSERT_TRUE(cluster_->Start(follower).ok());
  caught_up = cluster_->WaitCaughtUp(absl::Seconds(60));
  ASSERT_TRUE(caught_up.ok()) << caught_up;
  EXPECT_EQ(InboxOf(follower), InboxOf(leader));
  log = cluster_->LogTail(follower, 100000);
  EXPECT_NE(log.find("a snapshot restore was interrupted"), std::string::npos) << log;
}

// G1 against a hostile leader: nothing lets a follower check a snapshot
// against the state it would replace, so by default a follower that holds
// state refuses one, keeps what it has and says why; the other two sites
// go on committing.
TEST_F(ClusterTest, FollowerWithStateRefusesAnUnattestedSnapshotAndKeepsItsMail) {
  LocalClusterOptions options;
  options.snapshot_every = 100;
  options.extra_args = {"--keep-log-bytes", "0"};
  ASSERT_NO_FATAL_FAILURE(StartCluster(options));
  int leader = *cluster_->WaitForLeader(absl::Seconds(30));
  int follower = (leader + 1) % cluster_->size();
  ASSERT_NO_FATAL_FAILURE(AppendToInbox(50, "before-"));
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());
  const double applied_before =
      WaitForRaftGaugeAbove(follower, "applied_index", 49.0, absl::Seconds(10));
  ASSERT_GE(applied_before, 50.0);
  ASSERT_TRUE(cluster_->Stop(follower).ok());
  // More than the 2,000 entries a node keeps behind its snapshot.
  ASSERT_NO_FATAL_FAILURE(AppendToInbox(2200, "after-"));
  ASSERT_TRUE(cluster_->Start(follower).ok());
  std::string log;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    log = cluster_->LogTail(follower, 100000);
    if (log.find("ALARM refused-snapshot") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_NE(log.find("ALARM refused-snapshot"), std::string::npos) << log;
  EXPECT_NE(log.find("--accept-unattested-snapshots"), std::string::npos) << log;
  EXPECT_EQ(log.find("installing snapshot"), std::string::npos) << log;
  // It kept its state (a linearizable read there would wait for it to
  // catch up, so its applied index and store speak for it).
  EXPECT_GE(RaftGauge(follower, "applied_index"), applied_before);
  EXPECT_LT(RaftGauge(follower, "applied_index"), applied_before + 2000);
  // The two other sites still commit.
  ASSERT_NO_FATAL_FAILURE(AppendToInbox(5, "later-"));
}

TEST_F(ClusterTest, AFollowerBackFromARestartCatchesUpFromTheLogNotByACopy) {
  // Snapshots are frequent here, but the log behind them is kept up to
  // --keep-log-bytes (default 1 GiB): a follower that was away for a
  // restart gets the entries it missed, not a copy of the whole store.
  LocalClusterOptions options;
  options.snapshot_every = 100;
  ASSERT_NO_FATAL_FAILURE(StartCluster(options));
  const int leader = *cluster_->WaitForLeader(absl::Seconds(30));
  const int follower = (leader + 1) % cluster_->size();
  ASSERT_TRUE(cluster_->Stop(follower).ok());
  // More than the 2,000 entries kept behind a snapshot by count alone.
  ASSERT_NO_FATAL_FAILURE(AppendToInbox(2600));
  ASSERT_TRUE(cluster_->Start(follower).ok());
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  EXPECT_EQ(InboxOf(follower), InboxOf(leader));
  const std::string leader_log = cluster_->LogTail(leader, 100000);
  EXPECT_NE(leader_log.find("(held by the state machine"), std::string::npos) << leader_log;
  EXPECT_EQ(leader_log.find("written for a follower"), std::string::npos) << leader_log;
  EXPECT_EQ(cluster_->LogTail(follower, 100000).find("installing snapshot"), std::string::npos);
}

TEST_F(ClusterTest, ARestartedNodeCompactsItsLogToTheBudgetWithoutAWholeBudgetMore) {
  // The log a node kept behind its snapshot before a restart counts toward
  // --keep-log-bytes from the storage's estimate. When only entries applied
  // since the start counted, a restarted node compacted nothing until a
  // whole budget of new entries had arrived: up to twice the budget on
  // disk, and more after each further restart.
  constexpr size_t kBodyBytes = 2000;
  // About 2,900 entries: more than the 2,000 kept behind a snapshot by
  // count, so the byte budget decides.
  constexpr uint64_t kKeepBytes = 6'000'000;
  LocalClusterOptions options;
  options.snapshot_every = 100;
  options.extra_args = {"--keep-log-bytes", absl::StrCat(kKeepBytes)};
  ASSERT_NO_FATAL_FAILURE(StartCluster(options));
  const int leader = *cluster_->WaitForLeader(absl::Seconds(30));
  const int node = (leader + 1) % cluster_->size();
  // More than the budget: the node compacts its log behind it.
  ASSERT_NO_FATAL_FAILURE(AppendToInboxConcurrently(3400, kBodyBytes, "before "));
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  ASSERT_GT(WaitForRaftGaugeAbove(node, "first_index", 1, absl::Seconds(30)), 1)
      << "the log was never compacted: " << cluster_->LogTail(node, 20);

  ASSERT_TRUE(cluster_->Stop(node).ok());
  ASSERT_TRUE(cluster_->Start(node).ok());
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  const double first_at_start = RaftGauge(node, "first_index");
  ASSERT_GT(first_at_start, 1);
  const std::string log = cluster_->LogTail(node, 200);
  EXPECT_NE(log.find("counting the raft log kept from before this start"), std::string::npos)
      << log;

  // A third of a budget of new entries is enough to compact again (the
  // estimate counts three quarters of what was kept), where a whole one was
  // needed before.
  ASSERT_NO_FATAL_FAILURE(AppendToInboxConcurrently(1000, kBodyBytes, "after "));
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  const double first_after =
      WaitForRaftGaugeAbove(node, "first_index", first_at_start, absl::Seconds(20));
  EXPECT_GT(first_after, first_at_start) << cluster_->LogTail(node, 40);
  // What it keeps is about the budget again: at least the budget (an entry
  // carries the body and less than 200 bytes more), not a second one on top.
  const double kept = RaftGauge(node, "last_index") - RaftGauge(node, "first_index") + 1;
  EXPECT_GE(kept, kKeepBytes / (kBodyBytes + 200.0));
  EXPECT_LE(kept, 1.5 * kKeepBytes / kBodyBytes);
  EXPECT_EQ(cluster_->LogTail(node, 100000).find("installing snapshot"), std::string::npos);
}

TEST_F(ClusterTest, AStoreThatLostWhatItFlushedStopsTheNodeUntilItRejoinsEmpty) {
  // The raft log is compacted up to snapshots that only the mailbox store
  // holds. A store that loses what it had flushed (here: its directory
  // deleted alone) cannot be rebuilt from this node's own log any more: the
  // node must say so and stop, not serve an empty mailbox store.
  LocalClusterOptions options;
  options.snapshot_every = 100;
  ASSERT_NO_FATAL_FAILURE(StartCluster(options));
  ASSERT_NO_FATAL_FAILURE(AppendToInbox(300));
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  const int leader = *cluster_->WaitForLeader(absl::Seconds(30));
  const int victim = (leader + 1) % cluster_->size();
  ASSERT_TRUE(cluster_->Stop(victim).ok());
  std::filesystem::remove_all(cluster_->data_dir(victim) + "/mailbox");
  ASSERT_TRUE(cluster_->Start(victim).ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (cluster_->Running(victim) && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(cluster_->Running(victim)) << cluster_->LogTail(victim, 60);
  const std::string log = cluster_->LogTail(victim, 200);
  EXPECT_NE(log.find("its storage lost what it had flushed"), std::string::npos) << log;
  EXPECT_NE(log.find("data directory away and start it empty"), std::string::npos) << log;

  // What the message says to do works: started empty, it rejoins (G4).
  cluster_->WipeData(victim);
  ASSERT_TRUE(cluster_->Start(victim).ok());
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  EXPECT_EQ(InboxOf(victim).size(), 300u);
}

TEST_F(ClusterTest, NodeWithDeletedDataDirectoryRejoinsAndVotesAgain) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto client = Client::Open(OptionsFor(*cluster_, "frontend"));
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 50; ++i) {
    v1::AppendMessageRequest req;
    req.set_account(kAccount);
    req.set_mailbox("INBOX");
    req.set_body(absl::StrCat("Subject: before ", i, "\r\n\r\n.\r\n"));
    ASSERT_TRUE((*client)->AppendMessage(req).ok());
  }
  int leader = *cluster_->WaitForLeader(absl::Seconds(30));
  // A healthy cluster loses one disk: every node (also one that started late
  // and had to prove itself, G4) votes before the victim goes. With two of
  // three recovering at once nothing could commit, by design.
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  int victim = (leader + 1) % cluster_->size();
  cluster_->Kill(victim);
  cluster_->WipeData(victim);
  ASSERT_TRUE(cluster_->Start(victim).ok());
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(60)).ok());
  EXPECT_NE(cluster_->LogTail(victim, 400).find("lost its disk"), std::string::npos)
      << cluster_->LogTail(victim, 60);
  EXPECT_EQ(InboxOf(victim).size(), 50u);
  // It is a voter again: with the old leader gone, the victim and the third
  // node elect a leader and keep every committed message.
  cluster_->Kill(leader);
  auto next = cluster_->WaitForLeader(absl::Seconds(30));
  ASSERT_TRUE(next.ok()) << next.status();
  v1::AppendMessageRequest req;
  req.set_account(kAccount);
  req.set_mailbox("INBOX");
  req.set_body("Subject: after\r\n\r\n.\r\n");
  ASSERT_TRUE((*client)->AppendMessage(req).ok());
  EXPECT_EQ(InboxOf(victim).size(), 51u);
}

TEST_F(ClusterTest, CertificatesFromTheWrongCaOrWithTheWrongRoleAreRefused) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  // A front end may not call Admin; an admin may not call MailStore.
  {
    auto admin_as_frontend = AdminClient::Open(OptionsFor(*cluster_, "frontend"));
    ASSERT_TRUE(admin_as_frontend.ok());
    auto st = (*admin_as_frontend)->GetClusterStatus(v1::GetClusterStatusRequest());
    EXPECT_EQ(st.status().code(), absl::StatusCode::kPermissionDenied) << st.status();
    auto mail_as_admin = Client::Open(OptionsFor(*cluster_, "admin"));
    ASSERT_TRUE(mail_as_admin.ok());
    v1::ListMailboxesRequest req;
    req.set_account(kAccount);
    EXPECT_EQ((*mail_as_admin)->ListMailboxes(req).status().code(),
              absl::StatusCode::kPermissionDenied);
  }
  // A certificate from a CA no site has is refused in the handshake.
  auto stranger = LocalCluster::Create({});
  ASSERT_TRUE(stranger.ok());
  ClientOptions o = OptionsFor(*cluster_, "frontend");
  o.certificate_file = (*stranger)->cert_path(0, "frontend");
  o.private_key_file = (*stranger)->key_path(0, "frontend");
  o.default_timeout = absl::Seconds(3);
  auto client = Client::Open(o);
  ASSERT_TRUE(client.ok());
  v1::ListMailboxesRequest req;
  req.set_account(kAccount);
  auto resp = (*client)->ListMailboxes(req);
  EXPECT_FALSE(resp.ok());
  EXPECT_TRUE(resp.status().code() == absl::StatusCode::kUnavailable ||
              resp.status().code() == absl::StatusCode::kDeadlineExceeded ||
              resp.status().code() == absl::StatusCode::kUnauthenticated)
      << resp.status();
}

}  // namespace
}  // namespace qbox::testing

namespace qbox::testing {
namespace {

TEST_F(ClusterTest, MetricsAndHealthAreServedOnThePlaintextPort) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  ASSERT_NO_FATAL_FAILURE(AppendToInbox(5));
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());
  int leader = *cluster_->WaitForLeader(absl::Seconds(10));
  for (int i = 0; i < cluster_->size(); ++i) {
    auto health = cluster_->HttpGet(i, "/healthz");
    ASSERT_TRUE(health.ok()) << health.status();
    EXPECT_EQ(health->first, 200);
    auto ready = cluster_->HttpGet(i, "/readyz");
    ASSERT_TRUE(ready.ok());
    EXPECT_EQ(ready->first, 200) << ready->second;
  }
  // Gauges refresh every 200 ms; wait for the appends to show.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string metrics;
  while (absl::Now() < deadline) {
    auto got = cluster_->HttpGet(leader, "/metrics");
    ASSERT_TRUE(got.ok());
    metrics = got->second;
    if (metrics.find("qbox_raft_role{role=\"leader\"} 1") != std::string::npos) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_NE(metrics.find("qbox_raft_role{role=\"leader\"} 1"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("qbox_raft{field=\"commit_index\"}"), std::string::npos);
  // One CreateAccount and five appends went through the log.
  EXPECT_NE(metrics.find("qbox_append_latency_seconds_count 6"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("method=\"/qbox.v1.MailStore/AppendMessage\""), std::string::npos);
  EXPECT_NE(metrics.find("qbox_rocksdb_size_bytes{db=\"raft\"}"), std::string::npos);
  // A node that lost its disk and cannot reach the others yet is alive but
  // not ready; it becomes ready once it has rebuilt from them.
  for (int i = 0; i < cluster_->size(); ++i) cluster_->Kill(i);
  cluster_->WipeData(0);
  ASSERT_TRUE(cluster_->Start(0).ok());
  std::optional<std::pair<int, std::string>> ready, health;
  for (int tries = 0; tries < 500 && !ready; ++tries) {
    auto r = cluster_->HttpGet(0, "/readyz");
    if (r.ok()) {
      ready = *r;
      health = *cluster_->HttpGet(0, "/healthz");
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(ready.has_value()) << "the health port did not come up";
  EXPECT_EQ(ready->first, 503) << ready->second;
  EXPECT_EQ(health->first, 200);
  ASSERT_TRUE(cluster_->Start(1).ok());
  ASSERT_TRUE(cluster_->Start(2).ok());
  absl::Status caught_up = cluster_->WaitCaughtUp(absl::Seconds(30));
  EXPECT_TRUE(caught_up.ok()) << caught_up;
}

// Under steady writes a follower is always a few entries behind the
// leader's commit index; readiness (and grpc.health.v1) must not flap for
// that, or load balancers and health-checking clients would drop and re-add
// healthy nodes all the time.
TEST_F(ClusterTest, NodesStayReadyUnderSteadyWrites) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());
  auto flaps_logged = [&](int i) {
    std::string log = cluster_->LogTail(i, 1000000);
    size_t count = 0;
    for (size_t at = log.find("health is NOT_SERVING"); at != std::string::npos;
         at = log.find("health is NOT_SERVING", at + 1)) {
      ++count;
    }
    return count;
  };
  std::vector<size_t> flaps_before;
  for (int i = 0; i < cluster_->size(); ++i) flaps_before.push_back(flaps_logged(i));

  std::atomic<bool> stop{false};
  std::atomic<int> appended{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      auto client = Client::Open(OptionsFor(*cluster_, "frontend"));
      ASSERT_TRUE(client.ok()) << client.status();
      for (int i = 0; !stop.load(); ++i) {
        v1::AppendMessageRequest req;
        req.set_account(kAccount);
        req.set_mailbox("INBOX");
        req.set_body(absl::StrCat("Subject: steady ", t, "-", i, "\r\n\r\n", std::string(2048, 'x'),
                                  "\r\n"));
        if ((*client)->AppendMessage(req).ok()) appended.fetch_add(1);
      }
    });
  }
  while (appended.load() < 50) absl::SleepFor(absl::Milliseconds(10));
  int samples = 0;
  std::vector<std::string> unready;
  absl::Time until = absl::Now() + absl::Seconds(4);
  while (absl::Now() < until) {
    for (int i = 0; i < cluster_->size(); ++i) {
      auto ready = cluster_->HttpGet(i, "/readyz");
      ASSERT_TRUE(ready.ok()) << ready.status();
      ++samples;
      if (ready->first != 200) unready.push_back(cluster_->site(i) + ": " + ready->second);
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  const int during = appended.load();
  stop = true;
  for (std::thread& c : clients) c.join();
  EXPECT_GT(during, 100) << "too few appends to put the followers behind";
  EXPECT_TRUE(unready.empty()) << unready.size() << " of " << samples
                               << " samples not ready, first: " << unready.front();
  for (int i = 0; i < cluster_->size(); ++i) {
    EXPECT_EQ(flaps_logged(i), flaps_before[i]) << cluster_->site(i) << " logged NOT_SERVING";
  }
  EXPECT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());
}

TEST(NodeFlags, BadFlagsExitNonZeroNamingTheFlag) {
  auto run = [](const std::string& args) {
    std::string cmd = std::string(QBOX_NODE_BINARY_FOR_TESTS) + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
    int status = ::pclose(p);
    return std::make_pair(WEXITSTATUS(status), out);
  };
  auto [code, out] = run("--cluster /etc/hostname --node site-a/n1 --data-dir /tmp/x "
                         "--cert /etc/hostname --key /etc/hostname --bogus");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--bogus"), std::string::npos) << out;
  std::tie(code, out) = run("--cluster /nonexistent.json --node site-a/n1 --data-dir /tmp/x "
                            "--cert /nonexistent.crt --key /nonexistent.key");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--cluster"), std::string::npos) << out;
  std::tie(code, out) = run("--cluster /etc/hostname --node no-slash --data-dir /tmp/x "
                            "--cert /etc/hostname --key /etc/hostname");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--node"), std::string::npos) << out;
  std::tie(code, out) = run("--cluster /etc/hostname --node site-a/n1 --data-dir /tmp/x "
                            "--cert /etc/hostname --key /etc/hostname --tick-ms 0");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--tick-ms"), std::string::npos) << out;
  std::tie(code, out) = run("--cluster /etc/hostname --node site-a/n1 --data-dir /tmp/x "
                            "--cert /etc/hostname --key /etc/hostname --snapshot-log-ratio -1");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--snapshot-log-ratio"), std::string::npos) << out;
  std::tie(code, out) = run("--cluster /etc/hostname --node site-a/n1 --data-dir /tmp/x "
                            "--cert /etc/hostname --key /etc/hostname --batch-delay-us 200000");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--batch-delay-us"), std::string::npos) << out;
  std::tie(code, out) = run("--cluster /etc/hostname --node site-a/n1 --data-dir /tmp/x "
                            "--cert /etc/hostname --key /etc/hostname --ready-max-lag -5");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--ready-max-lag"), std::string::npos) << out;
  std::tie(code, out) = run("--cluster /etc/hostname --node site-a/n1 --data-dir /tmp/x "
                            "--cert /etc/hostname --key /etc/hostname --keep-log-bytes lots");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("--keep-log-bytes"), std::string::npos) << out;
  // A configuration file that is not the cluster's JSON names the file.
  std::tie(code, out) = run("--cluster /etc/hostname --node site-a/n1 --data-dir /tmp/qbox-x "
                            "--cert /etc/hostname --key /etc/hostname");
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("/etc/hostname"), std::string::npos) << out;
}

}  // namespace
}  // namespace qbox::testing

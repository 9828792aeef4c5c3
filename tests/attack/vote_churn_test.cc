// G7 while the hostile site keeps talking: an attacker holding only site-a's
// node certificate, with site-a's node stopped, sends the other two nodes a
// PreVote and a Vote every 300 ms for the next term, claiming a log of a
// billion entries and a leadership transfer. Sites b and c must keep
// committing: their commit rate during the attack stays at least half of
// what it was just before. The rates are printed.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "qbox/admin_client.h"
#include "qbox/client.h"
#include "qbox/v1/raft.grpc.pb.h"
#include "tests/attack/attack_support.h"
#include "tests/cluster/local_cluster.h"

namespace qbox::attack {
namespace {

constexpr char kAccount[] = "alice";
constexpr int kWriters = 4;
const absl::Duration kWindow = absl::Seconds(6);

ClientOptions OptionsAs(const LocalCluster& c, int site, const std::string& role) {
  ClientOptions o;
  for (int i = 0; i < c.size(); ++i) o.endpoints.push_back(c.address(i));
  o.ca_bundle_file = c.ca_bundle_path();
  o.certificate_file = c.cert_path(site, role);
  o.private_key_file = c.key_path(site, role);
  o.default_timeout = absl::Seconds(10);
  return o;
}

// Node i's current term, from its /metrics.
uint64_t TermOf(const LocalCluster& cluster, int i) {
  auto metrics = cluster.HttpGet(i, "/metrics");
  if (!metrics.ok()) return 0;
  const std::string needle = "qbox_raft{field=\"term\"} ";
  const size_t at = metrics->second.find(needle);
  if (at == std::string::npos) return 0;
  return static_cast<uint64_t>(std::strtod(metrics->second.c_str() + at + needle.size(), nullptr));
}

TEST(VoteChurnAttack, HonestSitesKeepCommittingWhileSiteASendsVotes) {
  auto started = StartCluster(AttackClusterOptions());
  ASSERT_TRUE(started.ok()) << started.status();
  LocalCluster& cluster = **started;
  {
    auto admin = AdminClient::Open(OptionsAs(cluster, 1, "admin"));
    ASSERT_TRUE(admin.ok()) << admin.status();
    v1::CreateAccountRequest req;
    req.set_account(kAccount);
    ASSERT_TRUE((*admin)->CreateAccount(req).ok());
  }
  auto node_key = IssuedCredential(cluster, 0, "node");
  ASSERT_TRUE(node_key.ok()) << node_key.status();
  // Site-a's node is gone; what is left of site-a is its key.
  ASSERT_TRUE(cluster.Stop(0).ok());

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> appended{0};
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto client = Client::Open(OptionsAs(cluster, 1 + w % 2, "frontend"));
      if (!client.ok()) {
        ++failures;
        return;
      }
      for (uint64_t i = 0; !stop.load(); ++i) {
        v1::AppendMessageRequest req;
        req.set_account(kAccount);
        req.set_mailbox("INBOX");
        req.set_body(absl::StrCat("Subject: churn ", w, "-", i, "\r\n\r\nbody\r\n"));
        if ((*client)->AppendMessage(req).ok()) {
          ++appended;
        } else {
          ++failures;
        }
      }
    });
  }
  auto rate_over = [&](absl::Duration window) {
    const uint64_t before = appended.load();
    absl::SleepFor(window);
    return static_cast<double>(appended.load() - before) / absl::ToDoubleSeconds(window);
  };
  absl::SleepFor(absl::Seconds(2));  // warm up
  const double rate_before = rate_over(kWindow);

  auto votes_for_site_a = [&](int i) {
    const std::string log = cluster.LogTail(i, 1000000);
    size_t count = 0;
    for (size_t at = log.find("voted for 1 in term"); at != std::string::npos;
         at = log.find("voted for 1 in term", at + 1)) {
      ++count;
    }
    return count;
  };
  const size_t votes_before[] = {0, votes_for_site_a(1), votes_for_site_a(2)};
  std::atomic<bool> attacking{true};
  std::atomic<uint64_t> sent{0};
  std::thread attacker([&] {
    std::vector<std::unique_ptr<v1::Raft::Stub>> stubs;
    for (int i = 1; i <= 2; ++i) {
      stubs.push_back(v1::Raft::NewStub(ChannelAs(cluster, i, *node_key)));
    }
    while (attacking.load()) {
      for (int i = 1; i <= 2; ++i) {
        const uint64_t term = std::max(TermOf(cluster, 1), TermOf(cluster, 2)) + 1;
        v1::RaftBatch batch;
        for (v1::RaftMessageType type : {v1::RAFT_MESSAGE_PRE_VOTE, v1::RAFT_MESSAGE_VOTE}) {
          v1::RaftMessage* m = batch.add_messages();
          m->set_type(type);
          m->set_from(1);  // site-a's node id
          m->set_to(static_cast<uint64_t>(i + 1));
          m->set_term(term);
          m->set_index(1000000000);
          m->set_log_term(term - 1);
          m->set_context("qbox:transfer");
        }
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
        v1::RaftAck ack;
        if (stubs[i - 1]->SendOne(&ctx, batch, &ack).ok()) ++sent;
      }
      absl::SleepFor(absl::Milliseconds(300));
    }
  });
  absl::SleepFor(absl::Milliseconds(500));
  const double rate_during = rate_over(kWindow);
  attacking = false;
  attacker.join();
  stop = true;
  for (std::thread& t : writers) t.join();

  std::cout << "vote churn attack: " << rate_before << " appends/s before, " << rate_during
            << " appends/s during (" << sent.load() << " batches of forged votes delivered, "
            << failures.load() << " appends failed)" << std::endl;
  EXPECT_GT(sent.load(), 10u) << "the forged votes never reached the honest nodes";
  ASSERT_GT(rate_before, 5.0) << "too few appends before the attack to compare with";
  EXPECT_GE(rate_during, 0.5 * rate_before);
  // Neither honest node granted the attacker a vote.
  for (int i = 1; i <= 2; ++i) {
    EXPECT_EQ(votes_for_site_a(i), votes_before[i]) << cluster.site(i);
  }
}

}  // namespace
}  // namespace qbox::attack

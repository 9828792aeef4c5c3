// A node whose data volume fills degrades instead of exiting
// (node/server/no_space.h): real qbox-node processes, each with its data
// directory on a tmpfs of its own, which the test fills with a file and
// then grows (mount -o remount,size=...). In each case nothing
// acknowledged is lost, no process exits, and every node resumes by itself.
//
// Needs root (to mount); skipped, saying so, otherwise.
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "qbox/admin_client.h"
#include "qbox/client.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "tests/cluster/local_cluster.h"

namespace qbox::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kAccount[] = "alice";
constexpr uint64_t kMiB = uint64_t{1} << 20;
// Each node's volume, and what it grows to. RocksDB reserves its WAL ahead
// of writing it (about 70 MiB for the raft log), so the volume must hold
// that and the stores with room to spare.
constexpr uint64_t kVolumeBytes = 512 * kMiB;
constexpr uint64_t kGrownVolumeBytes = 1024 * kMiB;
// The nodes' NOSPACE threshold (--min-free-bytes), and how much the test
// leaves free when it fills a volume.
constexpr uint64_t kMinFreeBytes = 24 * kMiB;
constexpr uint64_t kLeftWhenFilled = 8 * kMiB;

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

std::string MountTmpfs(const std::string& dir, uint64_t bytes, bool remount) {
  const std::string data = absl::StrCat("size=", bytes);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", remount ? MS_REMOUNT : 0, data.c_str()) != 0) {
    return absl::StrCat(remount ? "remounting " : "mounting ", "a tmpfs on ", dir, ": ",
                        std::strerror(errno));
  }
  return "";
}

// Waits until `done` holds or `timeout` passes; true if it held.
bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(50));  // polling a condition, with a deadline
  }
  return true;
}

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) {
      GTEST_SKIP() << "needs root to mount a small tmpfs for each node's data directory";
    }
    char probe[] = "/tmp/qbox-tmpfs-probe-XXXXXX";
    ASSERT_NE(::mkdtemp(probe), nullptr);
    const std::string mounted = MountTmpfs(probe, kMiB, /*remount=*/false);
    if (mounted.empty()) ::umount(probe);
    ::rmdir(probe);
    if (!mounted.empty()) {
      GTEST_SKIP() << "cannot mount a tmpfs here (" << mounted << "); the test needs CAP_SYS_ADMIN";
    }
  }

  // `threshold_bytes` for --min-free-bytes (0: only a failed write raises
  // NOSPACE). `raft_volume_of_node0`: if not 0, node 0's raft log gets a
  // tmpfs of that size of its own, inside its data directory's.
  void StartCluster(uint64_t threshold_bytes = kMinFreeBytes, uint64_t raft_volume_of_node0 = 0) {
    LocalClusterOptions options;
    options.extra_args = {absl::StrCat("--min-free-bytes=", threshold_bytes),
                          "--min-free-percent=0"};
    auto c = LocalCluster::Create(options);
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = std::move(*c);
    for (int i = 0; i < cluster_->size(); ++i) {
      fs::create_directories(cluster_->data_dir(i));
      const std::string mounted = MountTmpfs(cluster_->data_dir(i), kVolumeBytes, false);
      ASSERT_EQ(mounted, "");
      mounted_.push_back(cluster_->data_dir(i));
    }
    if (raft_volume_of_node0 != 0) {
      fs::create_directories(RaftDir(0));
      ASSERT_EQ(MountTmpfs(RaftDir(0), raft_volume_of_node0, false), "");
      mounted_.push_back(RaftDir(0));
    }
    ASSERT_TRUE(cluster_->StartAll().ok());
    auto leader = cluster_->WaitForLeader(absl::Seconds(30));
    ASSERT_TRUE(leader.ok()) << leader.status();
    auto admin = AdminClient::Open(OptionsFor(*cluster_, "admin"));
    ASSERT_TRUE(admin.ok()) << admin.status();
    v1::CreateAccountRequest req;
    req.set_account(kAccount);
    auto created = (*admin)->CreateAccount(req);
    ASSERT_TRUE(created.ok()) << created.status();
    absl::Status caught_up = cluster_->WaitCaughtUp(absl::Seconds(60));
    ASSERT_TRUE(caught_up.ok()) << caught_up;
  }

  void TearDown() override {
    if (!cluster_) return;
    if (HasFailure()) {
      for (int i = 0; i < cluster_->size(); ++i) {
        std::cerr << "---- " << cluster_->site(i) << " log tail ----\n" << cluster_->LogTail(i, 40);
      }
    }
    for (int i = 0; i < cluster_->size(); ++i) cluster_->Kill(i);
    // Inner mounts first.
    for (auto dir = mounted_.rbegin(); dir != mounted_.rend(); ++dir) {
      ::umount2(dir->c_str(), MNT_DETACH);
    }
    cluster_.reset();
  }

  // The leader as the nodes other than `paused` see it, if they agree on
  // one that is not `paused`; -1 otherwise.
  int LeaderOtherThan(int paused) {
    int leader = -1;
    for (int i = 0; i < cluster_->size(); ++i) {
      if (i == paused) continue;
      auto status = cluster_->Status(i, absl::Seconds(2));
      if (!status.ok()) return -1;
      int seen = -1;
      for (int j = 0; j < cluster_->size(); ++j) {
        if (absl::StartsWith(status->leader(), cluster_->site(j) + "/")) seen = j;
      }
      if (seen < 0 || seen == paused || (leader >= 0 && seen != leader)) return -1;
      leader = seen;
    }
    return leader;
  }

  // Whether node i's audit log holds `site`'s NOSPACE alarm.
  bool AuditedNoSpaceOf(int i, const std::string& site) {
    auto stub = v1::Admin::NewStub(cluster_->Channel(i, "admin"));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto reader = stub->GetAuditLog(&context, v1::GetAuditLogRequest());
    bool found = false;
    v1::AuditRecord record;
    while (reader->Read(&record)) {
      found = found || (absl::StrContains(record.detail(), "raised an alarm: nospace") &&
                        absl::StrContains(record.detail(), site));
    }
    return reader->Finish().ok() && found;
  }

  // Node i's commit index as it reports it, or -1.
  int64_t CommitIndexOf(int i) {
    auto status = cluster_->Status(i, absl::Seconds(5));
    if (!status.ok()) return -1;
    return static_cast<int64_t>(status->nodes(0).commit_index());
  }

  std::string RaftDir(int i) const { return cluster_->data_dir(i) + "/raft"; }

  // Fills node i's volume with a file until only `leave` bytes are free.
  void Fill(int i, uint64_t leave) { Fill(cluster_->data_dir(i), leave); }
  // The same for the volume mounted at `dir`.
  void Fill(const std::string& dir, uint64_t leave) {
    struct statvfs st;
    ASSERT_EQ(::statvfs(dir.c_str(), &st), 0);
    const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
    ASSERT_GT(free, leave);
    const std::string path = absl::StrCat(dir, "/filler-", fillers_++);
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY, 0600);
    ASSERT_GE(fd, 0) << path << ": " << std::strerror(errno);
    const int allocated = ::posix_fallocate(fd, 0, static_cast<off_t>(free - leave));
    ::close(fd);
    ASSERT_EQ(allocated, 0) << path << ": " << std::strerror(allocated);
  }

  void Grow(const std::string& dir) {
    ASSERT_EQ(MountTmpfs(dir, kGrownVolumeBytes, /*remount=*/true), "");
  }

  // qbox_nospace on node i's /metrics: 1, 0, or -1 if it cannot be read.
  int NoSpaceGauge(int i) {
    auto metrics = cluster_->HttpGet(i, "/metrics");
    if (!metrics.ok() || metrics->first != 200) return -1;
    const size_t at = metrics->second.find("\nqbox_nospace ");
    if (at == std::string::npos) return -1;
    return std::atoi(metrics->second.c_str() + at + std::strlen("\nqbox_nospace "));
  }

  void ExpectNoSpace(int i) {
    ASSERT_TRUE(WaitUntil([&] { return NoSpaceGauge(i) == 1; }, absl::Seconds(15)))
        << cluster_->site(i) << " did not raise NOSPACE";
    auto ready = cluster_->HttpGet(i, "/readyz");
    ASSERT_TRUE(ready.ok()) << ready.status();
    EXPECT_EQ(ready->first, 503);
    EXPECT_TRUE(absl::StrContains(ready->second, "NOSPACE")) << ready->second;
    auto status = cluster_->Status(i, absl::Seconds(5));
    ASSERT_TRUE(status.ok()) << status.status();
    std::string alarms;
    for (const std::string& alarm : status->nodes(0).alarms()) absl::StrAppend(&alarms, alarm);
    EXPECT_TRUE(absl::StrContains(alarms, "NOSPACE")) << alarms;
    EXPECT_TRUE(absl::StrContains(alarms, "free of")) << alarms;
  }

  // Appends `count` messages of `bytes` bytes until one fails; records the
  // acknowledged ones. Returns how many were acknowledged.
  int Append(int count, const std::string& prefix, absl::Duration timeout, size_t bytes = 4096) {
    auto client = Client::Open(OptionsFor(*cluster_, "frontend"));
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return 0;
    int acked = 0;
    for (int n = 0; n < count; ++n) {
      v1::AppendMessageRequest req;
      req.set_account(kAccount);
      req.set_mailbox("INBOX");
      std::string body = absl::StrCat("Subject: ", prefix, n, "\r\n\r\n");
      body.resize(bytes, 'x');
      req.set_body(body);
      CallOptions call;
      call.timeout = timeout;
      auto appended = (*client)->AppendMessage(req, call);
      if (!appended.ok()) {
        last_append_error_ = appended.status();
        break;
      }
      acked_[body] = appended->uid();
      ++acked;
    }
    return acked;
  }

  // The start of a body, which names it ("Subject: <prefix><n>"): large
  // bodies need not be compared whole.
  static constexpr size_t kBodyKeyBytes = 64;

  // body key -> uid as node i holds INBOX, read from node i alone (stale).
  std::map<std::string, uint32_t> InboxOf(int i) {
    std::map<std::string, uint32_t> out;
    auto client = Client::Open(OptionsFor(*cluster_, "frontend", {cluster_->address(i)}));
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return out;
    v1::FetchMessagesRequest req;
    req.set_account(kAccount);
    req.set_mailbox("INBOX");
    req.set_uid_set("1:*");
    req.set_include_body(true);
    req.set_stale_read_ok(true);
    absl::Status s = (*client)->FetchMessages(req, [&](const v1::FetchMessagesResponse& r) {
      out.emplace(r.message().body().substr(0, kBodyKeyBytes), r.message().uid());
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << cluster_->site(i) << ": " << s;
    return out;
  }

  // Every acknowledged message is on every node, with its UID.
  void ExpectNothingLost() {
    for (int i = 0; i < cluster_->size(); ++i) {
      std::map<std::string, uint32_t> inbox = InboxOf(i);
      int missing = 0;
      std::string first_missing;
      for (const auto& [body, uid] : acked_) {
        auto it = inbox.find(body.substr(0, kBodyKeyBytes));
        if (it != inbox.end() && it->second == uid) continue;
        if (missing++ == 0) {
          first_missing =
              absl::StrCat("UID ", uid, " ", absl::CEscape(body.substr(0, 24)), "; held there: ");
          for (const auto& [key, held] : inbox) {
            if (held == uid)
              absl::StrAppend(&first_missing, "UID ", held, " ", absl::CEscape(key.substr(0, 24)));
          }
          absl::StrAppend(&first_missing, " of ", inbox.size());
        }
      }
      EXPECT_EQ(missing, 0) << cluster_->site(i)
                            << " lacks acknowledged messages, the first: " << first_missing;
    }
  }

  void ExpectAllRunning() {
    for (int i = 0; i < cluster_->size(); ++i) {
      EXPECT_TRUE(cluster_->Running(i)) << cluster_->site(i) << " exited";
    }
  }

  // Grows the filled nodes' volumes (or `volumes`, if given) and waits
  // until the cluster is whole again.
  void GrowAndExpectRecovery(const std::vector<int>& filled,
                             std::vector<std::string> volumes = {}) {
    if (volumes.empty()) {
      for (int i : filled) volumes.push_back(cluster_->data_dir(i));
    }
    for (const std::string& dir : volumes) ASSERT_NO_FATAL_FAILURE(Grow(dir));
    for (int i : filled) {
      EXPECT_TRUE(WaitUntil([&] { return NoSpaceGauge(i) == 0; }, absl::Seconds(15)))
          << cluster_->site(i) << " did not clear NOSPACE";
    }
    absl::Status caught_up = cluster_->WaitCaughtUp(absl::Seconds(30));
    ASSERT_TRUE(caught_up.ok()) << caught_up;
    EXPECT_EQ(Append(10, "after-", absl::Seconds(20)), 10);
    ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());
    ExpectAllRunning();
    ExpectNothingLost();
  }

  std::unique_ptr<LocalCluster> cluster_;
  std::vector<std::string> mounted_;
  int fillers_ = 0;
  std::map<std::string, uint32_t> acked_;  // body -> uid
  absl::Status last_append_error_;         // of the last append that failed
};

TEST_F(FullDiskTest, AFollowerThatFillsPausesAndResumes) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int follower = (*leader + 1) % cluster_->size();
  ASSERT_EQ(Append(20, "before-", absl::Seconds(20)), 20);
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());

  ASSERT_NO_FATAL_FAILURE(Fill(follower, kLeftWhenFilled));
  ASSERT_NO_FATAL_FAILURE(ExpectNoSpace(follower));
  // The two others still form a majority: writes go on, and the full node
  // still answers stale reads. It takes no entries meanwhile.
  const int64_t paused_at = CommitIndexOf(follower);
  EXPECT_EQ(Append(20, "during-", absl::Seconds(20)), 20);
  EXPECT_EQ(CommitIndexOf(follower), paused_at) << "a paused node went on taking entries";
  // Its alarm is in the audit log every site keeps.
  EXPECT_TRUE(WaitUntil([&] { return AuditedNoSpaceOf(*leader, cluster_->site(follower)); },
                        absl::Seconds(15)));
  EXPECT_EQ(
      InboxOf(follower).count(absl::StrCat("Subject: before-0\r\n\r\n", std::string(4096, 'x'))
                                  .substr(0, kBodyKeyBytes)),
      1u);
  ExpectAllRunning();

  ASSERT_NO_FATAL_FAILURE(GrowAndExpectRecovery({follower}));
}

TEST_F(FullDiskTest, ALeaderThatFillsHandsLeadershipOnAndResumes) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  ASSERT_EQ(Append(20, "before-", absl::Seconds(20)), 20);

  ASSERT_NO_FATAL_FAILURE(Fill(*leader, kLeftWhenFilled));
  ASSERT_NO_FATAL_FAILURE(ExpectNoSpace(*leader));
  // The others follow a new leader (the paused node does not learn who:
  // it takes no messages).
  EXPECT_TRUE(WaitUntil([&] { return LeaderOtherThan(*leader) >= 0; }, absl::Seconds(15)));
  // Once it has handed leadership on, it takes no entries from the new
  // leader: it could not persist them.
  const int64_t paused_at = CommitIndexOf(*leader);
  EXPECT_TRUE(absl::StrContains(cluster_->LogTail(*leader, 200), "handing leadership to node"));
  EXPECT_EQ(Append(20, "during-", absl::Seconds(20)), 20);
  EXPECT_EQ(CommitIndexOf(*leader), paused_at) << "a paused node went on taking entries";
  ExpectAllRunning();

  ASSERT_NO_FATAL_FAILURE(GrowAndExpectRecovery({*leader}));
}

TEST_F(FullDiskTest, TwoNodesThatFillStopWritesWithoutLosingAny) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  ASSERT_EQ(Append(20, "before-", absl::Seconds(20)), 20);
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());

  // The leader fills and hands leadership on; then the new leader fills
  // too. Each must pause once it has handed leadership on: one that went
  // on acknowledging appends would form a majority with the third node.
  ASSERT_NO_FATAL_FAILURE(Fill(*leader, kLeftWhenFilled));
  ASSERT_NO_FATAL_FAILURE(ExpectNoSpace(*leader));
  int next = -1;
  ASSERT_TRUE(WaitUntil([&] { return (next = LeaderOtherThan(*leader)) >= 0; }, absl::Seconds(15)));
  ASSERT_NO_FATAL_FAILURE(Fill(next, kLeftWhenFilled));
  ASSERT_NO_FATAL_FAILURE(ExpectNoSpace(next));
  // No majority can persist anything: writes fail (none is acknowledged
  // that could be lost) with RESOURCE_EXHAUSTED naming the full nodes,
  // whichever node is asked, and nobody exits.
  EXPECT_EQ(Append(1, "refused-", absl::Seconds(5)), 0);
  EXPECT_EQ(last_append_error_.code(), absl::StatusCode::kResourceExhausted) << last_append_error_;
  for (int i : {*leader, next}) {
    EXPECT_TRUE(absl::StrContains(last_append_error_.message(), cluster_->site(i) + "/n1"))
        << last_append_error_;
  }
  ExpectAllRunning();

  ASSERT_NO_FATAL_FAILURE(GrowAndExpectRecovery({*leader, next}));
}

TEST_F(FullDiskTest, AWriteThatFindsNoSpaceDegradesInsteadOfAborting) {
  // No threshold: the follower runs its volume full until RocksDB's own
  // writes fail with "No space left on device", the case that used to
  // abort the node.
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*threshold_bytes=*/0));
  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  const int follower = (*leader + 1) % cluster_->size();
  ASSERT_EQ(Append(10, "before-", absl::Seconds(20)), 10);
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());

  ASSERT_NO_FATAL_FAILURE(Fill(follower, kMiB));
  // RocksDB reserved room for its logs ahead of writing them: appending
  // uses that up before a write fails. The two others keep the majority.
  // At most 160 MiB: room the healthy nodes' volumes have.
  for (int batch = 0; batch < 50 && cluster_->Running(follower) && NoSpaceGauge(follower) != 1;
       ++batch) {
    ASSERT_EQ(Append(50, absl::StrCat("filling-", batch, "-"), absl::Seconds(5), 64 << 10), 50)
        << last_append_error_;
  }
  ASSERT_TRUE(cluster_->Running(follower)) << cluster_->LogTail(follower, 5);
  ASSERT_NO_FATAL_FAILURE(ExpectNoSpace(follower));
  EXPECT_TRUE(absl::StrContains(cluster_->LogTail(follower, 200), "failed: "))
      << cluster_->LogTail(follower, 20);
  EXPECT_EQ(Append(10, "during-", absl::Seconds(20)), 10);
  ExpectAllRunning();

  ASSERT_NO_FATAL_FAILURE(GrowAndExpectRecovery({follower}));
}

TEST_F(FullDiskTest, ARaftLogWriteThatFindsNoSpaceIsFinishedOnceThereIsRoom) {
  // Node 0's raft log has a small volume of its own, so that persisting
  // the log is the write that fails (not the mailbox store's): the Ready
  // that asked for it is held, with nothing acknowledged, and written once
  // the volume grows.
  ASSERT_NO_FATAL_FAILURE(StartCluster(/*threshold_bytes=*/0, /*raft_volume_of_node0=*/256 * kMiB));
  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  if (*leader == 0) {
    auto admin = AdminClient::Open(OptionsFor(*cluster_, "admin"));
    ASSERT_TRUE(admin.ok()) << admin.status();
    v1::TransferLeadershipRequest req;
    req.set_target(cluster_->site(1) + "/n1");
    auto moved = (*admin)->TransferLeadership(req);
    ASSERT_TRUE(moved.ok()) << moved.status();
  }
  ASSERT_EQ(Append(10, "before-", absl::Seconds(20)), 10);
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());

  ASSERT_NO_FATAL_FAILURE(Fill(RaftDir(0), kMiB));
  for (int batch = 0; batch < 50 && cluster_->Running(0) && NoSpaceGauge(0) != 1; ++batch) {
    ASSERT_EQ(Append(50, absl::StrCat("filling-", batch, "-"), absl::Seconds(5), 64 << 10), 50)
        << last_append_error_;
  }
  ASSERT_TRUE(cluster_->Running(0)) << cluster_->LogTail(0, 5);
  ASSERT_NO_FATAL_FAILURE(ExpectNoSpace(0));
  EXPECT_TRUE(absl::StrContains(cluster_->LogTail(0, 200), "persisting the raft log failed: "))
      << cluster_->LogTail(0, 20);
  EXPECT_EQ(Append(10, "during-", absl::Seconds(20)), 10);
  ExpectAllRunning();

  ASSERT_NO_FATAL_FAILURE(GrowAndExpectRecovery({0}, {RaftDir(0)}));
}

TEST_F(FullDiskTest, AWriteThatWouldPushAMajorityBelowTheThresholdIsRefusedEarly) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  auto leader = cluster_->WaitForLeader(absl::Seconds(10));
  ASSERT_TRUE(leader.ok()) << leader.status();
  ASSERT_EQ(Append(10, "before-", absl::Seconds(20)), 10);
  // Two nodes keep 4 MiB above the threshold: a 3 MiB message (6 MiB on
  // disk, log and store) would push both below it.
  const int a = *leader;
  const int b = (*leader + 1) % cluster_->size();
  ASSERT_NO_FATAL_FAILURE(Fill(a, kMinFreeBytes + 4 * kMiB));
  ASSERT_NO_FATAL_FAILURE(Fill(b, kMinFreeBytes + 4 * kMiB));
  // The nodes learn the others' free space within a second or so.
  int attempt = 0;
  EXPECT_TRUE(WaitUntil(
      [&] {
        return Append(1, absl::StrCat("big-", attempt++, "-"), absl::Seconds(10), 3 * kMiB) == 0 &&
               last_append_error_.code() == absl::StatusCode::kResourceExhausted;
      },
      absl::Seconds(15)))
      << last_append_error_;
  for (int i : {a, b}) {
    EXPECT_TRUE(absl::StrContains(last_append_error_.message(), cluster_->site(i) + "/n1"))
        << last_append_error_;
  }
  // Small writes go on, and nobody is in NOSPACE.
  EXPECT_EQ(Append(5, "small-", absl::Seconds(20)), 5) << last_append_error_;
  for (int i = 0; i < cluster_->size(); ++i) EXPECT_EQ(NoSpaceGauge(i), 0) << cluster_->site(i);
  ASSERT_TRUE(cluster_->WaitCaughtUp(absl::Seconds(30)).ok());
  ExpectNothingLost();
}

// Not root-only: a bad threshold is refused at start, naming the flag.
TEST(FullDiskFlags, ABadThresholdIsRefusedNamingTheFlag) {
  for (const std::string flag : {"--min-free-percent=80", "--min-free-bytes=-1"}) {
    const std::string command = absl::StrCat(
        QBOX_NODE_BINARY_FOR_TESTS, " --cluster=/nonexistent --node=site-a/n1 --data-dir=/tmp/x ",
        "--cert=/nonexistent --key=/nonexistent ", flag, " 2>&1");
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
    const int status = ::pclose(pipe);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << flag << ": " << output;
    EXPECT_TRUE(absl::StrContains(output, flag.substr(0, flag.find('=')))) << output;
  }
}

}  // namespace
}  // namespace qbox::testing

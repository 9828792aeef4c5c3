// `qboxctl snapshot save | verify | restore` and `qboxctl rebuild watch`
// against real three-node clusters on loopback (qbox-node processes), and
// every bad input of those commands.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/mailbox/state_machine.h"
#include "qbox/admin_client.h"
#include "qbox/client.h"
#include "tests/ctl/cluster_status.h"
#include "tests/ctl/local_cluster.h"
#include "tests/ctl/qboxctl_runner.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::LocalCluster;
using testing::WaitFor;
using json = nlohmann::json;

constexpr auto kClusterDeadline = std::chrono::seconds(30);
constexpr char kFrontend[] = "fe1";
constexpr char kAccount[] = "alice";

std::string MakeTempDir(const std::string& name) {
  std::string tmpl = ::testing::TempDir() + "/" + name + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

std::string Hex(const std::array<uint8_t, 32>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

// A running cluster, a front end's client to it and qboxctl at hand.
class ClusterHarness {
 public:
  // "" on success, else what failed.
  std::string Start(const std::string& root) {
    root_ = root;
    io_ = root + "/io";
    fs::create_directories(io_);
    std::string created = cluster_.Create(root + "/cluster");
    if (!created.empty()) return created;
    // A front end of site-a, and a bundle of every site's CA for it.
    CommandResult issued = Run({"site", "issue", "--site-dir", cluster_.node(0).site_dir, "--role",
                                "frontend", kFrontend});
    if (issued.exit_code != 0) return "site issue --role frontend: " + issued.err;
    std::string bundle;
    for (int i = 0; i < cluster_.size(); ++i) {
      bundle += testing::ReadAll(cluster_.node(i).site_dir + "/ca.crt");
    }
    bundle_ = root + "/bundle.pem";
    WriteFile(bundle_, bundle);
    if (!cluster_.StartAll()) return "could not start the nodes";
    if (!WaitForOneLeader()) return "no leader within the deadline: " + last_status_;
    return "";
  }

  CommandResult Run(const std::vector<std::string>& args) const {
    return testing::RunQboxctl(args, io_);
  }
  std::vector<std::string> Admin(std::vector<std::string> command,
                                 const std::string& timeout = "10s") const {
    std::vector<std::string> flags = cluster_.AdminFlags(0, timeout);
    command.insert(command.end(), flags.begin(), flags.end());
    return command;
  }

  json Status() {
    CommandResult r = Run(Admin({"status", "-o", "json"}, "3s"));
    last_status_ = r.out + r.err;
    if (r.exit_code != 0) return json();
    return json::parse(r.out, nullptr, false);
  }
  // One leader and every node a voter (see OneLeaderAndAllVoters).
  bool WaitForOneLeader() {
    return WaitFor([this] { return testing::OneLeaderAndAllVoters(Status(), cluster_.size()); },
                   kClusterDeadline);
  }

  absl::StatusOr<std::unique_ptr<Client>> OpenClient() { return Client::Open(FrontendOptions()); }

  // The front end's certificate, for the client library.
  ClientOptions FrontendOptions() {
    ClientOptions options;
    for (int i = 0; i < cluster_.size(); ++i) options.endpoints.push_back(cluster_.node(i).address);
    options.ca_bundle_file = bundle_;
    const std::string dir = cluster_.node(0).site_dir + "/frontends/";
    options.certificate_file = dir + kFrontend + ".crt";
    options.private_key_file = dir + kFrontend + ".key";
    options.default_timeout = absl::Seconds(15);
    return options;
  }

  // UID -> body of every message in the account's INBOX.
  absl::StatusOr<std::map<uint32_t, std::string>> Inbox() {
    auto client = OpenClient();
    if (!client.ok()) return client.status();
    v1::FetchMessagesRequest request;
    request.set_account(kAccount);
    request.set_mailbox("INBOX");
    request.set_uid_set("1:*");
    request.set_include_body(true);
    std::map<uint32_t, std::string> messages;
    absl::Status fetched =
        (*client)->FetchMessages(request, [&](const v1::FetchMessagesResponse& response) {
          messages[response.message().uid()] = response.message().body();
          return absl::OkStatus();
        });
    if (!fetched.ok()) return fetched;
    return messages;
  }

  LocalCluster& cluster() { return cluster_; }
  const std::string& io() const { return io_; }
  std::string last_status() const { return last_status_; }

 private:
  LocalCluster cluster_;
  std::string root_, io_, bundle_;
  std::string last_status_;
};

// Creates the account and appends `count` messages; returns UID -> body.
std::map<uint32_t, std::string> AppendMessages(ClusterHarness& harness, int count) {
  std::map<uint32_t, std::string> appended;
  CommandResult created = harness.Run(harness.Admin({"account", "create", kAccount}));
  EXPECT_EQ(created.exit_code, 0) << created.err;
  auto client = harness.OpenClient();
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return appended;
  for (int i = 0; i < count; ++i) {
    v1::AppendMessageRequest request;
    request.set_account(kAccount);
    request.set_mailbox("INBOX");
    // The first two are large, so that a snapshot spans several 1 MiB chunks.
    const size_t size = i < 2 ? (700 << 10) + i : 100 + i * 37;
    std::string body = "From: a@example.org\r\nSubject: message " + std::to_string(i) + "\r\n\r\n" +
                       std::string(size, static_cast<char>('a' + i % 26)) + "\r\n";
    request.set_body(body);
    auto response = (*client)->AppendMessage(request);
    EXPECT_TRUE(response.ok()) << response.status();
    if (response.ok()) appended[response->uid()] = body;
  }
  return appended;
}

// Expects `args` to fail with `exit_code` and ONE stderr line holding every
// one of `messages`, with nothing on stdout.
void ExpectRefused(const ClusterHarness& harness, const std::vector<std::string>& args,
                   int exit_code, const std::vector<std::string>& messages) {
  CommandResult r = harness.Run(args);
  std::string joined;
  for (const auto& a : args) joined += a + " ";
  EXPECT_EQ(r.exit_code, exit_code) << joined << "\n" << r.err;
  for (const std::string& m : messages) EXPECT_THAT(r.err, HasSubstr(m)) << joined;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << "\n" << r.err;
  EXPECT_EQ(r.out, "") << joined;
}

class SnapshotLiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new std::string(MakeTempDir("qboxctl-snapshot"));
    ASSERT_FALSE(root_->empty());
    harness_ = new ClusterHarness();
    std::string started = harness_->Start(*root_);
    if (!started.empty()) {
      delete harness_;
      harness_ = nullptr;
      FAIL() << started;
    }
    appended_ = new std::map<uint32_t, std::string>(AppendMessages(*harness_, 12));
  }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
    delete appended_;
    fs::remove_all(*root_);
    delete root_;
  }
  void SetUp() override {
    if (harness_ == nullptr) GTEST_SKIP() << "cluster set-up failed";
    for (int i = 0; i < harness_->cluster().size(); ++i) {
      if (!harness_->cluster().Running(i)) {
        ASSERT_TRUE(harness_->cluster().Start(i));
      }
    }
    ASSERT_TRUE(harness_->WaitForOneLeader()) << harness_->last_status();
  }

  // Saves a snapshot into a new file under the root; its JSON output.
  static json Save(const std::string& file) {
    CommandResult r = harness_->Run(harness_->Admin({"snapshot", "save", file, "-o", "json"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return json::parse(r.out, nullptr, false);
  }

  static std::string* root_;
  static ClusterHarness* harness_;
  static std::map<uint32_t, std::string>* appended_;
};

std::string* SnapshotLiveTest::root_ = nullptr;
ClusterHarness* SnapshotLiveTest::harness_ = nullptr;
std::map<uint32_t, std::string>* SnapshotLiveTest::appended_ = nullptr;

TEST_F(SnapshotLiveTest, SaveThenVerifySucceeds) {
  const std::string file = *root_ + "/backup-ok.qbox";
  json saved = Save(file);
  ASSERT_TRUE(saved.is_object());
  EXPECT_EQ(saved["file"], file);
  const json& m = saved["manifest"];
  EXPECT_GE(m["log_index"].get<uint64_t>(), appended_->size());
  EXPECT_GE(m["log_term"].get<uint64_t>(), 1u);
  EXPECT_EQ(m["chain"].get<std::string>().size(), 64u);
  EXPECT_EQ(m["state_digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(m["members"].size(), 3u);
  for (const json& member : m["members"]) EXPECT_EQ(member["voter"], true);
  EXPECT_THAT(m["node"].get<std::string>(), HasSubstr("/n1"));
  // The layout ctl/README.md documents: header, data, manifest, checksum.
  const std::string bytes = testing::ReadAll(file);
  const uint64_t data_bytes = m["data_bytes"].get<uint64_t>();
  ASSERT_GT(bytes.size(), 60 + data_bytes);
  EXPECT_EQ(bytes.substr(0, 16), std::string("QBOXSNAP\0\0\0\1BKUP", 16));
  EXPECT_EQ(bytes.substr(24, 8), "QBOXSNAP") << "the data is the node's state machine snapshot";
  uint64_t manifest_bytes = 0;
  for (int i = 0; i < 4; ++i) {
    manifest_bytes = manifest_bytes << 8 | static_cast<uint8_t>(bytes[24 + data_bytes + i]);
  }
  EXPECT_EQ(bytes.size(), 60 + data_bytes + manifest_bytes);
  EXPECT_EQ(json::parse(bytes.substr(28 + data_bytes, manifest_bytes)), m);
  EXPECT_FALSE(fs::exists(file + ".tmp"));
  EXPECT_GT(data_bytes, 1u << 20) << "the stream should span several chunks";
  // The nodes keep no scratch copies of what they streamed.
  for (int i = 0; i < harness_->cluster().size(); ++i) {
    for (const auto& entry : fs::directory_iterator(harness_->cluster().node(i).data_dir)) {
      EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr("admin-snapshot")));
    }
  }

  CommandResult verified = harness_->Run({"snapshot", "verify", file});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_THAT(verified.out, HasSubstr("OK " + file));
  EXPECT_THAT(verified.out, HasSubstr(m["state_digest"].get<std::string>()));
  EXPECT_EQ(verified.err, "");

  CommandResult as_json = harness_->Run({"snapshot", "verify", file, "-o", "json"});
  ASSERT_EQ(as_json.exit_code, 0) << as_json.err;
  json v = json::parse(as_json.out);
  EXPECT_EQ(v["ok"], true);
  EXPECT_EQ(v["manifest"], m);
  EXPECT_EQ(v["file_bytes"], fs::file_size(file));
}

TEST_F(SnapshotLiveTest, SaveWithoutJsonPrintsTheManifestAndNoProgressOffATerminal) {
  const std::string file = *root_ + "/backup-table.qbox";
  CommandResult r = harness_->Run(harness_->Admin({"snapshot", "save", file}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "") << "progress is drawn only on a terminal";
  EXPECT_THAT(r.out, HasSubstr("saved a snapshot at log index"));
  EXPECT_THAT(r.out, HasSubstr("state digest"));
}

TEST_F(SnapshotLiveTest, VerifyReportsAFlippedByteAnywhere) {
  const std::string file = *root_ + "/backup-flip.qbox";
  json saved = Save(file);
  ASSERT_TRUE(saved.is_object());
  const std::string original = testing::ReadAll(file);
  const uint64_t data_bytes = saved["manifest"]["data_bytes"].get<uint64_t>();
  // Every header field, both ends and the middle of the data, the manifest
  // length and text, the trailer, and a sample of everything in between.
  std::vector<uint64_t> offsets = {0,
                                   7,
                                   8,
                                   11,
                                   12,
                                   15,
                                   16,
                                   23,
                                   24,
                                   24 + data_bytes / 2,
                                   23 + data_bytes,
                                   24 + data_bytes,
                                   27 + data_bytes,
                                   30 + data_bytes,
                                   original.size() - 33,
                                   original.size() - 32,
                                   original.size() - 1};
  const uint64_t step = original.size() / 40 + 1;
  for (uint64_t at = 1; at < original.size(); at += step) offsets.push_back(at);
  const std::string damaged = *root_ + "/damaged.qbox";
  for (uint64_t at : offsets) {
    ASSERT_LT(at, original.size());
    std::string bytes = original;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    WriteFile(damaged, bytes);
    CommandResult r = harness_->Run({"snapshot", "verify", damaged});
    EXPECT_EQ(r.exit_code, 1) << "flipped byte " << at << ": " << r.out;
    EXPECT_THAT(r.err, HasSubstr(damaged)) << "flipped byte " << at;
    EXPECT_THAT(r.err, HasSubstr("byte ")) << "flipped byte " << at;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "") << "flipped byte " << at;
  }
  // The data's damage is found by the checksum, named as such.
  std::string bytes = original;
  bytes[24 + data_bytes / 2] ^= 0x01;
  WriteFile(damaged, bytes);
  EXPECT_THAT(harness_->Run({"snapshot", "verify", damaged}).err,
              HasSubstr("byte " + std::to_string(original.size() - 32) + ": checksum mismatch"));
  // A cut-off file too.
  WriteFile(damaged, original.substr(0, original.size() - 5));
  EXPECT_EQ(harness_->Run({"snapshot", "verify", damaged}).exit_code, 1);
}

TEST_F(SnapshotLiveTest, BadSnapshotInputGetsOneClearLineAndChangesNothing) {
  const ClusterHarness& h = *harness_;
  const std::string missing = *root_ + "/no-such.qbox";
  ExpectRefused(h, {"snapshot", "verify", missing}, 1, {missing, "No such file"});
  ExpectRefused(h, {"snapshot", "verify", *root_}, 1, {*root_, "is a directory"});
  const std::string empty = *root_ + "/empty.qbox";
  WriteFile(empty, "");
  ExpectRefused(h, {"snapshot", "verify", empty}, 1, {empty, "byte 0", "not a qboxctl snapshot"});
  ExpectRefused(h, {"snapshot", "verify"}, 2, {"FILE"});
  ExpectRefused(h, {"snapshot", "verify", empty, "--bogus"}, 2, {"--bogus"});

  // A node's bare state machine snapshot starts with the same magic.
  const std::string state_dir = *root_ + "/bare-state";
  const std::string bare = *root_ + "/bare.snapshot";
  {
    auto machine = mailbox::MailboxStateMachine::Open(state_dir);
    ASSERT_TRUE(machine.ok()) << machine.status();
    ASSERT_TRUE((*machine)->WriteSnapshot(bare).ok());
  }
  ExpectRefused(h, {"snapshot", "verify", bare}, 1, {bare, "byte 12", "snapshot save"});

  // save: an existing FILE is kept unless --force; a FILE that cannot be
  // created is named; bad flags are named.
  const std::string existing = *root_ + "/existing.qbox";
  WriteFile(existing, "keep me");
  ExpectRefused(h, h.Admin({"snapshot", "save", existing}), 1,
                {existing, "already exists", "--force"});
  EXPECT_EQ(testing::ReadAll(existing), "keep me");
  const std::string nowhere = *root_ + "/no-such-dir/backup.qbox";
  ExpectRefused(h, h.Admin({"snapshot", "save", nowhere}), 1, {nowhere + ".tmp"});
  EXPECT_FALSE(fs::exists(*root_ + "/no-such-dir"));
  std::vector<std::string> slow = h.Admin({"snapshot", "save", *root_ + "/t.qbox"});
  slow.back() = "soon";  // the --timeout value
  ExpectRefused(h, slow, 1, {"--timeout", "soon"});
  EXPECT_FALSE(fs::exists(*root_ + "/t.qbox"));
  ExpectRefused(h, h.Admin({"snapshot", "save"}), 2, {"FILE"});
  ExpectRefused(h, {"snapshot", "save", *root_ + "/u.qbox", "--cluster", missing}, 1,
                {"--cluster", missing});
  EXPECT_FALSE(fs::exists(*root_ + "/u.qbox"));
  // With the other nodes down and only a dead endpoint, the save fails
  // naming it, and leaves no FILE (nor FILE.tmp).
  const std::string dead = "127.0.0.1:" + std::to_string(testing::PickFreeLoopbackPort());
  ExpectRefused(h, h.Admin({"snapshot", "save", *root_ + "/v.qbox", "--endpoints", dead}, "2s"), 1,
                {"saving a snapshot", dead});
  EXPECT_FALSE(fs::exists(*root_ + "/v.qbox"));
  EXPECT_FALSE(fs::exists(*root_ + "/v.qbox.tmp"));

  // restore: a non-empty --data-dir, a --data-dir that is a file, a
  // corrupt or missing FILE, and a missing --data-dir flag.
  const std::string good = *root_ + "/backup-for-restore-input.qbox";
  ASSERT_TRUE(Save(good).is_object());
  const std::string occupied = *root_ + "/occupied";
  fs::create_directories(occupied + "/raft");
  WriteFile(occupied + "/raft/LOCK", "x");
  auto before = testing::SnapshotTree(occupied);
  ExpectRefused(h, {"snapshot", "restore", good, "--data-dir", occupied}, 1,
                {"--data-dir", occupied, "not empty"});
  EXPECT_EQ(testing::SnapshotTree(occupied), before);
  ExpectRefused(h, {"snapshot", "restore", good, "--data-dir", existing}, 1,
                {"--data-dir", existing, "not a directory"});
  std::string bytes = testing::ReadAll(good);
  bytes[bytes.size() / 2] ^= 0x40;
  const std::string corrupt = *root_ + "/corrupt.qbox";
  WriteFile(corrupt, bytes);
  const std::string fresh = *root_ + "/fresh-data";
  ExpectRefused(h, {"snapshot", "restore", corrupt, "--data-dir", fresh}, 1, {corrupt, "byte "});
  EXPECT_FALSE(fs::exists(fresh));
  ExpectRefused(h, {"snapshot", "restore", missing, "--data-dir", fresh}, 1, {missing});
  EXPECT_FALSE(fs::exists(fresh));
  ExpectRefused(h, {"snapshot", "restore", good}, 2, {"--data-dir"});
  EXPECT_FALSE(fs::exists(fresh));
}

TEST_F(SnapshotLiveTest, OnlyAdminsMaySaveSnapshots) {
  // The client library would take a front end's certificate; the node must not.
  auto admin_api = AdminClient::Open(harness_->FrontendOptions());
  ASSERT_TRUE(admin_api.ok()) << admin_api.status();
  int chunks = 0;
  auto manifest = (*admin_api)->SaveSnapshot(v1::SaveSnapshotRequest(), [&](const std::string&) {
    ++chunks;
    return absl::OkStatus();
  });
  EXPECT_EQ(manifest.status().code(), absl::StatusCode::kPermissionDenied) << manifest.status();
  EXPECT_EQ(chunks, 0);
}

TEST_F(SnapshotLiveTest, BadRebuildWatchInputGetsOneClearLine) {
  const ClusterHarness& h = *harness_;
  ExpectRefused(h, h.Admin({"rebuild", "watch", "not-a-node"}), 1, {"NODE", "not-a-node"});
  ExpectRefused(h, h.Admin({"rebuild", "watch", "site-z/n9"}), 1,
                {"NODE", "site-z/n9", "not in --cluster"});
  ExpectRefused(h, h.Admin({"rebuild", "watch", "site-a/n1", "--interval", "0s"}), 1,
                {"--interval"});
  ExpectRefused(h, h.Admin({"rebuild", "watch", "site-a/n1", "--max-lag", "many"}), 2,
                {"--max-lag"});
  ExpectRefused(h, h.Admin({"rebuild", "watch"}), 2, {"NODE"});
}

TEST_F(SnapshotLiveTest, RebuildWatchFollowsAWipedNodeUntilItCatchesUp) {
  LocalCluster& c = harness_->cluster();
  // Wipe a follower (so the cluster keeps its leader) and restart it: it
  // rebuilds from the others (G4).
  json status = harness_->Status();
  int victim = -1;
  for (int i = 0; i < c.size() && victim < 0; ++i) {
    if (status["leader"] != c.node(i).QualifiedName()) victim = i;
  }
  ASSERT_GE(victim, 0);
  c.Kill(victim);
  fs::remove_all(c.node(victim).data_dir);
  fs::create_directories(c.node(victim).data_dir);
  ASSERT_TRUE(c.Start(victim));

  CommandResult r = harness_->Run(harness_->Admin(
      {"rebuild", "watch", c.node(victim).QualifiedName(), "-o", "json", "--interval", "200ms"},
      "90s"));
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << r.out << "\n" << c.Log(victim);
  EXPECT_EQ(r.err, "");
  std::vector<json> polls;
  std::stringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    json poll = json::parse(line, nullptr, false);
    ASSERT_TRUE(poll.is_object()) << "not one JSON object per line: " << line;
    polls.push_back(poll);
  }
  ASSERT_FALSE(polls.empty());
  const json& last = polls.back();
  EXPECT_EQ(last["caught_up"], true);
  EXPECT_EQ(last["node"], c.node(victim).QualifiedName());
  EXPECT_EQ(last["answered"], true);
  EXPECT_NE(last["role"], "recovering");
  EXPECT_EQ(last["entries_to_go"], 0);
  for (size_t i = 0; i + 1 < polls.size(); ++i) EXPECT_EQ(polls[i]["caught_up"], false);

  // Table mode on a caught-up node ends at once with a summary line.
  CommandResult table =
      harness_->Run(harness_->Admin({"rebuild", "watch", c.node(victim).QualifiedName()}, "60s"));
  EXPECT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("has caught up"));
}

TEST_F(SnapshotLiveTest, RebuildWatchGivesUpAtTimeoutOnANodeThatIsDown) {
  LocalCluster& c = harness_->cluster();
  json status = harness_->Status();
  int victim = status["leader"] == c.node(2).QualifiedName() ? 1 : 2;
  c.Stop(victim);
  CommandResult r = harness_->Run(harness_->Admin(
      {"rebuild", "watch", c.node(victim).QualifiedName(), "--interval", "200ms"}, "2s"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("has not caught up after 2s (--timeout)"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("not answering"));
}

// Save from one cluster, stop it, restore the file into three fresh data
// directories and start a new cluster on them with the same configuration:
// it elects a leader and serves the same messages.
TEST(SnapshotRestoreTest, ARestoredClusterServesTheSameMessages) {
  const std::string root = MakeTempDir("qboxctl-restore");
  ASSERT_FALSE(root.empty());
  ClusterHarness harness;
  std::string started = harness.Start(root);
  ASSERT_EQ(started, "");
  std::map<uint32_t, std::string> appended = AppendMessages(harness, 9);
  ASSERT_EQ(appended.size(), 9u);

  const std::string file = root + "/backup.qbox";
  CommandResult saved = harness.Run(harness.Admin({"snapshot", "save", file, "-o", "json"}));
  ASSERT_EQ(saved.exit_code, 0) << saved.err;
  const json manifest = json::parse(saved.out)["manifest"];

  LocalCluster& c = harness.cluster();
  for (int i = 0; i < c.size(); ++i) c.Stop(i);
  std::vector<std::string> restored;
  for (int i = 0; i < c.size(); ++i) {
    restored.push_back(root + "/restored-" + c.node(i).site);
    CommandResult r = harness.Run({"snapshot", "restore", file, "--data-dir", restored.back()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("restored " + file));
    EXPECT_TRUE(fs::is_directory(restored.back() + "/mailbox"));
    EXPECT_TRUE(fs::is_directory(restored.back() + "/raft"));
    EXPECT_FALSE(fs::exists(restored.back() + "/restore-data.tmp"));
  }
  // The restored state is exactly the backed-up one.
  {
    auto machine = mailbox::MailboxStateMachine::Open(restored[0] + "/mailbox");
    ASSERT_TRUE(machine.ok()) << machine.status();
    EXPECT_EQ((*machine)->applied_index(), manifest["log_index"].get<uint64_t>());
    auto digest = (*machine)->Digest();
    ASSERT_TRUE(digest.ok());
    EXPECT_EQ(Hex(*digest), manifest["state_digest"].get<std::string>());
  }
  // Restoring again into a used directory is refused.
  EXPECT_EQ(harness.Run({"snapshot", "restore", file, "--data-dir", restored[0]}).exit_code, 1);

  for (int i = 0; i < c.size(); ++i) {
    c.node(i).data_dir = restored[static_cast<size_t>(i)];
    ASSERT_TRUE(c.Start(i));
  }
  ASSERT_TRUE(harness.WaitForOneLeader()) << harness.last_status() << "\n" << c.Log(0);
  absl::StatusOr<std::map<uint32_t, std::string>> inbox = harness.Inbox();
  ASSERT_TRUE(inbox.ok()) << inbox.status();
  EXPECT_EQ(*inbox, appended);
  // And it goes on from there: a new message gets the next UID.
  auto client = harness.OpenClient();
  ASSERT_TRUE(client.ok());
  v1::AppendMessageRequest request;
  request.set_account(kAccount);
  request.set_mailbox("INBOX");
  request.set_body("Subject: after the restore\r\n\r\nhello\r\n");
  auto response = (*client)->AppendMessage(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->uid(), appended.rbegin()->first + 1);
  EXPECT_GT(response->commit_index(), manifest["log_index"].get<uint64_t>());
  for (int i = 0; i < c.size(); ++i) c.Stop(i);
  fs::remove_all(root);
}

}  // namespace
}  // namespace qbox::ctl

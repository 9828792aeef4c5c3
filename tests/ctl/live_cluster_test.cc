// qboxctl's commands that talk to nodes, run against a real three-node
// cluster (three sites, one qbox-node each) on loopback.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
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
constexpr const char* kSettingVariables[] = {"QBOX_ENDPOINTS", "QBOX_CACERT",  "QBOX_CLUSTER",
                                             "QBOX_CERT",      "QBOX_KEY",     "QBOX_SITE_DIR",
                                             "QBOX_ADMIN",     "QBOX_TIMEOUT", "QBOX_CONTEXT"};

// Sets QBOX_* variables for one scope (the child qboxctl inherits them).
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(const std::map<std::string, std::string>& values) {
    for (const auto& [name, value] : values) {
      names_.push_back(name);
      ::setenv(name.c_str(), value.c_str(), 1);
    }
  }
  ~ScopedEnvironment() {
    for (const std::string& name : names_) ::unsetenv(name.c_str());
  }

 private:
  std::vector<std::string> names_;
};

class QboxctlLiveClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "/qboxctl-live-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = new std::string(tmpl);
    io_ = new std::string(tmpl + "/io");
    fs::create_directory(*io_);
    // Hermetic: no QBOX_* settings or context file of whoever runs the test.
    for (const char* name : kSettingVariables) ::unsetenv(name);
    ::setenv("QBOX_CONFIG", (tmpl + "/contexts.json").c_str(), 1);
    cluster_ = new LocalCluster();
    std::string created = cluster_->Create(*root_ + "/cluster");
    ASSERT_EQ(created, "");
    ASSERT_TRUE(cluster_->StartAll());
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    fs::remove_all(*root_);
    delete root_;
    delete io_;
  }

  void SetUp() override {
    if (cluster_ == nullptr) GTEST_SKIP() << "cluster set-up failed";
    // Every test starts from a running cluster with one leader and three
    // voters, so a test that stops one node still has a quorum.
    for (int i = 0; i < cluster_->size(); ++i) {
      if (!cluster_->Running(i)) {
        ASSERT_TRUE(cluster_->Start(i));
      }
    }
    ASSERT_TRUE(WaitForOneLeaderAndAllVoters()) << LastStatus();
  }

  static CommandResult Run(const std::vector<std::string>& args) {
    return testing::RunQboxctl(args, *io_);
  }
  static std::vector<std::string> With(std::vector<std::string> args,
                                       const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  static std::vector<std::string> Admin(std::vector<std::string> command,
                                        const std::string& timeout = "5s") {
    return With(std::move(command), cluster_->AdminFlags(0, timeout));
  }

  CommandResult RunOk(const std::vector<std::string>& args) {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r;
  }

  // Fails with `exit_code` and one stderr line holding every one of
  // `messages`; nothing on stdout.
  void ExpectRefused(const std::vector<std::string>& args, int exit_code,
                     const std::vector<std::string>& messages) {
    CommandResult r = Run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, exit_code) << joined << "\n" << r.err;
    for (const std::string& m : messages) EXPECT_THAT(r.err, HasSubstr(m)) << joined;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << "\n" << r.err;
    EXPECT_EQ(r.out, "") << joined;
  }

  static json Status() {
    // --report-only: a moment without a leader (a transfer) is a state to
    // read, not an error.
    CommandResult r = Run(Admin({"status", "-o", "json", "--report-only"}));
    last_status_ = r.out + r.err;
    if (r.exit_code != 0) return json();
    return json::parse(r.out, nullptr, false);
  }
  static std::string LastStatus() { return last_status_; }

  // One leader and every node a voter (see OneLeaderAndAllVoters).
  static bool WaitForOneLeaderAndAllVoters() {
    return WaitFor([] { return testing::OneLeaderAndAllVoters(Status(), cluster_->size()); },
                   kClusterDeadline);
  }

  static std::string Leader() {
    const json status = Status();
    return status.is_object() && status["leader"].is_string() ? status["leader"].get<std::string>()
                                                              : "";
  }

  static std::string* root_;
  static std::string* io_;
  static LocalCluster* cluster_;
  static std::string last_status_;
};

std::string* QboxctlLiveClusterTest::root_ = nullptr;
std::string* QboxctlLiveClusterTest::io_ = nullptr;
LocalCluster* QboxctlLiveClusterTest::cluster_ = nullptr;
std::string QboxctlLiveClusterTest::last_status_;

TEST_F(QboxctlLiveClusterTest, StatusShowsEveryNodeAndExactlyOneLeader) {
  json s = Status();
  ASSERT_TRUE(s.is_object()) << LastStatus();
  EXPECT_EQ(s["endpoints_asked"], 3);
  EXPECT_EQ(s["endpoints_answered"], 3);
  ASSERT_EQ(s["nodes"].size(), 3u) << s.dump(2);
  int leaders = 0;
  for (int i = 0; i < 3; ++i) {
    const json& row = s["nodes"][i];
    EXPECT_EQ(row["site"], cluster_->node(i).site);  // sorted by site
    EXPECT_EQ(row["node"], "n1");
    EXPECT_EQ(row["address"], cluster_->node(i).address);
    EXPECT_EQ(row["endpoint"], cluster_->node(i).address);
    EXPECT_EQ(row["answered"], true);
    EXPECT_EQ(row["error"], "");
    EXPECT_GE(row["term"].get<uint64_t>(), 1u);
    EXPECT_GE(row["commit_index"].get<uint64_t>(), 1u);
    EXPECT_TRUE(row["applied_index"].is_number());
    EXPECT_TRUE(row["lag_entries"].is_number()) << "the leader answered, so lag is known";
    EXPECT_EQ(row["alarms"], json::array());
    // Every node answered for itself, and heartbeats flow every tick.
    ASSERT_TRUE(row["last_contact_ms_ago"].is_number()) << row.dump();
    EXPECT_LT(row["last_contact_ms_ago"].get<int64_t>(), 5000);
    if (row["role"] == "leader") {
      ++leaders;
      EXPECT_EQ(s["leader"], cluster_->node(i).QualifiedName());
    } else {
      EXPECT_EQ(row["role"], "follower");
    }
  }
  EXPECT_EQ(leaders, 1);

  CommandResult table = RunOk(Admin({"status"}));
  EXPECT_THAT(table.out, HasSubstr("SITE    NODE  ADDRESS"));
  EXPECT_THAT(table.out, HasSubstr("leader"));
  EXPECT_THAT(table.out, HasSubstr("LAST CONTACT"));
  EXPECT_THAT(table.out, HasSubstr(cluster_->node(2).address));

  CommandResult alarms = RunOk(Admin({"alarms", "list", "-o", "json"}));
  EXPECT_EQ(json::parse(alarms.out),
            json({{"alarms", json::array()}, {"unanswered", json::array()}}));
}

TEST_F(QboxctlLiveClusterTest, AStoppedNodeShowsAsUnreachableAndTheRestStillAnswer) {
  // Kill a follower so the leader (and the lag column) stays.
  std::string leader = Leader();
  int victim = cluster_->node(0).QualifiedName() == leader ? 1 : 0;
  cluster_->Kill(victim);

  // The rows still print; the exit status says a node is unreachable, like
  // `etcdctl endpoint health`, unless --report-only.
  CommandResult failed = Run(Admin({"status", "-o", "json"}, "2s"));
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_THAT(failed.err, HasSubstr("cluster unhealthy: " + cluster_->node(victim).QualifiedName() +
                                    " unreachable"));
  EXPECT_EQ(std::count(failed.err.begin(), failed.err.end(), '\n'), 1) << failed.err;
  EXPECT_EQ(json::parse(failed.out)["endpoints_answered"], 2);

  CommandResult r = RunOk(Admin({"status", "-o", "json", "--report-only"}, "2s"));
  json s = json::parse(r.out);
  EXPECT_EQ(s["endpoints_answered"], 2);
  ASSERT_EQ(s["nodes"].size(), 3u) << s.dump(2);
  const json& row = s["nodes"][victim];
  EXPECT_EQ(row["site"], cluster_->node(victim).site);
  EXPECT_EQ(row["answered"], false);
  EXPECT_EQ(row["endpoint"], cluster_->node(victim).address);
  EXPECT_THAT(row["error"].get<std::string>(), HasSubstr("Connection refused"));
  EXPECT_TRUE(row["commit_index"].is_null());

  CommandResult table = RunOk(Admin({"status", "--report-only"}, "2s"));
  EXPECT_THAT(table.out, HasSubstr("Connection refused"));

  CommandResult alarms = RunOk(Admin({"alarms", "list", "-o", "json"}, "2s"));
  json a = json::parse(alarms.out);
  ASSERT_EQ(a["unanswered"].size(), 1u);
  EXPECT_EQ(a["unanswered"][0]["endpoint"], cluster_->node(victim).address);
}

TEST_F(QboxctlLiveClusterTest, ConnectionSettingsFromEnvironmentContextAndAnywhereOnTheLine) {
  const LocalCluster::Node& a = cluster_->node(0);
  auto answered = [](const CommandResult& r) {
    json s = json::parse(r.out, nullptr, false);
    return s.is_object() ? s["endpoints_answered"].get<int>() : -1;
  };
  {  // QBOX_* variables alone.
    ScopedEnvironment env({{"QBOX_ENDPOINTS", a.address},
                           {"QBOX_CLUSTER", cluster_->cluster_file()},
                           {"QBOX_SITE_DIR", a.site_dir},
                           {"QBOX_ADMIN", LocalCluster::kAdmin},
                           {"QBOX_TIMEOUT", "5s"}});
    CommandResult r = RunOk({"status", "-o", "json"});
    EXPECT_EQ(answered(r), 1) << r.out;  // QBOX_ENDPOINTS narrowed it to one node
    // A flag on the line beats the variable.
    EXPECT_EQ(answered(RunOk({"status", "-o", "json", "--endpoints",
                              cluster_->node(1).address + "," + cluster_->node(2).address})),
              2);
    // A bad value is named by its flag, and nothing is asked.
    ScopedEnvironment bad(std::map<std::string, std::string>{{"QBOX_TIMEOUT", "soon"}});
    ExpectRefused({"status"}, 1, {"--timeout: 'soon' is not a positive duration"});
  }
  {  // QBOX_TIMEOUT also reaches commands with a longer default of their own.
    ScopedEnvironment env(std::map<std::string, std::string>{{"QBOX_TIMEOUT", "1ms"}});
    std::vector<std::string> save = {"snapshot",
                                     "save",
                                     *io_ + "/never.qbox",
                                     "--cluster",
                                     cluster_->cluster_file(),
                                     "--site-dir",
                                     a.site_dir,
                                     "--admin",
                                     LocalCluster::kAdmin};
    CommandResult r = Run(save);
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("eadline")) << r.err;
    EXPECT_FALSE(fs::exists(*io_ + "/never.qbox"));
  }
  // Connection flags before the command.
  std::vector<std::string> before = cluster_->AdminFlags(0);
  before.insert(before.end(), {"status", "-o", "json"});
  EXPECT_EQ(answered(RunOk(before)), 3);

  // A context: set from flags, then used with none.
  std::vector<std::string> set = {"context", "set", "live"};
  for (const std::string& f : cluster_->AdminFlags(0)) set.push_back(f);
  CommandResult created = RunOk(set);
  EXPECT_THAT(created.out, HasSubstr("created context live"));
  EXPECT_EQ(answered(RunOk({"status", "-o", "json"})), 3);
  CommandResult listed = RunOk({"context", "list", "-o", "json"});
  EXPECT_EQ(json::parse(listed.out)["current_context"], "live");
  // The line beats the context: an endpoint nobody serves is asked, and
  // named.
  ExpectRefused({"--endpoints", "127.0.0.1:1", "status"}, 1,
                {"none of the 1 endpoints answered", "127.0.0.1:1"});
  ExpectRefused({"--context", "nope", "status"}, 1, {"--context: no context 'nope'"});
  ExpectRefused({"context", "use", "nope"}, 1, {"NAME: no context 'nope'"});
  {
    ScopedEnvironment env(std::map<std::string, std::string>{{"QBOX_CONTEXT", "other"}});
    ExpectRefused({"status"}, 1, {"QBOX_CONTEXT: no context 'other'"});
  }
  RunOk({"context", "delete", "live"});
  ExpectRefused({"status"}, 1, {"--cacert: no CA bundle"});
}

TEST_F(QboxctlLiveClusterTest, LeaderTransferMovesLeadership) {
  std::string before = Leader();
  std::string target;
  for (int i = 0; i < 3; ++i) {
    if (cluster_->node(i).QualifiedName() != before) target = cluster_->node(i).QualifiedName();
  }
  // Asked through a site other than the leader's: the client follows hints.
  CommandResult r = RunOk(With({"leader", "transfer", target}, cluster_->AdminFlags(2)));
  EXPECT_EQ(r.out, "leadership moved to " + target + "\n");
  EXPECT_TRUE(WaitFor([&] { return Leader() == target; }, kClusterDeadline)) << LastStatus();

  CommandResult members = RunOk(Admin({"member", "list", "-o", "json"}));
  json m = json::parse(members.out);
  EXPECT_EQ(m["leader"], target);
  ASSERT_EQ(m["members"].size(), 3u);
  for (const json& member : m["members"]) EXPECT_EQ(member["membership"], "voter");

  ExpectRefused(Admin({"leader", "transfer", "site-z/n9"}), 1,
                {"transferring leadership to site-z/n9", "not in the cluster configuration"});
  ExpectRefused(Admin({"leader", "transfer", "site-a"}), 1, {"NODE: 'site-a' is not SITE/NAME"});
}

TEST_F(QboxctlLiveClusterTest, AccountsAndQuotas) {
  RunOk(Admin({"account", "create", "carol", "--quota-bytes", "5000"}));
  ExpectRefused(Admin({"account", "create", "carol"}), 1,
                {"creating account 'carol'", "already exists"});
  CommandResult list = RunOk(Admin({"account", "list", "-o", "json"}));
  json accounts = json::parse(list.out)["accounts"];
  ASSERT_FALSE(accounts.empty());
  json carol;
  for (const json& a : accounts) {
    if (a["account"] == "carol") carol = a;
  }
  EXPECT_EQ(carol, json({{"account", "carol"},
                         {"used_bytes", 0},
                         {"used_messages", 0},
                         {"quota_bytes", 5000},
                         {"quota_messages", 0}}));

  // A limit not given keeps its value.
  RunOk(Admin({"account", "quota", "set", "carol", "--quota-messages", "7"}));
  json quota = json::parse(RunOk(Admin({"account", "quota", "get", "carol", "-o", "json"})).out);
  EXPECT_EQ(quota["quota_bytes"], 5000);
  EXPECT_EQ(quota["quota_messages"], 7);
  CommandResult table = RunOk(Admin({"account", "quota", "get", "carol"}));
  EXPECT_THAT(table.out, HasSubstr("QUOTA BYTES"));

  ExpectRefused(Admin({"account", "quota", "get", "nobody"}), 1,
                {"NAME: account 'nobody' does not exist"});
  ExpectRefused(Admin({"account", "quota", "set", "carol"}), 1,
                {"give at least one of --quota-bytes"});
}

TEST_F(QboxctlLiveClusterTest, BadConnectionInputGetsOneClearLine) {
  const std::string a_dir = cluster_->node(0).site_dir;
  const std::string file = cluster_->cluster_file();
  const std::string root = *root_;

  // Command line (exit 2).
  ExpectRefused(Admin({"status", "--bogus"}), 2,
                {"qboxctl status: The following argument was not expected: --bogus"});
  ExpectRefused(Admin({"status", "-o", "yaml"}), 2, {"--output: yaml not in {table,json}"});

  // Missing or wrong files, each named with its flag (exit 1).
  ExpectRefused({"status", "--cacert", root + "/nope.pem", "--site-dir", a_dir, "--admin",
                 LocalCluster::kAdmin, "--endpoints", cluster_->node(0).address},
                1, {"--cacert: " + root + "/nope.pem: no such file"});
  ExpectRefused({"status", "--cluster", root + "/nope.json", "--site-dir", a_dir, "--admin",
                 LocalCluster::kAdmin},
                1, {"--cluster: cannot read " + root + "/nope.json"});
  ExpectRefused(
      {"status", "--cluster", file, "--site-dir", a_dir, "--admin", "nobody"}, 1,
      {"--site-dir: " + a_dir + "/admins/nobody.crt: no such file", "qboxctl site issue"});
  ExpectRefused({"status", "--cluster", file, "--cert", a_dir + "/admins/admin1.crt", "--key",
                 root + "/nope.key"},
                1, {"--key: " + root + "/nope.key: no such file"});
  std::ofstream(root + "/garbage.key") << "not a key";
  ExpectRefused({"status", "--cluster", file, "--cert", a_dir + "/admins/admin1.crt", "--key",
                 root + "/garbage.key"},
                1, {"--key: " + root + "/garbage.key not a PEM private key"});
  ExpectRefused({"status", "--cluster", file, "--cert", a_dir + "/admins/admin1.crt", "--key",
                 cluster_->node(1).site_dir + "/admins/admin1.key"},
                1, {"does not belong to the certificate " + a_dir + "/admins/admin1.crt"});
  ExpectRefused({"status", "--cluster", file, "--cert", a_dir + "/nodes/n1.crt", "--key",
                 a_dir + "/nodes/n1.key"},
                1, {"--cert: " + a_dir + "/nodes/n1.crt is site-a/node/n1, not an admin"});
  ExpectRefused({"status", "--cluster", file}, 1, {"--cert: no admin credentials"});
  ExpectRefused({"status", "--site-dir", a_dir, "--admin", LocalCluster::kAdmin}, 1,
                {"--cacert: no CA bundle"});
  ExpectRefused(Admin({"status"}, "soon"), 1, {"--timeout: 'soon' is not a positive duration"});
  ExpectRefused(With(Admin({"status"}), {"--endpoints", "127.0.0.1"}), 1,
                {"--endpoints: '127.0.0.1' is not HOST:PORT"});
}

TEST_F(QboxctlLiveClusterTest, UnreadableKeyIsNamed) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  const std::string a_dir = cluster_->node(0).site_dir;
  std::string key = *root_ + "/unreadable.key";
  fs::copy_file(a_dir + "/admins/admin1.key", key, fs::copy_options::overwrite_existing);
  ::chmod(key.c_str(), 0);
  ExpectRefused({"status", "--cluster", cluster_->cluster_file(), "--cert",
                 a_dir + "/admins/admin1.crt", "--key", key},
                1, {"--key: " + key + ": cannot read"});
}

TEST_F(QboxctlLiveClusterTest, WrongSiteCredentialsAreRefused) {
  // An outsider site with its own CA and admin.
  std::string outsider = *root_ + "/site-x";
  RunOk({"site", "init", "site-x", "--out", outsider, "--admin", "eve"});

  // Its admin against the cluster's bundle: refused before connecting.
  ExpectRefused(
      {"status", "--cluster", cluster_->cluster_file(), "--site-dir", outsider, "--admin", "eve"},
      1,
      {"--site-dir: " + outsider + "/admins/eve.crt is not accepted by the CA bundle",
       "sites site-a, site-b, site-c", "use an admin certificate issued by"});

  // With site-x's CA slipped into the bundle, the nodes themselves refuse.
  std::string bundle = *root_ + "/with-outsider.pem";
  {
    std::ofstream out(bundle);
    for (int i = 0; i < 3; ++i) out << testing::ReadAll(cluster_->node(i).site_dir + "/ca.crt");
    out << testing::ReadAll(outsider + "/ca.crt");
  }
  ExpectRefused({"status", "--cacert", bundle, "--endpoints", cluster_->node(0).address,
                 "--site-dir", outsider, "--admin", "eve", "--timeout", "2s"},
                1,
                {"asking for cluster status via " + cluster_->node(0).address, "site-x/admin/eve"});
  ExpectRefused(
      {"account", "create", "mallory", "--cacert", bundle, "--endpoints", cluster_->node(0).address,
       "--site-dir", outsider, "--admin", "eve", "--timeout", "2s"},
      1, {"creating account 'mallory'"});
  CommandResult list = RunOk(Admin({"account", "list", "-o", "json"}));
  EXPECT_THAT(list.out, ::testing::Not(HasSubstr("mallory")));
}

TEST_F(QboxctlLiveClusterTest, UnreachableEndpointIsNamed) {
  int port = testing::PickFreeLoopbackPort();
  std::string dead = "127.0.0.1:" + std::to_string(port);
  ExpectRefused(With(Admin({"status"}, "1s"), {"--endpoints", dead}), 1,
                {"asking for cluster status via " + dead, "none of the 1 endpoints answered",
                 "Connection refused", "check that the nodes are running"});
  ExpectRefused(With(Admin({"account", "list"}, "1s"), {"--endpoints", dead}), 1,
                {"listing accounts via " + dead, "raise --timeout (now 1s)"});
}

}  // namespace
}  // namespace qbox::ctl

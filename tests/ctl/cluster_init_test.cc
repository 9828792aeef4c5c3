// Runs the real qboxctl binary for `cluster init` and reads what it wrote
// back with the parser qbox-node uses (node/server/cluster_config.h).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/server/cluster_config.h"
#include "tests/ctl/qboxctl_runner.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadAll;
using testing::SnapshotTree;

class QboxctlClusterInitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/qboxctl-cluster-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    work_ = root_ + "/work";
    io_ = root_ + "/io";
    fs::create_directory(work_);
    fs::create_directory(io_);
    for (const std::string site : {"site-a", "site-b", "site-c"}) {
      RunOk({"site", "init", site, "--out", work_ + "/" + site, "--node", "n1,n2"});
    }
    out_ = work_ + "/cluster.json";
  }
  void TearDown() override { fs::remove_all(root_); }

  CommandResult Run(const std::vector<std::string>& args) { return testing::RunQboxctl(args, io_); }

  CommandResult RunOk(const std::vector<std::string>& args) {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r;
  }

  // Must fail with `exit_code` and one stderr line holding `message`, and
  // leave everything under work_ as it was.
  void ExpectRefused(const std::vector<std::string>& args, int exit_code,
                     const std::string& message) {
    auto before = SnapshotTree(work_);
    CommandResult r = Run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.exit_code, exit_code) << joined << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(message)) << joined;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << joined << "\n" << r.err;
    EXPECT_EQ(r.out, "") << joined;
    EXPECT_EQ(SnapshotTree(work_), before) << joined << ": changed files";
  }

  std::string Ca(const std::string& site) { return site + "=" + work_ + "/" + site + "/ca.crt"; }

  // A valid three-site command, to which a test appends or swaps flags.
  std::vector<std::string> ThreeSites() {
    return {"cluster",   "init",
            "--out",     out_,
            "--site-ca", Ca("site-a"),
            "--site-ca", Ca("site-b"),
            "--site-ca", Ca("site-c"),
            "--node",    "1=site-a/n1@127.0.0.1:7101",
            "--node",    "2=site-b/n1@127.0.0.1:7102",
            "--node",    "3=site-c/n1@127.0.0.1:7103"};
  }

  static std::vector<std::string> With(std::vector<std::string> args,
                                       const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  std::string root_, work_, io_, out_;
};

TEST_F(QboxctlClusterInitTest, WritesAConfigurationTheNodeAccepts) {
  CommandResult r = RunOk(With(ThreeSites(), {"--spare", "4=site-a/n2@localhost:7104",
                                              "--retention-days", "45", "--name", "prod-eu"}));
  EXPECT_THAT(r.out, HasSubstr("3 sites, 3 voters, 1 spares"));

  absl::StatusOr<server::ClusterConfig> config = server::LoadClusterConfig(out_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cluster, "prod-eu");
  EXPECT_EQ(config->retention_days, 45u);
  ASSERT_EQ(config->sites.size(), 3u);
  for (const auto& site : config->sites) {
    EXPECT_EQ(site.ca_cert_pem, ReadAll(work_ + "/" + site.name + "/ca.crt")) << site.name;
  }
  ASSERT_EQ(config->nodes.size(), 4u);
  EXPECT_THAT(config->GenesisVoters(), ElementsAre(1, 2, 3));
  const server::NodeConfig* spare = config->FindNode(4);
  ASSERT_NE(spare, nullptr);
  EXPECT_EQ(spare->QualifiedName(), "site-a/n2");
  EXPECT_EQ(spare->address, "localhost:7104");
  EXPECT_FALSE(spare->voter);
  EXPECT_EQ(config->FindNode("site-b", "n1")->address, "127.0.0.1:7102");

  // Public material only, readable by everyone who runs a node.
  std::string text = ReadAll(out_);
  EXPECT_THAT(text, Not(HasSubstr("PRIVATE KEY")));
  struct stat st;
  ASSERT_EQ(::stat(out_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(QboxctlClusterInitTest, DefaultsAndForce) {
  RunOk(ThreeSites());
  absl::StatusOr<server::ClusterConfig> config = server::LoadClusterConfig(out_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cluster, "quorumbox");
  EXPECT_EQ(config->retention_days, 30u);

  RunOk(With(ThreeSites(), {"--force", "--retention-days", "7"}));
  config = server::LoadClusterConfig(out_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->retention_days, 7u);
}

TEST_F(QboxctlClusterInitTest, BadInputIsRefusedWithOneClearLineAndNothingWritten) {
  const std::string a_key = work_ + "/site-a/ca.key";
  const std::string a_node = work_ + "/site-a/nodes/n1.crt";
  const std::string a_ca = work_ + "/site-a/ca.crt";
  const std::vector<std::string> two_sites = {"cluster",   "init",       "--out",     out_,
                                              "--site-ca", Ca("site-a"), "--site-ca", Ca("site-b")};

  // Command line (exit 2).
  ExpectRefused(With(ThreeSites(), {"--bogus"}), 2,
                "qboxctl cluster init: The following argument was not expected: --bogus");
  ExpectRefused({"cluster", "init", "--out", out_, "--site-ca", Ca("site-a")}, 2,
                "--node is required");
  ExpectRefused(With(ThreeSites(), {"--retention-days", "0"}), 2, "--retention-days");

  // Values (exit 1).
  ExpectRefused(With(two_sites, {"--node", "1=site-a/n1@127.0.0.1:7101", "--node",
                                 "2=site-d/n1@127.0.0.1:7102"}),
                1,
                "--node: '2=site-d/n1@127.0.0.1:7102' names site 'site-d', which has no "
                "--site-ca");
  ExpectRefused(With(two_sites, {"--node", "1=site-a/n1@127.0.0.1:7101", "--node",
                                 "1=site-b/n1@127.0.0.1:7102"}),
                1, "--node: '1=site-b/n1@127.0.0.1:7102' reuses node id 1 of site-a/n1");
  ExpectRefused(With(ThreeSites(), {"--spare", "4=site-b/n1@127.0.0.1:7104"}), 1,
                "--spare: '4=site-b/n1@127.0.0.1:7104' names site-b/n1 a second time");
  ExpectRefused(With(ThreeSites(), {"--spare", "4=site-b/n2@127.0.0.1:7101"}), 1,
                "reuses the address of site-a/n1");
  ExpectRefused(With(two_sites, {"--node", "x=site-a/n1@127.0.0.1:7101"}), 1,
                "--node: 'x=site-a/n1@127.0.0.1:7101' does not start with a node id");
  ExpectRefused(With(two_sites, {"--node", "1=site-a/n1@127.0.0.1:99999"}), 1,
                "--node: '1=site-a/n1@127.0.0.1:99999' does not end in HOST:PORT");
  ExpectRefused(With(two_sites, {"--node", "1=site-a/N1@127.0.0.1:7101"}), 1,
                "--node: 'site-a/N1' does not end in a valid node name");
  ExpectRefused(With(two_sites, {"--node", "site-a/n1"}), 1,
                "--node: 'site-a/n1' is not ID=SITE/NAME@HOST:PORT");
  ExpectRefused(
      With(two_sites, {"--node", "1=site-a/n1@127.0.0.1:7101", "--node",
                       "2=site-a/n2@127.0.0.1:7102", "--node", "3=site-b/n1@127.0.0.1:7103"}),
      1, "--node: site 'site-a' would hold 2 of 3 voters, a majority");
  ExpectRefused(With(ThreeSites(), {"--name", "Prod EU"}), 1, "--name: 'Prod EU'");

  // The CA files.
  auto one_site = [&](const std::string& site_ca) {
    return std::vector<std::string>{"cluster",   "init",  "--out",  out_,
                                    "--site-ca", site_ca, "--node", "1=site-a/n1@127.0.0.1:7101"};
  };
  ExpectRefused(one_site("site-a=" + a_key), 1,
                "--site-ca: " + a_key + " is a key file; give the site's CA certificate");
  // A key under another name is recognised by its contents.
  fs::copy_file(a_key, root_ + "/innocent.pem");
  ExpectRefused(one_site("site-a=" + root_ + "/innocent.pem"), 1, "holds a private key");
  ExpectRefused(one_site("site-a=" + a_node), 1,
                "--site-ca: " + a_node + " is not a CA certificate");
  ExpectRefused(one_site("site-a=" + work_ + "/nope.crt"), 1,
                "--site-ca: " + work_ + "/nope.crt: no such file");
  ExpectRefused(one_site("site-a"), 1, "--site-ca: 'site-a' is not SITE=CAFILE");
  ExpectRefused(one_site("site-b=" + a_ca), 1,
                "--site-ca: " + a_ca + " is the CA of site 'site-a', not of 'site-b'");
  ExpectRefused({"cluster", "init", "--out", out_, "--site-ca", Ca("site-a"), "--site-ca",
                 "site-b=" + a_ca, "--node", "1=site-a/n1@127.0.0.1:7101"},
                1, "is the same CA as site 'site-a's; every site needs its own CA");
  ExpectRefused({"cluster", "init", "--out", out_, "--site-ca", Ca("site-a"), "--site-ca",
                 Ca("site-a"), "--node", "1=site-a/n1@127.0.0.1:7101"},
                1, "--site-ca: site 'site-a' is given twice");
  std::ofstream(root_ + "/garbage.crt") << "hello";
  ExpectRefused(one_site("site-a=" + root_ + "/garbage.crt"), 1,
                "--site-ca: " + root_ + "/garbage.crt is not a PEM certificate");

  // The output file.
  ExpectRefused(
      [&] {
        auto args = ThreeSites();
        args[3] = work_ + "/no/such/dir/c.json";
        return args;
      }(),
      1, "--out: directory '" + work_ + "/no/such/dir' does not exist");
  EXPECT_FALSE(fs::exists(out_));
  RunOk(ThreeSites());
  ExpectRefused(ThreeSites(), 1, "--out: '" + out_ + "' already exists; pass --force");
}

TEST_F(QboxctlClusterInitTest, UnreadableCaFileIsNamed) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  std::string copy = root_ + "/unreadable.crt";
  fs::copy_file(work_ + "/site-a/ca.crt", copy);
  ::chmod(copy.c_str(), 0);
  ExpectRefused({"cluster", "init", "--out", out_, "--site-ca", "site-a=" + copy, "--node",
                 "1=site-a/n1@127.0.0.1:7101"},
                1, "--site-ca: " + copy + ": cannot read");
}

TEST_F(QboxctlClusterInitTest, HelpIsComplete) {
  CommandResult r = RunOk({"cluster", "init", "--help"});
  for (const char* flag :
       {"--out", "--site-ca", "--node", "--spare", "--retention-days", "--name", "--force"}) {
    EXPECT_THAT(r.out, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace qbox::ctl

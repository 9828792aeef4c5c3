// Runs the real qboxctl binary for `site init | issue | show`.
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/certificate_info.h"
#include "node/guard/credential_directory.h"
#include "node/guard/site_trust_store.h"
#include "tests/ctl/qboxctl_runner.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::SnapshotTree;
using ::testing::UnorderedElementsAre;

std::string Read(const std::string& path) { return testing::ReadAll(path); }

class QboxctlSiteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/qboxctl-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    work_ = root_ + "/work";
    io_ = root_ + "/io";
    fs::create_directory(work_);
    fs::create_directory(io_);
  }
  void TearDown() override { fs::remove_all(root_); }

  CommandResult Run(const std::vector<std::string>& args) { return testing::RunQboxctl(args, io_); }

  // Runs a command that must succeed.
  CommandResult RunOk(const std::vector<std::string>& args) {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err, "");
    return r;
  }

  // A command that must fail with `exit_code`, exactly one stderr line
  // containing `message`, and no change under work_.
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

  nlohmann::json ShowJson(const std::string& dir) {
    CommandResult r = RunOk({"site", "show", "--site-dir", dir, "-o", "json"});
    return nlohmann::json::parse(r.out);
  }

  std::string root_, work_, io_;
};

TEST_F(QboxctlSiteTest, ThreeInitsGiveThreeIndependentSites) {
  std::vector<guard::SiteCaCertificate> cas;
  std::set<std::string> ca_keys;
  for (const std::string site : {"site-a", "site-b", "site-c"}) {
    std::string dir = work_ + "/" + site;
    CommandResult r = RunOk({"site", "init", site, "--out", dir, "--node", "n1", "--admin",
                             "admin1", "--frontend", "imap1"});
    EXPECT_THAT(r.out, HasSubstr("created site " + site));
    cas.push_back({site, Read(dir + "/ca.crt")});
    absl::StatusOr<guard::CertificateInfo> info =
        guard::DescribeCertificate(cas.back().certificate_pem);
    ASSERT_TRUE(info.ok()) << info.status();
    ca_keys.insert(info->public_key_sha256_hex);
    struct stat st;
    ASSERT_EQ(::stat((dir + "/ca.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat((dir + "/nodes/n1.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_EQ(ca_keys.size(), 3u) << "every site must have its own CA key";

  // Each site's store alone: site-a's node does not verify under site-b.
  absl::StatusOr<guard::SiteTrustStore> b_only = guard::SiteTrustStore::Create({cas[1]});
  ASSERT_TRUE(b_only.ok()) << b_only.status();
  absl::StatusOr<guard::PeerIdentity> refused =
      b_only->Identify(Read(work_ + "/site-a/nodes/n1.crt"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);

  // All three together map every certificate to its own site.
  absl::StatusOr<guard::SiteTrustStore> all = guard::SiteTrustStore::Create(cas);
  ASSERT_TRUE(all.ok()) << all.status();
  for (const std::string site : {"site-a", "site-b", "site-c"}) {
    for (const auto& [role, name] :
         {std::pair{"node", "n1"}, std::pair{"admin", "admin1"}, std::pair{"frontend", "imap1"}}) {
      std::string cert = Read(guard::CertificatePath(work_ + "/" + site, role, name));
      absl::StatusOr<guard::PeerIdentity> id = all->Identify(cert);
      ASSERT_TRUE(id.ok()) << id.status();
      EXPECT_EQ(*id, (guard::PeerIdentity{site, role, name}));
    }
  }
}

TEST_F(QboxctlSiteTest, ShowJsonListsWhatIsThere) {
  std::string dir = work_ + "/site-a";
  RunOk({"site", "init", "site-a", "--out", dir, "--node", "n1,n2", "--node-host",
         "localhost,127.0.0.1,n1.example"});
  RunOk({"site", "issue", "--site-dir", dir, "--role", "admin", "alice", "--days", "30"});

  nlohmann::json report = ShowJson(dir);
  EXPECT_EQ(report["site"], "site-a");
  EXPECT_EQ(report["directory"], dir);
  EXPECT_EQ(report["ca"]["identity"], "spiffe://site-a");
  EXPECT_EQ(report["ca"]["subject"], "CN=quorumbox site-a CA");
  EXPECT_EQ(report["ca"]["key_mode"], "0600");
  EXPECT_GE(report["ca"]["days_left"].get<int>(), 3640);
  EXPECT_TRUE(report["ca"]["problems"].empty());

  std::vector<std::string> identities;
  for (const auto& cert : report["certificates"]) {
    identities.push_back(cert["identity"].get<std::string>());
    EXPECT_TRUE(cert["problems"].empty()) << cert.dump();
    EXPECT_EQ(cert["key_mode"], "0600");
    EXPECT_EQ(cert["issuer"], "CN=quorumbox site-a CA");
    if (cert["role"] == "node") {
      EXPECT_EQ(cert["dns_names"], nlohmann::json({"localhost", "n1.example"}));
      EXPECT_EQ(cert["ip_addresses"], nlohmann::json({"127.0.0.1"}));
      EXPECT_GE(cert["days_left"].get<int>(), 363);
    } else {
      EXPECT_EQ(cert["days_left"].get<int>(), 29) << "30-day certificate issued 5 minutes back";
      EXPECT_TRUE(cert["dns_names"].empty());
    }
  }
  EXPECT_THAT(identities, UnorderedElementsAre("spiffe://site-a/node/n1", "spiffe://site-a/node/n2",
                                               "spiffe://site-a/admin/alice"));
  EXPECT_TRUE(report["unrecognised_files"].empty());

  CommandResult table = RunOk({"site", "show", "--site-dir", dir});
  EXPECT_THAT(table.out, AllOf(HasSubstr("ROLE"), HasSubstr("DAYS LEFT"),
                               HasSubstr("spiffe://site-a/admin/alice"), HasSubstr("n1.example")));
}

TEST_F(QboxctlSiteTest, ShowReportsMisplacedCertificatesAndStrayFiles) {
  std::string dir = work_ + "/site-a";
  RunOk({"site", "init", "site-a", "--out", dir, "--node", "n1"});
  // A certificate filed under another name is flagged, as is a stray file.
  fs::copy_file(dir + "/nodes/n1.crt", dir + "/nodes/n9.crt");
  std::ofstream(dir + "/notes.txt") << "hello";
  // A certificate from another site's CA is flagged as not verifying.
  std::string other = work_ + "/site-b";
  RunOk({"site", "init", "site-b", "--out", other, "--admin", "bob"});
  fs::create_directory(dir + "/admins");
  fs::copy_file(other + "/admins/bob.crt", dir + "/admins/bob.crt");
  fs::copy_file(other + "/admins/bob.key", dir + "/admins/bob.key");

  nlohmann::json report = ShowJson(dir);
  std::map<std::string, std::string> problems;
  for (const auto& cert : report["certificates"]) {
    problems[cert["name"].get<std::string>()] = cert["problems"].dump();
  }
  EXPECT_EQ(problems["n1"], "[]");
  EXPECT_THAT(problems["n9"],
              AllOf(HasSubstr("does not match its file name"), HasSubstr("private key missing")));
  EXPECT_THAT(problems["bob"], HasSubstr("not verified by any site's CA"));
  EXPECT_EQ(report["unrecognised_files"], nlohmann::json({dir + "/notes.txt"}));
}

TEST_F(QboxctlSiteTest, IssueAddsACertificateThatIdentifiesCorrectly) {
  std::string dir = work_ + "/site-c";
  RunOk({"site", "init", "site-c", "--out", dir});
  CommandResult r = RunOk({"site", "issue", "--site-dir", dir, "--role", "node", "n7", "--host",
                           "10.0.0.7", "--host", "n7.site-c.example"});
  EXPECT_THAT(r.out, HasSubstr("issued spiffe://site-c/node/n7"));
  absl::StatusOr<guard::SiteTrustStore> store =
      guard::SiteTrustStore::Create({{"site-c", Read(dir + "/ca.crt")}});
  ASSERT_TRUE(store.ok());
  absl::StatusOr<guard::PeerIdentity> id = store->Identify(Read(dir + "/nodes/n7.crt"));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "site-c/node/n7");
  absl::StatusOr<guard::CertificateInfo> info =
      guard::DescribeCertificate(Read(dir + "/nodes/n7.crt"));
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->ip_addresses, UnorderedElementsAre("10.0.0.7"));
  EXPECT_THAT(info->dns_names, UnorderedElementsAre("n7.site-c.example"));

  // --force replaces it with a new key.
  std::string old_key = Read(dir + "/nodes/n7.key");
  RunOk({"site", "issue", "--site-dir", dir, "--role", "node", "n7", "--force"});
  EXPECT_NE(Read(dir + "/nodes/n7.key"), old_key);
}

TEST_F(QboxctlSiteTest, InitForceMovesTheOldSiteAsideNeverDeletesIt) {
  std::string dir = work_ + "/site-a";
  RunOk({"site", "init", "site-a", "--out", dir, "--node", "n1"});
  std::string old_ca_key = Read(dir + "/ca.key");
  CommandResult r = RunOk({"site", "init", "site-a", "--out", dir, "--force"});
  EXPECT_THAT(r.out, HasSubstr("previous contents moved to " + dir + ".replaced-"));
  EXPECT_NE(Read(dir + "/ca.key"), old_ca_key);
  EXPECT_FALSE(fs::exists(dir + "/nodes"));
  int moved = 0;
  for (const auto& e : fs::directory_iterator(work_)) {
    if (e.path().filename().string().rfind("site-a.replaced-", 0) == 0) {
      ++moved;
      EXPECT_EQ(Read(e.path().string() + "/ca.key"), old_ca_key);
    }
  }
  EXPECT_EQ(moved, 1);
}

TEST_F(QboxctlSiteTest, BadInputIsRefusedWithOneClearLineAndNothingWritten) {
  std::string site_a = work_ + "/site-a";
  RunOk({"site", "init", "site-a", "--out", site_a, "--node", "n1"});
  std::string fresh = work_ + "/fresh";

  // Command line (exit 2).
  ExpectRefused({}, 2, "missing command");
  ExpectRefused({"--bogus"}, 2, "not expected: --bogus");
  ExpectRefused({"site"}, 2, "qboxctl site: missing command");
  ExpectRefused({"site", "init", "site-b", "--out", fresh, "--bogus"}, 2,
                "qboxctl site init: The following argument was not expected: --bogus");
  ExpectRefused({"site", "init", "site-b"}, 2, "--out is required");
  ExpectRefused({"site", "issue", "--site-dir", site_a, "n2"}, 2, "--role is required");
  ExpectRefused({"site", "show", "--site-dir", site_a, "-o", "yaml"}, 2,
                "--output: yaml not in {table,json}");
  ExpectRefused({"site", "issue", "--site-dir", site_a, "--role", "node", "n2", "--days", "0"}, 2,
                "--days");

  // Values (exit 1).
  ExpectRefused({"site", "init", "Site_B", "--out", fresh}, 1,
                "qboxctl site init: SITE: 'Site_B' is not a valid site name");
  ExpectRefused({"site", "init", "site-b", "--out", fresh, "--node", "n1,../x"}, 1,
                "--node: '../x' is not a valid name");
  ExpectRefused({"site", "init", "site-b", "--out", fresh, "--node", "n1,n1"}, 1,
                "--node: 'n1' is given twice");
  ExpectRefused({"site", "init", "site-b", "--out", fresh, "--node", "n1", "--node-host", "a b"}, 1,
                "--node-host: 'a b' is not a valid host name or IP address");
  ExpectRefused({"site", "init", "site-b", "--out", site_a}, 1,
                "--out: '" + site_a + "' already exists and is not empty");
  ExpectRefused({"site", "issue", "--site-dir", site_a, "--role", "root", "x"}, 1,
                "--role: 'root' is not a known role; use one of node, frontend, admin");
  ExpectRefused({"site", "issue", "--site-dir", site_a, "--role", "node", "N2"}, 1,
                "NAME: 'N2' is not a valid name");
  ExpectRefused({"site", "issue", "--site-dir", work_ + "/nope", "--role", "node", "n2"}, 1,
                "--site-dir: " + work_ +
                    "/nope/ca.crt: no such file; point --site-dir at a "
                    "directory made by 'qboxctl site init'");
  ExpectRefused({"site", "issue", "--site-dir", site_a, "--role", "node", "n1"}, 1,
                site_a + "/nodes/n1.crt: already exists; pass --force");
  ExpectRefused({"site", "show", "--site-dir", work_ + "/nope"}, 1,
                "--site-dir: " + work_ + "/nope: no such directory");

  // Damaged files are named.
  std::ofstream(site_a + "/ca.crt", std::ios::trunc) << "not a certificate";
  ExpectRefused({"site", "issue", "--site-dir", site_a, "--role", "node", "n2"}, 1,
                site_a + "/ca.crt");
  ExpectRefused({"site", "show", "--site-dir", site_a}, 1, site_a + "/ca.crt");
  fs::remove(site_a + "/ca.key");
  ExpectRefused({"site", "issue", "--site-dir", site_a, "--role", "node", "n2"}, 1,
                "ca.key: no such file");
  EXPECT_FALSE(fs::exists(fresh));
}

TEST_F(QboxctlSiteTest, UnreadableCaKeyIsNamed) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read any file";
  std::string dir = work_ + "/site-a";
  RunOk({"site", "init", "site-a", "--out", dir});
  ::chmod((dir + "/ca.key").c_str(), 0);
  ExpectRefused({"site", "issue", "--site-dir", dir, "--role", "node", "n2"}, 1,
                dir + "/ca.key: cannot read (Permission denied)");
}

TEST_F(QboxctlSiteTest, HelpIsComplete) {
  CommandResult r = RunOk({"site", "init", "--help"});
  EXPECT_THAT(r.out, AllOf(HasSubstr("SITE"), HasSubstr("--out"), HasSubstr("--node"),
                           HasSubstr("--node-host"), HasSubstr("--force")));
  r = RunOk({"--help"});
  EXPECT_THAT(r.out, HasSubstr("site"));
}

}  // namespace
}  // namespace qbox::ctl

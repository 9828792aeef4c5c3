// qboxctl's guard commands (issue 5) against a real three-site cluster on
// loopback: the charter, a proposal approved by two sites and executed after
// the delay, one site approving twice counting once, a veto, the audit log
// verifying, and bad flags refused before anything is sent.
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ctl/local_cluster.h"
#include "tests/ctl/qboxctl_runner.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::LocalCluster;
using ::testing::StartsWith;
using testing::WaitFor;
using json = nlohmann::json;

constexpr auto kDeadline = std::chrono::seconds(30);

class QboxctlGuardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = ::testing::TempDir() + "/qboxctl-guard-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = new std::string(tmpl);
    io_ = new std::string(tmpl + "/io");
    fs::create_directory(*io_);
    cluster_ = new LocalCluster();
    ASSERT_EQ(cluster_->Create(*root_ + "/cluster"), "");
    // A short delay and lifetime so the whole flow runs in seconds (the
    // keys 'qboxctl cluster init --delay/--proposal-ttl' write).
    json config = json::parse(testing::ReadAll(cluster_->cluster_file()));
    config["delay"] = "2s";
    config["proposal_ttl"] = "30s";
    config["required_sites"] = 2;
    std::ofstream(cluster_->cluster_file()) << config.dump(2);
    // A second admin of site-a: its approval must not count as a second site.
    CommandResult issued = Run(
        {"site", "issue", "--site-dir", cluster_->node(0).site_dir, "--role", "admin", "admin2"});
    ASSERT_EQ(issued.exit_code, 0) << issued.err;
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
    ASSERT_TRUE(WaitFor(
        [] {
          return Run(As(0, {"charter", "show"})).exit_code == 0;
        },
        kDeadline))
        << Run(As(0, {"charter", "show"})).err;
  }

  static CommandResult Run(const std::vector<std::string>& args) {
    return testing::RunQboxctl(args, *io_);
  }
  // `command` as site `site`'s admin1.
  static std::vector<std::string> As(int site, std::vector<std::string> command) {
    std::vector<std::string> flags = cluster_->AdminFlags(site, "10s");
    command.insert(command.end(), flags.begin(), flags.end());
    return command;
  }
  static std::vector<std::string> AsSecondAdminOfSiteA(std::vector<std::string> command) {
    command.insert(command.end(),
                   {"--cluster", cluster_->cluster_file(), "--site-dir", cluster_->node(0).site_dir,
                    "--admin", "admin2", "--timeout", "10s"});
    return command;
  }

  static json RunJson(const std::vector<std::string>& args) {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  static json Proposal(const std::string& id) {
    return RunJson(As(0, {"proposals", "show", id, "-o", "json"}));
  }

  static int ProposalCount() {
    json all = RunJson(As(0, {"proposals", "list", "--all", "-o", "json"}));
    return all.is_object() ? static_cast<int>(all["proposals"].size()) : -1;
  }

  static std::string* root_;
  static std::string* io_;
  static LocalCluster* cluster_;
};

std::string* QboxctlGuardTest::root_ = nullptr;
std::string* QboxctlGuardTest::io_ = nullptr;
LocalCluster* QboxctlGuardTest::cluster_ = nullptr;

TEST_F(QboxctlGuardTest, CharterShowsSitesNodesAndPolicy) {
  json charter = RunJson(As(1, {"charter", "show", "-o", "json"}));
  ASSERT_TRUE(charter.is_object());
  EXPECT_EQ(charter["required_sites"], 2);
  EXPECT_EQ(charter["site_count"], 3);
  EXPECT_EQ(charter["delay_ms"], 2000);
  EXPECT_EQ(charter["proposal_ttl_ms"], 30000);
  // R is left at its default by the fixture: 30 days.
  EXPECT_EQ(charter["retention_ms"], 30LL * 24 * 3600 * 1000);
  EXPECT_GE(charter["version"].get<int>(), 1);
  ASSERT_EQ(charter["sites"].size(), 3u);
  EXPECT_EQ(charter["sites"][1]["name"], "site-b");
  EXPECT_EQ(charter["sites"][1]["ca_fingerprint"].get<std::string>().size(), 64u);
  ASSERT_EQ(charter["nodes"].size(), 3u);
  EXPECT_EQ(charter["nodes"][2]["site"], "site-c");
  EXPECT_EQ(charter["nodes"][2]["state"], "voter");
  EXPECT_EQ(charter["nodes"][2]["address"], cluster_->node(2).address);

  CommandResult table = Run(As(0, {"charter", "show"}));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("need 2 of 3 sites, then wait T = 2s"));
  EXPECT_THAT(table.out, HasSubstr("site-c/n1"));
}

TEST_F(QboxctlGuardTest, ProposalNeedsTwoSitesThenTheDelayThenRuns) {
  CommandResult proposed = Run(As(0, {"propose", "set-retention", "--retention", "1000h",
                                      "--reason", "legal hold for the audit"}));
  ASSERT_EQ(proposed.exit_code, 0) << proposed.err;
  EXPECT_THAT(proposed.out, HasSubstr("state: PENDING"));
  EXPECT_THAT(proposed.out, HasSubstr("needs 1 more site of site-b, site-c; then waits 2s"));
  std::string id = proposed.out.substr(proposed.out.find("proposal ") + 9, 32);

  json record = Proposal(id);
  ASSERT_TRUE(record.is_object());
  EXPECT_EQ(record["state"], "PENDING");
  EXPECT_THAT(record["approved_sites"], ElementsAre("site-a"));
  EXPECT_EQ(record["reason"], "legal hold for the audit");

  // Another admin of the proposer's site: recorded, counts once.
  CommandResult same_site = Run(AsSecondAdminOfSiteA({"proposals", "approve", id}));
  ASSERT_EQ(same_site.exit_code, 0) << same_site.err;
  EXPECT_THAT(same_site.out, HasSubstr("signing approval as site-a/admin/admin2"));
  record = Proposal(id);
  EXPECT_EQ(record["state"], "PENDING");
  EXPECT_THAT(record["approved_sites"], ElementsAre("site-a"));

  CommandResult approved =
      Run(As(1, {"proposals", "approve", id, "--comment", "checked with legal"}));
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_THAT(approved.out, HasSubstr("approved by: 2 of 2 sites (site-a, site-b)"));

  // Nothing runs before the nodes' own clocks say T passed.
  ASSERT_TRUE(WaitFor([&] { return Proposal(id)["state"] == "EXECUTED"; }, kDeadline))
      << Proposal(id).dump(2);
  record = Proposal(id);
  EXPECT_GT(record["closed_index"].get<uint64_t>(), record["approved_index"].get<uint64_t>());
  EXPECT_GE(record["delay_elapsed_sites"].size(), 2u);
  json charter = RunJson(As(2, {"charter", "show", "-o", "json"}));
  EXPECT_EQ(charter["retention_ms"], 1000LL * 3600 * 1000);

  CommandResult shown = Run(As(2, {"proposals", "show", id}));
  EXPECT_THAT(shown.out, HasSubstr("approval: site-b/admin/admin1"));
  EXPECT_THAT(shown.out, HasSubstr("checked with legal"));
  // Closed: approving now is refused by the nodes.
  CommandResult late = Run(As(2, {"proposals", "approve", id}));
  EXPECT_EQ(late.exit_code, 1);
  EXPECT_THAT(late.err, HasSubstr(id));
}

TEST_F(QboxctlGuardTest, OneSiteVetoClosesAProposal) {
  json proposed = RunJson(
      As(0, {"propose", "set-delay", "--delay", "1h", "--reason", "slower changes", "-o", "json"}));
  ASSERT_TRUE(proposed.is_object());
  std::string id = proposed["id"];
  EXPECT_EQ(proposed["state"], "PENDING");

  CommandResult no_comment = Run(As(2, {"proposals", "veto", id}));
  EXPECT_EQ(no_comment.exit_code, 2);
  EXPECT_THAT(no_comment.err, HasSubstr("--comment"));

  CommandResult vetoed = Run(As(2, {"proposals", "veto", id, "--comment", "not agreed"}));
  ASSERT_EQ(vetoed.exit_code, 0) << vetoed.err;
  EXPECT_THAT(vetoed.out, HasSubstr("VETOED"));
  EXPECT_THAT(vetoed.out, HasSubstr("vetoed by: site-c/admin/admin1"));
  EXPECT_EQ(Proposal(id)["state"], "VETOED");

  CommandResult after = Run(As(1, {"proposals", "approve", id}));
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_THAT(after.err, HasSubstr(id));
}

TEST_F(QboxctlGuardTest, AuditLogVerifiesAndNarrates) {
  // At least one signed statement in the log.
  ASSERT_EQ(
      Run(As(0, {"propose", "purge-vault", "--account", "nobody", "--reason", "audit"})).exit_code,
      0);
  CommandResult verified = Run(As(1, {"audit", "verify"}));
  ASSERT_EQ(verified.exit_code, 0) << verified.out << verified.err;
  EXPECT_THAT(verified.out, StartsWith("OK: "));
  json result = RunJson(As(1, {"audit", "verify", "-o", "json"}));
  EXPECT_EQ(result["ok"], true);
  EXPECT_GE(result["signatures_verified"].get<int>(), 1);
  EXPECT_EQ(result["head"].get<std::string>().size(), 64u);

  json log = RunJson(As(2, {"audit", "log", "-o", "json"}));
  ASSERT_TRUE(log.is_object());
  ASSERT_FALSE(log["records"].empty());
  EXPECT_EQ(log["records"][0]["seq"], 1);
  EXPECT_EQ(log["records"][0]["kind"], "charter.genesis");
  bool saw_submit = false;
  for (const json& r : log["records"]) {
    if (r["kind"] == "proposal.submit" && r["actor"] == "site-a/admin/admin1") saw_submit = true;
  }
  EXPECT_TRUE(saw_submit);

  // qboxctl signs audited admin commands: every node records the admin it
  // verified, not the leader's word.
  ASSERT_EQ(Run(As(0, {"account", "create", "audited"})).exit_code, 0);
  ASSERT_EQ(Run(As(1, {"account", "quota", "set", "audited", "--quota-messages", "9"})).exit_code,
            0);
  json admin_log = RunJson(As(2, {"audit", "log", "-o", "json"}));
  std::map<std::string, std::string> actors;
  for (const json& r : admin_log["records"]) {
    const std::string kind = r["kind"];
    if (kind == "admin.create_account" || kind == "admin.set_quota") actors[kind] = r["actor"];
  }
  EXPECT_EQ(actors["admin.create_account"], "site-a/admin/admin1");
  EXPECT_EQ(actors["admin.set_quota"], "site-b/admin/admin1");
  json tail = RunJson(As(2, {"audit", "log", "--from", "2", "-o", "json"}));
  EXPECT_EQ(tail["records"][0]["seq"], 2);
  CommandResult table = Run(As(0, {"audit", "log"}));
  EXPECT_THAT(table.out, HasSubstr("charter.genesis"));
}

TEST_F(QboxctlGuardTest, BadFlagsAreRefusedAndNothingIsSent) {
  const int before = ProposalCount();
  ASSERT_GE(before, 0);
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::string site_b_key = cluster_->node(1).site_dir + "/admins/admin1.key";
  std::string site_a_cert = cluster_->node(0).site_dir + "/admins/admin1.crt";
  std::vector<Case> cases = {
      {As(0, {"propose", "set-proposal-ttl", "--ttl", "abc", "--reason", "x"}), "--ttl: 'abc'"},
      {As(0, {"propose", "set-required-sites", "--sites", "0", "--reason", "x"}), "--sites: '0'"},
      {As(0, {"propose", "wipe-everything", "--reason", "x"}), "KIND: unknown proposal kind"},
      {As(0, {"propose", "purge-vault", "--reason", "x"}), "--account: needed by purge-vault"},
      {As(0, {"propose", "add-site", "--site", "site-d", "--ca-cert", *root_ + "/none.crt",
              "--reason", "x"}),
       "--ca-cert: "},
      {As(0, {"propose", "set-required-sites", "--sites", "5", "--reason", "x"}),
       "the charter refuses this proposal"},
      {{"propose", "purge-vault", "--account", "alice", "--reason", "x", "--cluster",
        cluster_->cluster_file(), "--cert", site_a_cert, "--key", site_b_key},
       "--key: "},
      {As(0, {"proposals", "approve", "not-an-id"}), "ID: 'not-an-id'"},
  };
  for (const Case& c : cases) {
    CommandResult r = Run(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.message << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.out, "") << c.message;
  }
  CommandResult no_reason = Run(As(0, {"propose", "purge-vault", "--account", "alice"}));
  EXPECT_EQ(no_reason.exit_code, 2);
  EXPECT_THAT(no_reason.err, HasSubstr("--reason"));
  EXPECT_EQ(ProposalCount(), before);
}

}  // namespace
}  // namespace qbox::ctl

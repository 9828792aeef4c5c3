// `qboxctl cluster init`'s charter policy flags (issue 5): what they write
// is what qbox-node reads (node/server/cluster_config.h), and bad values are
// refused naming the flag with no file written.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/server/cluster_config.h"
#include "tests/ctl/qboxctl_runner.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;

class ClusterInitPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/qboxctl-policy-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    for (const std::string site : {"site-a", "site-b", "site-c"}) {
      CommandResult r = Run({"site", "init", site, "--out", root_ + "/" + site});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    out_ = root_ + "/cluster.json";
  }
  void TearDown() override { fs::remove_all(root_); }

  CommandResult Run(const std::vector<std::string>& args) {
    return testing::RunQboxctl(args, root_);
  }

  std::vector<std::string> Init(const std::vector<std::string>& more) {
    std::vector<std::string> args = {"cluster", "init", "--out", out_};
    for (const std::string site : {"site-a", "site-b", "site-c"}) {
      args.insert(args.end(), {"--site-ca", site + "=" + root_ + "/" + site + "/ca.crt"});
    }
    args.insert(args.end(), {"--node", "1=site-a/n1@127.0.0.1:7101", "--node",
                             "2=site-b/n1@127.0.0.1:7102", "--node", "3=site-c/n1@127.0.0.1:7103"});
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  std::string root_, out_;
};

TEST_F(ClusterInitPolicyTest, WritesThePolicyKeysTheNodeReads) {
  CommandResult r = Run(Init({"--required-sites", "3", "--delay", "2s", "--retention", "720h",
                              "--proposal-ttl", "30s", "--checkpoint-every", "500"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("need 3 of 3 sites and wait 2s"));
  nlohmann::json doc = nlohmann::json::parse(testing::ReadAll(out_));
  EXPECT_EQ(doc["required_sites"], 3);
  EXPECT_EQ(doc["delay"], "2s");
  EXPECT_EQ(doc["retention"], "720h");
  EXPECT_FALSE(doc.contains("retention_days"));
  EXPECT_EQ(doc["proposal_ttl"], "30s");
  EXPECT_EQ(doc["checkpoint_every"], 500);

  absl::StatusOr<server::ClusterConfig> config = server::LoadClusterConfig(out_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->required_sites, 3u);
  EXPECT_EQ(config->delay_ms, 2000);
  EXPECT_EQ(config->retention_ms, 720LL * 3600 * 1000);
  EXPECT_EQ(config->proposal_ttl_ms, 30000);
  EXPECT_EQ(config->checkpoint_every, 500u);
}

TEST_F(ClusterInitPolicyTest, DefaultsAreLeftToTheNode) {
  CommandResult r = Run(Init({}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json doc = nlohmann::json::parse(testing::ReadAll(out_));
  EXPECT_FALSE(doc.contains("delay"));
  EXPECT_FALSE(doc.contains("required_sites"));
  EXPECT_EQ(doc["retention_days"], 30);
  absl::StatusOr<server::ClusterConfig> config = server::LoadClusterConfig(out_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->required_sites, 2u);
  EXPECT_EQ(config->delay_ms, 72LL * 3600 * 1000);
}

TEST_F(ClusterInitPolicyTest, BadValuesAreRefusedNamingTheFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--required-sites", "0"}, "--required-sites: '0'"},
      {{"--required-sites", "4"}, "--required-sites: '4'"},
      {{"--delay", "soon"}, "--delay: 'soon'"},
      {{"--delay", "-1h"}, "--delay: '-1h'"},
      {{"--proposal-ttl", "0s"}, "--proposal-ttl: '0s'"},
      {{"--retention", "abc"}, "--retention: 'abc'"},
      {{"--retention", "720h", "--retention-days", "30"}, "--retention: give either"},
      {{"--checkpoint-every", "0"}, "--checkpoint-every: '0'"},
  };
  for (const auto& [flags, message] : cases) {
    CommandResult r = Run(Init(flags));
    EXPECT_EQ(r.exit_code, 1) << message << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(message));
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(fs::exists(out_)) << message;
  }
}

}  // namespace
}  // namespace qbox::ctl

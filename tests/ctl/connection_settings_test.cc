// Where qboxctl's and qbox-mail's connection settings come from: the line,
// then QBOX_* variables, then the context file (ctl/connection_settings.h).
// Real files in a temporary directory; the environment is a map.
#include "ctl/connection_settings.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ConnectionSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/qbox-settings-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    vars_["QBOX_CONFIG"] = dir_ + "/contexts.json";
  }
  void TearDown() override { fs::remove_all(dir_); }

  EnvironmentLookup Env() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      auto it = vars_.find(name);
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    };
  }
  void WriteContextFile(const std::string& text) { std::ofstream(dir_ + "/contexts.json") << text; }

  std::string dir_;
  std::map<std::string, std::string> vars_;
};

TEST_F(ConnectionSettingsTest, CredentialsComeFromOneSourceOnly) {
  ConnectionSettings line;
  line.cert = "/line/admin.crt";
  line.key = "/line/admin.key";
  ConnectionSettings context;
  context.site_dir = "/ctx/site-a";
  context.admin = "ops";
  context.endpoints = "ctx:7100";
  FillUnset(&line, context);
  EXPECT_EQ(line.cert, "/line/admin.crt");
  EXPECT_EQ(line.site_dir, "") << "a site directory must not join a --cert from another source";
  EXPECT_EQ(line.admin, "");
  EXPECT_EQ(line.endpoints, "ctx:7100");

  ConnectionSettings empty;
  FillUnset(&empty, context);
  EXPECT_EQ(empty.site_dir, "/ctx/site-a");
  EXPECT_EQ(empty.admin, "ops");
}

TEST_F(ConnectionSettingsTest, EnvironmentBeatsTheContextFile) {
  WriteContextFile(R"({"current_context": "prod", "contexts": {
      "prod": {"endpoints": "prod:7100", "cluster": "/prod/cluster.json", "timeout": "3s"},
      "dev": {"endpoints": "dev:7100"}}})");
  vars_["QBOX_ENDPOINTS"] = "env:7100";
  absl::StatusOr<ConnectionSettings> s = FallbackSettings("", Env());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->endpoints, "env:7100");
  EXPECT_EQ(s->cluster, "/prod/cluster.json");
  EXPECT_EQ(s->timeout, "3s");

  // --context beats QBOX_CONTEXT beats the current context.
  vars_.erase("QBOX_ENDPOINTS");
  vars_["QBOX_CONTEXT"] = "dev";
  EXPECT_EQ(FallbackSettings("", Env())->endpoints, "dev:7100");
  EXPECT_EQ(FallbackSettings("prod", Env())->endpoints, "prod:7100");

  absl::StatusOr<ConnectionSettings> missing = FallbackSettings("staging", Env());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("--context: no context 'staging'"));
}

TEST_F(ConnectionSettingsTest, NoFileIsNoContext) {
  absl::StatusOr<ConnectionSettings> s = FallbackSettings("", Env());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*s, ConnectionSettings{});
  EXPECT_FALSE(fs::exists(dir_ + "/contexts.json")) << "reading must not create the file";
}

TEST_F(ConnectionSettingsTest, ABrokenFileIsNamedAndNeverGuessedAt) {
  const std::string path = dir_ + "/contexts.json";
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "is not a JSON object"},
      {R"({"contexts": {"a": {"endpoint": "x:1"}}})", "context a: unknown key endpoint"},
      {R"({"contexts": {"a": {"timeout": 5}}})", "context a: timeout must be a string"},
      {R"({"current_context": "b", "contexts": {"a": {}}})", "current_context b is not one"},
      {R"({"contexts": {"Bad Name": {}}})", "is not a context name"},
      {R"({"current": "a"})", "unknown key current"},
  };
  for (const auto& [text, message] : cases) {
    WriteContextFile(text);
    absl::StatusOr<ContextFile> file = LoadContextFile(path);
    ASSERT_FALSE(file.ok()) << text;
    EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(file.status().message(), HasSubstr(path)) << text;
    EXPECT_THAT(file.status().message(), HasSubstr(message)) << text;
    EXPECT_FALSE(FallbackSettings("", Env()).ok()) << text;
  }
}

TEST_F(ConnectionSettingsTest, SavedFileRoundTripsAndOnlyItsOwnerCanReadIt) {
  const std::string path = dir_ + "/deeper/contexts.json";
  ContextFile file;
  file.current = "site-a";
  file.contexts["site-a"].cluster = "/etc/qbox/cluster.json";
  file.contexts["site-a"].site_dir = "/home/ops/qbox-site-a";
  file.contexts["site-a"].admin = "ops";
  ASSERT_TRUE(SaveContextFile(path, file).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<ContextFile> read = LoadContextFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->current, "site-a");
  ASSERT_EQ(read->contexts.count("site-a"), 1u);
  EXPECT_EQ(read->contexts.at("site-a"), file.contexts.at("site-a"));
}

TEST_F(ConnectionSettingsTest, ContextFileLocation) {
  EXPECT_EQ(ContextFilePath(Env()), dir_ + "/contexts.json");
  vars_.erase("QBOX_CONFIG");
  vars_["HOME"] = "/home/ops";
  EXPECT_EQ(ContextFilePath(Env()), "/home/ops/.config/quorumbox/contexts.json");
  vars_["XDG_CONFIG_HOME"] = "/xdg";
  EXPECT_EQ(ContextFilePath(Env()), "/xdg/quorumbox/contexts.json");
}

}  // namespace
}  // namespace qbox::ctl

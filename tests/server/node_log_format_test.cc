// node_log.h's formats, written to a real file descriptor 2: JSON escapes
// whatever a message holds, levels filter, and text keeps the narrative
// line as it always read.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/server/node_log.h"

namespace qbox::server {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using json = nlohmann::json;

// Everything written to stderr while `write` runs.
template <typename F>
std::string CaptureStderr(F write) {
  const std::string path = ::testing::TempDir() + "/node-log-" + std::to_string(getpid());
  std::fflush(stderr);
  int saved = dup(2);
  int file = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  dup2(file, 2);
  write();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path.c_str());
  return text.str();
}

TEST(NodeLogFormatTest, JsonEscapesEveryMessageIntoOneObjectPerLine) {
  ConfigureNodeLog("site-a", "n1", LogFormat::kJson, LogLevel::kInfo);
  const std::string tricky = "peer \"site-b/n1\" said: a\\b\nsecond line\ttab \x01 end";
  std::string out = CaptureStderr([&] {
    LogInfo(tricky);
    LogWarning("lagging");
    LogDebug("not at level info");
  });
  std::istringstream lines(out);
  std::string first, second, third;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  EXPECT_FALSE(std::getline(lines, third)) << "debug must be filtered at level info: " << third;
  json a = json::parse(first);
  EXPECT_EQ(a["msg"], tricky);
  EXPECT_EQ(a["level"], "info");
  EXPECT_EQ(a["site"], "site-a");
  EXPECT_EQ(a["node"], "n1");
  EXPECT_EQ(json::parse(second)["level"], "warning");
}

TEST(NodeLogFormatTest, LevelsFilterButFatalAlwaysShows) {
  ConfigureNodeLog("site-a", "n1", LogFormat::kJson, LogLevel::kError);
  std::string out = CaptureStderr([] {
    LogInfo("quiet");
    LogWarning("quiet too");
    LogError("disk failed");
    LogFatal("stopping");
  });
  EXPECT_THAT(out, ::testing::Not(HasSubstr("quiet")));
  EXPECT_THAT(
      out,
      HasSubstr("\"level\":\"error\",\"site\":\"site-a\",\"node\":\"n1\",\"msg\":\"disk failed\""));
  EXPECT_THAT(out, HasSubstr("\"level\":\"critical\""));
}

TEST(NodeLogFormatTest, TextIsTheNarrativeLineItAlwaysWas) {
  ConfigureNodeLog("site-c", "n2", LogFormat::kText, LogLevel::kInfo);
  std::string out = CaptureStderr([] { LogInfo("became leader for term 7"); });
  EXPECT_THAT(out, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                                "site-c/n2 became leader for term 7\n"));
}

}  // namespace
}  // namespace qbox::server

// qbox-node's log through node_log.h, from real processes: with
// --log-format=json every line its stderr gets is one JSON object (time,
// level, site, node, msg) carrying the same narrative as the text format;
// a bad --log-format or --log-level is refused naming the flag.
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/cluster/local_cluster.h"

namespace qbox::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

TEST(NodeLogTest, JsonFormatWritesOneObjectPerLineWithTheNarrative) {
  LocalClusterOptions options;
  options.node_extra_args[0] = {"--log-format=json", "--log-level=info"};
  auto cluster = LocalCluster::Create(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  LocalCluster& c = **cluster;
  ASSERT_TRUE(c.StartAll().ok());
  ASSERT_TRUE(c.WaitForLeader(absl::Seconds(60)).ok()) << c.LogTail(0);
  ASSERT_TRUE(c.Stop(0).ok());  // SIGTERM: the shutdown is logged too

  const std::regex time(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  std::vector<std::string> lines = Lines(c.log_path(0));
  ASSERT_GE(lines.size(), 3u);
  std::string narrative;
  for (const std::string& line : lines) {
    json entry = json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(entry.is_object()) << "not one JSON object: " << line;
    EXPECT_EQ(entry.size(), 5u) << line;
    ASSERT_TRUE(entry["time"].is_string()) << line;
    EXPECT_TRUE(std::regex_match(entry["time"].get<std::string>(), time)) << line;
    EXPECT_THAT((std::vector<std::string>{"info", "warning", "error", "critical"}),
                ::testing::Contains(entry["level"].get<std::string>()))
        << line;
    EXPECT_EQ(entry["site"], c.site(0)) << line;
    EXPECT_EQ(entry["node"], "n1") << line;
    narrative += entry["msg"].get<std::string>() + "\n";
  }
  // The same narrative the text format tells.
  EXPECT_THAT(narrative, HasSubstr("writing the genesis entry"));
  EXPECT_THAT(narrative, HasSubstr("received SIGTERM, shutting down"));

  // The other nodes kept the text format: time, SITE/NAME, message.
  std::vector<std::string> text = Lines(c.log_path(1));
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(std::regex_search(text[0], std::regex(R"(^\S+Z site-b/n1 \S)"))) << text[0];
}

// Runs qbox-node with `args`; returns its exit status and stderr.
std::pair<int, std::string> RunNode(const std::vector<std::string>& args, const std::string& dir) {
  const std::string err = dir + "/node-stderr";
  std::vector<std::string> storage = {QBOX_NODE_BINARY_FOR_TESTS};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::freopen(err.c_str(), "w", stderr);
    (void)f;
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(err);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.str()};
}

TEST(NodeLogTest, BadFormatOrLevelIsRefusedNamingTheFlag) {
  auto cluster = LocalCluster::Create({});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  LocalCluster& c = **cluster;
  const std::vector<std::string> base = {
      "--cluster",  c.cluster_config_path(), "--node", "site-a/n1",
      "--data-dir", c.dir() + "/unused",     "--cert", c.cert_path(0, "node"),
      "--key",      c.key_path(0, "node")};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  auto [format_exit, format_err] = RunNode(with({"--log-format", "xml"}), c.dir());
  EXPECT_EQ(format_exit, 2);
  EXPECT_THAT(format_err, HasSubstr("--log-format: 'xml' is not one of text, json"));
  auto [level_exit, level_err] = RunNode(with({"--log-level", "loud"}), c.dir());
  EXPECT_EQ(level_exit, 2);
  EXPECT_THAT(level_err,
              HasSubstr("--log-level: 'loud' is not one of debug, info, warning, error"));
  EXPECT_FALSE(std::ifstream(c.dir() + "/unused").good()) << "a refused start must create nothing";
}

}  // namespace
}  // namespace qbox::testing

// `qboxctl completion bash|zsh`: the generated script, run by a real bash,
// completes commands and flags the way a user types them.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ctl/qboxctl_runner.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadAll;
using testing::RunQboxctl;

class CompletionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/qbox-completion-" + std::to_string(::getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // What bash offers after the words typed so far (the last one is being
  // completed), with the script `qboxctl completion bash` printed.
  std::string Complete(const std::string& script_path, const std::string& words) {
    const std::string out = dir_ + "/completions";
    // The script runs `qboxctl` from PATH (for context names), as a user's
    // shell would.
    const std::string bin = fs::path(QBOXCTL_PATH).parent_path().string();
    const std::string command = "PATH=" + bin + ":$PATH QBOX_CONFIG=" + dir_ +
                                "/contexts.json bash -c 'source \"$0\"; COMP_WORDS=(" + words +
                                "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _qboxctl; "
                                "printf \"%s\\n\" \"${COMPREPLY[@]}\"' " +
                                script_path + " > " + out + " 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command << "\n" << ReadAll(out);
    return ReadAll(out);
  }

  std::string dir_;
};

TEST_F(CompletionTest, BashCompletesCommandsAndEachCommandsFlags) {
  CommandResult r = RunQboxctl({"completion", "bash"}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string script = dir_ + "/qboxctl.bash";
  std::ofstream(script) << r.out;

  EXPECT_EQ(Complete(script, "qboxctl si"), "site\n");
  EXPECT_EQ(Complete(script, "qboxctl site i"), "init\nissue\n");
  // Flags of the command typed so far, after flags and their values.
  std::string flags = Complete(script, "qboxctl --timeout 5s status --re");
  EXPECT_EQ(flags, "--report-only\n");
  EXPECT_THAT(Complete(script, "qboxctl context s"), HasSubstr("set"));
  EXPECT_THAT(Complete(script, "qboxctl snapshot save --"), HasSubstr("--endpoints"));
  EXPECT_THAT(Complete(script, "qboxctl snapshot save --"), Not(HasSubstr("--report-only")));
}

TEST_F(CompletionTest, ContextNamesComeFromTheContextFile) {
  std::ofstream(dir_ + "/contexts.json")
      << R"({"current_context": "alpha", "contexts": {"alpha": {"endpoints": "a:1"},)"
      << R"( "beta": {"endpoints": "b:1"}, "bravo": {"endpoints": "c:1"}}})";
  CommandResult r = RunQboxctl({"completion", "bash"}, dir_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string script = dir_ + "/qboxctl.bash";
  std::ofstream(script) << r.out;
  EXPECT_EQ(Complete(script, "qboxctl context use b"), "beta\nbravo\n");
  EXPECT_EQ(Complete(script, "qboxctl --context a"), "alpha\n");
  EXPECT_EQ(Complete(script, "qboxctl context delete \"\""), "alpha\nbeta\nbravo\n");
}

TEST_F(CompletionTest, ZshLoadsTheSameFunctionAndOtherShellsAreRefused) {
  CommandResult zsh = RunQboxctl({"completion", "zsh"}, dir_);
  ASSERT_EQ(zsh.exit_code, 0) << zsh.err;
  EXPECT_THAT(zsh.out, HasSubstr("#compdef qboxctl"));
  EXPECT_THAT(zsh.out, HasSubstr("complete -o default -F _qboxctl qboxctl"));

  CommandResult fish = RunQboxctl({"completion", "fish"}, dir_);
  EXPECT_EQ(fish.exit_code, 1);
  EXPECT_EQ(fish.out, "");
  EXPECT_EQ(fish.err, "qboxctl completion: SHELL: 'fish' is not supported; use bash or zsh\n");
  EXPECT_EQ(RunQboxctl({"completion"}, dir_).exit_code, 2);
}

TEST_F(CompletionTest, VersionNamesTheProjectVersionAndCommit) {
  CommandResult r = RunQboxctl({"--version"}, dir_);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, ::testing::MatchesRegex("qboxctl [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit "
                                             "([0-9a-f]{12}|unknown)\\)\n"));
}

}  // namespace
}  // namespace qbox::ctl

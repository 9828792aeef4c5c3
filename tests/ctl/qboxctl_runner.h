// Runs the real qboxctl binary (path compiled in as QBOXCTL_PATH) and
// captures its exit status, stdout and stderr.
#ifndef QBOX_TESTS_CTL_QBOXCTL_RUNNER_H_
#define QBOX_TESTS_CTL_QBOXCTL_RUNNER_H_

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace qbox::ctl::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Output goes to files in `scratch_dir` rather than pipes, so a chatty
// child can never block on a full pipe while we wait for it.
inline CommandResult RunQboxctl(const std::vector<std::string>& args,
                                const std::string& scratch_dir) {
  const std::string out_path = scratch_dir + "/stdout";
  const std::string err_path = scratch_dir + "/stderr";
  std::vector<std::string> argv_storage = {QBOXCTL_PATH};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  CommandResult result;
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  }
  result.out = ReadAll(out_path);
  result.err = ReadAll(err_path);
  return result;
}

// Every regular file under `root` with its contents (and directories as
// empty entries), to show that a failed command changed nothing.
inline std::map<std::string, std::string> SnapshotTree(const std::string& root) {
  std::map<std::string, std::string> tree;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return tree;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec)) {
    tree[entry.path().string()] =
        entry.is_regular_file() ? ReadAll(entry.path().string()) : "<dir>";
  }
  return tree;
}

}  // namespace qbox::ctl::testing

#endif  // QBOX_TESTS_CTL_QBOXCTL_RUNNER_H_

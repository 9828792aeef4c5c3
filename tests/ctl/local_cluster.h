// A real quorumbox cluster on loopback for tests that run qboxctl against
// it: three sites (each with its own credentials from `qboxctl site init`
// and `site issue`), a genesis file from `qboxctl cluster init`, and one
// qbox-node process per site (path compiled in as QBOX_NODE_PATH).
//
// Ports are picked by binding port 0 and releasing it; another process could
// take one in between, which Start reports (the node exits) rather than
// hiding. Every wait has a deadline; nothing sleeps to synchronise.
#ifndef QBOX_TESTS_CTL_LOCAL_CLUSTER_H_
#define QBOX_TESTS_CTL_LOCAL_CLUSTER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/ctl/qboxctl_runner.h"

namespace qbox::ctl::testing {

inline int PickUnboundLoopbackPort();

// A loopback TCP port that was free a moment ago and that this process has
// not handed out before (the kernel may give a just-closed port again at
// once); 0 on failure.
inline int PickFreeLoopbackPort() {
  static std::mutex mu;
  static std::set<int>* handed_out = new std::set<int>();
  for (int attempt = 0; attempt < 100; ++attempt) {
    int port = PickUnboundLoopbackPort();
    if (port == 0) return 0;
    std::lock_guard<std::mutex> lock(mu);
    if (handed_out->insert(port).second) return port;
  }
  return 0;
}

inline int PickUnboundLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// Polls `condition` every 50 ms until it holds or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

// One child process, its output appended to a log file.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { Kill(); }

  bool Start(std::vector<std::string> argv, const std::string& log_path) {
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 1);
      ::dup2(log, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    return pid_ > 0;
  }
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  // SIGTERM and wait (a clean shutdown), SIGKILL after 10 s.
  void Stop() { Signal(SIGTERM, std::chrono::seconds(10)); }
  // SIGKILL and wait: a crash.
  void Kill() { Signal(SIGKILL, std::chrono::seconds(10)); }

 private:
  void Signal(int sig, std::chrono::seconds grace) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    bool exited = WaitFor([this] { return !running(); }, grace);
    if (!exited && pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  pid_t pid_ = -1;
};

class LocalCluster {
 public:
  struct Node {
    std::string site;      // "site-a"
    std::string name;      // "n1"
    std::string address;   // "127.0.0.1:PORT"
    std::string site_dir;  // the site's credential directory
    std::string data_dir;
    std::string log;
    ChildProcess process;
    std::string QualifiedName() const { return site + "/" + name; }
  };

  // Builds credentials and the genesis file under `root` (an existing empty
  // directory) for `sites` sites with one voter each, using the real qboxctl.
  // Returns "" on success, else what failed.
  std::string Create(const std::string& root, int sites = 3) {
    root_ = root;
    io_ = root + "/qboxctl-io";
    std::filesystem::create_directories(io_);
    cluster_file_ = root + "/cluster.json";
    std::vector<std::string> init = {"cluster", "init", "--out", cluster_file_};
    nodes_ = std::vector<Node>(sites);
    for (int i = 0; i < sites; ++i) {
      Node& n = nodes_[i];
      n.site = std::string("site-") + static_cast<char>('a' + i);
      n.name = "n1";
      int port = PickFreeLoopbackPort();
      if (port == 0) return "no free loopback port";
      n.address = "127.0.0.1:" + std::to_string(port);
      n.site_dir = root + "/" + n.site;
      n.data_dir = root + "/data-" + n.site;
      n.log = root + "/" + n.site + ".log";
      std::filesystem::create_directories(n.data_dir);
      std::string failed =
          Qboxctl({"site", "init", n.site, "--out", n.site_dir, "--admin", kAdmin});
      if (failed.empty()) {
        failed = Qboxctl({"site", "issue", "--site-dir", n.site_dir, "--role", "node", n.name,
                          "--host", "127.0.0.1"});
      }
      if (!failed.empty()) return failed;
      init.insert(init.end(), {"--site-ca", n.site + "=" + n.site_dir + "/ca.crt", "--node",
                               std::to_string(i + 1) + "=" + n.QualifiedName() + "@" + n.address});
    }
    return Qboxctl(init);
  }

  ~LocalCluster() {
    for (Node& n : nodes_) n.process.Stop();
  }

  bool Start(int i) {
    Node& n = nodes_[i];
    return n.process.Start(
        {QBOX_NODE_PATH, "--cluster", cluster_file_, "--node", n.QualifiedName(), "--data-dir",
         n.data_dir, "--cert", n.site_dir + "/nodes/" + n.name + ".crt", "--key",
         n.site_dir + "/nodes/" + n.name + ".key", "--tick-ms", "20"},
        n.log);
  }
  bool StartAll() {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!Start(static_cast<int>(i))) return false;
    }
    return true;
  }
  void Stop(int i) { nodes_[i].process.Stop(); }
  void Kill(int i) { nodes_[i].process.Kill(); }
  bool Running(int i) { return nodes_[i].process.running(); }

  Node& node(int i) { return nodes_[i]; }
  int size() const { return static_cast<int>(nodes_.size()); }
  const std::string& cluster_file() const { return cluster_file_; }
  std::string Log(int i) const { return ReadAll(nodes_[i].log); }

  // Connection flags for site `i`'s admin: the CA bundle and endpoints from
  // the cluster file, credentials from the site's directory.
  std::vector<std::string> AdminFlags(int i = 0, const std::string& timeout = "5s") const {
    return {"--cluster", cluster_file_, "--site-dir", nodes_[i].site_dir,
            "--admin",   kAdmin,        "--timeout",  timeout};
  }

  static constexpr const char* kAdmin = "admin1";

 private:
  std::string Qboxctl(const std::vector<std::string>& args) {
    CommandResult r = RunQboxctl(args, io_);
    if (r.exit_code == 0) return "";
    std::string joined = "qboxctl";
    for (const std::string& a : args) joined += " " + a;
    return joined + " failed: " + r.err;
  }

  std::string root_, io_, cluster_file_;
  std::vector<Node> nodes_;
};

}  // namespace qbox::ctl::testing

#endif  // QBOX_TESTS_CTL_LOCAL_CLUSTER_H_

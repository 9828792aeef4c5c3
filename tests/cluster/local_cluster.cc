#include "tests/cluster/local_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "node/guard/credential_directory.h"
#include "node/guard/peer_identity.h"
#include "node/guard/site_ca.h"
#include "qbox/v1/admin.grpc.pb.h"

extern char** environ;

namespace qbox::testing {
namespace fs = std::filesystem;

namespace {

absl::StatusOr<int> PickUnboundPort();

// A port nothing listens on now and that this process has not handed out
// before: the kernel may give a just-closed port again at once, and two
// listeners of one node (gRPC and metrics) on one port would fail to start.
absl::StatusOr<int> PickFreePort() {
  static absl::Mutex mu(absl::kConstInit);
  static std::set<int>* handed_out = new std::set<int>();
  for (int attempt = 0; attempt < 100; ++attempt) {
    absl::StatusOr<int> port = PickUnboundPort();
    if (!port.ok()) return port;
    absl::MutexLock lock(&mu);
    if (handed_out->insert(*port).second) return port;
  }
  return absl::InternalError("no fresh free port after 100 attempts");
}

absl::StatusOr<int> PickUnboundPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return absl::InternalError("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return absl::InternalError("bind() to a free port failed");
  }
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

absl::Status Write(const std::string& path, const std::string& contents, unsigned mode = 0644) {
  return guard::WriteFileAtomically(path, contents, mode, /*overwrite=*/true);
}

absl::Status IssueTo(const std::string& site_dir, const guard::PemCredential& ca,
                     const std::string& site, const std::string& role, const std::string& name) {
  auto identity = guard::MakePeerIdentity(site, role, name);
  if (!identity.ok()) return identity.status();
  guard::LeafOptions leaf;
  leaf.dns_names = {"localhost"};
  leaf.ip_addresses = {"127.0.0.1"};
  auto cred = guard::IssueLeafCertificate(ca, *identity, leaf);
  if (!cred.ok()) return cred.status();
  fs::create_directories(guard::RoleDirectory(site_dir, role));
  if (auto s = Write(guard::KeyPath(site_dir, role, name), cred->private_key_pem, 0600); !s.ok()) {
    return s;
  }
  return Write(guard::CertificatePath(site_dir, role, name), cred->certificate_pem);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Create(LocalClusterOptions options) {
  std::unique_ptr<LocalCluster> c(new LocalCluster());
  c->options_ = std::move(options);
  std::string tmpl = (fs::temp_directory_path() / "qbox-cluster-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  c->dir_ = tmpl;
  nlohmann::json config;
  config["cluster"] = "qbox-test";
  config["retention_days"] = 30;
  std::string bundle;
  for (int i = 0; i < c->options_.nodes; ++i) {
    Node node;
    node.site = std::string("site-") + static_cast<char>('a' + i);
    auto port = PickFreePort();
    if (!port.ok()) return port.status();
    node.address = absl::StrCat("127.0.0.1:", *port);
    auto metrics_port = PickFreePort();
    if (!metrics_port.ok()) return metrics_port.status();
    node.metrics_address = absl::StrCat("127.0.0.1:", *metrics_port);
    node.data_dir = absl::StrCat(c->dir_, "/data/", node.site);
    node.log = absl::StrCat(c->dir_, "/", node.site, ".log");
    const std::string site_dir = absl::StrCat(c->dir_, "/", node.site);
    fs::create_directories(site_dir);
    auto ca = guard::CreateSiteCa(node.site);
    if (!ca.ok()) return ca.status();
    if (auto s = Write(guard::CaCertificatePath(site_dir), ca->certificate_pem); !s.ok()) return s;
    // Kept so attack tests can mint more (or hostile) certificates of a site.
    if (auto s = Write(guard::CaKeyPath(site_dir), ca->private_key_pem, 0600); !s.ok()) return s;
    for (const auto& [role, name] : std::vector<std::pair<std::string, std::string>>{
             {"node", "n1"}, {"frontend", "t1"}, {"admin", "t1"}}) {
      if (auto s = IssueTo(site_dir, *ca, node.site, role, name); !s.ok()) return s;
    }
    bundle += ca->certificate_pem;
    config["sites"].push_back({{"name", node.site}, {"ca_cert_pem", ca->certificate_pem}});
    config["nodes"].push_back(
        {{"id", i + 1}, {"site", node.site}, {"name", "n1"}, {"address", node.address}});
    c->nodes_.push_back(std::move(node));
  }
  // The charter's policy, when a test sets it (cluster_config.h keys).
  if (c->options_.required_sites > 0) config["required_sites"] = c->options_.required_sites;
  if (!c->options_.delay.empty()) config["delay"] = c->options_.delay;
  if (!c->options_.proposal_ttl.empty()) config["proposal_ttl"] = c->options_.proposal_ttl;
  if (c->options_.checkpoint_every > 0) config["checkpoint_every"] = c->options_.checkpoint_every;
  if (auto s = Write(c->ca_bundle_path(), bundle); !s.ok()) return s;
  if (auto s = Write(c->cluster_config_path(), config.dump(2)); !s.ok()) return s;
  return c;
}

LocalCluster::~LocalCluster() {
  for (int i = 0; i < size(); ++i) Kill(i);
  std::error_code ec;
  if (std::getenv("QBOX_KEEP_TEST_DIRS") == nullptr) fs::remove_all(dir_, ec);
}

std::string LocalCluster::cert_path(int i, const std::string& role) const {
  return guard::CertificatePath(absl::StrCat(dir_, "/", nodes_[i].site), role,
                                role == "node" ? "n1" : "t1");
}

std::string LocalCluster::key_path(int i, const std::string& role) const {
  return guard::KeyPath(absl::StrCat(dir_, "/", nodes_[i].site), role,
                        role == "node" ? "n1" : "t1");
}

std::vector<std::string> LocalCluster::endpoints() const {
  std::vector<std::string> out;
  for (const Node& n : nodes_) out.push_back(n.address);
  return out;
}

absl::Status LocalCluster::StartAll() {
  for (int i = 0; i < size(); ++i) {
    if (auto s = Start(i); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status LocalCluster::Start(int i) {
  Node& n = nodes_[i];
  if (Running(i)) return absl::FailedPreconditionError(absl::StrCat(n.site, " is running"));
  auto binary = options_.node_binary.find(i);
  std::vector<std::string> args = {binary != options_.node_binary.end() ? binary->second
                                                                        : QBOX_NODE_BINARY,
                                   "--cluster", cluster_config_path(),
                                   "--node", n.site + "/n1",
                                   "--data-dir", n.data_dir,
                                   "--cert", cert_path(i, "node"),
                                   "--key", key_path(i, "node"),
                                   "--tick-ms", absl::StrCat(options_.tick_ms),
                                   "--election-ticks", absl::StrCat(options_.election_ticks),
                                   "--metrics-listen", n.metrics_address};
  if (options_.snapshot_every > 0) {
    args.push_back("--snapshot-every");
    args.push_back(absl::StrCat(options_.snapshot_every));
  }
  for (const std::string& a : options_.extra_args) args.push_back(a);
  if (auto own = options_.node_extra_args.find(i); own != options_.node_extra_args.end()) {
    for (const std::string& a : own->second) args.push_back(a);
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, n.log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return absl::InternalError(absl::StrCat("posix_spawn ", argv[0], ": ", rc));
  n.pid = pid;
  return absl::OkStatus();
}

bool LocalCluster::Running(int i) {
  Node& n = nodes_[i];
  if (n.pid <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(n.pid, &status, WNOHANG);
  if (r == n.pid) {
    n.pid = 0;
    return false;
  }
  return true;
}

void LocalCluster::Kill(int i) {
  Node& n = nodes_[i];
  if (n.pid <= 0) return;
  ::kill(n.pid, SIGKILL);
  ::waitpid(n.pid, nullptr, 0);
  n.pid = 0;
}

absl::Status LocalCluster::Stop(int i) {
  Node& n = nodes_[i];
  if (n.pid <= 0) return absl::OkStatus();
  ::kill(n.pid, SIGTERM);
  absl::Time deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
      n.pid = 0;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
      return absl::InternalError(absl::StrCat(n.site, " exited with status ", status));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill(i);
  return absl::DeadlineExceededError(absl::StrCat(n.site, " did not stop within 15s"));
}

void LocalCluster::WipeData(int i) {
  std::error_code ec;
  fs::remove_all(nodes_[i].data_dir, ec);
}

std::shared_ptr<grpc::Channel> LocalCluster::Channel(int i, const std::string& role,
                                                     int as_site) const {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadAll(ca_bundle_path());
  tls.pem_cert_chain = ReadAll(cert_path(as_site, role));
  tls.pem_private_key = ReadAll(key_path(as_site, role));
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  return grpc::CreateCustomChannel(nodes_[i].address, grpc::SslCredentials(tls), args);
}

absl::StatusOr<v1::GetClusterStatusResponse> LocalCluster::Status(int i,
                                                                  absl::Duration timeout) const {
  auto stub = v1::Admin::NewStub(Channel(i, "admin"));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  v1::GetClusterStatusResponse resp;
  grpc::Status s = stub->GetClusterStatus(&ctx, v1::GetClusterStatusRequest(), &resp);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        absl::StrCat(nodes_[i].site, ": ", s.error_message()));
  }
  return resp;
}

absl::StatusOr<int> LocalCluster::WaitForLeader(absl::Duration timeout) const {
  absl::Time deadline = absl::Now() + timeout;
  std::string last_error = "no node answered";
  while (absl::Now() < deadline) {
    std::string leader;
    bool agree = true;
    int answered = 0;
    for (int i = 0; i < size(); ++i) {
      if (nodes_[i].pid <= 0) continue;
      auto st = Status(i, absl::Seconds(1));
      if (!st.ok()) {
        last_error = std::string(st.status().message());
        agree = false;
        break;
      }
      ++answered;
      if (st->leader().empty() || (!leader.empty() && st->leader() != leader)) {
        agree = false;
        last_error = absl::StrCat(nodes_[i].site, " sees leader '", st->leader(), "'");
        break;
      }
      leader = st->leader();
    }
    if (agree && answered > 0) {
      for (int i = 0; i < size(); ++i) {
        if (leader == nodes_[i].site + "/n1" && nodes_[i].pid > 0) return i;
      }
      last_error = absl::StrCat("leader ", leader, " is not running");
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("no agreed leader: ", last_error));
}

absl::Status LocalCluster::WaitCaughtUp(absl::Duration timeout) const {
  // /readyz is the node's own verdict (a leader known, not recovering,
  // caught up), but it tolerates a small lag (--ready-max-lag) so that
  // followers under load do not flap. Tests read from a follower right
  // after this, so also wait until every running node has applied the
  // highest commit index any of them reports.
  absl::Time deadline = absl::Now() + timeout;
  std::string last_error;
  while (absl::Now() < deadline) {
    bool all = true;
    uint64_t committed = 0;
    uint64_t least_applied = std::numeric_limits<uint64_t>::max();
    for (int i = 0; i < size() && all; ++i) {
      if (nodes_[i].pid <= 0) continue;
      auto ready = HttpGet(i, "/readyz");
      if (!ready.ok() || ready->first != 200) {
        all = false;
        last_error = absl::StrCat(nodes_[i].site, ": ",
                                  ready.ok() ? ready->second : std::string(ready.status().message()));
        break;
      }
      auto st = Status(i, absl::Seconds(2));
      if (!st.ok()) {
        all = false;
        last_error = std::string(st.status().message());
        break;
      }
      bool found = false;
      for (const v1::NodeStatus& n : st->nodes()) {
        if (absl::StrCat(n.site(), "/", n.node_id()) != st->reporter()) continue;
        found = true;
        committed = std::max(committed, n.commit_index());
        least_applied = std::min(least_applied, n.applied_index());
      }
      if (!found) {
        all = false;
        last_error = absl::StrCat(nodes_[i].site, " does not report itself");
      }
    }
    if (all && least_applied >= committed) return absl::OkStatus();
    if (all) last_error = absl::StrCat("a node has applied ", least_applied, " of ", committed);
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("not caught up: ", last_error));
}

std::string LocalCluster::LogTail(int i, int lines) const {
  std::ifstream in(nodes_[i].log);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& l : tail) out += l + "\n";
  return out;
}

absl::StatusOr<std::pair<int, std::string>> LocalCluster::HttpGet(int i,
                                                                   const std::string& path) const {
  const std::string& address = nodes_[i].metrics_address;
  int port = std::stoi(address.substr(address.rfind(':') + 1));
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address));
  }
  std::string request = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", address,
                                     "\r\nConnection: close\r\n\r\n");
  if (::write(fd, request.data(), request.size()) < 0) {
    ::close(fd);
    return absl::UnavailableError("write failed");
  }
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
  ::close(fd);
  auto space = response.find(' ');
  auto body = response.find("\r\n\r\n");
  if (space == std::string::npos || body == std::string::npos) {
    return absl::DataLossError(absl::StrCat("malformed HTTP answer from ", address));
  }
  return std::make_pair(std::stoi(response.substr(space + 1, 3)), response.substr(body + 4));
}

}  // namespace qbox::testing

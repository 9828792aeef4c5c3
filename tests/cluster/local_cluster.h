// Real qbox-node processes on loopback for the cluster and attack tests:
// one node per site, each site with its own CA (made with node/guard), a
// genesis configuration, ports picked by the test, data in a temporary
// directory. Nodes can be killed, stopped, restarted and wiped.
#ifndef QBOX_TESTS_CLUSTER_LOCAL_CLUSTER_H_
#define QBOX_TESTS_CLUSTER_LOCAL_CLUSTER_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "qbox/v1/admin.pb.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace qbox::testing {

struct LocalClusterOptions {
  int nodes = 3;  // one per site: site-a, site-b, site-c, ...
  int tick_ms = 20;
  int election_ticks = 10;
  uint64_t snapshot_every = 0;  // 0: the node's default
  std::vector<std::string> extra_args;
  // Per node, by index: another binary (e.g. the attack tests'
  // qbox-node-hostile) and flags for that node alone, after extra_args.
  // Nodes not listed run qbox-node with extra_args only.
  std::map<int, std::string> node_binary;
  std::map<int, std::vector<std::string>> node_extra_args;
  // The charter's policy written into cluster.json (cluster_config.h); empty
  // or 0 = the node's default.
  uint32_t required_sites = 0;
  std::string delay;         // T, e.g. "3s"
  std::string proposal_ttl;  // e.g. "20s"
  uint64_t checkpoint_every = 0;
};

class LocalCluster {
 public:
  // Creates credentials and configuration; starts nothing.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Create(LocalClusterOptions options);
  ~LocalCluster();

  int size() const { return static_cast<int>(nodes_.size()); }
  absl::Status StartAll();
  absl::Status Start(int i);
  void Kill(int i);          // SIGKILL: a crash
  absl::Status Stop(int i);  // SIGTERM and wait: a graceful stop
  bool Running(int i);
  void WipeData(int i);      // delete the node's data directory (it must be down)

  std::string site(int i) const { return nodes_[i].site; }
  std::string address(int i) const { return nodes_[i].address; }
  // host:port of node i's plaintext /metrics, /healthz and /readyz.
  std::string metrics_address(int i) const { return nodes_[i].metrics_address; }
  std::string data_dir(int i) const { return nodes_[i].data_dir; }
  std::string log_path(int i) const { return nodes_[i].log; }
  std::string dir() const { return dir_; }
  std::string ca_bundle_path() const { return dir_ + "/ca-bundle.crt"; }
  // Site i's credential directory (guard/credential_directory.h layout),
  // including its CA key.
  std::string site_dir(int i) const { return dir_ + "/" + nodes_[i].site; }
  std::string cluster_config_path() const { return dir_ + "/cluster.json"; }
  // Credentials of site i for a role ("frontend", "admin", "node"), name "t1"
  // ("n1" for nodes).
  std::string cert_path(int i, const std::string& role) const;
  std::string key_path(int i, const std::string& role) const;
  std::vector<std::string> endpoints() const;

  // A mutual-TLS channel to node i as site `as_site`'s `role`.
  std::shared_ptr<grpc::Channel> Channel(int i, const std::string& role, int as_site = 0) const;

  // Admin.GetClusterStatus of node i.
  absl::StatusOr<v1::GetClusterStatusResponse> Status(int i, absl::Duration timeout) const;
  // Waits until the running nodes agree on one leader; returns its index.
  absl::StatusOr<int> WaitForLeader(absl::Duration timeout) const;
  // Waits until every running node is ready (/readyz: a leader known, not
  // recovering) and has applied the highest commit index any of them
  // reports (readiness alone allows a small lag).
  absl::Status WaitCaughtUp(absl::Duration timeout) const;

  std::string LogTail(int i, int lines = 30) const;

  // GET http://<metrics address of node i><path>: the status code and body.
  absl::StatusOr<std::pair<int, std::string>> HttpGet(int i, const std::string& path) const;

 private:
  struct Node {
    std::string site;
    std::string address;
    std::string metrics_address;
    std::string data_dir;
    std::string log;
    pid_t pid = 0;
  };
  LocalCluster() = default;

  LocalClusterOptions options_;
  std::string dir_;
  std::vector<Node> nodes_;
};

}  // namespace qbox::testing

#endif  // QBOX_TESTS_CLUSTER_LOCAL_CLUSTER_H_

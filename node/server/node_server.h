// One quorumbox storage node: opens its storage, joins or founds the
// cluster, and serves MailStore, Admin, Raft, health and reflection on one
// mutual-TLS gRPC port, plus metrics and health on a plaintext port.
#ifndef QBOX_NODE_SERVER_NODE_SERVER_H_
#define QBOX_NODE_SERVER_NODE_SERVER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "node/server/node_options.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace qbox::server {

class NodeServer {
 public:
  explicit NodeServer(NodeOptions options);
  ~NodeServer();

  // Opens everything and starts serving. Errors name the flag, file or
  // directory at fault.
  absl::Status Start();
  // Graceful stop: a leader first hands leadership to another voter.
  void Shutdown();
  // Makes a Start() that is still waiting (for peers to decide genesis)
  // give up with CANCELLED. Safe from any thread; Shutdown() still follows.
  void RequestStop() { stop_requested_ = true; }

  // The gRPC port actually bound (useful with port 0).
  int grpc_port() const { return grpc_port_; }

 private:
  struct Parts;
  absl::Status OpenStorage();
  // Once the state machine holds a charter, its sites, CAs and nodes
  // replace the configuration file's (cluster_charter.h).
  absl::Status AdoptCharter();
  absl::Status DecideGenesis();
  absl::Status StartGrpc();
  void Housekeeping();
  // Follows the applied charter's site CAs and the --cert/--key files into
  // the live TLS material (live_tls.h). True if anything changed.
  bool FollowTlsChanges();
  void Log(const std::string& line) const;

  NodeOptions options_;
  std::unique_ptr<Parts> parts_;
  int grpc_port_ = 0;
  std::atomic<bool> stop_requested_{false};  // by RequestStop()
  std::atomic<bool> shut_down_{false};       // Shutdown() ran
  absl::Notification stop_housekeeping_;
  std::thread housekeeping_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_NODE_SERVER_H_

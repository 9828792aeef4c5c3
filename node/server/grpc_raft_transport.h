// Sends the consensus core's messages to peers over gRPC (Raft.Send, one
// long-lived client stream per peer, mutual TLS). Each peer has its own
// queue and sender thread, so a slow or dead peer never delays the others
// or the runtime's loop; when a stream breaks, queued messages are dropped
// (Raft retransmits) and the stream is re-opened with back-off.
#ifndef QBOX_NODE_SERVER_GRPC_RAFT_TRANSPORT_H_
#define QBOX_NODE_SERVER_GRPC_RAFT_TRANSPORT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "node/server/raft_runtime.h"

namespace grpc {
class ChannelCredentials;
}  // namespace grpc

namespace qbox::server {

class GrpcRaftTransport : public RaftTransport {
 public:
  GrpcRaftTransport(std::shared_ptr<grpc::ChannelCredentials> credentials,
                    std::function<void(std::string_view)> logger);
  ~GrpcRaftTransport() override;

  // Registers (or re-addresses) a peer. Messages to unknown peers are dropped.
  void AddPeer(uint64_t id, const std::string& address);

  void Send(std::vector<raft::Message> messages) override;

  // Drops every peer's connection and opens a new one. A TLS connection
  // keeps the certificates it was made with; after this node's trusted CAs
  // or its own certificate changed (live_tls.h), new handshakes are what
  // make the change reach the peers. Messages queued meanwhile are dropped
  // (Raft resends what matters).
  void Reconnect();

  // Stops every sender thread.
  void Shutdown();

 private:
  class PeerSender;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::function<void(std::string_view)> logger_;
  absl::Mutex mu_;
  std::map<uint64_t, std::unique_ptr<PeerSender>> peers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_GRPC_RAFT_TRANSPORT_H_

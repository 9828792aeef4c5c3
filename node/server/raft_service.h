// The Raft peer service: receives other nodes' messages and feeds them to
// the runtime. Only callers with a node certificate may call it, and every
// message's `from` must be the id of the node that the certificate names:
// a peer is who its site's CA says it is, never what a message claims (G6).
#ifndef QBOX_NODE_SERVER_RAFT_SERVICE_H_
#define QBOX_NODE_SERVER_RAFT_SERVICE_H_

#include <functional>
#include <string_view>

#include "node/server/live_trust.h"
#include "node/server/peer_directory.h"
#include "node/server/raft_runtime.h"
#include "qbox/v1/raft.grpc.pb.h"

namespace qbox::server {

class RaftService final : public v1::Raft::Service {
 public:
  RaftService(RaftRuntime* runtime, raft::LogStorage* storage, TrustHandle trust,
              const PeerDirectory* peers, uint64_t self_id,
              std::function<void(std::string_view)> logger);

  grpc::Status Send(grpc::ServerContext* context, grpc::ServerReader<v1::RaftBatch>* reader,
                    v1::RaftAck* ack) override;
  grpc::Status SendOne(grpc::ServerContext* context, const v1::RaftBatch* batch,
                       v1::RaftAck* ack) override;
  // A node's signed statement for the leader to propose (raft.proto).
  // INVALID_ARGUMENT for anything but a node_statement; UNAVAILABLE when
  // this node is not the leader. The signature is checked by every node
  // when it applies the entry.
  grpc::Status Submit(grpc::ServerContext* context, const v1::SubmitRequest* request,
                      v1::SubmitResponse* response) override;
  grpc::Status Probe(grpc::ServerContext* context, const v1::ProbeRequest* request,
                     v1::ProbeResponse* response) override;

 private:
  // The sender's node id, from its certificate; an error status otherwise.
  // With the store in force now, or with `trust` (a stream keeps the one it
  // was identified with until the node's CAs change).
  grpc::Status Authenticate(grpc::ServerContext* context, uint64_t* node_id);
  grpc::Status Authenticate(grpc::ServerContext* context, const guard::SiteTrustStore& trust,
                            uint64_t* node_id);
  grpc::Status DeliverBatch(const v1::RaftBatch& batch, uint64_t sender);

  RaftRuntime* runtime_;
  raft::LogStorage* storage_;
  TrustHandle trust_;  // read once per call: the node swaps it live
  const PeerDirectory* peers_;
  uint64_t self_id_;
  std::function<void(std::string_view)> logger_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_RAFT_SERVICE_H_

// What the gRPC services of a node share: the runtime to propose through,
// the state machine to read from, who the peers are, and this node's
// limits. Owned by NodeServer (node_server.h); services keep a pointer.
#ifndef QBOX_NODE_SERVER_SERVICE_CONTEXT_H_
#define QBOX_NODE_SERVER_SERVICE_CONTEXT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "node/mailbox/state_machine.h"
#include "node/raft/log_storage.h"
#include "node/server/cluster_config.h"
#include "node/server/live_trust.h"
#include "node/server/peer_directory.h"
#include "node/server/raft_runtime.h"

namespace qbox::server {

class NodeMetrics;

struct ServiceContext {
  RaftRuntime* runtime = nullptr;
  raft::LogStorage* log = nullptr;  // the raft log (term and chain of an index)
  mailbox::MailboxStateMachine* mailbox = nullptr;
  // The site CAs callers are identified with; read once per call, since an
  // executed CA replacement swaps them while the node runs.
  TrustHandle trust;
  const PeerDirectory* peers = nullptr;
  NodeConfig self;  // this node: id, site, name, address
  // ClusterConfig::cluster, named in snapshot manifests.
  std::string cluster_name;
  // Requests larger than this are refused with INVALID_ARGUMENT naming the
  // field (the account may set a lower limit; the state machine checks it).
  uint64_t max_message_bytes = 64ull << 20;
  // Used when a caller sent no deadline (every client call should).
  absl::Duration default_deadline = absl::Seconds(30);
  std::function<void(std::string_view)> logger;
  NodeMetrics* metrics = nullptr;  // may be null in tests
  // The guard agent's view (guard_agent.h): checkpoint-mismatch alarms with
  // their evidence, and where a rebuild stands (G4). May be empty in tests.
  std::function<std::vector<std::string>()> guard_alarms;
  std::function<std::string()> recovery_narrative;
  // Hands a refused irreversible call to the guard agent for the audit log
  // (GuardAgent::ReportRefusal). May be empty in tests.
  std::function<void(std::string)> report_refusal;
  // NOSPACE on a majority of voters (peer_space.h): what to answer writes
  // with, as RESOURCE_EXHAUSTED, instead of UNAVAILABLE; nullopt while a
  // majority has room. May be empty in tests.
  std::function<std::optional<std::string>()> cluster_out_of_space;
  // Refusing early (peer_space.h): why a write of this many bytes (on disk,
  // at every voter) must be refused as RESOURCE_EXHAUSTED before it is
  // proposed; nullopt to go ahead. May be empty in tests.
  std::function<std::optional<std::string>(uint64_t bytes)> refuse_for_space;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_SERVICE_CONTEXT_H_

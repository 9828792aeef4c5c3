// An in-process storage node for the service tests: real RocksDB log and
// mailbox state machine in a temporary directory, the real runtime with a
// fast tick, and a real gRPC server with mutual TLS on 127.0.0.1:0 serving
// MailStore and Admin. Peers are unreachable (the transport drops every
// message), so a single-voter cluster elects itself and a node of a larger
// cluster never hears from the others unless a test delivers a message.
#ifndef QBOX_TESTS_SERVER_IN_PROCESS_NODE_H_
#define QBOX_TESTS_SERVER_IN_PROCESS_NODE_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/guard/certificate_signer.h"
#include "node/guard/site_trust_store.h"
#include "node/mailbox/state_machine.h"
#include "node/server/admin_service.h"
#include "node/server/mailbox_replica.h"
#include "node/server/mailstore_service.h"
#include "node/server/peer_directory.h"
#include "node/server/raft_runtime.h"
#include "node/server/service_context.h"
#include "node/storage/rocksdb_log_storage.h"

namespace qbox::server::testing {

// A fresh temporary directory; removed by the caller.
std::string MakeTempDir(const std::string& label);

// One site's credentials, written by the guard's credential-directory code
// into `<dir>/site-a` and read back from there, as a node would.
struct SiteCredentials {
  guard::PemCredential ca;
  guard::PemCredential node;      // spiffe://site-a/node/n1 (localhost SANs)
  guard::PemCredential frontend;  // spiffe://site-a/frontend/imap1
  guard::PemCredential admin;     // spiffe://site-a/admin/alice

  static absl::StatusOr<SiteCredentials> Create(const std::string& dir);
};

struct InProcessNodeOptions {
  uint64_t id = 1;
  std::vector<uint64_t> voters = {1};
  // The peer directory (id <-> site/name/address). Must contain `id`.
  std::vector<NodeConfig> directory = {{1, "site-a", "n1", "127.0.0.1:7101"}};
  int election_ticks = 10;
  absl::Duration tick = absl::Milliseconds(10);
  uint64_t max_message_bytes = 64 * 1024;
};

class InProcessNode {
 public:
  // Bootstraps storage in `dir` with `options.voters`, starts the runtime and
  // a TLS gRPC server whose certificate is `credentials.node`.
  static absl::StatusOr<std::unique_ptr<InProcessNode>> Start(const std::string& dir,
                                                              const SiteCredentials& credentials,
                                                              InProcessNodeOptions options);
  ~InProcessNode();

  // Polls the runtime until this node leads and has applied everything it
  // committed (so reads and writes are served at once). False at timeout.
  bool WaitUntilServingLeader(absl::Duration timeout) const;

  // A channel presenting `client` (trusting the site CA for the server).
  std::shared_ptr<grpc::Channel> Channel(const guard::PemCredential& client) const;

  RaftRuntime* runtime() const { return runtime_.get(); }
  mailbox::MailboxStateMachine* mailbox() const { return machine_.get(); }
  int port() const { return port_; }

 private:
  InProcessNode() = default;

  // Drops every message: peers are unreachable in these tests.
  class DropTransport : public RaftTransport {
   public:
    void Send(std::vector<raft::Message>) override {}
  };

  SiteCredentials credentials_;
  std::unique_ptr<storage::RocksDbLogStorage> log_;
  std::unique_ptr<mailbox::MailboxStateMachine> machine_;
  std::unique_ptr<MailboxReplica> replica_;
  DropTransport transport_;
  std::unique_ptr<RaftRuntime> runtime_;
  std::unique_ptr<guard::SiteTrustStore> trust_;
  std::unique_ptr<PeerDirectory> peers_;
  ServiceContext context_;
  std::unique_ptr<MailStoreService> mailstore_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace qbox::server::testing

#endif  // QBOX_TESTS_SERVER_IN_PROCESS_NODE_H_

#include "tests/server/in_process_node.h"

#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "node/common/status_macros.h"
#include "node/guard/credential_directory.h"
#include "node/guard/site_ca.h"
#include "node/raft/raft.h"
#include "node/server/cluster_charter.h"

namespace qbox::server::testing {

std::string MakeTempDir(const std::string& label) {
  const char* base = getenv("TMPDIR");
  std::string pattern = absl::StrCat(base ? base : "/tmp", "/qbox-", label, "-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return "";
  return pattern;
}

namespace {

absl::StatusOr<guard::PemCredential> ReadBack(const std::string& dir, absl::string_view role,
                                              absl::string_view name) {
  guard::PemCredential credential;
  ASSIGN_OR_RETURN(credential.certificate_pem,
                   guard::ReadTextFile(guard::CertificatePath(dir, role, name)));
  ASSIGN_OR_RETURN(credential.private_key_pem,
                   guard::ReadTextFile(guard::KeyPath(dir, role, name)));
  return credential;
}

}  // namespace

absl::StatusOr<SiteCredentials> SiteCredentials::Create(const std::string& dir) {
  ASSIGN_OR_RETURN(guard::PemCredential ca, guard::CreateSiteCa("site-a"));
  guard::LeafOptions host;
  host.dns_names = {"localhost"};
  host.ip_addresses = {"127.0.0.1"};
  std::vector<guard::IssuedIdentity> leaves;
  for (const auto& [role, name] : std::vector<std::pair<std::string, std::string>>{
           {"node", "n1"}, {"frontend", "imap1"}, {"admin", "alice"}}) {
    guard::PeerIdentity identity{"site-a", role, name};
    ASSIGN_OR_RETURN(
        guard::PemCredential leaf,
        guard::IssueLeafCertificate(ca, identity, role == "node" ? host : guard::LeafOptions{}));
    leaves.push_back({identity, leaf});
  }
  const std::string site_dir = dir + "/site-a";
  RETURN_IF_ERROR(guard::CreateCredentialDirectory(site_dir, ca, leaves));

  SiteCredentials out;
  ASSIGN_OR_RETURN(guard::SiteCaFiles loaded, guard::LoadSiteCa(site_dir));
  out.ca = loaded.ca;
  ASSIGN_OR_RETURN(out.node, ReadBack(site_dir, "node", "n1"));
  ASSIGN_OR_RETURN(out.frontend, ReadBack(site_dir, "frontend", "imap1"));
  ASSIGN_OR_RETURN(out.admin, ReadBack(site_dir, "admin", "alice"));
  return out;
}

absl::StatusOr<std::unique_ptr<InProcessNode>> InProcessNode::Start(
    const std::string& dir, const SiteCredentials& credentials, InProcessNodeOptions options) {
  std::unique_ptr<InProcessNode> node(new InProcessNode());
  node->credentials_ = credentials;

  ASSIGN_OR_RETURN(node->log_, storage::RocksDbLogStorage::Open(dir + "/raft"));
  // The genesis entry carries the charter, as on a real node: one site,
  // M = 1, the directory's voters (cluster_charter.h).
  ClusterConfig config;
  config.cluster = "qbox-test";
  config.required_sites = 1;
  config.sites.push_back({"site-a", credentials.ca.certificate_pem});
  for (NodeConfig n : options.directory) {
    n.voter = std::find(options.voters.begin(), options.voters.end(), n.id) != options.voters.end();
    config.nodes.push_back(n);
  }
  auto charter = GenesisCharter(config);
  RETURN_IF_ERROR(raft::Raft::Bootstrap(node->log_.get(), options.voters,
                                        charter.ok() ? SerializeCharter(*charter) : std::string()));
  ASSIGN_OR_RETURN(node->machine_, mailbox::MailboxStateMachine::Open(dir + "/mailbox"));
  node->replica_ = std::make_unique<MailboxReplica>(node->machine_.get());

  RaftRuntimeOptions runtime_options;
  runtime_options.raft.id = options.id;
  runtime_options.raft.election_ticks = options.election_ticks;
  runtime_options.raft.random_seed = options.id;
  runtime_options.tick = options.tick;
  runtime_options.scratch_dir = dir + "/scratch";
  std::filesystem::create_directories(runtime_options.scratch_dir);
  node->runtime_ = std::make_unique<RaftRuntime>(runtime_options, node->log_.get(),
                                                 node->replica_.get(), &node->transport_);
  RETURN_IF_ERROR(node->runtime_->Start());
  // The genesis entry (it carries the charter) is applied in the
  // background; tests start from a node that has applied it, so what they
  // compare (digests, the audit log) does not change under them.
  const absl::Time genesis_deadline = absl::Now() + absl::Seconds(10);
  while (node->runtime_->applied_index() < 1 && absl::Now() < genesis_deadline) {
    absl::SleepFor(absl::Milliseconds(2));
  }
  if (node->runtime_->applied_index() < 1) {
    return absl::DeadlineExceededError("the genesis entry was not applied within 10 s");
  }

  ASSIGN_OR_RETURN(guard::SiteTrustStore trust,
                   guard::SiteTrustStore::Create({{"site-a", credentials.ca.certificate_pem}}));
  node->trust_ = std::make_unique<guard::SiteTrustStore>(std::move(trust));
  node->peers_ = std::make_unique<PeerDirectory>(options.directory);
  std::optional<NodeConfig> self = node->peers_->Find(options.id);
  if (!self) return absl::InvalidArgumentError("directory: does not list the node's own id");

  ServiceContext& ctx = node->context_;
  ctx.runtime = node->runtime_.get();
  ctx.mailbox = node->machine_.get();
  ctx.trust = node->trust_.get();
  ctx.peers = node->peers_.get();
  ctx.self = *self;
  ctx.max_message_bytes = options.max_message_bytes;
  ctx.default_deadline = absl::Seconds(10);
  node->mailstore_ = std::make_unique<MailStoreService>(&node->context_);
  node->admin_ = std::make_unique<AdminService>(&node->context_);

  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = node->trust_->ConcatenatedCaPem();
  tls.pem_key_cert_pairs.push_back(
      {credentials.node.private_key_pem, credentials.node.certificate_pem});
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &node->port_);
  builder.RegisterService(node->mailstore_.get());
  builder.RegisterService(node->admin_.get());
  node->server_ = builder.BuildAndStart();
  if (node->server_ == nullptr || node->port_ <= 0) {
    return absl::UnavailableError("the gRPC server did not start on 127.0.0.1:0");
  }
  return node;
}

InProcessNode::~InProcessNode() {
  // Calls in flight finish before the runtime and storage they use go away.
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (runtime_) runtime_->Stop();
}

bool InProcessNode::WaitUntilServingLeader(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    RuntimeStatus st = runtime_->Status();
    // The new leader's own no-op entry must be committed and applied before
    // ReadIndex is answered.
    if (st.raft.role == raft::Role::kLeader && st.raft.hard_state.commit == st.raft.last_index &&
        st.applied == st.raft.hard_state.commit) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

std::shared_ptr<grpc::Channel> InProcessNode::Channel(const guard::PemCredential& client) const {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = credentials_.ca.certificate_pem;
  tls.pem_private_key = client.private_key_pem;
  tls.pem_cert_chain = client.certificate_pem;
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(tls),
                                   args);
}

}  // namespace qbox::server::testing

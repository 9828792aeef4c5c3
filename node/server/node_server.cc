#include "node/server/node_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/common/thread_name.h"
#include "node/guard/credential_directory.h"
#include "node/guard/proposal_rules.h"
#include "node/guard/site_trust_store.h"
#include "node/mailbox/state_machine.h"
#include "node/raft/raft.h"
#include "node/server/admin_service.h"
#include "node/server/cluster_charter.h"
#include "node/server/cluster_config.h"
#include "node/server/grpc_raft_transport.h"
#include "node/server/guard_agent.h"
#include "node/server/live_tls.h"
#include "node/server/mailbox_replica.h"
#include "node/server/mailstore_service.h"
#include "node/server/membership_guard.h"
#include "node/server/node_log.h"
#include "node/server/node_metrics.h"
#include "node/server/peer_directory.h"
#include "node/server/peer_space.h"
#include "node/server/raft_runtime.h"
#include "node/server/raft_service.h"
#include "node/server/rpc_metrics_interceptor.h"
#include "node/server/service_context.h"
#include "node/storage/rocksdb_log_storage.h"
#include "qbox/v1/raft.grpc.pb.h"
#ifdef QBOX_HOSTILE_HOOKS
#include "node/server/hostile/hostile_transport.h"
#endif

namespace qbox::server {
namespace fs = std::filesystem;

struct NodeServer::Parts {
  ClusterConfig cluster;
  NodeConfig self;
  // The CAs of the configuration file, then of the charter (AdoptCharter):
  // what Start checks --cert against before the live material exists.
  std::unique_ptr<guard::SiteTrustStore> trust;
  // From then on, the trusted CAs and our certificate as they change (TLS
  // and the application-level check): live_tls.h.
  std::unique_ptr<LiveTls> tls;
  std::unique_ptr<PeerDirectory> peers;
  std::string cert_pem;
  std::string key_pem;
  std::unique_ptr<storage::RocksDbLogStorage> log;
  std::unique_ptr<mailbox::MailboxStateMachine> mailbox;
  std::unique_ptr<MailboxReplica> replica;
  std::unique_ptr<GrpcRaftTransport> transport;
#ifdef QBOX_HOSTILE_HOOKS
  // Test binary qbox-node-hostile only: wraps `transport` (attack tests).
  std::unique_ptr<RaftTransport> hostile_transport;
#endif
  std::unique_ptr<RaftRuntime> runtime;
  std::unique_ptr<GuardAgent> guard;  // created after the runtime; hooks check for null
  std::unique_ptr<PeerSpaceMonitor> peer_space;
  std::unique_ptr<NodeMetrics> metrics;
  ServiceContext context;
  std::unique_ptr<RaftService> raft_service;
  std::unique_ptr<MailStoreService> mailstore_service;
  std::unique_ptr<AdminService> admin_service;
  std::unique_ptr<grpc::Server> server;
};

namespace {

// Idle gRPC handler threads kept for the next calls (StartGrpc).
constexpr int kIdleHandlerThreads = 128;

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace

NodeServer::NodeServer(NodeOptions options)
    : options_(std::move(options)), parts_(std::make_unique<Parts>()) {}

NodeServer::~NodeServer() { Shutdown(); }

// The node log (node_log.h) names the node on every line.
void NodeServer::Log(const std::string& line) const { LogInfo(line); }

absl::Status NodeServer::Start() {
  Parts& p = *parts_;
  ASSIGN_OR_RETURN(p.cluster, LoadClusterConfig(options_.cluster_file));
  const NodeConfig* self = p.cluster.FindNode(options_.site, options_.name);
  if (self == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("--node: ", options_.site, "/", options_.name,
                                                   " is not listed in ", options_.cluster_file));
  }
  p.self = *self;
  std::vector<guard::SiteCaCertificate> cas;
  for (const SiteConfig& s : p.cluster.sites) cas.push_back({s.name, s.ca_cert_pem});
  auto trust = guard::SiteTrustStore::Create(cas);
  if (!trust.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options_.cluster_file, ": ", trust.status().message()));
  }
  p.trust = std::make_unique<guard::SiteTrustStore>(std::move(*trust));
  p.peers = std::make_unique<PeerDirectory>(p.cluster.nodes);
  ASSIGN_OR_RETURN(p.cert_pem, guard::ReadTextFile(options_.cert_file));
  ASSIGN_OR_RETURN(p.key_pem, guard::ReadTextFile(options_.key_file));
  // Our own certificate must say who --node says we are, as our site's CA
  // sees it: otherwise peers would refuse us anyway, and less clearly.
  auto me = p.trust->Identify(p.cert_pem);
  if (!me.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cert: ", options_.cert_file, ": ", me.status().message()));
  }
  if (me->site != p.self.site || me->name != p.self.name || me->role != "node") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cert: ", options_.cert_file, " belongs to ", me->ToString(), ", not to node ",
        p.self.QualifiedName()));
  }

  RETURN_IF_ERROR(OpenStorage());
  RETURN_IF_ERROR(AdoptCharter());
  p.metrics = std::make_unique<NodeMetrics>();
  auto logger = [this](std::string_view line) { Log(std::string(line)); };

  LiveTlsOptions tls_options;
  tls_options.data_dir = options_.data_dir;
  tls_options.cert_file = options_.cert_file;
  tls_options.key_file = options_.key_file;
  tls_options.self = p.self;
  tls_options.logger = logger;
  std::vector<guard::SiteCaCertificate> sites;
  for (const SiteConfig& s : p.cluster.sites) sites.push_back({s.name, s.ca_cert_pem});
  NodeIdentityPem identity;
  identity.certificate_pem = p.cert_pem;
  identity.private_key_pem = p.key_pem;
  ASSIGN_OR_RETURN(p.tls, LiveTls::Create(std::move(tls_options), sites, std::move(identity)));
  p.transport = std::make_unique<GrpcRaftTransport>(p.tls->ChannelCredentials(), logger);
  for (const NodeConfig& n : p.cluster.nodes) {
    if (n.id != p.self.id) p.transport->AddPeer(n.id, n.address);
  }

  RaftRuntimeOptions ro;
  ro.raft.id = p.self.id;
  ro.raft.election_ticks = static_cast<int>(options_.election_ticks);
  ro.raft.heartbeat_ticks = 1;
  // G4: a rebuilt node votes again only once another site attested its
  // state (guard_agent.h confirms it).
  ro.raft.recovery_needs_attestation = true;
  // G2: a follower accepts a voter's removal (or a promotion) only as the
  // charter it applied allows, whatever the leader sends.
  ro.raft.membership_guard = [machine = p.mailbox.get()](const raft::ConfChange& change,
                                                         const raft::ConfState& before) {
    return CharterAllowsMembershipChange(*machine, change, before);
  };
  // G1: a snapshot cannot be checked against the state it replaces, so a
  // node that holds state takes one only when told to trust its leader.
  // A node rebuilding after storage loss has none to lose, and votes only
  // once another site attested what it installed (above).
  ro.raft.snapshot_guard = [accept = options_.accept_unattested_snapshots](
                               const raft::SnapshotMeta& meta, raft::NodeId leader,
                               bool recovering) -> absl::Status {
    if (recovering || accept) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "no other site attested the state at index ", meta.index, " that leader ", leader,
        " sends; rebuild this node empty to catch up (k8s/README.md), or restart it with "
        "--accept-unattested-snapshots to trust the leader"));
  };
  ro.raft.random_seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^ p.self.id;
  ro.tick = absl::Milliseconds(options_.tick_ms);
  ro.batch_delay = absl::Microseconds(options_.batch_delay_us);
  ro.scratch_dir = options_.data_dir;
  ro.snapshot_every = options_.snapshot_every;
  ro.keep_log_bytes = options_.keep_log_bytes;
  ro.snapshot_log_ratio = options_.snapshot_log_ratio;
  ro.ready_max_lag = options_.ready_max_lag;
  ro.logger = logger;
  ro.raft.stall_ticks = options_.leader_stall_ticks;  // G7
  ro.no_space.volume_path = options_.data_dir;
  ro.no_space.min_free_bytes = options_.min_free_bytes;
  ro.no_space.min_free_percent = options_.min_free_percent;
  // The monitor is made after the runtime, and stopped before it.
  ro.no_space.peer_has_no_space = [parts = &p](uint64_t id) {
    return parts->peer_space != nullptr && parts->peer_space->PeerHasNoSpace(id);
  };
  ro.no_space.resume_writes = [log = p.log.get(), mailbox = p.mailbox.get()] {
    RETURN_IF_ERROR(log->ResumeWrites());
    return mailbox->ResumeWrites();
  };
  RaftTransport* raft_transport = p.transport.get();
#ifdef QBOX_HOSTILE_HOOKS
  ASSIGN_OR_RETURN(hostile::HostileBehaviours hostile_behaviours,
                   hostile::ParseBehaviours(options_.hostile));
  p.hostile_transport = std::make_unique<hostile::HostileTransport>(
      hostile_behaviours, options_.hostile_trigger_file, p.log.get(), raft_transport, logger,
      options_.site);
  raft_transport = p.hostile_transport.get();
#endif
  p.runtime = std::make_unique<RaftRuntime>(ro, p.log.get(), p.replica.get(), raft_transport);

  GuardAgent::Options go;
  go.self = p.self;
  go.cluster = p.cluster.cluster;
  go.certificate_pem = p.cert_pem;
  go.private_key_pem = p.key_pem;
  go.peer_credentials = p.tls->ChannelCredentials();
  go.logger = logger;
  p.guard = std::make_unique<GuardAgent>(go, p.runtime.get(), p.mailbox.get(), p.replica.get(),
                                         p.peers.get());
  p.context.guard_alarms = [parts = &p] { return parts->guard->Alarms(); };
  p.context.recovery_narrative = [parts = &p] { return parts->guard->RecoveryNarrative(); };
  p.context.report_refusal = [parts = &p](std::string what) {
    parts->guard->ReportRefusal(std::move(what));
  };

  PeerSpaceMonitor::Options space_options;
  space_options.self = p.self.id;
  space_options.self_name = p.self.QualifiedName();
  space_options.peers = p.peers.get();
  space_options.voters = [runtime = p.runtime.get()] {
    return runtime->Status().raft.conf.voters;
  };
  space_options.credentials = [tls = p.tls.get()] { return tls->ChannelCredentials(); };
  p.peer_space = std::make_unique<PeerSpaceMonitor>(std::move(space_options));
  p.context.cluster_out_of_space = [parts = &p]() -> std::optional<std::string> {
    const RuntimeStatus st = parts->runtime->Status();
    return parts->peer_space->MajorityOutOfSpace(st.raft.conf.voters, st.no_space);
  };
  p.context.refuse_for_space = [parts = &p](uint64_t bytes) -> std::optional<std::string> {
    return parts->peer_space->WouldExhaustMajority(parts->runtime->NoSpace(), bytes);
  };
  p.context.runtime = p.runtime.get();
  p.context.log = p.log.get();
  p.context.cluster_name = p.cluster.cluster;
  p.context.mailbox = p.mailbox.get();
  p.context.trust = p.tls->trust();
  p.context.peers = p.peers.get();
  p.context.self = p.self;
  p.context.max_message_bytes = options_.max_message_bytes;
  p.context.logger = logger;
  p.context.metrics = p.metrics.get();

  // Serve first: peers that start from empty storage probe us before they
  // decide whether the cluster is new.
  RETURN_IF_ERROR(StartGrpc());
  // Health answers from here on: alive, but not ready until caught up.
  if (!options_.metrics_listen.empty()) {
    RETURN_IF_ERROR(p.metrics->StartHttp(options_.metrics_listen,
                                         [this] { return parts_->runtime->Readiness(); }));
  }
  RETURN_IF_ERROR(DecideGenesis());
  RETURN_IF_ERROR(p.runtime->Start());
  p.guard->Start();
  p.peer_space->Start();
  housekeeping_ = std::thread([this] {
    NameThisThread("qbox-housekeep");
    Housekeeping();
  });
  Log(absl::StrCat("serving gRPC on ", options_.listen.empty() ? p.self.address : options_.listen,
                   " (port ", grpc_port_, ")",
                   options_.metrics_listen.empty() ? ""
                                                   : absl::StrCat(", metrics on ",
                                                                  options_.metrics_listen)));
  return absl::OkStatus();
}

absl::Status NodeServer::OpenStorage() {
  Parts& p = *parts_;
  std::error_code ec;
  fs::create_directories(options_.data_dir, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat("--data-dir: cannot create ", options_.data_dir,
                                                   ": ", ec.message()));
  }
  const std::string raft_dir = options_.data_dir + "/raft";
  const std::string mailbox_dir = options_.data_dir + "/mailbox";
  auto log = storage::RocksDbLogStorage::Open(raft_dir);
  if (!log.ok()) return log.status();
  p.log = std::move(*log);
  auto initial = p.log->LoadInitialState();
  if (!initial.ok()) return initial.status();
  if (initial->empty && fs::exists(mailbox_dir)) {
    // The log is gone but mailbox data is not: that data cannot be trusted
    // to match any log position. Rebuild it from the cluster (G4).
    Log(absl::StrCat("raft log in ", raft_dir, " is empty but ", mailbox_dir,
                     " has data; discarding it to rebuild from the other sites"));
    fs::remove_all(mailbox_dir, ec);
  }
  mailbox::MailboxStateMachine::Options mo;
  mo.local_clock_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  // The guard agent exists only once the runtime does; until then (and
  // after it stopped) the hooks have nobody to tell.
  Parts* parts = parts_.get();
  mo.on_checkpoint_captured = [parts](uint64_t index) {
    if (parts->guard) parts->guard->OnCheckpointCaptured(index);
  };
  // The two below run on the state machine's checkpoint worker; Shutdown
  // waits for it (WaitForCheckpoints) before the guard agent goes away.
  mo.on_checkpoint = [parts](const mailbox::OwnCheckpoint& checkpoint) {
    if (parts->guard) parts->guard->OnCheckpoint(checkpoint);
  };
  mo.on_checkpoint_compared = [parts](const mailbox::CheckpointComparison& comparison) {
    if (parts->guard) parts->guard->OnCheckpointCompared(comparison);
  };
  mo.logger = [this](std::string_view line) { Log(std::string(line)); };
  auto machine = mailbox::MailboxStateMachine::Open(mailbox_dir, mo);
  if (!machine.ok()) return machine.status();
  p.mailbox = std::move(*machine);
  p.replica = std::make_unique<MailboxReplica>(p.mailbox.get());
  return absl::OkStatus();
}

absl::Status NodeServer::AdoptCharter() {
  Parts& p = *parts_;
  auto charter = p.mailbox->GetCharter();
  if (!charter.ok()) return absl::OkStatus();  // before genesis: the file is all there is
  auto adopted = ConfigWithCharter(p.cluster, *charter, p.self.id);
  if (!adopted.ok()) return adopted.status();
  if (charter->version() > 1) {
    Log(absl::StrCat("using the replicated charter (version ", charter->version(), ", ",
                     adopted->sites.size(), " sites, ", adopted->nodes.size(),
                     " nodes) over ", options_.cluster_file, ", which only seeded genesis"));
  }
  std::vector<guard::SiteCaCertificate> cas;
  for (const SiteConfig& s : adopted->sites) cas.push_back({s.name, s.ca_cert_pem});
  auto trust = guard::SiteTrustStore::Create(cas);
  if (!trust.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the replicated charter's sites: ", trust.status().message()));
  }
  auto me = trust->Identify(p.cert_pem);
  if (!me.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cert: ", options_.cert_file, ": the charter's CAs do not accept it: ", me.status().message()));
  }
  p.cluster = *std::move(adopted);
  const NodeConfig* self = p.cluster.FindNode(p.self.id);
  if (self != nullptr) p.self = *self;
  p.trust = std::make_unique<guard::SiteTrustStore>(std::move(*trust));
  p.peers = std::make_unique<PeerDirectory>(p.cluster.nodes);
  return absl::OkStatus();
}

absl::Status NodeServer::DecideGenesis() {
  Parts& p = *parts_;
  auto initial = p.log->LoadInitialState();
  if (!initial.ok()) return initial.status();
  if (!initial->empty) return absl::OkStatus();
  std::vector<uint64_t> voters = p.cluster.GenesisVoters();
  bool genesis_voter = std::find(voters.begin(), voters.end(), p.self.id) != voters.end();
  if (!genesis_voter) {
    Log("storage is empty and this node is not a genesis voter: starting as a recovering "
        "non-member until an operator adds it");
    return absl::OkStatus();
  }
  // Empty storage on a genesis voter: either the cluster is new, or this
  // node lost its disk. Writing the genesis entry in the second case would
  // let it vote with an empty log, so ask the others first: only if enough
  // of them (every majority without us must include one) are still at
  // genesis is the cluster new.
  const size_t majority = voters.size() / 2 + 1;
  const size_t needed = voters.size() - majority + 1;
  auto creds = p.tls->ChannelCredentials();
  absl::Time last_report = absl::InfinitePast();
  while (!stop_requested_) {
    size_t at_genesis = 0;
    for (uint64_t id : voters) {
      if (id == p.self.id) continue;
      const NodeConfig* peer = p.cluster.FindNode(id);
      auto stub = v1::Raft::NewStub(grpc::CreateChannel(peer->address, creds));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
      v1::ProbeResponse resp;
      grpc::Status s = stub->Probe(&ctx, v1::ProbeRequest(), &resp);
      if (!s.ok()) continue;
      if (resp.last_index() > 1) {
        // A genesis voter that starts after the others elected a leader looks
        // exactly like one that lost its disk; both must catch up before they
        // vote.
        Log(absl::StrCat("storage is empty but ", peer->QualifiedName(), " is at log index ",
                         resp.last_index(),
                         ": the cluster has progressed without this node (it lost its disk, "
                         "or started late); rejoining as a recovering non-voter (G4)"));
        return absl::OkStatus();
      }
      ++at_genesis;
    }
    if (at_genesis >= needed) {
      Log(absl::StrCat(at_genesis, " of ", voters.size() - 1,
                       " other genesis voters are new too: writing the genesis entry"));
      auto charter = GenesisCharter(p.cluster);
      if (!charter.ok()) return charter.status();
      return raft::Raft::Bootstrap(p.log.get(), voters, SerializeCharter(*charter));
    }
    if (absl::Now() - last_report > absl::Seconds(10)) {
      Log(absl::StrCat("storage is empty; waiting for ", needed, " other genesis voters to "
                       "confirm the cluster is new (", at_genesis, " so far)"));
      last_report = absl::Now();
    }
    absl::SleepFor(absl::Milliseconds(300));
  }
  return absl::CancelledError("stopped while deciding genesis");
}

absl::Status NodeServer::StartGrpc() {
  Parts& p = *parts_;
  auto logger = [this](std::string_view line) { Log(std::string(line)); };
  p.raft_service = std::make_unique<RaftService>(p.runtime.get(), p.log.get(), p.tls->trust(),
                                                 p.peers.get(), p.self.id, logger);
  p.mailstore_service = std::make_unique<MailStoreService>(&p.context);
  p.admin_service = std::make_unique<AdminService>(&p.context);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string listen = options_.listen.empty() ? p.self.address : options_.listen;
  // Client certificates are required and verified against the current CAs
  // (live_tls.h): a peer the charter no longer trusts cannot connect.
  builder.AddListeningPort(listen, p.tls->ServerCredentials(), &grpc_port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<uint64_t>(options_.max_message_bytes * 2 + (16 << 20), INT32_MAX)));
  builder.SetMaxSendMessageSize(static_cast<int>(
      std::min<uint64_t>(options_.max_message_bytes * 2 + (16 << 20), INT32_MAX)));
  // A synchronous handler holds its thread until its entry is applied. With
  // gRPC's default of at most 2 idle threads, every finished call ended its
  // thread and the next one started a new one: thousands of threads a
  // second under load, about a fifth of a loaded node's CPU, and invisible
  // in per-thread accounting because the threads were gone. Keep enough
  // idle ones for the front ends' usual concurrency.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              kIdleHandlerThreads);
  builder.RegisterService(p.raft_service.get());
  builder.RegisterService(p.mailstore_service.get());
  builder.RegisterService(p.admin_service.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<RpcMetricsInterceptorFactory>(p.metrics.get()));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  p.server = builder.BuildAndStart();
  if (!p.server || grpc_port_ == 0) {
    return absl::UnavailableError(absl::StrCat("--listen: cannot serve gRPC on ", listen,
                                               " (address in use or not local?)"));
  }
  p.server->GetHealthCheckService()->SetServingStatus(false);
  return absl::OkStatus();
}

void NodeServer::Housekeeping() {
  Parts& p = *parts_;
  absl::Time next_purge = absl::Now() + absl::Minutes(1);
  absl::Time next_sizes = absl::InfinitePast();
  uint64_t raft_bytes = 0, mailbox_bytes = 0;
  bool was_serving = false;
  absl::Time next_tls_check = absl::InfinitePast();
  absl::Time reconnect_at = absl::InfiniteFuture();
  while (!stop_housekeeping_.WaitForNotificationWithTimeout(absl::Milliseconds(200))) {
    if (absl::Now() >= next_tls_check) {
      if (FollowTlsChanges()) {
        // gRPC re-reads tls/ every second; connections made before then
        // would still carry the old material, so wait a little longer.
        reconnect_at = absl::Now() + absl::Seconds(2);
      }
      next_tls_check = absl::Now() + absl::Seconds(1);
    }
    if (absl::Now() >= reconnect_at) {
      // An established TLS connection keeps the certificates it was made
      // with: reconnect so peers see (or stop seeing) ours as they now are.
      Log("reconnecting to peers so that the changed TLS material is used");
      p.transport->Reconnect();
      p.guard->ForgetChannels();
      reconnect_at = absl::InfiniteFuture();
    }
    // grpc.health.v1 says SERVING only when this node is ready (caught up,
    // readiness.h), so a load balancer or probe never sends traffic to a
    // rebuilding node, and a follower a few entries behind does not flap.
    absl::Status ready = p.runtime->Readiness();
    if (ready.ok() != was_serving) {
      p.server->GetHealthCheckService()->SetServingStatus(ready.ok());
      Log(ready.ok() ? "caught up with the leader: health is SERVING"
                     : absl::StrCat("not ready (", ready.message(), "): health is NOT_SERVING"));
      was_serving = ready.ok();
    }
    absl::Time now = absl::Now();
    if (now >= next_sizes) {
      raft_bytes = DirectoryBytes(options_.data_dir + "/raft");
      mailbox_bytes = DirectoryBytes(options_.data_dir + "/mailbox");
      next_sizes = now + absl::Seconds(10);
    }
    p.metrics->Refresh(p.runtime->Status(), raft_bytes, mailbox_bytes);
    std::map<std::string, int> proposals;
    auto listed = p.mailbox->ListProposals(/*include_closed=*/true);
    if (listed.ok()) {
      for (const v1::ProposalRecord& r : *listed) {
        ++proposals[std::string(guard::ProposalStateName(r.state()))];
      }
    }
    p.metrics->RefreshGuard(p.guard ? p.guard->mismatches() : 0,
                            p.guard ? p.guard->stored_state_changes() : 0, proposals);
    if (now >= next_purge) {
      // G3: each node purges its vault by its own clock.
      auto purged = p.mailbox->PurgeExpired(absl::ToUnixMillis(now));
      if (purged.ok() && *purged > 0) {
        Log(absl::StrCat("purged ", *purged, " expired items from retention vaults"));
      }
      next_purge = now + absl::Minutes(1);
    }
  }
}

bool NodeServer::FollowTlsChanges() {
  Parts& p = *parts_;
  bool changed = false;
  auto charter = p.mailbox->GetCharter();
  if (charter.ok()) {
    std::vector<guard::SiteCaCertificate> sites;
    for (const v1::CharterSite& s : charter->sites()) sites.push_back({s.name(), s.ca_cert_pem()});
    auto followed = p.tls->FollowSites(sites);  // logs its own errors
    changed = followed.ok() && *followed;
  }
  if (std::optional<NodeIdentityPem> identity = p.tls->CheckIdentityFiles()) {
    p.guard->ReplaceIdentity(identity->certificate_pem, identity->private_key_pem);
    changed = true;
  }
  return changed;
}

void NodeServer::Shutdown() {
  if (shut_down_.exchange(true)) return;
  Parts& p = *parts_;
  if (p.runtime) {
    RuntimeStatus s = p.runtime->Status();
    if (s.raft.role == raft::Role::kLeader) {
      // Hand leadership to the most caught-up other voter so that clients
      // see no election timeout.
      raft::NodeId best = raft::kNoNode;
      uint64_t best_match = 0;
      for (const auto& [id, pr] : s.raft.progress) {
        if (id == p.self.id || !s.raft.conf.IsVoter(id) || pr.recovering) continue;
        if (best == raft::kNoNode || pr.match > best_match) {
          best = id;
          best_match = pr.match;
        }
      }
      if (best != raft::kNoNode) {
        Log(absl::StrCat("shutting down: handing leadership to node ", best));
        absl::Status t = p.runtime->TransferLeadership(best, absl::Now() + absl::Seconds(5));
        if (!t.ok()) Log(absl::StrCat("leadership transfer failed: ", t.message()));
      }
    }
  }
  if (housekeeping_.joinable()) {
    stop_housekeeping_.Notify();
    housekeeping_.join();
  }
  // The runtime first: it fails every request still waiting on it, so the
  // gRPC handlers return and the server can drain.
  if (p.guard) p.guard->Stop();
  if (p.peer_space) p.peer_space->Stop();
  if (p.runtime) p.runtime->Stop();
  // Nothing is applied any more: let the checkpoint worker finish what was
  // captured while the guard agent its callbacks reach still exists.
  if (p.mailbox) {
    absl::Status waited = p.mailbox->WaitForCheckpoints();
    if (!waited.ok()) Log(absl::StrCat("checkpoints at shutdown: ", waited.message()));
  }
  if (p.server) p.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (p.metrics) p.metrics->StopHttp();
  if (p.transport) p.transport->Shutdown();
  Log("stopped");
}

}  // namespace qbox::server

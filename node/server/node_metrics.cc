#include "node/server/node_metrics.h"

#include <CivetServer.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace qbox::server {

class NodeMetrics::Impl {
 public:
  Impl()
      : registry_(std::make_shared<prometheus::Registry>()),
        rpcs_(prometheus::BuildCounter()
                  .Name("qbox_rpcs_total")
                  .Help("gRPC calls served, by method and status code")
                  .Register(*registry_)),
        rpc_seconds_(prometheus::BuildHistogram()
                         .Name("qbox_rpc_duration_seconds")
                         .Help("gRPC call latency by method")
                         .Register(*registry_)),
        append_latency_(prometheus::BuildHistogram()
                            .Name("qbox_append_latency_seconds")
                            .Help("Replicated write latency: proposed until applied here")
                            .Register(*registry_)
                            .Add({}, LatencyBuckets())),
        expunged_(prometheus::BuildCounter()
                      .Name("qbox_expunged_messages_total")
                      .Help("Messages expunged (moved to the vault) by front ends")
                      .Register(*registry_)
                      .Add({})),
        large_expunges_(prometheus::BuildCounter()
                            .Name("qbox_mass_expunge_requests_total")
                            .Help("Expunge requests that removed 100 or more messages at once")
                            .Register(*registry_)
                            .Add({})),
        gauges_(prometheus::BuildGauge()
                    .Name("qbox_raft")
                    .Help("Consensus state of this node (see the 'field' label)")
                    .Register(*registry_)),
        role_(prometheus::BuildGauge()
                  .Name("qbox_raft_role")
                  .Help("1 for this node's current role")
                  .Register(*registry_)),
        alarms_(prometheus::BuildGauge()
                    .Name("qbox_alarms")
                    .Help("Alarms raised since start, by kind")
                    .Register(*registry_)),
        disk_(prometheus::BuildGauge()
                  .Name("qbox_rocksdb_size_bytes")
                  .Help("On-disk size of this node's RocksDB databases")
                  .Register(*registry_)),
        proposals_(prometheus::BuildGauge()
                       .Name("qbox_guard_proposals")
                       .Help("Proposals for irreversible actions in the charter, by state")
                       .Register(*registry_)),
        volume_free_(prometheus::BuildGauge()
                         .Name("qbox_data_volume_free_bytes")
                         .Help("Free bytes on the data directory's volume (statvfs f_bavail)")
                         .Register(*registry_)
                         .Add({})),
        volume_size_(prometheus::BuildGauge()
                         .Name("qbox_data_volume_size_bytes")
                         .Help("Size of the data directory's volume")
                         .Register(*registry_)
                         .Add({})),
        volume_min_free_(prometheus::BuildGauge()
                             .Name("qbox_data_volume_min_free_bytes")
                             .Help("NOSPACE threshold: below this much free space the node "
                                   "stops taking writes (--min-free-bytes, --min-free-percent)")
                             .Register(*registry_)
                             .Add({})),
        no_space_(prometheus::BuildGauge()
                      .Name("qbox_nospace")
                      .Help("1 while this node is in NOSPACE: writes refused, consensus paused "
                            "until free space returns")
                      .Register(*registry_)
                      .Add({})) {}

  static prometheus::Histogram::BucketBoundaries LatencyBuckets() {
    return {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};
  }

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& rpcs_;
  prometheus::Family<prometheus::Histogram>& rpc_seconds_;
  prometheus::Histogram& append_latency_;
  prometheus::Counter& expunged_;
  prometheus::Counter& large_expunges_;
  prometheus::Family<prometheus::Gauge>& gauges_;
  prometheus::Family<prometheus::Gauge>& role_;
  prometheus::Family<prometheus::Gauge>& alarms_;
  prometheus::Family<prometheus::Gauge>& disk_;
  prometheus::Family<prometheus::Gauge>& proposals_;
  prometheus::Gauge& volume_free_;
  prometheus::Gauge& volume_size_;
  prometheus::Gauge& volume_min_free_;
  prometheus::Gauge& no_space_;
  std::unique_ptr<CivetServer> http_;
  std::vector<std::unique_ptr<CivetHandler>> handlers_;
};

namespace {

class TextHandler : public CivetHandler {
 public:
  explicit TextHandler(std::function<std::pair<int, std::string>()> body)
      : body_(std::move(body)) {}
  bool handleGet(CivetServer*, mg_connection* conn) override {
    auto [code, text] = body_();
    mg_printf(conn,
              "HTTP/1.1 %d %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
              "Content-Length: %zu\r\nConnection: close\r\n\r\n",
              code, code == 200 ? "OK" : "Service Unavailable", text.size());
    mg_write(conn, text.data(), text.size());
    return true;
  }

 private:
  std::function<std::pair<int, std::string>()> body_;
};

}  // namespace

NodeMetrics::NodeMetrics() : impl_(std::make_unique<Impl>()) {}
NodeMetrics::~NodeMetrics() { StopHttp(); }

void NodeMetrics::RecordRpc(const std::string& method, const std::string& code, double seconds) {
  impl_->rpcs_.Add({{"method", method}, {"code", code}}).Increment();
  impl_->rpc_seconds_.Add({{"method", method}}, Impl::LatencyBuckets()).Observe(seconds);
}

void NodeMetrics::RecordAppendLatency(double seconds) { impl_->append_latency_.Observe(seconds); }

void NodeMetrics::RecordExpunged(uint64_t messages) {
  impl_->expunged_.Increment(static_cast<double>(messages));
  if (messages >= 100) impl_->large_expunges_.Increment();
}

void NodeMetrics::Refresh(const RuntimeStatus& status, uint64_t raft_bytes,
                          uint64_t mailbox_bytes) {
  const raft::RaftStatus& r = status.raft;
  auto set = [&](const char* field, double value) {
    impl_->gauges_.Add({{"field", field}}).Set(value);
  };
  set("term", static_cast<double>(r.hard_state.term));
  set("commit_index", static_cast<double>(r.hard_state.commit));
  set("applied_index", static_cast<double>(status.applied));
  set("apply_lag", static_cast<double>(r.hard_state.commit > status.applied
                                           ? r.hard_state.commit - status.applied
                                           : 0));
  set("last_index", static_cast<double>(r.last_index));
  set("first_index", static_cast<double>(r.first_index));
  set("leader_id", static_cast<double>(r.leader));
  set("recovering", r.hard_state.recovering ? 1 : 0);
  set("proposals_total", static_cast<double>(status.proposals));
  set("proposals_failed_total", static_cast<double>(status.proposals_failed));
  set("refused_truncations_total", static_cast<double>(r.refused_truncations));
  set("chain_mismatches_total", static_cast<double>(r.chain_mismatches));
  set("snapshots_held_total", static_cast<double>(status.snapshots_held));
  set("snapshots_written_total", static_cast<double>(status.snapshots_written));
  for (raft::Role role : {raft::Role::kFollower, raft::Role::kPreCandidate, raft::Role::kCandidate,
                          raft::Role::kLeader}) {
    impl_->role_.Add({{"role", raft::RoleName(role)}}).Set(r.role == role ? 1 : 0);
  }
  std::map<std::string, int> alarms;
  for (const raft::Alarm& a : status.alarms) ++alarms[raft::AlarmKindName(a.kind)];
  for (const auto& [kind, count] : alarms) impl_->alarms_.Add({{"kind", kind}}).Set(count);
  impl_->disk_.Add({{"db", "raft"}}).Set(static_cast<double>(raft_bytes));
  impl_->disk_.Add({{"db", "mailbox"}}).Set(static_cast<double>(mailbox_bytes));
  const NoSpaceStatus& space = status.no_space;
  if (space.measured) {
    impl_->volume_free_.Set(static_cast<double>(space.volume.free_bytes));
    impl_->volume_size_.Set(static_cast<double>(space.volume.total_bytes));
    impl_->volume_min_free_.Set(static_cast<double>(space.required_free_bytes));
  }
  impl_->no_space_.Set(space.active ? 1 : 0);
  impl_->alarms_.Add({{"kind", "nospace"}}).Set(static_cast<double>(space.raised));
}

void NodeMetrics::RefreshGuard(uint64_t checkpoint_mismatches, uint64_t stored_state_changes,
                               const std::map<std::string, int>& proposals_by_state) {
  impl_->alarms_.Add({{"kind", "checkpoint-mismatch"}})
      .Set(static_cast<double>(checkpoint_mismatches));
  impl_->alarms_.Add({{"kind", "stored-state-changed"}})
      .Set(static_cast<double>(stored_state_changes));
  for (const char* state : {"PENDING", "APPROVED", "EXECUTED", "VETOED", "EXPIRED", "FAILED"}) {
    auto it = proposals_by_state.find(state);
    impl_->proposals_.Add({{"state", state}})
        .Set(it == proposals_by_state.end() ? 0 : static_cast<double>(it->second));
  }
}

std::string NodeMetrics::Scrape() const {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry_->Collect());
}

absl::Status NodeMetrics::StartHttp(const std::string& address,
                                    std::function<absl::Status()> ready) {
  std::vector<std::string> options = {"listening_ports", address, "num_threads", "2"};
  try {
    impl_->http_ = std::make_unique<CivetServer>(options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  auto add = [&](const std::string& uri, std::function<std::pair<int, std::string>()> body) {
    impl_->handlers_.push_back(std::make_unique<TextHandler>(std::move(body)));
    impl_->http_->addHandler(uri, impl_->handlers_.back().get());
  };
  add("/metrics", [this] { return std::make_pair(200, Scrape()); });
  add("/healthz", [] { return std::make_pair(200, std::string("ok\n")); });
  add("/readyz", [ready = std::move(ready)] {
    absl::Status s = ready();
    if (s.ok()) return std::make_pair(200, std::string("ready\n"));
    return std::make_pair(503, absl::StrCat("not ready: ", s.message(), "\n"));
  });
  return absl::OkStatus();
}

void NodeMetrics::StopHttp() {
  if (impl_ && impl_->http_) {
    impl_->http_->close();
    impl_->http_.reset();
  }
}

}  // namespace qbox::server

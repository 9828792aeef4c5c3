// The node's Prometheus metrics (prometheus-cpp) and the plaintext HTTP
// endpoint that serves them with the health checks Kubernetes probes use
// (its gRPC probes cannot present a client certificate):
//   GET /metrics  Prometheus text format
//   GET /healthz  200 while the process serves (liveness)
//   GET /readyz   200 when ready (caught up with the leader, to within
//                 --ready-max-lag entries once caught up: readiness.h),
//                 503 otherwise (readiness; the body says why)
#ifndef QBOX_NODE_SERVER_NODE_METRICS_H_
#define QBOX_NODE_SERVER_NODE_METRICS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "node/server/raft_runtime.h"

namespace qbox::server {

class NodeMetrics {
 public:
  NodeMetrics();
  ~NodeMetrics();

  // One finished RPC: full method name ("/qbox.v1.MailStore/AppendMessage"),
  // its status code name, and how long it took.
  void RecordRpc(const std::string& method, const std::string& code, double seconds);
  // Latency of one replicated write (propose to applied), in seconds.
  void RecordAppendLatency(double seconds);
  // Messages expunged in one request, so an alert can fire on mass expunges
  // made with stolen front-end credentials.
  void RecordExpunged(uint64_t messages);

  // Refreshes the gauges from the runtime and the data directories' sizes,
  // with the data volume's free space and NOSPACE (no_space.h):
  // qbox_data_volume_free_bytes, qbox_data_volume_size_bytes,
  // qbox_data_volume_min_free_bytes (the threshold), qbox_nospace (1 while
  // raised) and qbox_alarms{kind="nospace"} (times raised since start).
  void Refresh(const RuntimeStatus& status, uint64_t raft_bytes, uint64_t mailbox_bytes);

  // The guard's figures (G2, G5): checkpoint mismatches this node found
  // (qbox_alarms{kind="checkpoint-mismatch"}), how often it found its own
  // stored records changed outside the log
  // (qbox_alarms{kind="stored-state-changed"}), and the charter's proposals
  // by state ("PENDING", "APPROVED", ...), so an alert can fire on any new
  // proposal or veto.
  void RefreshGuard(uint64_t checkpoint_mismatches, uint64_t stored_state_changes,
                    const std::map<std::string, int>& proposals_by_state);

  // Serves /metrics, /healthz and /readyz on `address` ("host:port").
  // `ready` answers readiness: OK, or the reason it is not ready.
  absl::Status StartHttp(const std::string& address, std::function<absl::Status()> ready);
  void StopHttp();

  // The current metrics in Prometheus text format.
  std::string Scrape() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_NODE_METRICS_H_

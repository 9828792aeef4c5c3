// qbox-node's command line (CLI11); every flag can also come from a config
// file given with --config (INI/TOML, keys named like the flags).
#ifndef QBOX_NODE_SERVER_NODE_OPTIONS_H_
#define QBOX_NODE_SERVER_NODE_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "node/server/node_log.h"

namespace qbox::server {

struct NodeOptions {
  std::string cluster_file;  // --cluster: genesis configuration (cluster_config.h)
  std::string site;          // from --node SITE/NAME
  std::string name;
  std::string data_dir;        // --data-dir
  std::string cert_file;       // --cert: this node's certificate (role node)
  std::string key_file;        // --key
  std::string listen;          // --listen: gRPC address; default: the node's cluster address
  std::string metrics_listen;  // --metrics-listen: plaintext /metrics /healthz /readyz
  uint32_t tick_ms = 100;      // --tick-ms: consensus clock tick
  uint32_t election_ticks = 10;
  uint32_t batch_delay_us = 2000;  // --batch-delay-us: group commit wait under load
  // --snapshot-every: flush the store and compact the log behind it.
  uint64_t snapshot_every = 10000;
  // --keep-log-bytes: raft log kept behind snapshots for followers that
  // return from a restart.
  uint64_t keep_log_bytes = uint64_t{1} << 30;
  // Written snapshots on schedule (RaftRuntimeOptions::snapshot_log_ratio).
  double snapshot_log_ratio = 1.0;
  uint64_t max_message_bytes = 64ull << 20;
  // --ready-max-lag: once caught up, a node stays ready (health SERVING,
  // /readyz 200) while it trails the commit index by at most this many
  // entries (readiness.h).
  uint64_t ready_max_lag = 1000;
  // --min-free-bytes, --min-free-percent: below the larger of the two, free
  // on the data directory's volume, the node raises NOSPACE and pauses
  // (no_space.h) instead of filling the volume to the last byte.
  uint64_t min_free_bytes = uint64_t{512} << 20;
  double min_free_percent = 2.0;
  // --leader-stall-timeout (G7): a leader whose followers see no commit for
  // this long is replaced. Parsed from a duration ("10s", "1500ms", "0" =
  // off) and converted to consensus ticks (raft::RaftConfig::stall_ticks).
  std::string leader_stall_timeout = "10s";
  // --accept-unattested-snapshots (G1): let a node that holds state replace
  // it with a snapshot no other site attested. Off: such a node keeps its
  // state, raises a refused-snapshot alarm and stays behind until it is
  // rebuilt empty (a rebuilt node's state is attested before it votes).
  bool accept_unattested_snapshots = false;
  int leader_stall_ticks = 0;
  // Only in the test binary qbox-node-hostile (QBOX_HOSTILE_HOOKS), where
  // --hostile and --hostile-trigger-file exist; empty in qbox-node.
  std::string hostile;
  std::string hostile_trigger_file;
  // --log-format text|json and --log-level debug|info|warning|error
  // (node_log.h).
  LogFormat log_format = LogFormat::kText;
  LogLevel log_level = LogLevel::kInfo;
};

// Parses argv. On --help, prints usage and returns CANCELLED (exit 0); on a
// bad or missing flag, INVALID_ARGUMENT with one line naming the flag.
absl::StatusOr<NodeOptions> ParseNodeOptions(int argc, char** argv);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_NODE_OPTIONS_H_

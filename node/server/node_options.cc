#include "node/server/node_options.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#ifdef QBOX_HOSTILE_HOOKS
#include "node/server/hostile/hostile_behaviours.h"
#endif

namespace qbox::server {
namespace {

absl::Status CheckReadable(const std::string& path, const char* flag) {
  if (::access(path.c_str(), R_OK) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read '", path, "' (", std::strerror(errno), ")"));
  }
  return absl::OkStatus();
}

// G7: the stall window in ticks. It must leave room for ordinary elections
// (two election timeouts) or honest leaders would be accused.
absl::Status ResolveStallTicks(NodeOptions* o) {
  absl::Duration timeout;
  if (!absl::ParseDuration(o->leader_stall_timeout, &timeout) || timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--leader-stall-timeout: '", o->leader_stall_timeout,
                     "' is not a non-negative duration such as 10s or 1500ms (0 turns it off)"));
  }
  if (timeout == absl::ZeroDuration()) {
    o->leader_stall_ticks = 0;
    return absl::OkStatus();
  }
  const absl::Duration tick = absl::Milliseconds(o->tick_ms);
  const absl::Duration minimum = 2 * tick * static_cast<int64_t>(o->election_ticks);
  if (timeout < minimum || timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--leader-stall-timeout: ", absl::FormatDuration(timeout), " must be 0 or between ",
        absl::FormatDuration(minimum), " (two election timeouts) and 1h"));
  }
  o->leader_stall_ticks = static_cast<int>(absl::IDivDuration(timeout, tick, &timeout));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NodeOptions> ParseNodeOptions(int argc, char** argv) {
  NodeOptions o;
  std::string node;
  CLI::App app{"qbox-node: a quorumbox storage node (replicated mailbox store)"};
  app.set_config("--config", "", "Read flags from this INI/TOML file");
  app.add_option("--cluster", o.cluster_file,
                 "Cluster configuration (JSON) from qboxctl cluster init")
      ->required();
  app.add_option("--node", node, "This node as SITE/NAME, e.g. site-a/n1")->required();
  app.add_option("--data-dir", o.data_dir, "Directory for the raft log and mailbox data")
      ->required();
  app.add_option("--cert", o.cert_file, "This node's certificate (PEM, role node)")->required();
  app.add_option("--key", o.key_file, "This node's private key (PEM)")->required();
  app.add_option("--listen", o.listen, "gRPC listen address (default: the node's address)");
  app.add_option("--metrics-listen", o.metrics_listen,
                 "Plaintext address for /metrics, /healthz and /readyz (default: off)");
  app.add_option("--tick-ms", o.tick_ms, "Consensus tick in milliseconds")
      ->check(CLI::Range(1, 10000));
  app.add_option("--election-ticks", o.election_ticks,
                 "Election timeout in ticks (randomised up to 2x)")
      ->check(CLI::Range(3, 1000));
  app.add_option("--batch-delay-us", o.batch_delay_us,
                 "Group commit under concurrent writes: wait up to this many microseconds for "
                 "more proposals before persisting and replicating (0 = never wait)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--snapshot-every", o.snapshot_every,
                 "Flush the mailbox store and compact the raft log behind it after this many "
                 "applied entries (0 = never); a snapshot file is written only when a follower "
                 "needs one");
  app.add_option("--keep-log-bytes", o.keep_log_bytes,
                 "Keep at least this many bytes of the newest raft log entries when compacting, "
                 "so that a follower back from a restart catches up from the log instead of by a "
                 "copy of the whole store (default 1 GiB; 0 = only --snapshot-every decides). "
                 "After this node restarts, up to about a third more, until that many bytes of "
                 "new entries have arrived: the log it kept counts at 3/4 of its estimated size")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 50));
  app.add_option("--snapshot-log-ratio", o.snapshot_log_ratio,
                 "For a state machine that is not durable on its own (tests): write a scheduled "
                 "snapshot only once the entries since the last one hold this fraction of its "
                 "bytes (0 = entries alone decide)")
      ->check(CLI::Range(0.0, 1000.0));
  app.add_option("--max-message-bytes", o.max_message_bytes, "Largest message a node accepts")
      ->check(CLI::Range(uint64_t{1024}, uint64_t{1} << 30));
  app.add_option("--ready-max-lag", o.ready_max_lag,
                 "Once caught up, stay ready (health SERVING, /readyz 200) while trailing the "
                 "commit index by at most this many entries (0 = only while fully applied)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 40));
  app.add_option("--min-free-bytes", o.min_free_bytes,
                 "NOSPACE threshold: with less free space than this (or than --min-free-percent "
                 "of the volume, whichever is larger) on the data directory's volume, the node "
                 "stops taking writes, hands leadership on and pauses consensus; it resumes by "
                 "itself once free space is an eighth above the threshold (and at least 64 MiB). "
                 "Default 512 MiB, room for RocksDB to flush its memory when it resumes; 0 = "
                 "only a failed write")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 50));
  app.add_option("--min-free-percent", o.min_free_percent,
                 "NOSPACE threshold as a share of the data volume's size, in percent (default 2; "
                 "0 = bytes only)")
      ->check(CLI::Range(0.0, 50.0));
  app.add_option("--leader-stall-timeout", o.leader_stall_timeout,
                 "Replace a leader that commits nothing for this long (e.g. 10s; 0 = off)");
  app.add_flag("--accept-unattested-snapshots", o.accept_unattested_snapshots,
               "Let this node replace the state it holds with a snapshot from the leader that "
               "no other site attested (a hostile leader could send an empty one). Off: it "
               "keeps its state, raises a refused-snapshot alarm and stays behind until rebuilt "
               "empty");
#ifdef QBOX_HOSTILE_HOOKS
  app.add_option("--hostile", o.hostile,
                 "TEST BINARY ONLY: misbehave as leader: overwrite-committed,broken-chain,"
                 "bad-snapshot,stop-committing");
  app.add_option("--hostile-trigger-file", o.hostile_trigger_file,
                 "TEST BINARY ONLY: misbehave only once this file exists");
#endif
  std::string log_format = "text", log_level = "info";
  app.add_option("--log-format", log_format,
                 "text: one narrative line per event; json: one JSON object per line "
                 "(time, level, site, node, msg) for log shippers")
      ->default_str("text");
  app.add_option("--log-level", log_level, "Lowest level logged: debug, info, warning, error")
      ->default_str("info");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return absl::CancelledError("help");
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    return absl::InvalidArgumentError(what.empty() ? e.get_name() : what);
  }
  auto slash = node.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == node.size() ||
      node.find('/', slash + 1) != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node: '", node, "' must be SITE/NAME, e.g. site-a/n1"));
  }
  o.site = node.substr(0, slash);
  o.name = node.substr(slash + 1);
  if (absl::Status s = CheckReadable(o.cluster_file, "--cluster"); !s.ok()) return s;
  if (absl::Status s = CheckReadable(o.cert_file, "--cert"); !s.ok()) return s;
  if (absl::Status s = CheckReadable(o.key_file, "--key"); !s.ok()) return s;
  if (absl::Status s = ResolveStallTicks(&o); !s.ok()) return s;
  absl::StatusOr<LogFormat> format = ParseLogFormat(log_format);
  if (!format.ok()) return format.status();
  o.log_format = *format;
  absl::StatusOr<LogLevel> level = ParseLogLevel(log_level);
  if (!level.ok()) return level.status();
  o.log_level = *level;
#ifdef QBOX_HOSTILE_HOOKS
  if (auto behaviours = hostile::ParseBehaviours(o.hostile); !behaviours.ok()) {
    return behaviours.status();
  }
#endif
  return o;
}

}  // namespace qbox::server

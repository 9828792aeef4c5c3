// What the other voters say about their data volumes, so that a write no
// majority can make durable is answered RESOURCE_EXHAUSTED naming the nodes
// out of space (no_space.h), not UNAVAILABLE over and over: a client that
// retries elsewhere would find no leader anywhere and never learn why.
//
// A thread asks every other voter Raft.Probe (which reports NOSPACE and the
// free space) once a second; answers older than a few seconds count as
// unknown, never as out of space.
//
// Thread-safety: every public method may be called from any thread.
#ifndef QBOX_NODE_SERVER_PEER_SPACE_H_
#define QBOX_NODE_SERVER_PEER_SPACE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "node/raft/types.h"
#include "node/server/no_space.h"
#include "node/server/peer_directory.h"

namespace grpc {
class Channel;
class ChannelCredentials;
}  // namespace grpc

namespace qbox::server {

class PeerSpaceMonitor {
 public:
  struct Options {
    raft::NodeId self = raft::kNoNode;
    std::string self_name;                 // "site-a/n1", for the message
    const PeerDirectory* peers = nullptr;  // must outlive the monitor
    // The voters to ask (the current membership), asked at every round.
    std::function<std::vector<raft::NodeId>()> voters;
    // The current mTLS credentials (they change with the charter).
    std::function<std::shared_ptr<grpc::ChannelCredentials>()> credentials;
    absl::Duration every = absl::Seconds(1);
    absl::Duration fresh_for = absl::Seconds(5);
  };
  // What one peer last said about its volume.
  struct PeerSpace {
    bool no_space = false;
    uint64_t free_bytes = 0;
    uint64_t resume_free_bytes = 0;
    uint64_t required_free_bytes = 0;  // 0: not measured there
    absl::Time when = absl::InfinitePast();
  };

  explicit PeerSpaceMonitor(Options options);
  ~PeerSpaceMonitor();

  void Start();
  void Stop();

  // If a majority of `voters` is in NOSPACE (this node by `self`, the
  // others by a fresh answer): "2 of 3 voters are out of disk space: ..."
  // naming each with its free and needed bytes. nullopt otherwise.
  std::optional<std::string> MajorityOutOfSpace(const std::vector<raft::NodeId>& voters,
                                                const NoSpaceStatus& self) const;

  // Refusing early: if writing `bytes` more would leave fewer than a
  // majority of `voters` at or above their NOSPACE threshold (by this
  // node's measure and the others' fresh answers; a voter not heard from
  // counts as having room), why, naming the voters it would push below.
  // nullopt if a majority keeps room. Small writes (deletes, expunges)
  // pass as long as a majority is above its threshold at all.
  // Whether `id` said it is in NOSPACE, lately.
  bool PeerHasNoSpace(raft::NodeId id) const;

  // The voters are those of the last round (once a second): this is asked
  // before every write, and must be cheap.
  std::optional<std::string> WouldExhaustMajority(const NoSpaceStatus& self, uint64_t bytes) const;

 private:
  void Run();
  void AskOnce();

  const Options options_;
  mutable absl::Mutex mu_;
  std::map<raft::NodeId, PeerSpace> spaces_ ABSL_GUARDED_BY(mu_);
  std::vector<raft::NodeId> voters_ ABSL_GUARDED_BY(mu_);  // as of the last round
  // Touched only by the monitor's thread.
  std::map<raft::NodeId, std::shared_ptr<grpc::Channel>> channels_;
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_PEER_SPACE_H_

// TEST BINARY ONLY (qbox-node-hostile, QBOX_HOSTILE_HOOKS): a RaftTransport
// that wraps the real one and makes this node a compromised leader for the
// attack tests. The consensus core underneath stays honest; the lies are
// told on the wire, which is exactly what an honest follower can see of a
// compromised site.
//
// Arming: nothing happens until the trigger file exists. Its content, a
// comma-separated list, selects which of the --hostile behaviours are
// active (empty = all of them); it is re-read about every 200 ms, so a test
// can switch from one attack to the next by rewriting the file.
#ifndef QBOX_NODE_SERVER_HOSTILE_HOSTILE_TRANSPORT_H_
#define QBOX_NODE_SERVER_HOSTILE_HOSTILE_TRANSPORT_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/raft/log_storage.h"
#include "node/server/hostile/hostile_behaviours.h"
#include "node/server/raft_runtime.h"

namespace qbox::server::hostile {

class HostileTransport : public RaftTransport {
 public:
  // `inner` and `storage` (this node's raft log) must outlive this object.
  // `own_site` is this node's site: the forged learners of
  // double-promotion belong to it.
  HostileTransport(HostileBehaviours behaviours, std::string trigger_file,
                   const raft::LogStorage* storage, RaftTransport* inner,
                   std::function<void(std::string_view)> logger, std::string own_site = "");

  void Send(std::vector<raft::Message> messages) override;

 private:
  HostileBehaviours Armed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Forge(const HostileBehaviours& armed, raft::NodeId self, uint64_t term, uint64_t commit,
             std::vector<raft::Message>* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<raft::Message> OverwriteCommitted(raft::NodeId to, uint64_t term,
                                                  uint64_t commit) const;
  std::optional<raft::Message> BrokenChain(raft::NodeId to, uint64_t term) const;
  std::optional<raft::Message> BadSnapshot(raft::NodeId to, uint64_t term, uint64_t commit) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Log(const std::string& line) const;

  // double-promotion: the forged learners' entries first, the promotions of
  // both in one message from the second forgery on.
  std::optional<raft::Message> DoublePromotion(raft::NodeId to, uint64_t term)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PlanDoublePromotion(uint64_t term) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // oversized-command: one forged entry after our own log, "committed".
  std::optional<raft::Message> OversizedCommand(raft::NodeId to, uint64_t term)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const HostileBehaviours behaviours_;
  const std::string trigger_file_;
  const raft::LogStorage* storage_;
  RaftTransport* inner_;
  std::function<void(std::string_view)> logger_;

  absl::Mutex mu_;
  HostileBehaviours armed_ ABSL_GUARDED_BY(mu_);
  absl::Time trigger_checked_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time last_forgery_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::set<raft::NodeId> peers_ ABSL_GUARDED_BY(mu_);
  uint64_t withheld_ ABSL_GUARDED_BY(mu_) = 0;

  // double-promotion: what the first forgery appended after our own log
  // (prev_* is the entry it follows), and how many forgeries went out.
  const std::string own_site_;
  uint64_t promotion_prev_index_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t promotion_prev_term_ ABSL_GUARDED_BY(mu_) = 0;
  raft::ChainHash promotion_prev_chain_ ABSL_GUARDED_BY(mu_){};
  std::vector<raft::Entry> forged_learners_ ABSL_GUARDED_BY(mu_);
  std::vector<raft::Entry> forged_promotions_ ABSL_GUARDED_BY(mu_);
  int promotion_forgeries_ ABSL_GUARDED_BY(mu_) = 0;

  // oversized-command: the forged entry and the one it follows.
  std::optional<raft::Message> oversized_ ABSL_GUARDED_BY(mu_);
};

}  // namespace qbox::server::hostile

#endif  // QBOX_NODE_SERVER_HOSTILE_HOSTILE_TRANSPORT_H_

// The hostile site of the Byzantine simulation (threat A: one site runs
// modified node software). The hostile nodes run a real consensus core, so
// that their traffic is plausible, and every message they send passes
// through the adversary, which forwards, drops, delays by replay, mutates or
// multiplies it; each tick it also makes messages up from scratch. It speaks
// only for the nodes of its own site (the transport authenticates senders),
// and everything it does is drawn from the seed.
//
// Two classes of behaviour, chosen per seed:
//  - truthful (the default): anything that three sites must survive with
//    their guarantees whole. Vote requests with any term, claimed log and
//    context; heartbeats and snapshots claiming any term; forged snapshots
//    with a matching digest; TimeoutNow; answers from any term; read-index
//    requests; replays; silence. Its entries, its votes and the commit
//    indexes it claims are those of its real core.
//  - equivocating: also forged entries, lies about commit indexes and
//    votes, and different messages to different peers. With three sites
//    (n < 3f+1) honest nodes can then be led to commit different entries;
//    what must hold is that no honest node ever changes what it committed,
//    and that a divergence leaves evidence (an alarm) on an honest node.
#ifndef QBOX_TESTS_SIM_SIM_ADVERSARY_H_
#define QBOX_TESTS_SIM_SIM_ADVERSARY_H_

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "node/raft/types.h"
#include "tests/sim/sim_random.h"

namespace qbox::sim {

struct AdversaryStats {
  uint64_t forwarded = 0;
  uint64_t dropped = 0;
  uint64_t mutated = 0;
  uint64_t fabricated = 0;
  uint64_t replayed = 0;
  uint64_t forged_snapshots = 0;
};

class SimAdversary {
 public:
  SimAdversary(std::set<raft::NodeId> hostile, std::vector<raft::NodeId> honest, bool equivocate,
               SimRandom* random);

  bool IsHostile(raft::NodeId id) const { return hostile_.count(id) > 0; }
  const std::set<raft::NodeId>& hostile() const { return hostile_; }
  bool equivocates() const { return equivocate_; }

  // A message a hostile node's own core sent: what goes out instead.
  std::vector<raft::Message> Transform(const raft::Message& real);
  // Messages made up this tick (none while silent).
  std::vector<raft::Message> Fabricate();
  // A message addressed to a hostile node: the adversary learns terms and
  // log positions from it.
  void Observe(const raft::Message& to_hostile);

  void set_silent(bool silent) { silent_ = silent; }
  bool silent() const { return silent_; }
  const AdversaryStats& stats() const { return stats_; }

 private:
  raft::Message Disrupt(raft::Message m);
  raft::Message Equivocate(raft::Message m);
  raft::Message MadeUp();
  raft::Message ForgedSnapshot(raft::NodeId from, raft::NodeId to);
  uint64_t SomeTerm();
  raft::NodeId SomeHostile() { return random_->Pick(hostile_list_); }
  raft::NodeId SomeHonest() { return random_->Pick(honest_); }

  std::set<raft::NodeId> hostile_;
  std::vector<raft::NodeId> hostile_list_;
  std::vector<raft::NodeId> honest_;
  bool equivocate_;
  SimRandom* random_;
  bool silent_ = false;
  // Drawn per seed: besides the random traffic, a vote request for the next
  // term (a huge claimed log, the transfer context) to every honest node
  // every few ticks, as a scripted attacker does.
  bool churn_votes_ = false;
  uint64_t ticks_ = 0;
  // The highest term and log position heard from honest nodes.
  uint64_t max_term_ = 1;
  uint64_t max_index_ = 1;
  // Its own past messages, to replay.
  std::deque<raft::Message> sent_;
  // One forged state per (index, term), unless it equivocates.
  std::map<std::pair<uint64_t, uint64_t>, std::string> forged_states_;
  AdversaryStats stats_;
};

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_SIM_ADVERSARY_H_

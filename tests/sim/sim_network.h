// The simulated network: a queue of messages ordered by delivery time. Each
// send may be dropped, delayed (so messages reorder) or duplicated, and links
// can be cut one way or both ways to form partitions that heal later.
#ifndef QBOX_TESTS_SIM_SIM_NETWORK_H_
#define QBOX_TESTS_SIM_SIM_NETWORK_H_

#include <cstdint>
#include <optional>
#include <queue>
#include <set>
#include <utility>
#include <vector>

#include "node/raft/types.h"
#include "tests/sim/sim_random.h"

namespace qbox::sim {

struct NetworkFaults {
  double drop = 0;       // probability a message is lost
  double duplicate = 0;  // probability a message is delivered twice
  uint64_t min_delay_ms = 1;
  uint64_t max_delay_ms = 10;
  double long_delay = 0;  // probability of a delay up to long_delay_ms
  uint64_t long_delay_ms = 200;
};

class SimNetwork {
 public:
  explicit SimNetwork(SimRandom* random) : random_(random) {}

  // Queues `message` sent at `now_ms`, unless the link is cut or it is lost.
  // Returns how many copies were queued (0, 1 or 2).
  int Send(uint64_t now_ms, const raft::Message& message);

  // The next message due at or before `now_ms` whose link is still up, in
  // delivery order; nullopt when none is due.
  std::optional<raft::Message> PopDue(uint64_t now_ms);
  // Delivery time of the earliest queued message, nullopt if none.
  std::optional<uint64_t> NextDeliveryTime() const;
  size_t in_flight() const { return queue_.size(); }

  // Cuts the link from -> to (one way).
  void Cut(raft::NodeId from, raft::NodeId to) { cut_.insert({from, to}); }
  void CutBothWays(raft::NodeId a, raft::NodeId b) {
    Cut(a, b);
    Cut(b, a);
  }
  bool IsCut(raft::NodeId from, raft::NodeId to) const { return cut_.count({from, to}) > 0; }
  bool partitioned() const { return !cut_.empty(); }
  void HealAll() { cut_.clear(); }

  NetworkFaults& faults() { return faults_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct InFlight {
    uint64_t deliver_at;
    uint64_t sequence;
    raft::Message message;
    bool operator>(const InFlight& o) const {
      return deliver_at != o.deliver_at ? deliver_at > o.deliver_at : sequence > o.sequence;
    }
  };

  void Enqueue(uint64_t now_ms, const raft::Message& message);

  SimRandom* random_;
  NetworkFaults faults_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<InFlight>> queue_;
  std::set<std::pair<raft::NodeId, raft::NodeId>> cut_;
  uint64_t sequence_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_SIM_NETWORK_H_

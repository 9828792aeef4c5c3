// A tiny synchronous in-memory cluster for the core's unit tests: every node
// is a Raft over a MemoryLogStorage, and Deliver() runs the Ready loop and
// hands messages over until the network is quiet. The seeded simulation in
// tests/sim/ is the adversarial version of this.
#ifndef QBOX_TESTS_RAFT_RAFT_TEST_UTIL_H_
#define QBOX_TESTS_RAFT_RAFT_TEST_UTIL_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "node/raft/memory_log_storage.h"
#include "node/raft/raft.h"

namespace qbox::raft::testing {

class TestCluster {
 public:
  // Bootstraps `voters` (ids 1..n) with genesis storage.
  explicit TestCluster(int voters, RaftConfig base = RaftConfig());

  Raft& node(NodeId id) { return *nodes_.at(id).raft; }
  MemoryLogStorage& storage(NodeId id) { return *nodes_.at(id).storage; }
  const std::vector<Entry>& applied(NodeId id) { return nodes_.at(id).applied; }
  std::vector<Alarm>& alarms(NodeId id) { return nodes_.at(id).alarms; }
  std::vector<ReadState>& read_states(NodeId id) { return nodes_.at(id).read_states; }

  // Adds a node with empty storage (a new learner, or a node that lost its
  // disk when `id` already exists).
  void AddEmptyNode(NodeId id);
  // Restarts `id` from its storage (a crash that keeps synced data).
  void Restart(NodeId id);

  // Runs Ready loops and delivers messages until nothing moves.
  void Deliver();
  // Ticks every live node once and delivers.
  void TickAll(int times = 1);
  // Elects `id` by campaigning.
  void Elect(NodeId id);
  NodeId Leader();

  // Network control: drop everything to/from `id`.
  void Isolate(NodeId id) { isolated_.insert(id); }
  void Heal() { isolated_.clear(); }
  void Stop(NodeId id) { stopped_.insert(id); }
  void Start(NodeId id) { stopped_.erase(id); Restart(id); }

  // Every message sent is offered here first; return false to drop it.
  std::function<bool(const Message&)> filter;
  std::vector<std::string> log_lines;

 private:
  struct Node {
    std::unique_ptr<MemoryLogStorage> storage;
    std::unique_ptr<Raft> raft;
    std::vector<Entry> applied;
    std::vector<Alarm> alarms;
    std::vector<ReadState> read_states;
  };
  void Build(NodeId id);
  bool ProcessReady(NodeId id);

  RaftConfig base_;
  std::map<NodeId, Node> nodes_;
  std::deque<Message> network_;
  std::set<NodeId> isolated_;
  std::set<NodeId> stopped_;
};

}  // namespace qbox::raft::testing

#endif  // QBOX_TESTS_RAFT_RAFT_TEST_UTIL_H_

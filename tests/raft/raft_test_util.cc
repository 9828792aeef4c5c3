#include "tests/raft/raft_test_util.h"

#include <stdexcept>

namespace qbox::raft::testing {

TestCluster::TestCluster(int voters, RaftConfig base) : base_(std::move(base)) {
  std::vector<NodeId> ids;
  for (int i = 1; i <= voters; ++i) ids.push_back(i);
  for (NodeId id : ids) {
    nodes_[id].storage = std::make_unique<MemoryLogStorage>();
    if (!Raft::Bootstrap(nodes_[id].storage.get(), ids).ok()) throw std::runtime_error("bootstrap");
    Build(id);
  }
}

void TestCluster::Build(NodeId id) {
  RaftConfig config = base_;
  config.id = id;
  config.random_seed = id * 7919;
  config.logger = [this](std::string_view line) { log_lines.emplace_back(line); };
  auto raft = Raft::Create(config, nodes_[id].storage.get());
  if (!raft.ok()) throw std::runtime_error(std::string(raft.status().message()));
  nodes_[id].raft = std::move(*raft);
}

void TestCluster::AddEmptyNode(NodeId id) {
  nodes_[id].storage = std::make_unique<MemoryLogStorage>();
  nodes_[id].applied.clear();
  Build(id);
}

void TestCluster::Restart(NodeId id) {
  // Applied entries are rebuilt from the start: the node re-applies.
  nodes_[id].applied.clear();
  Build(id);
}

bool TestCluster::ProcessReady(NodeId id) {
  Node& n = nodes_.at(id);
  if (!n.raft->HasReady()) return false;
  Ready rd = n.raft->GetReady();
  for (Message& m : rd.messages_now) network_.push_back(std::move(m));
  for (const SnapshotChunkWrite& c : rd.snapshot_chunks) {
    if (!n.storage->WriteSnapshotChunk(c.offset, c.data).ok()) throw std::runtime_error("chunk");
  }
  if (rd.install_snapshot) {
    if (!n.storage->InstallStagedSnapshot(*rd.install_snapshot).ok()) {
      throw std::runtime_error("install");
    }
    n.applied.clear();
    Entry marker;
    marker.index = rd.install_snapshot->index;
    marker.data = "snapshot:" + n.storage->SnapshotData();
    n.applied.push_back(marker);
  }
  if (!n.storage->Persist(rd.entries, rd.hard_state ? &*rd.hard_state : nullptr).ok()) {
    throw std::runtime_error("persist");
  }
  for (Message& m : rd.messages_after_persist) network_.push_back(std::move(m));
  for (Entry& e : rd.committed_entries) n.applied.push_back(std::move(e));
  for (ReadState& r : rd.read_states) n.read_states.push_back(std::move(r));
  for (Alarm& a : rd.alarms) n.alarms.push_back(std::move(a));
  n.raft->Advance(rd);
  return true;
}

void TestCluster::Deliver() {
  for (int rounds = 0; rounds < 100000; ++rounds) {
    bool moved = false;
    for (auto& [id, n] : nodes_) {
      if (stopped_.count(id)) continue;
      moved |= ProcessReady(id);
    }
    while (!network_.empty()) {
      Message m = std::move(network_.front());
      network_.pop_front();
      moved = true;
      if (isolated_.count(m.from) || isolated_.count(m.to) || stopped_.count(m.to) ||
          !nodes_.count(m.to)) {
        continue;
      }
      if (filter && !filter(m)) continue;
      (void)nodes_.at(m.to).raft->Step(m);
      ProcessReady(m.to);
    }
    if (!moved) return;
  }
  throw std::runtime_error("network did not settle");
}

void TestCluster::TickAll(int times) {
  for (int i = 0; i < times; ++i) {
    for (auto& [id, n] : nodes_) {
      if (!stopped_.count(id)) n.raft->Tick();
    }
    Deliver();
  }
}

void TestCluster::Elect(NodeId id) {
  if (!node(id).Campaign().ok()) throw std::runtime_error("campaign refused");
  Deliver();
}

NodeId TestCluster::Leader() {
  NodeId leader = kNoNode;
  uint64_t term = 0;
  for (auto& [id, n] : nodes_) {
    if (stopped_.count(id)) continue;
    RaftStatus s = n.raft->Status();
    if (s.role == Role::kLeader && s.hard_state.term >= term) {
      leader = id;
      term = s.hard_state.term;
    }
  }
  return leader;
}

}  // namespace qbox::raft::testing

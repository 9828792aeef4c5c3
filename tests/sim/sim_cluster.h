// A simulated cluster in one thread: nodes (sim_node.h), the network
// (sim_network.h), the invariant checker and the event log, on a simulated
// clock of milliseconds with a Raft tick every kTickMs. Everything is decided
// by one seeded generator, so a seed replays exactly.
//
// Scripted tests drive it step by step (Isolate, CrashNode, WipeAndRestart,
// RunUntil, ...). RunRandomSchedule() runs a random schedule of faults and
// workload, then heals everything and checks that the cluster converges.
#ifndef QBOX_TESTS_SIM_SIM_CLUSTER_H_
#define QBOX_TESTS_SIM_SIM_CLUSTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/sim/event_log.h"
#include "tests/sim/invariant_checker.h"
#include "tests/sim/sim_adversary.h"
#include "tests/sim/sim_network.h"
#include "tests/sim/sim_node.h"
#include "tests/sim/sim_random.h"

namespace qbox::sim {

inline constexpr uint64_t kTickMs = 10;

struct SimOptions {
  uint64_t seed = 1;
  int num_nodes = 3;
  // Tests only: a wiped node re-bootstraps as a genesis voter, as naive Raft
  // would, instead of rejoining as a recovering non-voter.
  bool naive_wipe = false;
  // Nodes sometimes step several messages before handling one Ready.
  // Exercises a Ready that answers many inputs at once.
  bool batched_ready = true;
  // Local compaction sometimes stops a few entries short of the snapshot
  // index, so that FirstIndex()-1 is answered from the kept boundary.
  bool compact_behind_snapshot = true;
  // Events kept for the failure report.
  size_t event_tail = 60;
  // G7: raft::RaftConfig::stall_ticks of every node (0 = off).
  int stall_ticks = 0;
  // The Byzantine simulation (sim_adversary.h, sim_byzantine.cc): node 1,
  // and node 2 when there are 5 nodes, belong to the hostile site.
  bool byzantine = false;
  // With `byzantine`: the adversary may also equivocate.
  bool equivocate = false;
};

struct ByzantineStats {
  AdversaryStats adversary;
  uint64_t liveness_windows = 0;      // windows in which progress was required
  uint64_t divergences_detected = 0;  // equivocation: honest logs split, with evidence
  uint64_t alarms_against_hostile = 0;
  uint64_t snapshots_refused = 0;
};

struct SimStats {
  uint64_t ticks = 0;
  uint64_t deliveries = 0;
  uint64_t proposals_accepted = 0;
  uint64_t committed_commands = 0;  // normal entries applied by the final leader
  uint64_t crashes = 0;
  uint64_t wipes = 0;
  uint64_t partitions = 0;
  uint64_t conf_changes = 0;
  uint64_t transfers = 0;
  uint64_t reads = 0;
  uint64_t reads_answered = 0;
  uint64_t snapshots_installed = 0;
  // Written because a follower needed one behind a held snapshot.
  uint64_t snapshots_written_for_followers = 0;
};

class SimCluster : public NodeEnvironment {
 public:
  explicit SimCluster(const SimOptions& options);
  ~SimCluster() override;

  // Bootstraps the genesis voters 1..num_nodes and starts them.
  absl::Status Start();

  // NodeEnvironment.
  void Send(const raft::Message& message) override;
  void Record(absl::string_view line) override;
  InvariantChecker& checker() override { return checker_; }
  SimRandom& random() override { return random_; }
  // Only leader-stalled alarms against a node ever made a stalling leader.
  bool ExpectedAlarm(const raft::Alarm& alarm) override;
  void SnapshotWritten(raft::NodeId node, const raft::SnapshotMeta& meta) override;
  void Applied(raft::NodeId node, const HashStateMachine& state) override;

  // Advances the clock by `ticks` ticks, delivering messages as they fall
  // due. Stops early once an invariant is violated.
  void RunTicks(uint64_t ticks);
  // Runs until `done()` holds (checked every tick); false if `max_ticks`
  // passed first or an invariant failed.
  bool RunUntil(const std::function<bool()>& done, uint64_t max_ticks);

  // The live leader with the highest term, 0 if there is none.
  raft::NodeId Leader();
  SimNode* node(raft::NodeId id);
  std::vector<raft::NodeId> node_ids() const;
  SimNetwork& network() { return network_; }

  void Isolate(raft::NodeId id);
  void HealNetwork();
  void CrashNode(raft::NodeId id);
  absl::Status RestartNode(raft::NodeId id);
  // Crashes the node if it is up, replaces its storage with an empty one and
  // starts it again.
  absl::Status WipeAndRestart(raft::NodeId id);
  absl::StatusOr<uint64_t> Propose(raft::NodeId id, std::string data);
  // G7: while node `id` leads, it sends heartbeats but withholds every
  // entry and snapshot (a compromised leader that stalls the cluster).
  // 0 = nobody.
  void SetStallingLeader(raft::NodeId id) {
    stalling_leader_ = id;
    if (id != raft::kNoNode) stalling_ever_.insert(id);
  }
  uint64_t withheld_messages() const { return withheld_messages_; }

  // The Byzantine schedule: `active_ticks` in which the adversary acts
  // (with silent spells) under load and honest crashes and drops, during
  // which the honest nodes must keep committing whenever they can reach
  // each other; then the adversary goes silent or is cut off and the honest
  // nodes must converge within `quiet_ticks`.
  void RunByzantineSchedule(uint64_t active_ticks, uint64_t quiet_ticks);
  bool IsHostile(raft::NodeId id) const { return adversary_ && adversary_->IsHostile(id); }
  const ByzantineStats& byzantine_stats() const { return byzantine_stats_; }
  // Converged() among the honest nodes only.
  absl::Status HonestConverged();

  // A random schedule: `fault_ticks` of faults under load, then everything
  // heals and the cluster must converge within `quiet_ticks`.
  void RunRandomSchedule(uint64_t fault_ticks, uint64_t quiet_ticks);
  // OK if every live member agrees with the leader on log, commit and state.
  absl::Status Converged();

  bool ok() const { return checker_.ok(); }
  // Seed, violation, event tail and how to replay.
  std::string FailureReport() const;
  // Empty if some node could win an election now; otherwise, per node that
  // may stand, the votes it would get and why the others refuse.
  std::string ElectionDeadlock() const;
  // One line per node: role, term, log, commit, membership, recovery.
  std::string DescribeNodes() const;
  const EventLog& events() const { return events_; }
  const SimStats& stats() const { return stats_; }
  uint64_t now_ms() const { return now_ms_; }

 private:
  raft::RaftConfig ConfigFor(raft::NodeId id);
  SimNode* AddNode(raft::NodeId id);
  void Deliver(const raft::Message& message);
  void RunScheduled();
  void RandomWorkload();
  void RandomFaults();
  void RandomMembershipChange(raft::NodeId leader);
  void RandomPartition();
  std::vector<raft::NodeId> LiveIds() const;
  int DownOrRecovering();

  SimOptions options_;
  SimRandom random_;
  raft::RaftConfig base_config_;  // drawn per seed
  SimNetwork network_;
  InvariantChecker checker_;
  EventLog events_;
  SimStats stats_;
  std::map<raft::NodeId, std::unique_ptr<SimNode>> nodes_;
  std::vector<raft::NodeId> genesis_;
  raft::NodeId next_node_id_;
  uint64_t now_ms_ = 0;
  uint64_t tick_ = 0;
  uint64_t steps_since_full_check_ = 0;
  uint64_t proposal_counter_ = 0;
  uint64_t read_counter_ = 0;

  // Random schedule state.
  bool faults_on_ = false;
  bool workload_on_ = false;
  bool membership_on_ = false;
  std::map<raft::NodeId, uint64_t> restart_at_tick_;
  std::set<raft::NodeId> lazy_;  // stepped but Ready not yet handled
  uint64_t heal_at_tick_ = 0;

  // sim_byzantine.cc
  void SetUpByzantine();
  void ByzantineTick();
  void CheckHonestProgress();
  void CheckHonestAgreement();
  void ForwardHonestViolations();
  std::vector<raft::NodeId> HonestIds() const;
  bool HonestCanTalk();
  std::unique_ptr<SimAdversary> adversary_;
  InvariantChecker hostile_checker_;  // what hostile nodes observe; never read
  // Equivocation: each honest node is checked on its own history.
  std::map<raft::NodeId, std::unique_ptr<InvariantChecker>> honest_checkers_;
  std::map<raft::NodeId, size_t> honest_violations_forwarded_;
  // Snapshot data digests of the states honest nodes reached, per index:
  // what an honest site would attest (the snapshot guard's oracle).
  std::set<std::pair<uint64_t, raft::ChainHash>> honest_snapshots_;
  ByzantineStats byzantine_stats_;
  bool evidence_of_divergence_ = false;
  bool honest_split_ = false;  // equivocation: honest nodes committed differently
  uint64_t window_start_tick_ = 0;
  uint64_t window_start_commit_ = 0;
  bool window_open_ = false;

  raft::NodeId stalling_leader_ = raft::kNoNode;
  std::set<raft::NodeId> stalling_ever_;
  uint64_t withheld_messages_ = 0;
};

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_SIM_CLUSTER_H_

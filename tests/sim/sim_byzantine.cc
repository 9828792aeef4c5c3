// The Byzantine simulation: SimCluster with one hostile site (sim_adversary.h).
//
// What is checked, on honest nodes only (the hostile ones report to a
// checker nobody reads):
//  I1  Truthful adversary: every invariant of invariant_checker.h across the
//      honest nodes (one leader per term, log matching, committed entries
//      never change, applied prefixes agree, no stale read). Equivocating
//      adversary: the same on each honest node's own history; honest nodes
//      may end up with different committed entries (three sites cannot
//      prevent that, n < 3f+1), but only with evidence: some honest node
//      raised an alarm against the hostile site.
//  I3  Every alarm an honest node raises names the hostile site (or, for
//      two leaders in one term, a pair of which one is hostile).
//  I4  Honest nodes' voters stay the charter's (the genesis voters): a
//      membership guard, as the charter does in the node, refuses the rest.
//  I5  While the adversary acts and the honest nodes are up and can reach
//      each other, the honest nodes commit something new in every window of
//      kProgressWindowTicks; once the adversary is silent or cut off, the
//      honest nodes elect an honest leader and converge. (A hostile leader
//      can still starve one honest follower while it commits with the
//      others: three sites cannot tell that follower from a slow one.)
// The snapshot guard vouches for a snapshot only if an honest node wrote a
// snapshot with that data at that index: the attestation an honest third
// site would give (the attestation protocol itself is the node's, not the
// core's).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/sim/sim_cluster.h"

namespace qbox::sim {
namespace {

constexpr uint64_t kProgressWindowTicks = 400;
// After an honest node restarts, it needs time to catch up before every
// honest node can be required to commit.
constexpr uint64_t kSettleTicks = 100;

}  // namespace

std::vector<raft::NodeId> SimCluster::HonestIds() const {
  std::vector<raft::NodeId> ids;
  for (raft::NodeId id : genesis_) {
    if (!IsHostile(id)) ids.push_back(id);
  }
  return ids;
}

void SimCluster::SetUpByzantine() {
  std::set<raft::NodeId> hostile = {1};
  if (genesis_.size() >= 5) hostile.insert(2);
  std::vector<raft::NodeId> honest;
  for (raft::NodeId id : genesis_) {
    if (!hostile.count(id)) honest.push_back(id);
  }
  adversary_ = std::make_unique<SimAdversary>(hostile, honest, options_.equivocate, &random_);
  for (raft::NodeId id : hostile) nodes_[id]->set_checker(&hostile_checker_);
  if (options_.equivocate) {
    for (raft::NodeId id : honest) {
      honest_checkers_[id] = std::make_unique<InvariantChecker>();
      nodes_[id]->set_checker(honest_checkers_[id].get());
    }
  }
  Record(absl::StrCat("BYZANTINE hostile site {", absl::StrJoin(hostile, ","), "}",
                      options_.equivocate ? ", equivocating" : ", truthful"));
}

void SimCluster::ForwardHonestViolations() {
  for (auto& [id, checker] : honest_checkers_) {
    size_t& done = honest_violations_forwarded_[id];
    const std::vector<std::string>& found = checker->violations();
    for (; done < found.size(); ++done) {
      checker_.ReportViolation("honest node", absl::StrCat("n", id, ": ", found[done]));
    }
  }
}

bool SimCluster::HonestCanTalk() {
  const std::vector<raft::NodeId> honest = HonestIds();
  for (raft::NodeId a : honest) {
    if (!nodes_[a]->alive() || restart_at_tick_.count(a)) return false;
    for (raft::NodeId b : honest) {
      if (a != b && network_.IsCut(a, b)) return false;
    }
  }
  return true;
}

void SimCluster::CheckHonestProgress() {
  if (!HonestCanTalk() || (options_.equivocate && evidence_of_divergence_)) {
    window_open_ = false;
    return;
  }
  uint64_t min_commit = UINT64_MAX, max_commit = 0;
  for (raft::NodeId id : HonestIds()) {
    const uint64_t commit = nodes_[id]->raft()->Status().hard_state.commit;
    min_commit = std::min(min_commit, commit);
    max_commit = std::max(max_commit, commit);
  }
  if (!window_open_) {
    window_open_ = true;
    // A node back from a crash first catches up.
    window_start_tick_ = tick_ + kSettleTicks;
    window_start_commit_ = max_commit;
    return;
  }
  if (tick_ == window_start_tick_) window_start_commit_ = max_commit;
  if (tick_ < window_start_tick_ + kProgressWindowTicks) return;
  ++byzantine_stats_.liveness_windows;
  if (max_commit <= window_start_commit_) {
    checker_.ReportViolation(
        "liveness under attack",
        absl::StrCat("the honest nodes could reach each other for ", kProgressWindowTicks,
                     " ticks while the hostile site acted, but none of them committed past "
                     "index ",
                     window_start_commit_, " (honest commit indexes ", min_commit, " to ",
                     max_commit, ")"));
  }
  window_start_tick_ = tick_;
  window_start_commit_ = max_commit;
}

void SimCluster::CheckHonestAgreement() {
  // I4: the charter's voters, and nobody else, vote on every honest node.
  for (raft::NodeId id : HonestIds()) {
    SimNode* n = nodes_[id].get();
    if (!n->alive()) continue;
    const raft::RaftStatus status = n->raft()->Status();
    // A node rebuilding after storage loss knows no configuration yet.
    if (status.hard_state.recovering && status.conf.voters.empty()) continue;
    std::vector<raft::NodeId> voters = status.conf.voters;
    std::sort(voters.begin(), voters.end());
    if (voters != genesis_) {
      checker_.ReportViolation("charter voters",
                               absl::StrCat("n", id, " counts voters {", absl::StrJoin(voters, ","),
                                            "}, the charter {", absl::StrJoin(genesis_, ","), "}"));
    }
  }
  if (!options_.equivocate) return;  // the shared checker compares honest logs
  // I1 across honest nodes under equivocation: a split needs evidence by
  // the end of the run (RunByzantineSchedule); here it is only noted.
  const std::vector<raft::NodeId> honest = HonestIds();
  for (size_t i = 0; i < honest.size(); ++i) {
    for (size_t j = i + 1; j < honest.size(); ++j) {
      SimNode* a = nodes_[honest[i]].get();
      SimNode* b = nodes_[honest[j]].get();
      if (!a->alive() || !b->alive()) continue;
      const uint64_t common =
          std::min(a->raft()->Status().hard_state.commit, b->raft()->Status().hard_state.commit);
      auto ca = a->storage().Chain(common);
      auto cb = b->storage().Chain(common);
      if (ca.ok() && cb.ok() && *ca != *cb && !honest_split_) {
        honest_split_ = true;
        Record(absl::StrCat("SPLIT n", honest[i], " and n", honest[j],
                            " committed different entries at or below index ", common));
      }
    }
  }
}

void SimCluster::ByzantineTick() {
  ForwardHonestViolations();
  CheckHonestAgreement();
  if (!faults_on_) return;
  if (random_.Chance(adversary_->silent() ? 0.02 : 0.004)) {
    adversary_->set_silent(!adversary_->silent());
    Record(adversary_->silent() ? "ADVERSARY silent" : "ADVERSARY talks again");
  }
  if (!adversary_->silent()) {
    for (const raft::Message& m : adversary_->Fabricate()) network_.Send(now_ms_, m);
  }
  CheckHonestProgress();
}

absl::Status SimCluster::HonestConverged() {
  const raft::NodeId leader = Leader();
  if (leader == raft::kNoNode) return absl::UnavailableError("no leader");
  if (IsHostile(leader))
    return absl::UnavailableError(absl::StrCat("leader n", leader, " is hostile"));
  raft::RaftStatus ls = nodes_[leader]->raft()->Status();
  for (raft::NodeId id : HonestIds()) {
    SimNode* n = nodes_[id].get();
    if (!n->alive()) return absl::UnavailableError(absl::StrCat("n", id, " is down"));
    raft::RaftStatus s = n->raft()->Status();
    if (s.hard_state.commit != ls.hard_state.commit || s.last_index != ls.last_index ||
        n->state().applied_index() != ls.hard_state.commit ||
        n->state().digest() != nodes_[leader]->state().digest()) {
      return absl::UnavailableError(absl::StrCat("n", id, " at commit ", s.hard_state.commit,
                                                 " last ", s.last_index, " applied ",
                                                 n->state().applied_index(), "; leader n", leader,
                                                 " at ", ls.hard_state.commit, "/", ls.last_index));
    }
  }
  return absl::OkStatus();
}

void SimCluster::RunByzantineSchedule(uint64_t active_ticks, uint64_t quiet_ticks) {
  NetworkFaults& faults = network_.faults();
  faults.drop = static_cast<double>(random_.Uniform(0, 5)) / 100;
  faults.duplicate = 0.02;
  faults.min_delay_ms = 1;
  faults.max_delay_ms = random_.Uniform(2, 15);
  faults.long_delay = 0.01;
  faults.long_delay_ms = 200;
  faults_on_ = true;
  workload_on_ = true;
  membership_on_ = false;  // the charter's voters stay (I4)
  RunTicks(active_ticks);
  ForwardHonestViolations();
  if (!ok()) return;

  // I5: the adversary goes silent, or is cut off (it still sends; nobody
  // hears it), and every honest node is back.
  faults_on_ = false;
  faults = NetworkFaults();
  heal_at_tick_ = 0;
  HealNetwork();
  const bool cut_off = random_.Chance(0.5);
  adversary_->set_silent(!cut_off);
  if (cut_off) {
    for (raft::NodeId h : adversary_->hostile()) Isolate(h);
  }
  restart_at_tick_.clear();
  for (raft::NodeId id : HonestIds()) {
    if (nodes_[id]->alive()) nodes_[id]->ArmCrash(CrashPoint::kNone);
    absl::Status s = RestartNode(id);
    if (!s.ok()) checker_.ReportViolation("restart", s.ToString());
  }
  Record(cut_off ? "adversary cut off; honest nodes up" : "adversary silent; honest nodes up");
  if (options_.equivocate && honest_split_) {
    // Three sites cannot undo a split the hostile site made (n < 3f+1);
    // what must hold is that an honest node saw it.
    ++byzantine_stats_.divergences_detected;
    if (!evidence_of_divergence_) {
      checker_.ReportViolation("equivocation unnoticed",
                               "honest nodes committed different entries and none of them "
                               "raised an alarm against the hostile site");
    }
    return;
  }
  bool proposed = false;
  const bool converged = RunUntil(
      [&] {
        ForwardHonestViolations();
        if (!proposed) {
          const raft::NodeId leader = Leader();
          if (leader != raft::kNoNode && !IsHostile(leader) &&
              Propose(leader, absl::StrCat("final=", options_.seed)).ok()) {
            proposed = true;
          }
          return false;
        }
        return HonestConverged().ok();
      },
      quiet_ticks);
  ForwardHonestViolations();
  if (!ok()) return;
  if (!converged) {
    if (options_.equivocate && evidence_of_divergence_) {
      // An honest node committed what the hostile leader told it alone
      // (n < 3f+1); the alarms are the evidence the recovery starts from.
      ++byzantine_stats_.divergences_detected;
      return;
    }
    checker_.ReportViolation(
        "liveness after the attack",
        absl::StrCat("honest nodes did not converge ", quiet_ticks,
                     " ticks after the hostile site went ",
                     cut_off ? "out of reach: " : "silent: ", HonestConverged().ToString()));
  }
  byzantine_stats_.adversary = adversary_->stats();
}

}  // namespace qbox::sim

#include "tests/sim/sim_cluster.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qbox::sim {
namespace {

// Full rescans of every stored log happen this often (in delivered
// messages); the per-step checks see every write as it happens.
constexpr uint64_t kFullCheckEvery = 64;
// New learners get ids from here on, so they never collide with genesis ids.
constexpr raft::NodeId kFirstJoinerId = 100;
constexpr int kMaxJoiners = 4;

std::string DescribeMessage(const raft::Message& m) {
  std::string line =
      absl::StrCat(m.from, "->", m.to, " ", raft::MessageTypeName(m.type), " t", m.term);
  switch (m.type) {
    case raft::MessageType::kAppend:
      absl::StrAppend(&line, " prev=", m.index, "/", m.log_term, " n=", m.entries.size(),
                      " commit=", m.commit);
      break;
    case raft::MessageType::kAppendResp:
      absl::StrAppend(&line, " idx=", m.index, m.reject ? " REJECT hint=" : "",
                      m.reject ? absl::StrCat(m.reject_hint, "/", m.hint_term) : "",
                      m.recovering ? " recovering" : "");
      break;
    case raft::MessageType::kVote:
    case raft::MessageType::kPreVote:
      absl::StrAppend(&line, " last=", m.index, "/", m.log_term);
      break;
    case raft::MessageType::kVoteResp:
    case raft::MessageType::kPreVoteResp:
      absl::StrAppend(&line, m.reject ? " REJECT" : " grant");
      break;
    case raft::MessageType::kSnapshotChunk:
      absl::StrAppend(&line, " snap=", m.snapshot.index, " off=", m.chunk_offset,
                      " len=", m.chunk_data.size(), m.chunk_last ? " last" : "");
      break;
    case raft::MessageType::kSnapshotResp:
      absl::StrAppend(&line, " snap=", m.index, " next=", m.chunk_offset,
                      m.reject ? " REJECT" : "");
      break;
    case raft::MessageType::kHeartbeat:
      absl::StrAppend(&line, " commit=", m.commit);
      break;
    default:
      if (!m.context.empty()) absl::StrAppend(&line, " ctx=", m.context, " idx=", m.index);
      break;
  }
  return line;
}

}  // namespace

SimCluster::SimCluster(const SimOptions& options)
    : options_(options),
      random_(options.seed),
      network_(&random_),
      events_(options.event_tail),
      next_node_id_(kFirstJoinerId) {
  // Per-seed knobs: small batches, windows and chunks so that flow control
  // and chunked InstallSnapshot are exercised constantly.
  base_config_.election_ticks = 10;
  base_config_.heartbeat_ticks = static_cast<int>(random_.Uniform(1, 3));
  base_config_.random_seed = options.seed;
  base_config_.max_append_bytes = random_.Uniform(64, 2048);
  base_config_.max_inflight_messages = static_cast<int>(random_.Uniform(1, 8));
  base_config_.max_inflight_bytes = random_.Uniform(256, 8192);
  base_config_.max_uncommitted_bytes = random_.Uniform(2048, 65536);
  base_config_.snapshot_chunk_bytes = 64;
  base_config_.promote_max_lag = 20;
  base_config_.stall_ticks = options.stall_ticks;
  if (options.byzantine) {
    // The adversary, not flow control, is under test: windows wide enough
    // that a follower one backlog behind catches up within the schedule.
    base_config_.max_append_bytes = std::max<uint64_t>(base_config_.max_append_bytes, 1024);
    base_config_.max_inflight_messages = std::max(base_config_.max_inflight_messages, 4);
    base_config_.max_inflight_bytes = std::max<uint64_t>(base_config_.max_inflight_bytes, 8192);
  }
  for (int i = 1; i <= options.num_nodes; ++i) genesis_.push_back(static_cast<raft::NodeId>(i));
}

SimCluster::~SimCluster() = default;

raft::RaftConfig SimCluster::ConfigFor(raft::NodeId id) {
  raft::RaftConfig config = base_config_;
  config.id = id;
  const bool hostile = options_.byzantine && (id == 1 || (id == 2 && options_.num_nodes >= 5));
  if (options_.byzantine && !hostile) {
    // What the node's charter and attestation decide (sim_byzantine.cc).
    config.snapshot_guard = [this](const raft::SnapshotMeta& meta, raft::NodeId, bool) {
      if (honest_snapshots_.count({meta.index, meta.data_digest}) > 0) return absl::OkStatus();
      return absl::FailedPreconditionError(
          absl::StrCat("no honest site attested the state at index ", meta.index));
    };
    config.membership_guard = [](const raft::ConfChange& change,
                                 const raft::ConfState& before) -> absl::Status {
      if (change.kind == raft::ConfChange::Kind::kRemoveNode && before.IsVoter(change.node)) {
        return absl::FailedPreconditionError("removing a charter voter needs an executed proposal");
      }
      if (change.kind == raft::ConfChange::Kind::kPromoteLearner) {
        return absl::FailedPreconditionError("the charter lists no such voter");
      }
      return absl::OkStatus();
    };
  }
  return config;
}

bool SimCluster::ExpectedAlarm(const raft::Alarm& alarm) {
  if (alarm.kind == raft::Alarm::Kind::kLeaderStalled && stalling_ever_.count(alarm.from) > 0) {
    return true;
  }
  if (!adversary_) return false;
  if (alarm.kind == raft::Alarm::Kind::kRefusedSnapshot) ++byzantine_stats_.snapshots_refused;
  // "Committed nothing for a while" is a fact, not an accusation: with the
  // hostile site withholding its acknowledgements, an honest leader that
  // lost one honest follower stalls too.
  if (alarm.kind == raft::Alarm::Kind::kLeaderStalled) return true;
  // An alarm against the hostile site is the point. "Two leaders" names the
  // second one, which may be the honest one when the hostile node came first.
  if (IsHostile(alarm.from) || alarm.kind == raft::Alarm::Kind::kTwoLeaders) {
    ++byzantine_stats_.alarms_against_hostile;
    evidence_of_divergence_ = true;
    return true;
  }
  // After equivocation, honest nodes refuse each other's conflicting entries.
  if (adversary_->equivocates()) {
    evidence_of_divergence_ = true;
    return true;
  }
  return false;
}

void SimCluster::SnapshotWritten(raft::NodeId node, const raft::SnapshotMeta& meta) {
  if (adversary_ && !IsHostile(node)) honest_snapshots_.insert({meta.index, meta.data_digest});
}

void SimCluster::Applied(raft::NodeId node, const HashStateMachine& state) {
  if (!adversary_ || IsHostile(node)) return;
  const std::string data = state.Serialize();
  honest_snapshots_.insert({state.applied_index(), state.SnapshotMetaFor(data).data_digest});
}

SimNode* SimCluster::AddNode(raft::NodeId id) {
  auto node = std::make_unique<SimNode>(id, ConfigFor(id), this);
  node->set_snapshot_every(random_.Uniform(8, 40));
  node->set_compact_lag(options_.compact_behind_snapshot ? 3 : 0);
  SimNode* raw = node.get();
  nodes_[id] = std::move(node);
  return raw;
}

absl::Status SimCluster::Start() {
  for (raft::NodeId id : genesis_) {
    SimNode* node = AddNode(id);
    absl::Status s = node->Bootstrap(genesis_);
    if (!s.ok()) return s;
  }
  if (options_.byzantine) SetUpByzantine();
  for (raft::NodeId id : genesis_) {
    absl::Status s = nodes_[id]->Start();
    if (!s.ok()) return s;
  }
  Record(absl::StrCat("started ", genesis_.size(), " nodes, seed ", options_.seed));
  return absl::OkStatus();
}

void SimCluster::Send(const raft::Message& message) {
  // G4: a node rebuilding after storage loss grants no votes, not even
  // pre-votes. The Ready being sent was produced by the node's current state.
  const bool grant = !message.reject && (message.type == raft::MessageType::kVoteResp ||
                                         message.type == raft::MessageType::kPreVoteResp);
  if (grant) {
    SimNode* sender = node(message.from);
    if (sender != nullptr && sender->alive() && sender->raft()->Status().hard_state.recovering) {
      checker_.ReportViolation(
          "recovering node voted",
          absl::StrCat("node ", message.from, " granted a ", raft::MessageTypeName(message.type),
                       " to node ", message.to, " in term ", message.term,
                       " while recovering from storage loss"));
    }
  }
  if (adversary_ && adversary_->IsHostile(message.from)) {
    for (const raft::Message& m : adversary_->Transform(message)) network_.Send(now_ms_, m);
    return;
  }
  if (message.from == stalling_leader_ && (message.type == raft::MessageType::kAppend ||
                                           message.type == raft::MessageType::kSnapshotChunk)) {
    ++withheld_messages_;
    return;  // the stalling leader keeps its entries to itself
  }
  network_.Send(now_ms_, message);
}

void SimCluster::Record(absl::string_view line) { events_.Add(now_ms_, line); }

SimNode* SimCluster::node(raft::NodeId id) {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : it->second.get();
}

std::vector<raft::NodeId> SimCluster::node_ids() const {
  std::vector<raft::NodeId> ids;
  for (const auto& [id, node] : nodes_) ids.push_back(id);
  return ids;
}

std::vector<raft::NodeId> SimCluster::LiveIds() const {
  std::vector<raft::NodeId> ids;
  for (const auto& [id, node] : nodes_) {
    if (node->alive()) ids.push_back(id);
  }
  return ids;
}

raft::NodeId SimCluster::Leader() {
  raft::NodeId leader = raft::kNoNode;
  uint64_t best_term = 0;
  for (const auto& [id, node] : nodes_) {
    if (!node->alive()) continue;
    raft::RaftStatus status = node->raft()->Status();
    if (status.role == raft::Role::kLeader && status.hard_state.term >= best_term) {
      leader = id;
      best_term = status.hard_state.term;
    }
  }
  return leader;
}

void SimCluster::Deliver(const raft::Message& message) {
  ++stats_.deliveries;
  SimNode* target = node(message.to);
  if (target == nullptr || !target->alive()) return;
  if (adversary_ && adversary_->IsHostile(message.to)) adversary_->Observe(message);
  Record(DescribeMessage(message));
  absl::Status s = target->raft()->Step(message);
  if (!s.ok()) Record(absl::StrCat("n", message.to, " refused: ", s.ToString()));
  // Now and then a node lets several messages pile up before it handles its
  // Ready, as a busy runtime would, so that one Ready answers many inputs.
  if (options_.batched_ready && faults_on_ && random_.Chance(0.25)) {
    lazy_.insert(message.to);
  } else {
    lazy_.erase(message.to);
    target->Process();
  }
  if (++steps_since_full_check_ >= kFullCheckEvery) {
    steps_since_full_check_ = 0;
    for (auto& [id, n] : nodes_) n->FullCheck();
  }
}

void SimCluster::RunTicks(uint64_t ticks) {
  for (uint64_t i = 0; i < ticks && checker_.ok(); ++i) {
    const uint64_t tick_end = now_ms_ + kTickMs;
    for (;;) {
      std::optional<uint64_t> due = network_.NextDeliveryTime();
      if (!due.has_value() || *due >= tick_end || !checker_.ok()) break;
      now_ms_ = std::max(now_ms_, *due);
      std::optional<raft::Message> message = network_.PopDue(now_ms_);
      if (message.has_value()) Deliver(*message);
    }
    now_ms_ = tick_end;
    ++tick_;
    ++stats_.ticks;
    for (raft::NodeId id : lazy_) nodes_[id]->Process();
    lazy_.clear();
    RunScheduled();
    if (adversary_) ByzantineTick();
    if (workload_on_) RandomWorkload();
    if (faults_on_) RandomFaults();
    for (auto& [id, n] : nodes_) {
      if (!n->alive()) continue;
      // A slow clock now and then, so that nodes' timers drift apart.
      if (!(faults_on_ && random_.Chance(0.03))) n->raft()->Tick();
      n->Process();
    }
  }
}

bool SimCluster::RunUntil(const std::function<bool()>& done, uint64_t max_ticks) {
  for (uint64_t i = 0; i < max_ticks; ++i) {
    if (!checker_.ok()) return false;
    if (done()) return true;
    RunTicks(1);
  }
  return checker_.ok() && done();
}

void SimCluster::Isolate(raft::NodeId id) {
  for (const auto& [other, n] : nodes_) {
    if (other != id) network_.CutBothWays(id, other);
  }
  Record(absl::StrCat("PARTITION isolate n", id));
}

void SimCluster::HealNetwork() {
  if (network_.partitioned()) Record("HEAL network");
  network_.HealAll();
}

void SimCluster::CrashNode(raft::NodeId id) {
  SimNode* n = node(id);
  if (n == nullptr || !n->alive()) return;
  ++stats_.crashes;
  n->Crash("now");
}

absl::Status SimCluster::RestartNode(raft::NodeId id) {
  SimNode* n = node(id);
  if (n == nullptr) return absl::NotFoundError(absl::StrCat("no node ", id));
  if (n->alive()) return absl::OkStatus();
  checker_.ObserveRestart(id);
  Record(absl::StrCat("RESTART n", id));
  return n->Start();
}

absl::Status SimCluster::WipeAndRestart(raft::NodeId id) {
  SimNode* n = node(id);
  if (n == nullptr) return absl::NotFoundError(absl::StrCat("no node ", id));
  if (n->alive()) n->Crash("before wipe");
  ++stats_.wipes;
  n->WipeStorage();
  if (options_.naive_wipe) {
    absl::Status s = n->Bootstrap(genesis_);
    if (!s.ok()) return s;
  }
  Record(absl::StrCat("RESTART n", id, " on empty storage"));
  return n->Start();
}

absl::StatusOr<uint64_t> SimCluster::Propose(raft::NodeId id, std::string data) {
  SimNode* n = node(id);
  if (n == nullptr || !n->alive()) return absl::UnavailableError("node down");
  absl::StatusOr<uint64_t> index = n->raft()->Propose(std::move(data));
  if (index.ok()) {
    ++stats_.proposals_accepted;
    n->Process();
  }
  return index;
}

int SimCluster::DownOrRecovering() {
  // Members as the leader sees them; joiners that never made it into the
  // configuration, and removed nodes, do not matter for progress.
  std::vector<raft::NodeId> members = node_ids();
  const raft::NodeId leader = Leader();
  if (leader != raft::kNoNode) {
    raft::ConfState conf = nodes_[leader]->raft()->Status().conf;
    members = conf.voters;
    members.insert(members.end(), conf.learners.begin(), conf.learners.end());
  }
  int count = 0;
  for (raft::NodeId id : members) {
    SimNode* n = node(id);
    if (n == nullptr) continue;
    if (!n->alive() || n->raft()->Status().hard_state.recovering) ++count;
  }
  return count;
}

void SimCluster::RunScheduled() {
  for (auto it = restart_at_tick_.begin(); it != restart_at_tick_.end();) {
    if (it->second <= tick_) {
      raft::NodeId id = it->first;
      it = restart_at_tick_.erase(it);
      SimNode* n = node(id);
      // An armed crash that never struck (no write came along) is dropped.
      if (n != nullptr && n->alive()) n->ArmCrash(CrashPoint::kNone);
      absl::Status s = RestartNode(id);
      if (!s.ok())
        checker_.ReportViolation("restart", absl::StrCat("node ", id, ": ", s.ToString()));
    } else {
      ++it;
    }
  }
  if (heal_at_tick_ != 0 && heal_at_tick_ <= tick_) {
    heal_at_tick_ = 0;
    HealNetwork();
  }
}

void SimCluster::RandomWorkload() {
  raft::NodeId leader = Leader();
  // Proposals go to the leader, and now and then to a random node, which
  // must refuse them unless it leads.
  if (random_.Chance(0.6)) {
    std::vector<raft::NodeId> live = LiveIds();
    raft::NodeId target = leader;
    if (target == raft::kNoNode || random_.Chance(0.1)) {
      target = live.empty() ? raft::kNoNode : random_.Pick(live);
    }
    if (target != raft::kNoNode) {
      const uint64_t batch = random_.Uniform(1, 4);
      for (uint64_t i = 0; i < batch; ++i) {
        std::string data = absl::StrCat("k", random_.Uniform(0, 15), "=v", options_.seed, "-",
                                        ++proposal_counter_);
        if (!Propose(target, std::move(data)).ok()) break;
      }
    }
  }
  if (random_.Chance(0.05)) {
    std::vector<raft::NodeId> live = LiveIds();
    if (!live.empty()) {
      raft::NodeId target = random_.Pick(live);
      std::string context = absl::StrCat("read-", ++read_counter_);
      checker_.ObserveReadRequested(context);
      for (auto& [id, checker] : honest_checkers_) checker->ObserveReadRequested(context);
      if (nodes_[target]->raft()->ReadIndex(context).ok()) {
        ++stats_.reads;
        Record(absl::StrCat("READ '", context, "' asked at n", target));
        nodes_[target]->Process();
      }
    }
  }
  // The proposals above may have struck an armed crash.
  leader = Leader();
  if (leader == raft::kNoNode) return;
  if (random_.Chance(0.004)) {
    raft::RaftStatus status = nodes_[leader]->raft()->Status();
    std::vector<raft::NodeId> others;
    for (raft::NodeId v : status.conf.voters) {
      if (v != leader) others.push_back(v);
    }
    if (!others.empty()) {
      raft::NodeId to = random_.Pick(others);
      absl::Status s = nodes_[leader]->raft()->TransferLeadership(to);
      Record(absl::StrCat("TRANSFER n", leader, " -> n", to, ": ", s.ToString()));
      if (s.ok()) ++stats_.transfers;
      nodes_[leader]->Process();
    }
  }
  leader = Leader();
  if (leader != raft::kNoNode && membership_on_ && random_.Chance(0.02)) {
    RandomMembershipChange(leader);
  }
}

void SimCluster::RandomMembershipChange(raft::NodeId leader) {
  SimNode* leader_node = nodes_[leader].get();
  raft::RaftStatus status = leader_node->raft()->Status();
  const size_t n = genesis_.size();
  const size_t min_voters = n == 5 ? 4 : 3;
  const size_t max_voters = n + 1;
  raft::ConfChange change;
  if (!status.conf.learners.empty()) {
    raft::NodeId learner = random_.Pick(status.conf.learners);
    SimNode* learner_node = node(learner);
    auto progress = status.progress.find(learner);
    const bool caught_up = progress != status.progress.end() && !progress->second.recovering &&
                           progress->second.match + 5 >= status.last_index;
    if (status.conf.voters.size() < max_voters && caught_up && learner_node != nullptr &&
        learner_node->alive()) {
      change.kind = raft::ConfChange::Kind::kPromoteLearner;
    } else if (random_.Chance(0.1)) {
      change.kind = raft::ConfChange::Kind::kRemoveNode;  // give up on it
    } else {
      return;
    }
    change.node = learner;
  } else if (status.conf.voters.size() > max_voters - 1 ||
             (status.conf.voters.size() > min_voters && random_.Chance(0.5))) {
    // Removing a voter while another one rebuilds could leave too few
    // healthy voters for the rebuilding one ever to catch up.
    if (DownOrRecovering() > 0) return;
    std::vector<raft::NodeId> candidates;
    for (raft::NodeId v : status.conf.voters) {
      if (v != leader || random_.Chance(0.2)) candidates.push_back(v);
    }
    if (candidates.empty()) return;
    change.kind = raft::ConfChange::Kind::kRemoveNode;
    change.node = random_.Pick(candidates);
  } else {
    if (next_node_id_ >= kFirstJoinerId + kMaxJoiners) return;
    change.kind = raft::ConfChange::Kind::kAddLearner;
    change.node = next_node_id_;
  }
  absl::StatusOr<uint64_t> index = leader_node->raft()->ProposeConfChange(change);
  static constexpr const char* kKinds[] = {"add learner", "promote", "remove", "genesis"};
  Record(absl::StrCat("CONF n", leader, " proposes ", kKinds[static_cast<int>(change.kind)], " n",
                      change.node, ": ",
                      index.ok() ? absl::StrCat("index ", *index) : index.status().ToString()));
  if (!index.ok()) return;
  ++stats_.conf_changes;
  if (change.kind == raft::ConfChange::Kind::kAddLearner) {
    ++next_node_id_;
    SimNode* joiner = AddNode(change.node);
    absl::Status s = joiner->Start();
    if (!s.ok()) {
      checker_.ReportViolation("start", absl::StrCat("joiner ", change.node, ": ", s.ToString()));
    }
  }
  leader_node->Process();
}

void SimCluster::RandomPartition() {
  std::vector<raft::NodeId> ids = node_ids();
  const raft::NodeId leader = Leader();
  ++stats_.partitions;
  switch (random_.Uniform(0, 4)) {
    case 0:  // the leader alone
      Isolate(leader != raft::kNoNode ? leader : random_.Pick(ids));
      break;
    case 1:  // any node alone
      Isolate(random_.Pick(ids));
      break;
    case 2: {  // one node can send but not receive, or the other way round
      raft::NodeId x = leader != raft::kNoNode && random_.Chance(0.5) ? leader : random_.Pick(ids);
      const bool outbound = random_.Chance(0.5);
      for (raft::NodeId other : ids) {
        if (other == x) continue;
        if (outbound) {
          network_.Cut(x, other);
        } else {
          network_.Cut(other, x);
        }
      }
      Record(absl::StrCat("PARTITION n", x, outbound ? " cannot send" : " cannot receive"));
      break;
    }
    case 3: {  // one-way cut of a single link
      raft::NodeId a = random_.Pick(ids);
      raft::NodeId b = random_.Pick(ids);
      if (a != b) network_.Cut(a, b);
      Record(absl::StrCat("PARTITION link n", a, " -> n", b, " cut"));
      break;
    }
    default: {  // a minority/majority split
      std::vector<raft::NodeId> shuffled = ids;
      for (size_t i = shuffled.size(); i > 1; --i) {
        std::swap(shuffled[i - 1], shuffled[random_.Uniform(0, i - 1)]);
      }
      const size_t minority =
          random_.Uniform(1, (shuffled.size() - 1) / 2 > 0 ? (shuffled.size() - 1) / 2 : 1);
      std::vector<raft::NodeId> side(shuffled.begin(), shuffled.begin() + minority);
      for (size_t i = 0; i < minority; ++i) {
        for (size_t j = minority; j < shuffled.size(); ++j) {
          network_.CutBothWays(shuffled[i], shuffled[j]);
        }
      }
      Record(absl::StrCat("PARTITION split {", absl::StrJoin(side, ","), "} from the rest"));
      break;
    }
  }
  heal_at_tick_ = tick_ + random_.Uniform(10, 200);
}

void SimCluster::RandomFaults() {
  std::vector<raft::NodeId> ids = node_ids();
  const int max_down = static_cast<int>((genesis_.size() - 1) / 2);
  // With a hostile site, honest faults are rarer, so that the honest nodes
  // spend most of the schedule able to reach each other (I5 under attack).
  const double rate = options_.byzantine ? 0.002 : 0.006;
  if (random_.Chance(rate) && DownOrRecovering() < max_down) {
    raft::NodeId leader = Leader();
    raft::NodeId victim =
        leader != raft::kNoNode && random_.Chance(0.4) ? leader : random_.Pick(ids);
    SimNode* n = nodes_[victim].get();
    if (n->alive()) {
      ++stats_.crashes;
      switch (random_.Uniform(0, 3)) {
        case 0:
          n->Crash("now");
          break;
        case 1:
          n->ArmCrash(CrashPoint::kAfterSendBeforePersist);
          break;
        case 2:
          n->ArmCrash(CrashPoint::kAfterPersistBeforeSend);
          break;
        default:
          n->ArmCrash(CrashPoint::kBeforeApply);
          break;
      }
      restart_at_tick_[victim] = tick_ + random_.Uniform(5, 150);
    }
  }
  // A wipe only while everything else is healthy: the guarantee is
  // for one lost disk at a time.
  // With a hostile site, a lost honest disk would be a second fault.
  if (!options_.byzantine && random_.Chance(0.0015) && DownOrRecovering() == 0) {
    raft::NodeId victim = random_.Pick(ids);
    SimNode* n = nodes_[victim].get();
    if (n->alive()) {
      n->Crash("before wipe");
      ++stats_.wipes;
      n->WipeStorage();
      if (options_.naive_wipe) (void)n->Bootstrap(genesis_);
      restart_at_tick_[victim] = tick_ + random_.Uniform(1, 100);
    }
  }
  if (heal_at_tick_ == 0 && random_.Chance(rate)) RandomPartition();
}

absl::Status SimCluster::Converged() {
  const raft::NodeId leader = Leader();
  if (leader == raft::kNoNode) return absl::UnavailableError("no leader");
  raft::RaftStatus ls = nodes_[leader]->raft()->Status();
  if (ls.hard_state.commit != ls.last_index) {
    return absl::UnavailableError(absl::StrCat("leader n", leader, " commit ", ls.hard_state.commit,
                                               " < last index ", ls.last_index));
  }
  const HashStateMachine& leader_state = nodes_[leader]->state();
  if (leader_state.applied_index() != ls.hard_state.commit) {
    return absl::UnavailableError(absl::StrCat("leader n", leader, " applied ",
                                               leader_state.applied_index(), " of ",
                                               ls.hard_state.commit));
  }
  std::vector<raft::NodeId> members = ls.conf.voters;
  members.insert(members.end(), ls.conf.learners.begin(), ls.conf.learners.end());
  for (raft::NodeId id : members) {
    SimNode* n = node(id);
    if (n == nullptr || !n->alive()) {
      return absl::UnavailableError(absl::StrCat("member n", id, " is not running"));
    }
    raft::RaftStatus s = n->raft()->Status();
    if (s.hard_state.recovering) {
      return absl::UnavailableError(absl::StrCat("member n", id, " is still recovering"));
    }
    if (s.hard_state.commit != ls.hard_state.commit || s.last_index != ls.last_index ||
        n->state().applied_index() != leader_state.applied_index() ||
        n->state().digest() != leader_state.digest()) {
      return absl::UnavailableError(absl::StrCat(
          "member n", id, " at commit ", s.hard_state.commit, " last ", s.last_index, " applied ",
          n->state().applied_index(), "; leader n", leader, " at ", ls.hard_state.commit, "/",
          ls.last_index, "/", leader_state.applied_index()));
    }
  }
  return absl::OkStatus();
}

void SimCluster::RunRandomSchedule(uint64_t fault_ticks, uint64_t quiet_ticks) {
  NetworkFaults& faults = network_.faults();
  faults.drop = static_cast<double>(random_.Uniform(0, 10)) / 100;
  faults.duplicate = 0.02;
  faults.min_delay_ms = 1;
  faults.max_delay_ms = random_.Uniform(2, 15);
  faults.long_delay = 0.02;
  faults.long_delay_ms = 300;
  faults_on_ = true;
  workload_on_ = true;
  membership_on_ = true;
  RunTicks(fault_ticks);
  if (!ok()) return;

  // Heal: no more faults, every node back, proposals for a while longer.
  faults_on_ = false;
  membership_on_ = false;
  faults = NetworkFaults();
  heal_at_tick_ = 0;
  HealNetwork();
  restart_at_tick_.clear();
  for (raft::NodeId id : node_ids()) {
    if (nodes_[id]->alive()) nodes_[id]->ArmCrash(CrashPoint::kNone);
    absl::Status s = RestartNode(id);
    if (!s.ok()) checker_.ReportViolation("restart", s.ToString());
  }
  Record("faults over: network healed, all nodes up");
  RunTicks(quiet_ticks / 4);
  workload_on_ = false;
  if (!ok()) return;
  const uint64_t committed_before = checker_.max_committed_index();
  // Liveness: a fresh proposal commits and every member converges. Without
  // a leader for kDeadlockTicks, an election that nobody can win is
  // reported at once, with the reasons, rather than at the end.
  constexpr uint64_t kDeadlockTicks = 200;
  uint64_t leaderless_ticks = 0;
  bool final_proposed = false;
  bool converged = RunUntil(
      [&] {
        if (Leader() != raft::kNoNode) {
          leaderless_ticks = 0;
        } else if (++leaderless_ticks == kDeadlockTicks) {
          std::string deadlock = ElectionDeadlock();
          if (!deadlock.empty()) {
            checker_.ReportViolation(
                "liveness", absl::StrCat("no node can win an election after healing:", deadlock));
          }
        }
        if (!final_proposed) {
          raft::NodeId leader = Leader();
          if (leader != raft::kNoNode &&
              Propose(leader, absl::StrCat("final=", options_.seed)).ok()) {
            final_proposed = true;
          }
          return false;
        }
        return checker_.max_committed_index() > committed_before && Converged().ok();
      },
      quiet_ticks);
  if (!ok()) return;
  if (!converged) {
    std::string deadlock = Leader() == raft::kNoNode ? ElectionDeadlock() : "";
    checker_.ReportViolation(
        "liveness", absl::StrCat("not converged ", quiet_ticks,
                                 " ticks after healing: ", Converged().ToString(),
                                 Leader() != raft::kNoNode ? ""
                                 : deadlock.empty()
                                     ? "; some node could win an election but none was elected"
                                     : absl::StrCat("; no node can win an election:", deadlock)));
    return;
  }
  const raft::NodeId leader = Leader();
  stats_.committed_commands = nodes_[leader]->state().normal_entries();
  for (const auto& [id, n] : nodes_) {
    stats_.snapshots_installed += n->snapshots_installed();
    stats_.snapshots_written_for_followers += n->snapshots_written_for_followers();
    stats_.reads_answered += n->reads_answered();
  }
  if (stats_.committed_commands == 0) {
    checker_.ReportViolation("liveness", "no proposal was ever committed");
  }
}

std::string SimCluster::ElectionDeadlock() const {
  // Who could win an election right now, judged by what does not change
  // while there is no leader: membership as each node sees it, recovery,
  // and logs (leases and timers run out by themselves). A node may stand if
  // it is a voter in its own configuration, or if another node counts it as
  // one (raft.cc: a stand-in).
  std::map<raft::NodeId, raft::RaftStatus> live;
  for (const auto& [id, n] : nodes_) {
    if (n->alive()) live.emplace(id, n->raft()->Status());
  }
  auto newer_or_equal = [](const raft::RaftStatus& a, const raft::RaftStatus& b) {
    return a.last_term > b.last_term ||
           (a.last_term == b.last_term && a.last_index >= b.last_index);
  };
  std::string why;
  for (const auto& [id, s] : live) {
    if (s.hard_state.recovering) continue;
    bool counted_by_someone = s.conf.IsVoter(id);
    for (const auto& [other, os] : live) counted_by_someone |= os.conf.IsVoter(id);
    if (!counted_by_someone) continue;
    size_t grants = s.conf.IsVoter(id) ? 1 : 0;
    std::vector<std::string> refusals;
    for (raft::NodeId voter : s.conf.voters) {
      if (voter == id) continue;
      auto it = live.find(voter);
      if (it == live.end()) {
        refusals.push_back(absl::StrCat(voter, " down"));
      } else if (it->second.hard_state.recovering) {
        refusals.push_back(absl::StrCat(voter, " recovering"));
      } else if (!newer_or_equal(s, it->second)) {
        refusals.push_back(absl::StrCat(voter, " has a newer log"));
      } else {
        ++grants;
      }
    }
    const size_t quorum = s.conf.voters.size() / 2 + 1;
    if (grants >= quorum) return "";
    absl::StrAppend(&why, " n", id, " gets ", grants, " of ", quorum, " votes (",
                    absl::StrJoin(refusals, ", "), ");");
  }
  return why.empty() ? " no node may stand" : why;
}

std::string SimCluster::DescribeNodes() const {
  std::string out;
  for (const auto& [id, n] : nodes_) {
    if (!n->alive()) {
      absl::StrAppend(&out, "  n", id, ": down\n");
      continue;
    }
    const raft::RaftStatus s = n->raft()->Status();
    absl::StrAppend(&out, "  n", id, ": ", raft::RoleName(s.role), " term ", s.hard_state.term,
                    " vote ", s.hard_state.vote, " leader ", s.leader, " log [", s.first_index,
                    ", ", s.last_index, "] commit ", s.hard_state.commit, " applied ",
                    n->state().applied_index(), " voters {", absl::StrJoin(s.conf.voters, ","),
                    "} learners {", absl::StrJoin(s.conf.learners, ","), "}",
                    s.hard_state.recovering
                        ? absl::StrCat(" RECOVERING target ", s.recovery_target,
                                       s.awaiting_attestation ? " (awaiting attestation)" : "")
                        : "",
                    "\n");
  }
  return out;
}

std::string SimCluster::FailureReport() const {
  std::string report = absl::StrCat("SIM FAILURE seed=", options_.seed,
                                    " nodes=", options_.num_nodes, " at t=", now_ms_, "ms\n");
  for (const std::string& v : checker_.violations()) {
    absl::StrAppend(&report, "  violation: ", v, "\n");
    if (report.size() > 4000) break;
  }
  absl::StrAppend(&report, "nodes at the end:\n", DescribeNodes());
  absl::StrAppend(&report, "last events (oldest first):\n", events_.Tail());
  absl::StrAppend(&report, "replay: SIM_SEED=", options_.seed,
                  " tests/sim/sim_test --gtest_filter='SimRandom.*'\n");
  return report;
}

}  // namespace qbox::sim

// Roles, elections, terms, membership and the Ready cycle of the consensus
// core. The leader side is in replication.cc, the follower side in
// follower.cc.
#include "node/raft/raft.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/common/status_macros.h"
#include "node/raft/raft_impl.h"

namespace qbox::raft {

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "unknown";
}

const char* AlarmKindName(Alarm::Kind kind) {
  switch (kind) {
    case Alarm::Kind::kRefusedTruncation: return "refused-truncation";
    case Alarm::Kind::kChainMismatch: return "chain-mismatch";
    case Alarm::Kind::kSnapshotMismatch: return "snapshot-mismatch";
    case Alarm::Kind::kLeaderStalled: return "leader-stalled";
    case Alarm::Kind::kRefusedMembership: return "refused-membership";
    case Alarm::Kind::kTwoLeaders:
      return "two-leaders";
    case Alarm::Kind::kRefusedSnapshot:
      return "refused-snapshot";
  }
  return "unknown";
}

Raft::Impl::Impl(const RaftConfig& config, LogStorage* storage)
    : config_(config), storage_(storage), log_(storage), rng_(config.random_seed), id_(config.id) {}

Raft::Impl::~Impl() { ResetIncomingSnapshot(); }

void Raft::Impl::Log(std::string_view line) const {
  if (config_.logger) config_.logger(absl::StrCat("raft ", id_, ": ", std::string(line)));
}

std::string Raft::Impl::Describe(NodeId id) const { return absl::StrCat(id); }

absl::Status Raft::Impl::Init() {
  if (id_ == kNoNode) return absl::InvalidArgumentError("config.id must not be 0");
  if (config_.heartbeat_ticks < 1 || config_.election_ticks <= config_.heartbeat_ticks) {
    return absl::InvalidArgumentError(
        "config.election_ticks must exceed config.heartbeat_ticks, which must be at least 1");
  }
  if (config_.max_inflight_messages < 1 || config_.max_append_bytes == 0 ||
      config_.max_inflight_bytes == 0 || config_.snapshot_chunk_bytes == 0) {
    return absl::InvalidArgumentError(
        "config.max_inflight_messages, max_append_bytes, max_inflight_bytes and "
        "snapshot_chunk_bytes must be positive");
  }
  if (config_.stall_ticks != 0 && config_.stall_ticks < 2 * config_.election_ticks) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config.stall_ticks (", config_.stall_ticks,
        ") must be 0 (off) or at least twice config.election_ticks (", config_.election_ticks,
        ")"));
  }
  ASSIGN_OR_RETURN(InitialState state, storage_->LoadInitialState());
  const HardState& hs = state.hard_state;
  if (hs.commit > storage_->LastIndex() && hs.commit > state.snapshot.index) {
    return absl::DataLossError(absl::StrCat("hard state commit index ", hs.commit,
                                            " is beyond the last stored index ",
                                            storage_->LastIndex()));
  }
  term_ = hs.term;
  vote_ = hs.vote;
  // A node that finds nothing on disk may have lost it (G4): it must not
  // vote or count toward commit until it has caught up.
  recovering_ = state.empty || hs.recovering;
  recovery_target_ = hs.recovering ? hs.recovery_target : 0;
  persisted_hard_state_ = hs;
  log_.Init(state.snapshot, hs.commit);

  base_conf_ = state.snapshot.conf;
  for (uint64_t lo = storage_->FirstIndex(); lo <= storage_->LastIndex();) {
    ASSIGN_OR_RETURN(std::vector<Entry> batch,
                     storage_->Entries(lo, storage_->LastIndex() + 1, 8 << 20));
    if (batch.empty()) break;
    OnConfEntriesAppended(batch);
    lo = batch.back().index + 1;
  }
  RecomputeConf();
  BecomeFollower(term_, kNoNode);
  Log(absl::StrCat("started at term ", term_, " with log [", log_.FirstIndex(), ", ",
                   log_.LastIndex(), "], commit ", log_.commit(), ", voters {",
                   absl::StrJoin(conf_.voters, ", "), "}",
                   recovering_ ? (state.empty ? "; storage was empty, rejoining as a "
                                                "recovering non-voter"
                                              : "; still recovering")
                               : ""));
  return absl::OkStatus();
}

// ---- roles ----

void Raft::Impl::ResetRoleState(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  leader_commit_ = 0;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetElectionTimeout();
  transferee_ = kNoNode;
  announced_transferee_ = kNoNode;
  votes_.clear();
  progress_.clear();
  pending_reads_.clear();
  reads_before_first_commit_.clear();
  uncommitted_.clear();
  uncommitted_bytes_ = 0;
}

void Raft::Impl::ResetElectionTimeout() {
  std::uniform_int_distribution<int> dist(config_.election_ticks, 2 * config_.election_ticks - 1);
  randomized_election_timeout_ = dist(rng_);
}

void Raft::Impl::BecomeFollower(uint64_t term, NodeId lead) {
  if (role_ == Role::kLeader) {
    Log(absl::StrCat("stepping down as leader of term ", term_, " (now term ", term, ")"));
  }
  ResetRoleState(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::Impl::BecomePreCandidate() {
  // Pre-vote does not touch the term or the vote: a node cut off from the
  // cluster cannot inflate its term and later depose a healthy leader.
  votes_.clear();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void Raft::Impl::BecomeCandidate() {
  ResetRoleState(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::Impl::BecomeLeader() {
  std::vector<NodeId> granted;
  for (const auto& [id, ok] : votes_) {
    if (ok) granted.push_back(id);
  }
  ResetRoleState(term_);
  stand_in_ = false;
  role_ = Role::kLeader;
  // Entries earlier leaders appended and nobody committed yet count toward
  // max_uncommitted_bytes too: otherwise every change of leader (or a
  // hostile voter forcing re-elections) would let the log grow by another
  // whole budget beyond the commit index.
  for (uint64_t lo = log_.commit() + 1; lo <= log_.LastIndex();) {
    auto batch = log_.Slice(lo, log_.LastIndex() + 1, 8 << 20);
    if (!batch.ok() || batch->empty()) break;
    for (const Entry& e : *batch) {
      uncommitted_.emplace_back(e.index, e.ByteSize());
      uncommitted_bytes_ += e.ByteSize();
    }
    lo = batch->back().index + 1;
  }
  lead_ = id_;
  SyncProgressWithConf();
  auto self = progress_.find(id_);
  if (self != progress_.end()) self->second.match = log_.LastIndex();
  // No membership change until an entry of this term has committed (the
  // one-server-at-a-time rule needs it, see Ongaro's dissertation 4.1).
  pending_conf_index_ = log_.LastIndex();
  Log(absl::StrCat("became leader for term ", term_, " with votes from ",
                   absl::StrJoin(granted, ", "),
                   conf_.IsVoter(id_) ? ""
                                      : " (not a voter here: stepping down once our first "
                                        "entry commits)"));
  Entry noop;
  noop.type = EntryType::kNoop;
  AppendLeaderEntries({std::move(noop)});
}

bool Raft::Impl::Promotable() const {
  return conf_.IsVoter(id_) && !recovering_ && !log_.HasPendingSnapshot();
}

bool Raft::Impl::MayCampaign() const {
  return Promotable() ||
         (stand_in_ && !conf_.voters.empty() && !recovering_ && !log_.HasPendingSnapshot());
}

// ---- elections ----

void Raft::Impl::StartElection(bool pre_vote, bool transfer) {
  uint64_t term;
  if (pre_vote) {
    BecomePreCandidate();
    term = term_ + 1;
  } else {
    BecomeCandidate();
    term = term_;
  }
  // A stand-in (not a voter in its own configuration) cannot vote for itself.
  if (conf_.IsVoter(id_)) votes_[id_] = true;
  if (conf_.IsVoter(id_) && Quorum() <= 1) {
    if (pre_vote) {
      StartElection(false, transfer);
    } else {
      BecomeLeader();
    }
    return;
  }
  Log(absl::StrCat("starting ", pre_vote ? "pre-vote" : "election", " for term ", term,
                   transfer ? " (leadership transfer)" : "", " at log index ", log_.LastIndex()));
  for (NodeId voter : conf_.voters) {
    if (voter == id_) continue;
    Message m;
    m.type = pre_vote ? MessageType::kPreVote : MessageType::kVote;
    m.to = voter;
    m.term = term;
    m.index = log_.LastIndex();
    m.log_term = log_.LastTerm();
    if (transfer) m.context = kTransferContext;
    Send(std::move(m));
  }
}

void Raft::Impl::HandleVoteRequest(const Message& m) {
  bool pre = m.type == MessageType::kPreVote;
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                  (pre && m.term > term_);
  bool up_to_date = log_.IsUpToDate(m.index, m.log_term);
  // G4: a node that lost its disk may lack entries it once acknowledged; its
  // vote could elect a leader without them.
  // G7: see stall.cc.
  bool left_it = RefusesVoteToLeaderWeLeft(m.from);
  bool grant = can_vote && up_to_date && !recovering_ && !left_it;
  if (!up_to_date && !conf_.IsVoter(id_) && !recovering_ && !stand_in_) {
    stand_in_ = true;
    Log(absl::StrCat("candidate ", m.from, " counts us as a voter and its log (", m.index, "/",
                     m.log_term, ") is behind ours (", log_.LastIndex(), "/", log_.LastTerm(),
                     "); not a voter in our own configuration, we stand for election until a "
                     "leader is heard from"));
  }
  Message resp;
  resp.type = pre ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  resp.to = m.from;
  resp.reject = !grant;
  resp.term = (grant && pre) ? m.term : term_;
  if (grant && !pre) {
    // The grant rests on the candidate's claim about its log, which we
    // cannot check; it does not reset our election timer, so a node that
    // claims any log it likes cannot keep us from campaigning.
    vote_ = m.from;
    Log(absl::StrCat("voted for ", m.from, " in term ", m.term));
  } else if (!grant && !pre) {
    Log(absl::StrCat("refused vote to ", m.from, " in term ", m.term, ": ",
                     recovering_  ? "recovering after storage loss"
                     : left_it    ? "it stalled as our leader and nobody has committed since"
                     : !can_vote  ? absl::StrCat("already voted for ", vote_)
                                  : "its log is behind ours"));
  }
  Send(std::move(resp));
}

void Raft::Impl::HandleVoteResponse(const Message& m) {
  if (!conf_.IsVoter(m.from)) return;
  votes_.emplace(m.from, !m.reject);
  int granted = 0, rejected = 0;
  for (NodeId voter : conf_.voters) {
    auto it = votes_.find(voter);
    if (it == votes_.end()) continue;
    (it->second ? granted : rejected)++;
  }
  if (granted >= Quorum()) {
    if (role_ == Role::kPreCandidate) {
      StartElection(false, false);
    } else {
      BecomeLeader();
    }
  } else if (static_cast<int>(conf_.voters.size()) - rejected < Quorum()) {
    Log(absl::StrCat("lost the ", role_ == Role::kPreCandidate ? "pre-vote" : "election",
                     " for term ", role_ == Role::kPreCandidate ? term_ + 1 : term_));
    BecomeFollower(term_, kNoNode);
  }
}

// ---- messages ----

void Raft::Impl::Send(Message m) {
  m.from = id_;
  if (m.term == 0) m.term = term_;
  m.recovering = recovering_;
  if (role_ == Role::kLeader &&
      (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
    m.transferee = transferee_;  // lease.cc: voters honour only this target
  }
  switch (m.type) {
    // A leader's messages do not depend on its own unpersisted state, so they
    // go out while it writes its log; a follower's request for a read index
    // depends on nothing.
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshotChunk:
    case MessageType::kTimeoutNow:
    case MessageType::kReadIndexResp:
    case MessageType::kReadIndex:
      messages_now_.push_back(std::move(m));
      break;
    default:
      // Responses and vote requests promise something about our term, vote
      // or log: only once that is durable.
      messages_after_persist_.push_back(std::move(m));
  }
}

absl::Status Raft::Impl::ValidateMessage(const Message& m) const {
  if (m.to != id_) {
    return absl::InvalidArgumentError(
        absl::StrCat("message.to is ", m.to, " but this node is ", id_));
  }
  if (m.from == kNoNode || m.from == id_) {
    return absl::InvalidArgumentError(absl::StrCat("message.from is invalid: ", m.from));
  }
  if (static_cast<uint8_t>(m.type) > static_cast<uint8_t>(MessageType::kReadIndexResp)) {
    return absl::InvalidArgumentError(
        absl::StrCat("message.type ", static_cast<int>(m.type), " is unknown"));
  }
  if (m.term > term_ && m.term - term_ > config_.max_term_jump) {
    return absl::InvalidArgumentError(absl::StrCat("message.term ", m.term, " is more than ",
                                                   config_.max_term_jump, " above ours (", term_,
                                                   ")"));
  }
  if (m.type == MessageType::kAppend) {
    if (m.log_term > m.term) {
      return absl::InvalidArgumentError(absl::StrCat("append.log_term ", m.log_term,
                                                     " is above the message term ", m.term));
    }
    uint64_t prev_term = m.log_term;
    for (size_t i = 0; i < m.entries.size(); ++i) {
      const Entry& e = m.entries[i];
      if (e.index != m.index + 1 + i) {
        return absl::InvalidArgumentError(absl::StrCat("append.entries[", i, "].index is ",
                                                       e.index, ", expected ", m.index + 1 + i));
      }
      if (e.term > m.term || e.term < prev_term) {
        return absl::InvalidArgumentError(absl::StrCat("append.entries[", i, "].term ", e.term,
                                                       " is out of order (message term ", m.term,
                                                       ", previous ", prev_term, ")"));
      }
      if (static_cast<uint8_t>(e.type) > static_cast<uint8_t>(EntryType::kNoop)) {
        return absl::InvalidArgumentError(absl::StrCat("append.entries[", i, "].type is unknown"));
      }
      if (e.type == EntryType::kConfChange && !ConfChange::Decode(e.data)) {
        return absl::InvalidArgumentError(
            absl::StrCat("append.entries[", i, "] is a malformed membership change"));
      }
      prev_term = e.term;
    }
  }
  if (m.type == MessageType::kSnapshotChunk) {
    const SnapshotMeta& s = m.snapshot;
    if (s.index == 0 || s.term == 0 || s.term > m.term) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot.index/term (", s.index, ", ",
                                                     s.term, ") are invalid"));
    }
    if (s.conf.voters.empty()) {
      return absl::InvalidArgumentError("snapshot.conf has no voters");
    }
    if (m.chunk_offset + m.chunk_data.size() > s.data_size ||
        m.chunk_last != (m.chunk_offset + m.chunk_data.size() == s.data_size)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "snapshot chunk [", m.chunk_offset, ", +", m.chunk_data.size(),
          ") does not fit the snapshot size ", s.data_size, " or its last flag"));
    }
  }
  return absl::OkStatus();
}

absl::Status Raft::Impl::Step(const Message& m) {
  if (absl::Status valid = ValidateMessage(m); !valid.ok()) {
    Log(absl::StrCat("refused ", MessageTypeName(m.type), " from ", m.from, ": ",
                     valid.message()));
    return valid;
  }
  // G7: a leader we stopped following for stalling gets no further say in
  // its term: neither its heartbeats nor its lease hold us back.
  if (FromLeaderWeLeft(m)) return absl::OkStatus();
  if (!HandleTerm(m)) return absl::OkStatus();
  if (FromSecondLeader(m)) return absl::OkStatus();
  if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
    HandleVoteRequest(m);
    return absl::OkStatus();
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      return absl::OkStatus();
    case Role::kPreCandidate:
    case Role::kCandidate:
      StepCandidate(m);
      if (role_ != Role::kFollower || m.type == MessageType::kVoteResp ||
          m.type == MessageType::kPreVoteResp) {
        return absl::OkStatus();
      }
      // A leader of our term exists: we became its follower; handle it as one.
      [[fallthrough]];
    case Role::kFollower:
      if (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
          m.type == MessageType::kSnapshotChunk) {
        stand_in_ = false;
        if (m.type != MessageType::kSnapshotChunk) announced_transferee_ = m.transferee;
      }
      if (m.type == MessageType::kAppend) {
        election_elapsed_ = 0;
        lead_ = m.from;
        return HandleAppend(m);
      }
      if (m.type == MessageType::kSnapshotChunk) {
        election_elapsed_ = 0;
        lead_ = m.from;
        return HandleSnapshotChunk(m);
      }
      StepFollower(m);
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

void Raft::Impl::StepCandidate(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshotChunk:
      BecomeFollower(m.term, m.from);
      return;
    case MessageType::kPreVoteResp:
      if (role_ == Role::kPreCandidate) HandleVoteResponse(m);
      return;
    case MessageType::kVoteResp:
      if (role_ == Role::kCandidate) HandleVoteResponse(m);
      return;
    default:
      return;
  }
}

// ---- ticks ----

void Raft::Impl::Tick() {
  ++ticks_;
  if (role_ == Role::kLeader) {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (election_elapsed_ >= config_.election_ticks) {
      election_elapsed_ = 0;
      if (config_.check_quorum && !QuorumActive()) {
        Log(absl::StrCat("has not heard from a quorum within an election timeout; stepping "
                         "down in term ",
                         term_));
        BecomeFollower(term_, kNoNode);
        return;
      }
      if (transferee_ != kNoNode) {
        Log(absl::StrCat("leadership transfer to ", transferee_, " timed out"));
        AbortLeaderTransfer();
      }
    }
    TickLeaderKeepsCommitMoving();
    if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
      heartbeat_elapsed_ = 0;
      BroadcastHeartbeat("");
    }
    return;
  }
  ++election_elapsed_;
  if (recovering_) MaybeRequestRecoveryTarget();
  TickFollowerStallWatch();
  if (MayCampaign() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    StartElection(config_.pre_vote, false);
  }
}

// ---- client requests ----

absl::StatusOr<uint64_t> Raft::Impl::Propose(std::string data) {
  if (role_ != Role::kLeader) {
    return absl::UnavailableError(absl::StrCat("not the leader; leader is ", lead_));
  }
  if (transferee_ != kNoNode) {
    return absl::UnavailableError(
        absl::StrCat("leadership transfer to ", transferee_, " is in progress"));
  }
  if (uncommitted_bytes_ + data.size() > config_.max_uncommitted_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(uncommitted_bytes_, " bytes are waiting to commit; retry later"));
  }
  Entry e;
  e.type = EntryType::kNormal;
  e.data = std::move(data);
  AppendLeaderEntries({std::move(e)});
  return log_.LastIndex();
}

absl::StatusOr<uint64_t> Raft::Impl::ProposeConfChange(const ConfChange& change) {
  if (role_ != Role::kLeader) {
    return absl::UnavailableError(absl::StrCat("not the leader; leader is ", lead_));
  }
  if (change.kind == ConfChange::Kind::kGenesis) {
    return absl::InvalidArgumentError("change.kind: genesis is only written by Bootstrap");
  }
  if (pending_conf_index_ > log_.commit() || !CommittedInCurrentTerm()) {
    return absl::FailedPreconditionError(
        "another membership change (or this leader's first entry) has not committed yet");
  }
  ConfState next = conf_;
  if (!change.ApplyTo(&next)) {
    return absl::FailedPreconditionError(
        absl::StrCat("change of node ", change.node, " does not fit the current membership"));
  }
  if (change.kind == ConfChange::Kind::kPromoteLearner) {
    const Progress& pr = progress_.at(change.node);
    if (pr.recovering) {
      return absl::FailedPreconditionError(
          absl::StrCat("learner ", change.node, " is still recovering"));
    }
    if (pr.match + config_.promote_max_lag < log_.LastIndex()) {
      return absl::FailedPreconditionError(
          absl::StrCat("learner ", change.node, " is ", log_.LastIndex() - pr.match,
                       " entries behind; wait for it to catch up"));
    }
  }
  Entry e;
  e.type = EntryType::kConfChange;
  e.data = change.Encode();
  AppendLeaderEntries({std::move(e)});
  pending_conf_index_ = log_.LastIndex();
  Log(absl::StrCat("proposed membership change at index ", pending_conf_index_, ": voters {",
                   absl::StrJoin(conf_.voters, ", "), "}, learners {",
                   absl::StrJoin(conf_.learners, ", "), "}"));
  return pending_conf_index_;
}

absl::Status Raft::Impl::TransferLeadership(NodeId to) {
  if (role_ != Role::kLeader) {
    return absl::UnavailableError(absl::StrCat("not the leader; leader is ", lead_));
  }
  if (to == id_) return absl::OkStatus();
  if (!conf_.IsVoter(to)) {
    return absl::InvalidArgumentError(absl::StrCat("transfer target ", to, " is not a voter"));
  }
  Progress& pr = progress_.at(to);
  if (pr.recovering) {
    return absl::FailedPreconditionError(absl::StrCat("transfer target ", to, " is recovering"));
  }
  transferee_ = to;
  election_elapsed_ = 0;
  Log(absl::StrCat("transferring leadership of term ", term_, " to ", to));
  // Name the target to every follower first: they honour its vote request
  // only once their leader has named it (lease.cc).
  BroadcastHeartbeat("");
  if (pr.match == log_.LastIndex()) {
    Message m;
    m.type = MessageType::kTimeoutNow;
    m.to = to;
    Send(std::move(m));
  } else {
    MaybeSendAppend(to, true);
  }
  return absl::OkStatus();
}

absl::Status Raft::Impl::ReadIndex(std::string context) {
  if (role_ == Role::kLeader) {
    HandleReadIndexRequest(id_, std::move(context));
    return absl::OkStatus();
  }
  if (lead_ == kNoNode) return absl::UnavailableError("no leader is known");
  // Only answers to reads we asked for count (follower.cc).
  if (asked_reads_.insert(context).second) asked_reads_order_.push_back(context);
  while (asked_reads_order_.size() > kMaxAskedReads) {
    asked_reads_.erase(asked_reads_order_.front());
    asked_reads_order_.pop_front();
  }
  Message m;
  m.type = MessageType::kReadIndex;
  m.to = lead_;
  m.context = std::move(context);
  Send(std::move(m));
  return absl::OkStatus();
}

absl::Status Raft::Impl::ConfirmRecovery() {
  if (!recovering_) return absl::OkStatus();
  if (!AwaitingAttestation()) {
    return absl::FailedPreconditionError(
        recovery_target_ == 0
            ? "still recovering: no leader has confirmed a recovery target yet"
            : absl::StrCat("still recovering: commit index ", log_.commit(),
                           " has not reached the confirmed target ", recovery_target_));
  }
  Log(absl::StrCat("recovery attested at commit index ", log_.commit(), " (target ",
                   recovery_target_, "); voting again"));
  recovering_ = false;
  recovery_target_ = 0;
  return absl::OkStatus();
}

absl::Status Raft::Impl::Campaign() {
  if (role_ == Role::kLeader) return absl::OkStatus();
  if (!Promotable()) {
    return absl::FailedPreconditionError("this node is not a voter or is recovering");
  }
  StartElection(config_.pre_vote, false);
  return absl::OkStatus();
}

// ---- membership ----

void Raft::Impl::OnConfEntriesAppended(const std::vector<Entry>& entries) {
  bool changed = false;
  for (const Entry& e : entries) {
    if (e.type != EntryType::kConfChange) continue;
    auto change = ConfChange::Decode(e.data);
    ConfState next = conf_entries_.empty() ? base_conf_ : conf_entries_.back().second;
    if (!change || !change->ApplyTo(&next)) continue;  // validated before appending
    conf_entries_.emplace_back(e.index, std::move(next));
    changed = true;
  }
  if (changed) RecomputeConf();
}

void Raft::Impl::TruncateConfEntriesFrom(uint64_t index) {
  size_t before = conf_entries_.size();
  while (!conf_entries_.empty() && conf_entries_.back().first >= index) conf_entries_.pop_back();
  if (conf_entries_.size() != before) RecomputeConf();
}

void Raft::Impl::RecomputeConf() {
  conf_ = conf_entries_.empty() ? base_conf_ : conf_entries_.back().second;
  if (role_ == Role::kLeader) SyncProgressWithConf();
}

void Raft::Impl::SyncProgressWithConf() {
  auto add = [&](NodeId id) {
    if (progress_.count(id)) return;
    progress_.emplace(id, Progress(log_.LastIndex() + 1, config_.max_inflight_messages,
                                   config_.max_inflight_bytes));
  };
  for (NodeId id : conf_.voters) add(id);
  for (NodeId id : conf_.learners) add(id);
  for (auto it = progress_.begin(); it != progress_.end();) {
    it = conf_.Contains(it->first) ? std::next(it) : progress_.erase(it);
  }
  if (transferee_ != kNoNode && !conf_.IsVoter(transferee_)) AbortLeaderTransfer();
}

// ---- Ready ----

bool Raft::Impl::HasReady() const {
  HardState hs{term_, vote_, log_.commit(), recovering_, recovery_target_};
  return hs != persisted_hard_state_ || !log_.unstable().empty() || !messages_now_.empty() ||
         !messages_after_persist_.empty() || !snapshot_chunks_.empty() ||
         log_.HasPendingSnapshot() || log_.HasCommittedToHandOut() || !read_states_.empty() ||
         !alarms_.empty() || snapshot_wanted_;
}

Ready Raft::Impl::GetReady() {
  if (pending_broadcast_) {
    pending_broadcast_ = false;
    if (role_ == Role::kLeader) BroadcastAppend();
  }
  Ready rd;
  HardState hs{term_, vote_, log_.commit(), recovering_, recovery_target_};
  if (hs != persisted_hard_state_) {
    rd.hard_state = hs;
    persisted_hard_state_ = hs;
  }
  rd.entries = log_.unstable();
  rd.snapshot_chunks = std::move(snapshot_chunks_);
  rd.install_snapshot = log_.pending_snapshot();
  rd.messages_now = std::move(messages_now_);
  rd.messages_after_persist = std::move(messages_after_persist_);
  rd.committed_entries = log_.TakeCommitted(64 << 20);
  rd.read_states = std::move(read_states_);
  rd.alarms = std::move(alarms_);
  rd.snapshot_wanted = snapshot_wanted_;
  snapshot_wanted_ = false;
  snapshot_chunks_.clear();
  messages_now_.clear();
  messages_after_persist_.clear();
  read_states_.clear();
  alarms_.clear();
  return rd;
}

void Raft::Impl::Advance(const Ready& ready) {
  if (ready.install_snapshot) log_.SnapshotInstalled();
  if (!ready.entries.empty()) log_.StableAll();
  if (role_ == Role::kLeader) {
    // The leader's own entries count toward commit only once durable.
    auto self = progress_.find(id_);
    if (self != progress_.end()) self->second.MaybeUpdate(log_.LastIndex());
    if (MaybeCommit()) BroadcastAppend();
  }
}

absl::StatusOr<ConfState> Raft::Impl::ConfStateAt(uint64_t index) const {
  const SnapshotMeta& snap = log_.snapshot();
  if (index < snap.index) {
    return absl::OutOfRangeError(absl::StrCat("membership at index ", index,
                                              " is older than the snapshot at ", snap.index));
  }
  if (index > log_.LastIndex()) {
    return absl::OutOfRangeError(absl::StrCat("index ", index, " is beyond the last index ",
                                              log_.LastIndex()));
  }
  ConfState conf = base_conf_;
  for (const auto& [at, state] : conf_entries_) {
    if (at > index) break;
    conf = state;
  }
  return conf;
}

RaftStatus Raft::Impl::Status() const {
  RaftStatus s;
  s.id = id_;
  s.leader = lead_;
  s.role = role_;
  s.hard_state = HardState{term_, vote_, log_.commit(), recovering_, recovery_target_};
  s.first_index = log_.FirstIndex();
  s.last_index = log_.LastIndex();
  s.last_term = log_.LastTerm();
  s.applied_handed_out = log_.applied();
  s.leader_commit = role_ == Role::kLeader ? log_.commit() : leader_commit_;
  s.conf = conf_;
  s.transferring_to = transferee_;
  for (const auto& [id, pr] : progress_) {
    PeerProgress& p = s.progress[id];
    p.match = pr.match;
    p.next = pr.next;
    p.state = pr.state;
    p.recent_active = pr.recent_active;
    p.recovering = pr.recovering;
    p.learner = conf_.IsLearner(id);
    p.inflight_messages = pr.inflights.count();
    p.inflight_bytes = pr.inflights.bytes();
  }
  s.refused_truncations = refused_truncations_;
  s.chain_mismatches = chain_mismatches_;
  s.recovery_target = recovery_target_;
  s.awaiting_attestation = AwaitingAttestation();
  s.stalled_leaders_left = stalled_leaders_left_;
  return s;
}

// ---- public wrapper ----

absl::StatusOr<std::unique_ptr<Raft>> Raft::Create(const RaftConfig& config, LogStorage* storage) {
  if (storage == nullptr) return absl::InvalidArgumentError("storage must not be null");
  auto impl = std::make_unique<Impl>(config, storage);
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Raft>(new Raft(std::move(impl)));
}

absl::Status Raft::Bootstrap(LogStorage* storage, const std::vector<NodeId>& voters) {
  return Bootstrap(storage, voters, std::string());
}

absl::Status Raft::Bootstrap(LogStorage* storage, const std::vector<NodeId>& voters,
                             std::string context) {
  if (voters.empty()) return absl::InvalidArgumentError("voters must not be empty");
  for (size_t i = 0; i < voters.size(); ++i) {
    if (voters[i] == kNoNode) return absl::InvalidArgumentError("voters must not contain 0");
    for (size_t j = 0; j < i; ++j) {
      if (voters[i] == voters[j]) {
        return absl::InvalidArgumentError(absl::StrCat("voter ", voters[i], " is listed twice"));
      }
    }
  }
  ASSIGN_OR_RETURN(InitialState state, storage->LoadInitialState());
  if (!state.empty) return absl::FailedPreconditionError("storage is not empty");
  ConfChange genesis;
  genesis.kind = ConfChange::Kind::kGenesis;
  genesis.genesis_voters = voters;
  genesis.context = std::move(context);
  std::sort(genesis.genesis_voters.begin(), genesis.genesis_voters.end());
  Entry e;
  e.term = 1;
  e.index = 1;
  e.type = EntryType::kConfChange;
  e.data = genesis.Encode();
  e.chain = ComputeChain(ChainHash{}, e.term, e.index, e.type, e.data);
  HardState hs;
  hs.term = 1;
  hs.commit = 1;
  return storage->Persist({e}, &hs);
}

Raft::Raft(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Raft::~Raft() = default;
void Raft::Tick() { impl_->Tick(); }
absl::Status Raft::Step(const Message& message) { return impl_->Step(message); }
absl::StatusOr<uint64_t> Raft::Propose(std::string data) { return impl_->Propose(std::move(data)); }
absl::StatusOr<uint64_t> Raft::ProposeConfChange(const ConfChange& change) {
  return impl_->ProposeConfChange(change);
}
absl::Status Raft::TransferLeadership(NodeId to) { return impl_->TransferLeadership(to); }
absl::Status Raft::ReadIndex(std::string context) { return impl_->ReadIndex(std::move(context)); }
absl::Status Raft::Campaign() { return impl_->Campaign(); }
absl::Status Raft::ConfirmRecovery() { return impl_->ConfirmRecovery(); }
bool Raft::HasReady() const { return impl_->HasReady(); }
Ready Raft::GetReady() { return impl_->GetReady(); }
void Raft::Advance(const Ready& ready) { impl_->Advance(ready); }
RaftStatus Raft::Status() const { return impl_->Status(); }
uint64_t Raft::Term() const { return impl_->Term(); }
absl::StatusOr<ConfState> Raft::ConfStateAt(uint64_t index) const {
  return impl_->ConfStateAt(index);
}

}  // namespace qbox::raft

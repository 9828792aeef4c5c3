// The consensus core's internals, split over raft.cc (roles, elections,
// ticks, Ready), replication.cc (the leader side) and follower.cc (appends,
// snapshots and recovery on the follower side). Internal to node/raft.
#ifndef QBOX_NODE_RAFT_RAFT_IMPL_H_
#define QBOX_NODE_RAFT_RAFT_IMPL_H_

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "node/raft/progress.h"
#include "node/raft/raft.h"
#include "node/raft/raft_log.h"

namespace qbox::raft {

// The context a recovering node uses for its ReadIndex to the leader: the
// answer becomes its recovery target (G4).
inline constexpr char kRecoveryReadContext[] = "qbox:recovery";
// Vote requests sent because of a leadership transfer bypass the leader
// lease that normally protects a healthy leader from disruption.
inline constexpr char kTransferContext[] = "qbox:transfer";

class Raft::Impl {
 public:
  Impl(const RaftConfig& config, LogStorage* storage);
  ~Impl();
  absl::Status Init();

  void Tick();
  absl::Status Step(const Message& m);
  absl::StatusOr<uint64_t> Propose(std::string data);
  absl::StatusOr<uint64_t> ProposeConfChange(const ConfChange& change);
  absl::Status TransferLeadership(NodeId to);
  absl::Status ReadIndex(std::string context);
  absl::Status Campaign();
  absl::Status ConfirmRecovery();
  bool HasReady() const;
  Ready GetReady();
  void Advance(const Ready& ready);
  RaftStatus Status() const;
  uint64_t Term() const { return term_; }
  absl::StatusOr<ConfState> ConfStateAt(uint64_t index) const;

 private:
  // A ReadIndex request waiting for a quorum of heartbeat acks.
  struct PendingRead {
    uint64_t id = 0;
    uint64_t index = 0;
    NodeId requester = kNoNode;
    std::string context;
    std::set<NodeId> acks;
  };
  // An incoming snapshot being staged chunk by chunk.
  struct IncomingSnapshot {
    SnapshotMeta meta;
    uint64_t received = 0;
    EVP_MD_CTX* digest = nullptr;
  };

  // ---- raft.cc: roles, elections, configuration ----
  void Log(std::string_view line) const;
  std::string Describe(NodeId id) const;
  void BecomeFollower(uint64_t term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void ResetRoleState(uint64_t term);
  void ResetElectionTimeout();
  bool Promotable() const;
  // Promotable, or standing in: see stand_in_ below.
  bool MayCampaign() const;
  void StartElection(bool pre_vote, bool transfer);
  void HandleVoteRequest(const Message& m);
  void HandleVoteResponse(const Message& m);
  int Quorum() const { return static_cast<int>(conf_.voters.size()) / 2 + 1; }
  void Send(Message m);
  absl::Status ValidateMessage(const Message& m) const;
  bool HandleTerm(const Message& m);
  // G7 under an active adversary (see HandleTerm): we lead, or heard our
  // leader within an election timeout.
  bool InLease() const;
  // A vote request carrying the transfer context, from the voter that we
  // (as leader) or our leader named as the transfer's target.
  bool TransferHonoured(const Message& m) const;
  // Whether a higher term in `m` may change ours while we are in lease.
  bool HigherTermAllowedInLease(const Message& m) const;
  // Same-term leader messages from a node that is not our leader.
  bool FromSecondLeader(const Message& m);
  // Leader: a voter answered from a higher term; stand for re-election there.
  void MaybeReElect(const Message& m);
  void LogIgnoredTerm(const Message& m, const std::string& why);
  // Membership follows the latest configuration entry in the log.
  void RecomputeConf();
  void OnConfEntriesAppended(const std::vector<Entry>& entries);
  void TruncateConfEntriesFrom(uint64_t index);
  void SyncProgressWithConf();

  // ---- replication.cc: leader side ----
  void StepLeader(const Message& m);
  void HandleAppendResponse(const Message& m);
  void HandleHeartbeatResponse(const Message& m);
  void HandleSnapshotResponse(const Message& m);
  void HandleReadIndexRequest(NodeId requester, std::string context);
  void AppendLeaderEntries(std::vector<Entry> entries);
  bool MaybeSendAppend(NodeId to, bool send_if_empty);
  void SendSnapshotChunks(NodeId to);
  // Pauses `to` until a snapshot with data replaces the held one at
  // `held_index`, and asks for one (Ready::snapshot_wanted).
  void AwaitSnapshotData(NodeId to, uint64_t held_index);
  void BroadcastAppend();
  void BroadcastHeartbeat(const std::string& context);
  bool MaybeCommit();
  bool QuorumActive();
  void ReleaseConfirmedReads();
  void AbortLeaderTransfer();
  bool CommittedInCurrentTerm() const;

  // ---- follower.cc: follower side ----
  void StepFollower(const Message& m);
  void StepCandidate(const Message& m);
  absl::Status HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  absl::Status HandleSnapshotChunk(const Message& m);
  void RejectAppend(const Message& m);
  void CommitTo(uint64_t index);
  void MaybeRequestRecoveryTarget();
  void RaiseAlarm(Alarm::Kind kind, const Message& m, uint64_t index, std::string detail);
  void ResetIncomingSnapshot();
  bool AwaitingAttestation() const;

  // ---- stall.cc: G7, a leader that makes no progress is replaced ----
  void TickLeaderKeepsCommitMoving();
  void TickFollowerStallWatch();
  void StopFollowingStalledLeader();
  bool FromLeaderWeLeft(const Message& m) const;
  bool RefusesVoteToLeaderWeLeft(NodeId candidate) const;

  RaftConfig config_;
  LogStorage* storage_;
  RaftLog log_;
  std::mt19937_64 rng_;

  NodeId id_;
  uint64_t term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  uint64_t leader_commit_ = 0;  // see RaftStatus::leader_commit
  Role role_ = Role::kFollower;
  bool recovering_ = false;
  uint64_t recovery_target_ = 0;
  int recovery_request_elapsed_ = 0;

  // Membership: the snapshot's, then every configuration entry after it.
  ConfState base_conf_;
  std::vector<std::pair<uint64_t, ConfState>> conf_entries_;
  ConfState conf_;
  uint64_t pending_conf_index_ = 0;

  // A node that is not a voter in its own configuration, but whom a
  // candidate counts as one, and whose log is ahead of that candidate's,
  // stands for election itself (in its own configuration, where it is not a
  // voter, so its own vote does not count). Otherwise the only logs that
  // could win are held by nodes that never campaign, and no election ever
  // succeeds. Cleared when a leader is heard from. A leader that is not a
  // voter steps down once its first entry commits (MaybeCommit), by which
  // time a quorum of voters holds its log.
  bool stand_in_ = false;

  // Ticks since start (for the rate limits below).
  uint64_t ticks_ = 0;
  // Follower: the transfer target our leader named in its last message.
  NodeId announced_transferee_ = kNoNode;
  // When a vote request or an answer from each node last raised our term
  // (lease.cc: at most once per election timeout per sender).
  struct TermRaise {
    uint64_t at = 0;  // ticks_ of the last raise
    bool raised = false;
  };
  std::map<std::pair<NodeId, bool>, TermRaise> term_raised_by_vote_;  // (sender, vote request)
  // Leader: when it last stood for re-election because a voter answered
  // from a higher term (once per election timeout at most).
  uint64_t reelected_at_ = 0;
  uint64_t reelect_interval_ = 0;
  bool reelected_ = false;
  // The last (term, node) reported as a second leader, and the last term
  // whose ignored disruptions were logged: one line each, not one per message.
  uint64_t two_leaders_term_ = 0;
  NodeId two_leaders_from_ = kNoNode;
  uint64_t ignored_logged_term_ = 0;
  // The last snapshot index refused by config_.snapshot_guard (one alarm each).
  uint64_t refused_snapshot_index_ = 0;
  // Follower: contexts of read-index requests sent to a leader and not yet
  // answered (the oldest forgotten past kMaxAskedReads; the caller asks again).
  static constexpr size_t kMaxAskedReads = 100000;
  std::set<std::string> asked_reads_;
  std::deque<std::string> asked_reads_order_;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;

  std::map<NodeId, bool> votes_;
  std::map<NodeId, Progress> progress_;
  NodeId transferee_ = kNoNode;
  // Leader proposals not yet committed: (index, bytes), for back-pressure.
  std::deque<std::pair<uint64_t, uint64_t>> uncommitted_;
  uint64_t uncommitted_bytes_ = 0;

  uint64_t next_read_id_ = 1;
  std::deque<PendingRead> pending_reads_;
  // Read requests that arrived before this leader committed in its term.
  std::vector<std::pair<NodeId, std::string>> reads_before_first_commit_;
  std::unique_ptr<IncomingSnapshot> incoming_snapshot_;

  // Output gathered for the next Ready.
  HardState persisted_hard_state_;
  std::vector<Message> messages_now_;
  std::vector<Message> messages_after_persist_;
  std::vector<SnapshotChunkWrite> snapshot_chunks_;
  // A follower needs a snapshot and the current one has no data.
  bool snapshot_wanted_ = false;
  std::vector<ReadState> read_states_;
  std::vector<Alarm> alarms_;

  // Set when the leader appended entries it has not sent yet: they go out in
  // one AppendEntries per follower at the next GetReady (batching).
  bool pending_broadcast_ = false;

  uint64_t refused_truncations_ = 0;
  uint64_t chain_mismatches_ = 0;

  // G7 (stall.cc). Leader: ticks since it last appended an entry.
  int ticks_since_append_ = 0;
  // Follower: the leader and term being watched, the commit index when the
  // watch last saw it move, and ticks since then.
  NodeId watched_leader_ = kNoNode;
  uint64_t watched_term_ = 0;
  uint64_t watched_commit_ = 0;
  int stalled_ticks_ = 0;
  // The leader we stopped following, and the term in which we did: its
  // messages of that term are ignored.
  NodeId left_leader_ = kNoNode;
  uint64_t left_term_ = 0;
  uint64_t left_commit_ = 0;  // our commit index when we left it
  uint64_t left_at_tick_ = 0;  // ticks_ when we left it
  uint64_t stalled_leaders_left_ = 0;
};

}  // namespace qbox::raft

#endif  // QBOX_NODE_RAFT_RAFT_IMPL_H_

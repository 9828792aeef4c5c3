// G7: a leader that makes no progress is replaced.
//
// Check-quorum and the leader lease make followers ignore campaigns while
// they hear a leader, which protects a healthy leader from a node that
// merely lost contact. A compromised leader can exploit exactly that: keep
// sending heartbeats (so nobody campaigns) and never commit anything. The
// cure needs evidence that every honest follower sees the same way:
//
//  - An honest leader keeps its commit index moving even when idle: after
//    stall_ticks/3 ticks without appending it appends an empty entry, just
//    like its term-start no-op. So "my commit index did not advance for
//    stall_ticks while I heard the leader" is evidence against any leader.
//  - A voting follower with that evidence stops following the leader for
//    the rest of its term (ignoring its messages, so that neither its
//    heartbeats nor its lease hold the follower back), raises an alarm and
//    starts a pre-vote campaign.
//  - A follower that still hears the leader and still sees commits keeps
//    refusing such campaigns (the lease in HandleTerm): a single follower's
//    claim cannot depose a leader that commits with the others. Once the
//    honest followers have each seen the silence, none of them is held by
//    the lease any more and they elect one of themselves.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "node/raft/raft_impl.h"

namespace qbox::raft {

void Raft::Impl::TickLeaderKeepsCommitMoving() {
  if (config_.stall_ticks <= 0) return;
  // During a leadership transfer the target must catch up to a fixed last
  // index; the transfer ends (or times out) within an election timeout.
  if (transferee_ != kNoNode) return;
  if (++ticks_since_append_ < std::max(1, config_.stall_ticks / 3)) return;
  Entry heartbeat_entry;
  heartbeat_entry.type = EntryType::kNoop;
  AppendLeaderEntries({std::move(heartbeat_entry)});
}

void Raft::Impl::TickFollowerStallWatch() {
  const bool watching = config_.stall_ticks > 0 && role_ == Role::kFollower &&
                        lead_ != kNoNode && lead_ != id_ && conf_.IsVoter(id_) && !recovering_;
  if (!watching || lead_ != watched_leader_ || term_ != watched_term_ ||
      log_.commit() > watched_commit_) {
    watched_leader_ = watching ? lead_ : kNoNode;
    watched_term_ = term_;
    watched_commit_ = log_.commit();
    stalled_ticks_ = 0;
    return;
  }
  if (++stalled_ticks_ >= config_.stall_ticks) StopFollowingStalledLeader();
}

void Raft::Impl::StopFollowingStalledLeader() {
  const NodeId stalled = lead_;
  left_leader_ = stalled;
  left_term_ = term_;
  left_commit_ = log_.commit();
  left_at_tick_ = ticks_;
  ++stalled_leaders_left_;
  Message evidence;
  evidence.from = stalled;
  evidence.term = term_;
  RaiseAlarm(Alarm::Kind::kLeaderStalled, evidence, log_.commit(),
             absl::StrCat("leader ", Describe(stalled), " committed nothing for ",
                          stalled_ticks_, " ticks (our commit index stayed at ", log_.commit(),
                          "); no longer following it in term ", term_));
  watched_leader_ = kNoNode;
  stalled_ticks_ = 0;
  lead_ = kNoNode;
  election_elapsed_ = 0;
  ResetElectionTimeout();
  StartElection(config_.pre_vote, false);
}

bool Raft::Impl::RefusesVoteToLeaderWeLeft(NodeId candidate) const {
  // The stalled leader's log is often the longest (it kept appending what
  // it never replicated), so it would win the very next election and stall
  // again. It gets no vote from us until some other leader has committed
  // something here, or for stall_ticks: a leader stalls honestly too (the
  // hostile site withholding its acknowledgements while one honest
  // follower is away), and then its longest log may be the only one that
  // can win; refusing it for good would leave no leader at all.
  return left_leader_ != kNoNode && candidate == left_leader_ && log_.commit() <= left_commit_ &&
         ticks_ - left_at_tick_ < static_cast<uint64_t>(config_.stall_ticks);
}

bool Raft::Impl::FromLeaderWeLeft(const Message& m) const {
  if (left_leader_ == kNoNode || m.from != left_leader_) return false;
  if (m.term == left_term_) return true;
  // Nor does it lead us again, in a term it names itself, for stall_ticks:
  // otherwise a hostile leader could recapture us with one heartbeat.
  const bool leads = m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
                     m.type == MessageType::kSnapshotChunk;
  return leads && m.term > left_term_ &&
         ticks_ - left_at_tick_ < static_cast<uint64_t>(config_.stall_ticks);
}

}  // namespace qbox::raft

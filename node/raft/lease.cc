// Terms, the leader lease and leadership transfer when one node may be
// hostile (G7: a compromised site can at worst stall, not destroy; with
// three sites the honest two keep serving while it keeps talking).
//
// Honest Raft lets any message with a higher term move a node to that term,
// and lets any vote request with the transfer context bypass the lease.
// A node holding only its own site's key could then depose an honest leader
// whenever it liked, or keep voters' timers from ever running out, and no
// commit would happen for as long as it kept sending. Here:
//
//  - While a node is in lease (it leads, or heard its leader within an
//    election timeout), a higher term from any node but its leader is
//    ignored, except from the transfer target that the leader itself named
//    in its heartbeats (Message::transferee). Honest Raft needs a higher
//    term from elsewhere only after a quorum stopped hearing the leader, in
//    which case the leader steps down by check-quorum and the lease runs out
//    within an election timeout.
//  - The one honest case that check-quorum does not cover, a voter stuck in
//    a higher term while the leader keeps a quorum without it, is handled by
//    the leader: it stands for re-election above that term (with a doubling
//    interval between re-elections), and the voters in its lease honour a
//    vote request from their own leader.
//  - A vote request raises our term at most once per election timeout per
//    candidate, and neither a grant nor such a raise resets our election
//    timer: the candidate's claim about its log cannot be checked.
//  - TimeoutNow counts only from our leader and never raises our term.
//  - A second node acting as leader of a term we already follow a leader in
//    is refused and reported (Alarm::kTwoLeaders): honest Raft has one
//    leader per term.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "node/raft/raft_impl.h"

namespace qbox::raft {
namespace {

bool IsLeaderMessage(MessageType type) {
  return type == MessageType::kAppend || type == MessageType::kHeartbeat ||
         type == MessageType::kSnapshotChunk;
}

bool IsVoteRequest(MessageType type) {
  return type == MessageType::kVote || type == MessageType::kPreVote;
}

bool IsFollowerAnswer(MessageType type) {
  return type == MessageType::kAppendResp || type == MessageType::kHeartbeatResp ||
         type == MessageType::kSnapshotResp;
}

}  // namespace

bool Raft::Impl::InLease() const {
  if (!config_.check_quorum) return false;
  if (role_ == Role::kLeader) return true;
  return lead_ != kNoNode && election_elapsed_ < config_.election_ticks;
}

bool Raft::Impl::TransferHonoured(const Message& m) const {
  if (m.context != kTransferContext) return false;
  if (role_ == Role::kLeader) return transferee_ != kNoNode && transferee_ == m.from;
  return lead_ != kNoNode && announced_transferee_ != kNoNode && announced_transferee_ == m.from;
}

bool Raft::Impl::HigherTermAllowedInLease(const Message& m) const {
  // Our own leader, e.g. standing for re-election (see MaybeReElect).
  if (role_ != Role::kLeader && m.from == lead_) return true;
  if (IsVoteRequest(m.type)) return TransferHonoured(m);
  // The transfer's target, once elected, leads the next term.
  if (IsLeaderMessage(m.type)) {
    const NodeId named = role_ == Role::kLeader ? transferee_ : announced_transferee_;
    return named != kNoNode && named == m.from;
  }
  return false;
}

void Raft::Impl::LogIgnoredTerm(const Message& m, const std::string& why) {
  if (m.term <= ignored_logged_term_) return;
  ignored_logged_term_ = m.term;
  Log(absl::StrCat("ignored ", MessageTypeName(m.type), " from ", m.from, " for term ", m.term,
                   " (ours is ", term_, "): ", why));
}

bool Raft::Impl::HandleTerm(const Message& m) {
  if (m.term > term_) {
    if (InLease() && !HigherTermAllowedInLease(m)) {
      if (role_ == Role::kLeader && IsFollowerAnswer(m.type) && conf_.IsVoter(m.from)) {
        MaybeReElect(m);
      } else {
        LogIgnoredTerm(m, role_ == Role::kLeader ? "we lead this cluster with a quorum"
                                                 : absl::StrCat("we heard our leader ", lead_,
                                                                " within an election timeout"));
      }
      return false;
    }
    // Pre-votes and granted pre-vote answers never change the term.
    if (m.type == MessageType::kPreVote) return true;
    if (m.type == MessageType::kPreVoteResp && !m.reject) return true;
    if (m.type == MessageType::kTimeoutNow) {
      LogIgnoredTerm(m, "only our leader hands leadership over, within its own term");
      return false;
    }
    const bool from_leader = IsLeaderMessage(m.type);
    if (!from_leader && !TransferHonoured(m) && !(lead_ != kNoNode && m.from == lead_)) {
      // A vote request's or an answer's term is a claim anyone can make up:
      // each node moves us to a higher term at most once per election
      // timeout (an honest candidate campaigns no faster), and not at all
      // while we lead or hear our leader (above).
      // Answers and vote requests have a budget each, so that an honest
      // candidate's refusal that moved us does not cost its next election.
      TermRaise& raise = term_raised_by_vote_[{m.from, IsVoteRequest(m.type)}];
      const uint64_t interval = static_cast<uint64_t>(config_.election_ticks);
      if (raise.raised && ticks_ - raise.at < interval) {
        if ((m.type == MessageType::kVoteResp && role_ == Role::kCandidate) ||
            (m.type == MessageType::kPreVoteResp && role_ == Role::kPreCandidate)) {
          Message refusal = m;  // an answer from a higher term grants nothing
          refusal.reject = true;
          HandleVoteResponse(refusal);
        }
        LogIgnoredTerm(m, "it raised our term less than an election timeout ago");
        return false;
      }
      raise.raised = true;
      raise.at = ticks_;
    }
    if (role_ == Role::kLeader || m.term > term_ + 1 || !from_leader) {
      Log(absl::StrCat("saw term ", m.term, " from ", m.from, " (", MessageTypeName(m.type),
                       "), leaving term ", term_));
    }
    // A claimed term moves us without resetting our election timer (a
    // leader's message does, when it is handled).
    const int elapsed = election_elapsed_;
    const int timeout = randomized_election_timeout_;
    BecomeFollower(m.term, from_leader ? m.from : kNoNode);
    if (!from_leader) {
      election_elapsed_ = elapsed;
      randomized_election_timeout_ = timeout;
    }
    return true;
  }
  if (m.term < term_) {
    if ((m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat) &&
        (config_.check_quorum || config_.pre_vote)) {
      // Tell a stale leader about the newer term so that it steps down.
      Message resp;
      resp.type = MessageType::kAppendResp;
      resp.to = m.from;
      Send(std::move(resp));
    } else if (m.type == MessageType::kPreVote) {
      Message resp;
      resp.type = MessageType::kPreVoteResp;
      resp.to = m.from;
      resp.reject = true;
      Send(std::move(resp));
    }
    return false;
  }
  return true;
}

bool Raft::Impl::FromSecondLeader(const Message& m) {
  if (!IsLeaderMessage(m.type) || m.term != term_) return false;
  const bool second = role_ == Role::kLeader || (lead_ != kNoNode && lead_ != m.from);
  if (!second) return false;
  if (two_leaders_term_ != m.term || two_leaders_from_ != m.from) {
    two_leaders_term_ = m.term;
    two_leaders_from_ = m.from;
    const NodeId first = role_ == Role::kLeader ? id_ : lead_;
    RaiseAlarm(
        Alarm::Kind::kTwoLeaders, m, m.index,
        absl::StrCat("node ", m.from, " sent ", MessageTypeName(m.type), " as leader of term ",
                     m.term, ", whose leader is ", first, "; one of them is not honest, refused"));
  }
  return true;
}

void Raft::Impl::MaybeReElect(const Message& m) {
  // Each re-election costs the commits of a round trip, and a hostile voter
  // can ask for one whenever it likes: the interval between them doubles
  // (up to 64 election timeouts) and falls back once none was asked for
  // over four intervals. An honest stuck voter needs just one.
  const uint64_t base = static_cast<uint64_t>(config_.election_ticks);
  if (reelected_ && ticks_ - reelected_at_ < reelect_interval_) {
    LogIgnoredTerm(
        m, absl::StrCat("we stood for re-election less than ", reelect_interval_, " ticks ago"));
    return;
  }
  if (!reelected_ || ticks_ - reelected_at_ > 4 * reelect_interval_) {
    reelect_interval_ = base;
  } else {
    reelect_interval_ = std::min(2 * reelect_interval_, 64 * base);
  }
  reelected_ = true;
  reelected_at_ = ticks_;
  Log(absl::StrCat("voter ", m.from, " answers from term ", m.term, " (ours is ", term_,
                   "); standing for re-election in term ", m.term + 1,
                   " so that it can follow us again"));
  term_ = m.term;
  vote_ = kNoNode;
  StartElection(false, false);
}

}  // namespace qbox::raft

// The leader side of the consensus core: appending, replicating with
// pipelining and flow control, sending snapshots in chunks, advancing the
// commit index, confirming read indexes and transferring leadership.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "node/raft/raft_impl.h"

namespace qbox::raft {
namespace {

constexpr int kSnapshotWindowChunks = 4;

std::string ReadContext(uint64_t id) { return absl::StrCat("read:", id); }

}  // namespace

void Raft::Impl::StepLeader(const Message& m) {
  switch (m.type) {
    case MessageType::kAppendResp:
      HandleAppendResponse(m);
      return;
    case MessageType::kHeartbeatResp:
      HandleHeartbeatResponse(m);
      return;
    case MessageType::kSnapshotResp:
      HandleSnapshotResponse(m);
      return;
    case MessageType::kReadIndex:
      if (conf_.Contains(m.from)) HandleReadIndexRequest(m.from, m.context);
      return;
    default:
      return;
  }
}

void Raft::Impl::AppendLeaderEntries(std::vector<Entry> entries) {
  uint64_t index = log_.LastIndex();
  auto chain = log_.Chain(index);
  ChainHash prev = chain.ok() ? *chain : ChainHash{};
  for (Entry& e : entries) {
    e.term = term_;
    e.index = ++index;
    e.chain = ComputeChain(prev, e.term, e.index, e.type, e.data);
    prev = e.chain;
    uncommitted_.emplace_back(e.index, e.ByteSize());
    uncommitted_bytes_ += e.ByteSize();
  }
  std::vector<Entry> conf_entries;
  for (const Entry& e : entries) {
    if (e.type == EntryType::kConfChange) conf_entries.push_back(e);
  }
  log_.Append(std::move(entries));
  OnConfEntriesAppended(conf_entries);
  pending_broadcast_ = true;
  ticks_since_append_ = 0;
  // A single voter commits on its own fsync, in Advance().
}

bool Raft::Impl::MaybeSendAppend(NodeId to, bool send_if_empty) {
  auto it = progress_.find(to);
  if (it == progress_.end() || to == id_) return false;
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  uint64_t prev = pr.next - 1;
  auto prev_term = log_.Term(prev);
  auto prev_chain = log_.Chain(prev);
  absl::StatusOr<std::vector<Entry>> entries = std::vector<Entry>{};
  if (pr.next <= log_.LastIndex()) {
    entries = log_.Slice(pr.next, log_.LastIndex() + 1, config_.max_append_bytes);
  }
  if (!prev_term.ok() || !prev_chain.ok() || !entries.ok()) {
    // What the follower needs was compacted away: send the snapshot.
    SnapshotMeta snap = storage_->Snapshot();
    if (snap.index == 0) return false;
    if (snap.held_by_state_machine) {
      AwaitSnapshotData(to, snap.index);
      return false;
    }
    pr.snapshot_data_awaited = 0;
    Log(absl::StrCat("follower ", to, " needs entries from ", pr.next,
                     " that were compacted; sending snapshot at index ", snap.index));
    pr.BecomeSnapshot(snap.index);
    SendSnapshotChunks(to);
    return false;
  }
  if (entries->empty() && !send_if_empty) return false;
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.prev_chain = *prev_chain;
  m.commit = log_.commit();
  bool sent_entries = !entries->empty();
  if (sent_entries) {
    uint64_t bytes = 0;
    for (const Entry& e : *entries) bytes += e.ByteSize();
    uint64_t last = entries->back().index;
    if (pr.state == Progress::State::kReplicate) {
      pr.next = last + 1;
      pr.inflights.Add(last, bytes);
    } else {
      pr.probe_sent = true;
    }
    m.entries = std::move(*entries);
  } else if (pr.state == Progress::State::kProbe) {
    pr.probe_sent = true;
  }
  Send(std::move(m));
  return sent_entries && pr.state == Progress::State::kReplicate;
}

void Raft::Impl::AwaitSnapshotData(NodeId to, uint64_t held_index) {
  // The log is compacted up to a snapshot that only the state machine
  // holds (no copy of the state was written): ask the runtime for a
  // snapshot with data, and try again at the follower's next heartbeat
  // answer. The probe is paused meanwhile, so that appends do not retry.
  Progress& pr = progress_.at(to);
  snapshot_wanted_ = true;
  if (pr.state != Progress::State::kProbe) {
    pr.snapshot_index = 0;  // probe from what the follower has, not past a snapshot
    pr.BecomeProbe();
  }
  pr.probe_sent = true;
  if (pr.snapshot_data_awaited != held_index) {
    pr.snapshot_data_awaited = held_index;
    Log(absl::StrCat("follower ", to, " needs entries from ", pr.next,
                     " that were compacted; the snapshot at index ", held_index,
                     " is held by the state machine, waiting for one written to send"));
  }
}

void Raft::Impl::SendSnapshotChunks(NodeId to) {
  Progress& pr = progress_.at(to);
  SnapshotMeta snap = storage_->Snapshot();
  if (snap.held_by_state_machine) {
    // Replaced by a held one in the middle of the transfer.
    AwaitSnapshotData(to, snap.index);
    return;
  }
  if (snap.index != pr.snapshot_index) pr.BecomeSnapshot(snap.index);
  // probe_sent marks "the last chunk is out" in snapshot state.
  while (!pr.probe_sent &&
         pr.snapshot_sent - pr.snapshot_acked <
             kSnapshotWindowChunks * config_.snapshot_chunk_bytes) {
    auto chunk = storage_->ReadSnapshotChunk(pr.snapshot_sent, config_.snapshot_chunk_bytes);
    if (!chunk.ok()) {
      Log(absl::StrCat("cannot read snapshot for follower ", to, ": ", chunk.status().message()));
      pr.BecomeProbe();
      return;
    }
    Message m;
    m.type = MessageType::kSnapshotChunk;
    m.to = to;
    m.snapshot = snap;
    m.chunk_offset = pr.snapshot_sent;
    m.chunk_last = pr.snapshot_sent + chunk->size() >= snap.data_size;
    pr.snapshot_sent += chunk->size();
    m.chunk_data = std::move(*chunk);
    if (m.chunk_last) pr.probe_sent = true;
    Send(std::move(m));
  }
}

void Raft::Impl::BroadcastAppend() {
  for (auto& [id, pr] : progress_) {
    if (id == id_) continue;
    MaybeSendAppend(id, true);
  }
}

void Raft::Impl::BroadcastHeartbeat(const std::string& context) {
  for (auto& [id, pr] : progress_) {
    if (id == id_) continue;
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = id;
    // Never tell a follower to commit past what it is known to hold, and
    // name the entry (term and chain) so that it commits only an entry that
    // matches ours (follower.cc).
    m.commit = std::min(pr.match, log_.commit());
    auto commit_term = log_.Term(m.commit);
    auto commit_chain = log_.Chain(m.commit);
    if (commit_term.ok() && commit_chain.ok()) {
      m.log_term = *commit_term;
      m.prev_chain = *commit_chain;
    } else {
      m.commit = 0;  // compacted away: this heartbeat commits nothing
    }
    m.index = log_.commit();
    m.context = context;
    Send(std::move(m));
  }
}

void Raft::Impl::HandleAppendResponse(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.recovering = m.recovering;
  if (m.reject) {
    if (m.recovering && m.reject_hint < pr.match) {
      // G4: the follower lost entries it had acknowledged.
      pr.match = m.reject_hint;
      pr.BecomeProbe();
      pr.next = m.index + 1;
    }
    if (pr.state == Progress::State::kReplicate) {
      if (m.index <= pr.match) return;  // stale
      pr.BecomeProbe();
    } else if (pr.state == Progress::State::kProbe) {
      if (m.index != pr.next - 1) return;  // answers an older probe
    } else {
      return;
    }
    uint64_t next_probe = m.hint_term > 0 ? log_.FindConflictByTerm(m.reject_hint, m.hint_term)
                                          : m.reject_hint;
    pr.next = std::max(pr.match + 1, std::min(m.index, next_probe + 1));
    pr.probe_sent = false;
    MaybeSendAppend(m.from, true);
    return;
  }
  if (m.index > log_.LastIndex()) {
    Log(absl::StrCat("ignored an acknowledgement from ", m.from, " of index ", m.index,
                     " beyond our last index ", log_.LastIndex()));
    return;
  }
  if (!pr.MaybeUpdate(m.index)) {
    if (pr.state == Progress::State::kReplicate) pr.inflights.FreeUpTo(m.index);
    return;
  }
  switch (pr.state) {
    case Progress::State::kProbe:
      pr.BecomeReplicate();
      break;
    case Progress::State::kSnapshot:
      if (pr.match >= pr.snapshot_index) {
        Log(absl::StrCat("follower ", m.from, " installed the snapshot at index ", pr.match));
        pr.BecomeReplicate();
      }
      break;
    case Progress::State::kReplicate:
      pr.inflights.FreeUpTo(m.index);
      break;
  }
  if (MaybeCommit()) {
    if (role_ != Role::kLeader) return;
    BroadcastAppend();
  }
  while (MaybeSendAppend(m.from, false)) {
  }
  if (m.from == transferee_ && pr.match == log_.LastIndex()) {
    Log(absl::StrCat("transfer target ", m.from, " caught up at ", pr.match,
                     "; telling it to campaign"));
    Message now;
    now.type = MessageType::kTimeoutNow;
    now.to = m.from;
    Send(std::move(now));
  }
}

void Raft::Impl::HandleHeartbeatResponse(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.recovering = m.recovering;
  if (m.recovering && m.index < pr.match) {
    // G4: the follower lost its storage since it acknowledged `match`.
    Log(absl::StrCat("follower ", m.from, " lost its log (it holds up to ", m.index,
                     ", it had acknowledged ", pr.match, "); replicating to it again"));
    pr.match = m.index;
    pr.BecomeProbe();
  }
  if (pr.state == Progress::State::kSnapshot) {
    if (pr.snapshot_acked == pr.snapshot_acked_at_heartbeat) {
      // No chunk acknowledged since the last heartbeat: chunks were lost.
      pr.snapshot_sent = pr.snapshot_acked;
      pr.probe_sent = false;
      SendSnapshotChunks(m.from);
    }
    pr.snapshot_acked_at_heartbeat = pr.snapshot_acked;
  } else if (pr.match < log_.LastIndex()) {
    // The follower is behind: resume a probe, or in replicate state resend
    // from the first unacknowledged entry (appends may have been lost).
    if (pr.state == Progress::State::kReplicate && pr.inflights.Full()) pr.BecomeProbe();
    pr.probe_sent = false;
    MaybeSendAppend(m.from, true);
  }
  if (!m.context.empty() && conf_.IsVoter(m.from) && !m.recovering) {
    for (PendingRead& read : pending_reads_) {
      if (ReadContext(read.id) == m.context) {
        read.acks.insert(m.from);
        break;
      }
    }
    ReleaseConfirmedReads();
  }
}

void Raft::Impl::HandleSnapshotResponse(const Message& m) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.recovering = m.recovering;
  if (pr.state != Progress::State::kSnapshot || m.index != pr.snapshot_index) return;
  if (m.reject) {
    Log(absl::StrCat("follower ", m.from, " refused the snapshot at index ", m.index));
    pr.BecomeProbe();
    return;
  }
  if (m.chunk_offset < pr.snapshot_acked) {
    // The follower restarted its staging (it crashed, or lost a chunk).
    pr.snapshot_acked = m.chunk_offset;
    pr.snapshot_sent = m.chunk_offset;
    pr.probe_sent = false;
  } else {
    pr.snapshot_acked = m.chunk_offset;
  }
  SendSnapshotChunks(m.from);
}

void Raft::Impl::HandleReadIndexRequest(NodeId requester, std::string context) {
  if (!CommittedInCurrentTerm()) {
    // A new leader's commit index may lag entries committed in earlier terms
    // until its own first entry commits; answer then (MaybeCommit).
    reads_before_first_commit_.emplace_back(requester, std::move(context));
    return;
  }
  PendingRead read;
  read.id = next_read_id_++;
  read.index = log_.commit();
  read.requester = requester;
  read.context = std::move(context);
  pending_reads_.push_back(std::move(read));
  if (Quorum() <= 1) {
    ReleaseConfirmedReads();
    return;
  }
  BroadcastHeartbeat(ReadContext(pending_reads_.back().id));
}

void Raft::Impl::ReleaseConfirmedReads() {
  // The newest read confirmed by a quorum confirms every older one too.
  int self = conf_.IsVoter(id_) ? 1 : 0;
  auto confirmed = pending_reads_.end();
  for (auto it = pending_reads_.begin(); it != pending_reads_.end(); ++it) {
    if (static_cast<int>(it->acks.size()) + self >= Quorum()) confirmed = it;
  }
  if (confirmed == pending_reads_.end()) return;
  ++confirmed;
  for (auto it = pending_reads_.begin(); it != confirmed; ++it) {
    if (it->requester == id_) {
      read_states_.push_back(ReadState{it->index, std::move(it->context)});
    } else {
      Message m;
      m.type = MessageType::kReadIndexResp;
      m.to = it->requester;
      m.index = it->index;
      m.context = std::move(it->context);
      Send(std::move(m));
    }
  }
  pending_reads_.erase(pending_reads_.begin(), confirmed);
}

bool Raft::Impl::MaybeCommit() {
  std::vector<uint64_t> matches;
  for (NodeId voter : conf_.voters) {
    auto it = progress_.find(voter);
    // G4: a recovering node's acknowledgements do not count.
    bool counts = it != progress_.end() && (voter == id_ || !it->second.recovering);
    matches.push_back(counts ? it->second.match : 0);
  }
  if (matches.empty()) return false;
  std::sort(matches.begin(), matches.end(), std::greater<uint64_t>());
  uint64_t candidate = matches[Quorum() - 1];
  if (candidate <= log_.commit()) return false;
  // Only entries of the current term commit by counting (Raft 5.4.2).
  if (!log_.MatchTerm(candidate, term_)) return false;
  const bool first_commit_in_term = !CommittedInCurrentTerm();
  log_.CommitTo(candidate);
  if (first_commit_in_term && !reads_before_first_commit_.empty()) {
    auto waiting = std::move(reads_before_first_commit_);
    reads_before_first_commit_.clear();
    for (auto& [requester, context] : waiting) HandleReadIndexRequest(requester, std::move(context));
  }
  while (!uncommitted_.empty() && uncommitted_.front().first <= candidate) {
    uncommitted_bytes_ -= uncommitted_.front().second;
    uncommitted_.pop_front();
  }
  if (!conf_.IsVoter(id_) && pending_conf_index_ <= log_.commit()) {
    Log(absl::StrCat("committed our own removal at index ", pending_conf_index_,
                     "; stepping down"));
    BecomeFollower(term_, kNoNode);
  }
  return true;
}

bool Raft::Impl::QuorumActive() {
  int active = 0;
  for (NodeId voter : conf_.voters) {
    if (voter == id_) {
      ++active;
      continue;
    }
    auto it = progress_.find(voter);
    if (it != progress_.end() && it->second.recent_active && !it->second.recovering) ++active;
  }
  for (auto& [id, pr] : progress_) pr.recent_active = false;
  return active >= Quorum();
}

void Raft::Impl::AbortLeaderTransfer() { transferee_ = kNoNode; }

bool Raft::Impl::CommittedInCurrentTerm() const { return log_.MatchTerm(log_.commit(), term_); }

}  // namespace qbox::raft

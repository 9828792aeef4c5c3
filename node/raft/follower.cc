// The follower side of the consensus core: accepting appends (with the
// hardening of G1 and G5), heartbeats, chunked snapshots, and the recovery of
// a node that lost its storage (G4).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "node/common/sha256.h"
#include "node/raft/raft_impl.h"

namespace qbox::raft {

void Raft::Impl::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      return;
    case MessageType::kTimeoutNow:
      // Only our own leader hands leadership over (lease.cc).
      if (m.from != lead_) {
        Log(absl::StrCat("ignored TimeoutNow from ", m.from, ", which is not our leader (", lead_,
                         ")"));
        return;
      }
      if (Promotable()) {
        Log(absl::StrCat("leader ", m.from, " hands over leadership; campaigning now"));
        StartElection(false, true);
      }
      return;
    case MessageType::kReadIndexResp:
      // Only our leader confirms a read index or a recovery target: another
      // node's answer could be stale, or low enough to end a recovery early.
      if (m.from != lead_) {
        Log(absl::StrCat("ignored a read index answer from ", m.from, ", which is not our leader (",
                         lead_, ")"));
        return;
      }
      if (m.context == kRecoveryReadContext) {
        if (recovering_ && recovery_target_ == 0) {
          recovery_target_ = std::max<uint64_t>(m.index, 1);
          Log(absl::StrCat("leader ", m.from, " confirmed commit index ", recovery_target_,
                           "; voting again once caught up to it"));
          CommitTo(log_.commit());
        }
        return;
      }
      if (asked_reads_.erase(m.context) == 0) {
        Log(absl::StrCat("ignored an answer from ", m.from, " to a read we did not ask for"));
        return;
      }
      read_states_.push_back(ReadState{m.index, m.context});
      return;
    default:
      return;
  }
}

void Raft::Impl::RaiseAlarm(Alarm::Kind kind, const Message& m, uint64_t index,
                            std::string detail) {
  if (kind == Alarm::Kind::kRefusedTruncation) ++refused_truncations_;
  if (kind == Alarm::Kind::kChainMismatch) ++chain_mismatches_;
  Log(absl::StrCat("ALARM ", AlarmKindName(kind), " from leader ", m.from, " (term ", m.term,
                   ") at index ", index, ": ", detail));
  alarms_.push_back(Alarm{kind, m.from, m.term, index, std::move(detail)});
}

absl::Status Raft::Impl::HandleAppend(const Message& m) {
  MaybeRequestRecoveryTarget();
  leader_commit_ = std::max(leader_commit_, m.commit);
  const uint64_t commit = log_.commit();
  const uint64_t last_new = m.index + m.entries.size();
  size_t first = 0;  // first entry of m.entries not known to be committed here
  if (m.index < commit) {
    // G1: whatever the leader sends at or below our commit index must equal
    // what we hold; an honest leader's log contains our committed prefix.
    for (; first < m.entries.size() && m.entries[first].index <= commit; ++first) {
      const Entry& e = m.entries[first];
      if (e.index < log_.FirstIndex()) continue;  // compacted: covered by our snapshot
      auto term = log_.Term(e.index);
      auto chain = log_.Chain(e.index);
      if (term.ok() && chain.ok() && (*term != e.term || *chain != e.chain)) {
        std::string detail = absl::StrCat("entry ", e.index, " (term ", e.term,
                                          ") would overwrite our committed entry of term ",
                                          *term, "; our commit index is ", commit);
        RaiseAlarm(Alarm::Kind::kRefusedTruncation, m, e.index, detail);
        return absl::FailedPreconditionError(detail);
      }
    }
    if (first == m.entries.size()) {
      Message resp;
      resp.type = MessageType::kAppendResp;
      resp.to = m.from;
      resp.index = commit;
      Send(std::move(resp));
      return absl::OkStatus();
    }
  } else {
    if (!log_.MatchTerm(m.index, m.log_term)) {
      RejectAppend(m);
      return absl::OkStatus();
    }
    auto chain = log_.Chain(m.index);
    if (m.index > 0 && chain.ok() && *chain != m.prev_chain) {
      std::string detail = absl::StrCat("the chain value the leader sent for index ", m.index,
                                        " differs from ours");
      RaiseAlarm(Alarm::Kind::kChainMismatch, m, m.index, detail);
      return absl::FailedPreconditionError(detail);
    }
  }

  // Skip entries we already hold with the same term; the first mismatch (or
  // the first entry past our log) is where new entries start.
  size_t conflict = first;
  for (; conflict < m.entries.size(); ++conflict) {
    const Entry& e = m.entries[conflict];
    if (!log_.MatchTerm(e.index, e.term)) break;
    auto chain = log_.Chain(e.index);
    if (chain.ok() && *chain != e.chain) {
      std::string detail = absl::StrCat("entry ", e.index, " has the same term as ours but a "
                                        "different chain value");
      RaiseAlarm(Alarm::Kind::kChainMismatch, m, e.index, detail);
      return absl::FailedPreconditionError(detail);
    }
  }
  if (conflict < m.entries.size()) {
    const uint64_t start = m.entries[conflict].index;
    if (start <= log_.commit()) {
      std::string detail = absl::StrCat("entries from ", start, " would replace committed ones; "
                                        "our commit index is ", log_.commit());
      RaiseAlarm(Alarm::Kind::kRefusedTruncation, m, start, detail);
      return absl::FailedPreconditionError(detail);
    }
    // G5: verify every new entry's chain before taking any of them.
    auto prev_chain = log_.Chain(start - 1);
    if (!prev_chain.ok()) {
      RejectAppend(m);
      return absl::OkStatus();
    }
    ChainHash prev = *prev_chain;
    ConfState conf = base_conf_;
    for (const auto& [at, state] : conf_entries_) {
      if (at < start) conf = state;
    }
    for (size_t i = conflict; i < m.entries.size(); ++i) {
      const Entry& e = m.entries[i];
      ChainHash expected = ComputeChain(prev, e.term, e.index, e.type, e.data);
      if (expected != e.chain) {
        std::string detail =
            absl::StrCat("entry ", e.index, " carries chain ", ChainToHex(e.chain).substr(0, 16),
                         "..., expected ", ChainToHex(expected).substr(0, 16), "...");
        RaiseAlarm(Alarm::Kind::kChainMismatch, m, e.index, detail);
        return absl::FailedPreconditionError(detail);
      }
      prev = e.chain;
      if (e.type == EntryType::kConfChange) {
        const ConfChange change = *ConfChange::Decode(e.data);
        if (config_.membership_guard) {
          absl::Status allowed = config_.membership_guard(change, conf);
          if (!allowed.ok()) {
            std::string detail = absl::StrCat("append.entries[", i, "] (index ", e.index,
                                              ") is a membership change this node refuses: ",
                                              allowed.message());
            RaiseAlarm(Alarm::Kind::kRefusedMembership, m, e.index, detail);
            return absl::FailedPreconditionError(detail);
          }
        }
        if (!change.ApplyTo(&conf)) {
          std::string detail = absl::StrCat("append.entries[", i, "] (index ", e.index,
                                            ") is a membership change that does not fit");
          Log(absl::StrCat("refused Append from ", m.from, ": ", detail));
          return absl::InvalidArgumentError(detail);
        }
      }
    }
    if (start <= log_.LastIndex()) {
      Log(absl::StrCat("leader ", m.from, " of term ", m.term,
                       " replaces our uncommitted entries from index ", start, " to ",
                       log_.LastIndex()));
      TruncateConfEntriesFrom(start);
    }
    std::vector<Entry> fresh(m.entries.begin() + conflict, m.entries.end());
    std::vector<Entry> conf_entries;
    for (const Entry& e : fresh) {
      if (e.type == EntryType::kConfChange) conf_entries.push_back(e);
    }
    log_.Append(std::move(fresh));
    OnConfEntriesAppended(conf_entries);
  }
  CommitTo(std::min(m.commit, last_new));
  Message resp;
  resp.type = MessageType::kAppendResp;
  resp.to = m.from;
  resp.index = last_new;
  Send(std::move(resp));
  return absl::OkStatus();
}

void Raft::Impl::RejectAppend(const Message& m) {
  // Point the leader at the last index whose term could match, so it skips a
  // whole conflicting term per round trip instead of one entry.
  uint64_t hint = log_.FindConflictByTerm(std::min(m.index, log_.LastIndex()), m.log_term);
  auto hint_term = log_.Term(hint);
  Message resp;
  resp.type = MessageType::kAppendResp;
  resp.to = m.from;
  resp.reject = true;
  resp.index = m.index;
  resp.reject_hint = hint;
  resp.hint_term = hint_term.ok() ? *hint_term : 0;
  Send(std::move(resp));
}

void Raft::Impl::HandleHeartbeat(const Message& m) {
  MaybeRequestRecoveryTarget();
  leader_commit_ = std::max(leader_commit_, m.index);
  // A heartbeat carries no entries to check, so it commits only an entry it
  // names by chain value: ours must be the same (G1 against a leader that
  // claims a commit index over entries it never sent us, or a heartbeat
  // meant for another follower).
  const uint64_t target = std::min(m.commit, log_.LastIndex());
  if (target > log_.commit()) {
    auto chain = log_.Chain(target);
    if (chain.ok() && *chain == m.prev_chain) CommitTo(target);
  }
  Message resp;
  resp.type = MessageType::kHeartbeatResp;
  resp.to = m.from;
  resp.index = log_.LastIndex();  // lets a leader notice that we lost our log
  resp.context = m.context;
  Send(std::move(resp));
}

bool Raft::Impl::AwaitingAttestation() const {
  return recovering_ && recovery_target_ > 0 && log_.commit() >= recovery_target_ &&
         config_.recovery_needs_attestation;
}

void Raft::Impl::CommitTo(uint64_t index) {
  const bool was_awaiting = AwaitingAttestation();
  log_.CommitTo(index);
  if (AwaitingAttestation()) {
    // G4: having the entries is not enough; the layer above first checks
    // our state against digests the other sites attest (ConfirmRecovery).
    if (!was_awaiting) {
      Log(absl::StrCat("caught up to the confirmed commit index (now ", log_.commit(),
                       "); awaiting attestation before voting again"));
    }
    return;
  }
  if (recovering_ && recovery_target_ > 0 && log_.commit() >= recovery_target_) {
    recovering_ = false;
    recovery_target_ = 0;
    Log(absl::StrCat("caught up to the confirmed commit index (now ", log_.commit(),
                     "); voting again"));
  }
}

void Raft::Impl::MaybeRequestRecoveryTarget() {
  // Ask the leader for a quorum-confirmed commit index; a stale leader cannot
  // confirm one, so the target covers every entry committed anywhere.
  if (!recovering_ || recovery_target_ != 0 || lead_ == kNoNode) return;
  if (recovery_request_elapsed_ > 0 && recovery_request_elapsed_ < config_.election_ticks) {
    ++recovery_request_elapsed_;
    return;
  }
  recovery_request_elapsed_ = 1;
  Message m;
  m.type = MessageType::kReadIndex;
  m.to = lead_;
  m.context = kRecoveryReadContext;
  Send(std::move(m));
}

void Raft::Impl::ResetIncomingSnapshot() {
  if (incoming_snapshot_ && incoming_snapshot_->digest) {
    EVP_MD_CTX_free(incoming_snapshot_->digest);
  }
  incoming_snapshot_.reset();
}

absl::Status Raft::Impl::HandleSnapshotChunk(const Message& m) {
  MaybeRequestRecoveryTarget();
  if (log_.HasPendingSnapshot()) {
    // A completed snapshot waits to be installed by the runtime; chunks of
    // another one would land in the same staging area first. The leader
    // resends what we ignore here.
    return absl::OkStatus();
  }
  const SnapshotMeta& meta = m.snapshot;
  auto respond = [&](MessageType type, uint64_t index, uint64_t offset, bool reject) {
    Message resp;
    resp.type = type;
    resp.to = m.from;
    resp.index = index;
    resp.chunk_offset = offset;
    resp.reject = reject;
    Send(std::move(resp));
  };
  // A snapshot must agree with any entry we hold at its index.
  auto our_term = log_.Term(meta.index);
  auto our_chain = log_.Chain(meta.index);
  if (our_term.ok() && our_chain.ok() && *our_term == meta.term && *our_chain != meta.chain) {
    std::string detail = absl::StrCat("snapshot at index ", meta.index,
                                      " carries a chain value that differs from our entry's");
    RaiseAlarm(Alarm::Kind::kSnapshotMismatch, m, meta.index, detail);
    respond(MessageType::kSnapshotResp, meta.index, 0, true);
    return absl::FailedPreconditionError(detail);
  }
  if (meta.index <= log_.commit()) {
    if (our_term.ok() && *our_term != meta.term) {
      std::string detail = absl::StrCat("snapshot at index ", meta.index, " has term ", meta.term,
                                        " but our committed entry there has term ", *our_term);
      RaiseAlarm(Alarm::Kind::kSnapshotMismatch, m, meta.index, detail);
      respond(MessageType::kSnapshotResp, meta.index, 0, true);
      return absl::FailedPreconditionError(detail);
    }
    respond(MessageType::kAppendResp, log_.commit(), 0, false);
    return absl::OkStatus();
  }
  if (our_term.ok() && *our_term == meta.term) {
    // We already hold the entry: fast-forward instead of copying state.
    ResetIncomingSnapshot();
    CommitTo(meta.index);
    respond(MessageType::kAppendResp, meta.index, 0, false);
    return absl::OkStatus();
  }
  if (config_.snapshot_guard && m.chunk_offset == 0) {
    absl::Status vouched = config_.snapshot_guard(meta, m.from, recovering_);
    if (!vouched.ok()) {
      if (refused_snapshot_index_ != meta.index) {
        refused_snapshot_index_ = meta.index;
        RaiseAlarm(Alarm::Kind::kRefusedSnapshot, m, meta.index,
                   absl::StrCat("snapshot at index ", meta.index,
                                " would replace our state "
                                "(commit index ",
                                log_.commit(), "): ", vouched.message(),
                                "; keeping our state and waiting"));
      }
      ResetIncomingSnapshot();
      respond(MessageType::kSnapshotResp, meta.index, 0, true);
      return absl::OkStatus();
    }
  }
  bool same = incoming_snapshot_ && incoming_snapshot_->meta.index == meta.index &&
              incoming_snapshot_->meta.term == meta.term &&
              incoming_snapshot_->meta.data_digest == meta.data_digest;
  if (!same) {
    if (m.chunk_offset != 0) {
      respond(MessageType::kSnapshotResp, meta.index, 0, false);
      return absl::OkStatus();
    }
    ResetIncomingSnapshot();
    incoming_snapshot_ = std::make_unique<IncomingSnapshot>();
    incoming_snapshot_->meta = meta;
    incoming_snapshot_->digest = EVP_MD_CTX_new();
    EVP_DigestInit_ex(incoming_snapshot_->digest, qbox::Sha256Md(), nullptr);
    Log(absl::StrCat("receiving snapshot at index ", meta.index, " (", meta.data_size,
                     " bytes) from leader ", m.from));
  }
  IncomingSnapshot& in = *incoming_snapshot_;
  if (m.chunk_offset != in.received) {
    respond(MessageType::kSnapshotResp, meta.index, in.received, false);
    return absl::OkStatus();
  }
  EVP_DigestUpdate(in.digest, m.chunk_data.data(), m.chunk_data.size());
  // G7: a snapshot arriving in order is progress even though the commit
  // index waits for its last chunk.
  stalled_ticks_ = 0;
  snapshot_chunks_.push_back(SnapshotChunkWrite{m.chunk_offset, m.chunk_data});
  in.received += m.chunk_data.size();
  if (!m.chunk_last) {
    respond(MessageType::kSnapshotResp, meta.index, in.received, false);
    return absl::OkStatus();
  }
  ChainHash digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(in.digest, digest.data(), &len);
  if (in.received != meta.data_size || digest != meta.data_digest) {
    std::string detail = absl::StrCat("snapshot at index ", meta.index,
                                      " does not match its digest; discarded");
    ResetIncomingSnapshot();
    snapshot_chunks_.clear();
    RaiseAlarm(Alarm::Kind::kSnapshotMismatch, m, meta.index, detail);
    respond(MessageType::kSnapshotResp, meta.index, 0, true);
    return absl::FailedPreconditionError(detail);
  }
  ResetIncomingSnapshot();
  Log(absl::StrCat("installing snapshot at index ", meta.index, " term ", meta.term,
                   " from leader ", m.from));
  log_.RestoreSnapshot(meta);
  base_conf_ = meta.conf;
  conf_entries_.clear();
  RecomputeConf();
  CommitTo(meta.index);
  respond(MessageType::kAppendResp, meta.index, 0, false);
  return absl::OkStatus();
}

}  // namespace qbox::raft

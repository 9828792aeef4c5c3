#include "tests/sim/sim_adversary.h"

#include <openssl/sha.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qbox::sim {
namespace {

constexpr size_t kReplayKept = 256;
constexpr uint64_t kHugeIndex = 1000000000;

constexpr raft::MessageType kAllTypes[] = {
    raft::MessageType::kPreVote,       raft::MessageType::kPreVoteResp,
    raft::MessageType::kVote,          raft::MessageType::kVoteResp,
    raft::MessageType::kAppend,        raft::MessageType::kAppendResp,
    raft::MessageType::kHeartbeat,     raft::MessageType::kHeartbeatResp,
    raft::MessageType::kSnapshotChunk, raft::MessageType::kSnapshotResp,
    raft::MessageType::kTimeoutNow,    raft::MessageType::kReadIndex,
    raft::MessageType::kReadIndexResp,
};

bool IsLeaderMessage(raft::MessageType type) {
  return type == raft::MessageType::kAppend || type == raft::MessageType::kHeartbeat ||
         type == raft::MessageType::kSnapshotChunk;
}

}  // namespace

SimAdversary::SimAdversary(std::set<raft::NodeId> hostile, std::vector<raft::NodeId> honest,
                           bool equivocate, SimRandom* random)
    : hostile_(std::move(hostile)),
      hostile_list_(hostile_.begin(), hostile_.end()),
      honest_(std::move(honest)),
      equivocate_(equivocate),
      random_(random) {
  churn_votes_ = random_->Chance(0.5);
}

void SimAdversary::Observe(const raft::Message& m) {
  max_term_ = std::max(max_term_, m.term);
  max_index_ = std::max(max_index_, m.index);
}

uint64_t SimAdversary::SomeTerm() {
  switch (random_->Uniform(0, 5)) {
    case 0:
      return max_term_;
    case 1:
    case 2:
      return max_term_ + 1;
    case 3:
      return max_term_ + random_->Uniform(2, 5);
    case 4:
      return max_term_ + random_->Uniform(6, 1000000);
    default:
      return max_term_ > 1 ? max_term_ - 1 : 1;
  }
}

std::vector<raft::Message> SimAdversary::Transform(const raft::Message& real) {
  std::vector<raft::Message> out;
  max_term_ = std::max(max_term_, real.term);
  if (silent_) {
    ++stats_.dropped;
    return out;
  }
  sent_.push_back(real);
  if (sent_.size() > kReplayKept) sent_.pop_front();
  const uint64_t roll = random_->Uniform(0, 99);
  if (roll < 55) {
    out.push_back(real);
    ++stats_.forwarded;
  } else if (roll < 65) {
    ++stats_.dropped;
  } else if (roll < 90) {
    out.push_back(Disrupt(real));
    ++stats_.mutated;
  } else if (equivocate_) {
    // A different version of the same message to each honest peer.
    for (raft::NodeId to : honest_) {
      raft::Message copy = Equivocate(real);
      copy.to = to;
      out.push_back(std::move(copy));
    }
    stats_.mutated += honest_.size();
  } else {
    out.push_back(real);
    out.push_back(Disrupt(real));
    ++stats_.mutated;
  }
  return out;
}

std::vector<raft::Message> SimAdversary::Fabricate() {
  std::vector<raft::Message> out;
  ++ticks_;
  if (silent_) return out;
  if (churn_votes_ && ticks_ % 3 == 0) {
    for (raft::NodeId to : honest_) {
      for (raft::MessageType type : {raft::MessageType::kPreVote, raft::MessageType::kVote}) {
        raft::Message m;
        m.type = type;
        m.from = SomeHostile();
        m.to = to;
        m.term = max_term_ + 1;
        m.index = kHugeIndex;
        m.log_term = max_term_;
        m.context = "qbox:transfer";
        out.push_back(std::move(m));
        ++stats_.fabricated;
      }
    }
  }
  if (!random_->Chance(0.3)) return out;
  const uint64_t count = random_->Uniform(1, 3);
  for (uint64_t i = 0; i < count; ++i) {
    if (!sent_.empty() && random_->Chance(0.25)) {
      raft::Message old = sent_[random_->Uniform(0, sent_.size() - 1)];
      // Replayed to whoever it likes, but always in its own name.
      old.to = SomeHonest();
      out.push_back(std::move(old));
      ++stats_.replayed;
    } else {
      out.push_back(MadeUp());
      ++stats_.fabricated;
    }
  }
  return out;
}

raft::Message SimAdversary::Disrupt(raft::Message m) {
  // Leader messages keep their term, entries and commit index unless the
  // adversary equivocates: changing them makes a second leader or lies
  // about what committed.
  if (IsLeaderMessage(m.type)) {
    if (equivocate_) return Equivocate(std::move(m));
    if (random_->Chance(0.5)) m.to = SomeHonest();
    if (random_->Chance(0.3)) m.transferee = random_->Chance(0.5) ? SomeHonest() : SomeHostile();
    if (m.type == raft::MessageType::kHeartbeat && random_->Chance(0.5)) {
      m.context = absl::StrCat("read:", random_->Uniform(1, 50));
    }
    return m;
  }
  switch (m.type) {
    case raft::MessageType::kVote:
    case raft::MessageType::kPreVote:
      // Its own campaign keeps its real log position: a core that wins on
      // a claimed log it does not hold is the equivocating class (it can
      // then hand honest followers a stale log under a newer term; see the
      // limits in docs/design.md). Made-up vote requests claim anything.
      m.term = SomeTerm();
      if (random_->Chance(0.5)) m.context = "qbox:transfer";
      break;
    case raft::MessageType::kVoteResp:
    case raft::MessageType::kPreVoteResp:
      // Its vote is its core's: it may only refuse more, or answer late.
      if (random_->Chance(0.5)) m.reject = true;
      if (random_->Chance(0.3)) m.term = SomeTerm();
      break;
    case raft::MessageType::kAppendResp:
    case raft::MessageType::kHeartbeatResp:
    case raft::MessageType::kSnapshotResp:
      // Its acknowledgements are its core's: it may only withhold them
      // (an acknowledgement it made up is a lie about its log, below).
      if (random_->Chance(0.5)) m.term = SomeTerm();
      if (random_->Chance(0.3)) m.reject = true;
      if (random_->Chance(0.2)) m.recovering = true;
      if (m.reject && random_->Chance(0.3)) m.reject_hint = random_->Uniform(0, max_index_);
      break;
    default:
      m.term = SomeTerm();
      break;
  }
  if (random_->Chance(0.3)) m.to = SomeHonest();
  return m;
}

raft::Message SimAdversary::Equivocate(raft::Message m) {
  if (random_->Chance(0.3)) m.term = SomeTerm();
  if (random_->Chance(0.4)) m.commit = std::max(m.commit, m.index + m.entries.size());
  if (!m.entries.empty() && random_->Chance(0.6)) {
    raft::Entry& e = m.entries[random_->Uniform(0, m.entries.size() - 1)];
    e.data = absl::StrCat("k", random_->Uniform(0, 15), "=forged-", random_->Next() % 1000);
    e.type = raft::EntryType::kNormal;
    if (random_->Chance(0.8)) {
      // Re-chain from the message's previous chain so that it verifies.
      raft::ChainHash prev = m.prev_chain;
      for (raft::Entry& x : m.entries) {
        x.chain = raft::ComputeChain(prev, x.term, x.index, x.type, x.data);
        prev = x.chain;
      }
    }
  }
  if ((m.type == raft::MessageType::kVoteResp || m.type == raft::MessageType::kPreVoteResp ||
       m.type == raft::MessageType::kAppendResp) &&
      random_->Chance(0.5)) {
    m.reject = false;  // a vote or an acknowledgement its core would not give
    if (m.type == raft::MessageType::kAppendResp) m.index += random_->Uniform(0, 20);
  }
  return m;
}

raft::Message SimAdversary::ForgedSnapshot(raft::NodeId from, raft::NodeId to) {
  raft::Message m;
  m.type = raft::MessageType::kSnapshotChunk;
  m.from = from;
  m.to = to;
  m.term = random_->Chance(0.5) ? max_term_ : max_term_ + 1;
  const uint64_t index = max_index_ + random_->Uniform(1, 40);
  const uint64_t term = m.term;
  auto key = std::make_pair(index, term);
  auto it = forged_states_.find(key);
  if (it == forged_states_.end() || equivocate_) {
    // A well-formed, empty state (tests/sim/hash_state_machine.cc's format).
    std::string voters;
    std::vector<raft::NodeId> all(honest_);
    all.insert(all.end(), hostile_list_.begin(), hostile_list_.end());
    std::sort(all.begin(), all.end());
    std::string data =
        absl::StrCat(index, " ", term, " ", random_->Next() % 1000000, " 0 ", std::string(64, '0'),
                     "\nvoters=", absl::StrJoin(all, ","), "\nlearners=\n");
    it = forged_states_.insert_or_assign(key, std::move(data)).first;
  }
  const std::string& data = it->second;
  m.snapshot.index = index;
  m.snapshot.term = term;
  m.snapshot.conf.voters.assign(honest_.begin(), honest_.end());
  m.snapshot.conf.voters.insert(m.snapshot.conf.voters.end(), hostile_list_.begin(),
                                hostile_list_.end());
  std::sort(m.snapshot.conf.voters.begin(), m.snapshot.conf.voters.end());
  m.snapshot.data_size = data.size();
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         m.snapshot.data_digest.data());
  m.chunk_offset = 0;
  m.chunk_data = data;
  m.chunk_last = true;
  ++stats_.forged_snapshots;
  return m;
}

raft::Message SimAdversary::MadeUp() {
  const raft::NodeId from = SomeHostile();
  const raft::NodeId to = SomeHonest();
  raft::MessageType type = kAllTypes[random_->Uniform(0, std::size(kAllTypes) - 1)];
  if (type == raft::MessageType::kSnapshotChunk) return ForgedSnapshot(from, to);
  raft::Message m;
  m.type = type;
  m.from = from;
  m.to = to;
  m.term = SomeTerm();
  switch (type) {
    case raft::MessageType::kVote:
    case raft::MessageType::kPreVote:
      m.index = random_->Chance(0.5) ? kHugeIndex : max_index_ + random_->Uniform(0, 100);
      m.log_term = m.term - 1;
      if (random_->Chance(0.6)) m.context = "qbox:transfer";
      break;
    case raft::MessageType::kHeartbeat:
      // Claims leadership of a term; commits nothing it has not got.
      m.commit = equivocate_ ? max_index_ + random_->Uniform(0, 5) : 0;
      m.index = max_index_ + random_->Uniform(0, 100);
      if (random_->Chance(0.3)) m.transferee = SomeHostile();
      break;
    case raft::MessageType::kAppend:
      if (!equivocate_) {
        m.type = raft::MessageType::kHeartbeat;  // entries are its core's
        m.commit = 0;
        break;
      }
      m.index = max_index_ > 0 ? random_->Uniform(0, max_index_) : 0;
      m.log_term = m.term > 1 ? random_->Uniform(1, m.term - 1) : 0;
      m.commit = m.index + 1;
      {
        raft::Entry e;
        e.term = m.term;
        e.index = m.index + 1;
        e.data = absl::StrCat("k", random_->Uniform(0, 15), "=made-up");
        e.chain = raft::ComputeChain(m.prev_chain, e.term, e.index, e.type, e.data);
        m.entries.push_back(std::move(e));
      }
      break;
    case raft::MessageType::kReadIndex:
      m.context = random_->Chance(0.5) ? "qbox:recovery" : absl::StrCat("read:", random_->Next());
      break;
    case raft::MessageType::kReadIndexResp:
      // An answer to a read nobody asked it (a hostile leader's answers to
      // reads it was asked are its own: reads through it are not safe).
      m.context = absl::StrCat("read-made-up-", random_->Uniform(1, 100));
      m.index = random_->Uniform(0, max_index_ + 10);
      break;
    default:
      // Answers it made up: only refusals, unless it lies about its votes
      // and log (equivocation).
      m.index = random_->Uniform(0, max_index_ + 10);
      m.reject = equivocate_ ? random_->Chance(0.5) : true;
      break;
  }
  return m;
}

}  // namespace qbox::sim

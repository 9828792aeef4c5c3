#include "node/server/hostile/hostile_transport.h"

#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "qbox/v1/charter.pb.h"
#include "qbox/v1/command.pb.h"

namespace qbox::server::hostile {
namespace {

constexpr absl::Duration kTriggerPoll = absl::Milliseconds(200);
// Forgeries go out at most this often: enough for a test to see every kind
// of refusal quickly, without burying the followers' alarm lists.
constexpr absl::Duration kForgeryInterval = absl::Seconds(1);

std::string Names(const HostileBehaviours& b) {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ",";
    out += name;
  };
  add(b.overwrite_committed, "overwrite-committed");
  add(b.broken_chain, "broken-chain");
  add(b.bad_snapshot, "bad-snapshot");
  add(b.stop_committing, "stop-committing");
  add(b.double_promotion, "double-promotion");
  add(b.oversized_command, "oversized-command");
  return out.empty() ? "nothing" : out;
}

}  // namespace

HostileTransport::HostileTransport(HostileBehaviours behaviours, std::string trigger_file,
                                   const raft::LogStorage* storage, RaftTransport* inner,
                                   std::function<void(std::string_view)> logger,
                                   std::string own_site)
    : behaviours_(behaviours),
      trigger_file_(std::move(trigger_file)),
      storage_(storage),
      inner_(inner),
      logger_(std::move(logger)),
      own_site_(std::move(own_site)) {}

void HostileTransport::Log(const std::string& line) const {
  if (logger_) logger_("HOSTILE (test binary): " + line);
}

HostileBehaviours HostileTransport::Armed() {
  const absl::Time now = absl::Now();
  if (now - trigger_checked_ < kTriggerPoll) return armed_;
  trigger_checked_ = now;
  HostileBehaviours armed;
  struct stat st;
  if (!trigger_file_.empty() && ::stat(trigger_file_.c_str(), &st) == 0) {
    std::ifstream in(trigger_file_);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    absl::StatusOr<HostileBehaviours> chosen =
        ParseBehaviours(std::string(absl::StripAsciiWhitespace(content)));
    if (!chosen.ok()) {
      Log(absl::StrCat(trigger_file_, ": ", chosen.status().message()));
    } else {
      if (!chosen->any()) chosen = behaviours_;  // an empty file arms everything
      armed.overwrite_committed = behaviours_.overwrite_committed && chosen->overwrite_committed;
      armed.broken_chain = behaviours_.broken_chain && chosen->broken_chain;
      armed.bad_snapshot = behaviours_.bad_snapshot && chosen->bad_snapshot;
      armed.stop_committing = behaviours_.stop_committing && chosen->stop_committing;
      armed.double_promotion = behaviours_.double_promotion && chosen->double_promotion;
      armed.oversized_command = behaviours_.oversized_command && chosen->oversized_command;
    }
  }
  if (Names(armed) != Names(armed_)) Log("armed: " + Names(armed));
  armed_ = armed;
  return armed_;
}

void HostileTransport::Send(std::vector<raft::Message> messages) {
  std::vector<raft::Message> out;
  {
    absl::MutexLock lock(&mu_);
    const HostileBehaviours armed = Armed();
    if (!armed.any()) {
      inner_->Send(std::move(messages));
      return;
    }
    out.reserve(messages.size());
    const raft::Message* heartbeat = nullptr;
    for (raft::Message& m : messages) {
      if (m.type == raft::MessageType::kHeartbeat) peers_.insert(m.to);
      if (armed.stop_committing &&
          (m.type == raft::MessageType::kAppend || m.type == raft::MessageType::kSnapshotChunk)) {
        if (withheld_++ % 1000 == 0) Log(absl::StrCat("withheld ", withheld_, " appends so far"));
        continue;
      }
      out.push_back(std::move(m));
      if (out.back().type == raft::MessageType::kHeartbeat) heartbeat = &out.back();
    }
    // Only a leader sends heartbeats: that is when the lies can hurt.
    if (heartbeat != nullptr && absl::Now() - last_forgery_ >= kForgeryInterval) {
      last_forgery_ = absl::Now();
      const raft::NodeId self = heartbeat->from;
      const uint64_t term = heartbeat->term;
      const uint64_t commit = heartbeat->index;  // the leader's own commit index
      Forge(armed, self, term, commit, &out);
    }
  }
  inner_->Send(std::move(out));
}

void HostileTransport::Forge(const HostileBehaviours& armed, raft::NodeId self, uint64_t term,
                             uint64_t commit, std::vector<raft::Message>* out) {
  if (armed.double_promotion) PlanDoublePromotion(term);
  for (raft::NodeId to : peers_) {
    std::vector<std::optional<raft::Message>> forged;
    if (armed.overwrite_committed) forged.push_back(OverwriteCommitted(to, term, commit));
    if (armed.broken_chain) forged.push_back(BrokenChain(to, term));
    if (armed.bad_snapshot) forged.push_back(BadSnapshot(to, term, commit));
    if (armed.double_promotion) forged.push_back(DoublePromotion(to, term));
    if (armed.oversized_command) forged.push_back(OversizedCommand(to, term));
    for (std::optional<raft::Message>& m : forged) {
      if (!m) continue;
      m->from = self;
      out->push_back(std::move(*m));
    }
  }
}

std::optional<raft::Message> HostileTransport::OverwriteCommitted(raft::NodeId to, uint64_t term,
                                                                  uint64_t commit) const {
  // Replace the last two committed entries with forged ones of the current
  // term, chained properly from the entry before them: only the follower's
  // rule "never below my commit index" (G1) stops this.
  if (commit < 3) return std::nullopt;
  const uint64_t prev = commit - 2;
  auto prev_term = storage_->Term(prev);
  auto prev_chain = storage_->Chain(prev);
  if (!prev_term.ok() || !prev_chain.ok()) return std::nullopt;
  raft::Message m;
  m.type = raft::MessageType::kAppend;
  m.to = to;
  m.term = term;
  m.index = prev;
  m.log_term = *prev_term;
  m.prev_chain = *prev_chain;
  m.commit = commit;
  raft::ChainHash chain = *prev_chain;
  for (uint64_t index = prev + 1; index <= commit; ++index) {
    raft::Entry e;
    e.term = term;
    e.index = index;
    e.type = raft::EntryType::kNormal;
    e.data = absl::StrCat("forged by a hostile leader at index ", index);
    e.chain = raft::ComputeChain(chain, e.term, e.index, e.type, e.data);
    chain = e.chain;
    m.entries.push_back(std::move(e));
  }
  return m;
}

std::optional<raft::Message> HostileTransport::BrokenChain(raft::NodeId to, uint64_t term) const {
  // One entry past our (and an up-to-date follower's) last index, with a
  // chain value that does not cover its content (G5).
  const uint64_t prev = storage_->LastIndex();
  auto prev_term = storage_->Term(prev);
  auto prev_chain = storage_->Chain(prev);
  if (!prev_term.ok() || !prev_chain.ok()) return std::nullopt;
  raft::Message m;
  m.type = raft::MessageType::kAppend;
  m.to = to;
  m.term = term;
  m.index = prev;
  m.log_term = *prev_term;
  m.prev_chain = *prev_chain;
  raft::Entry e;
  e.term = term;
  e.index = prev + 1;
  e.type = raft::EntryType::kNormal;
  e.data = "an entry whose chain value is a lie";
  e.chain.fill(0xab);
  m.entries.push_back(std::move(e));
  return m;
}

std::optional<raft::Message> HostileTransport::BadSnapshot(raft::NodeId to, uint64_t term,
                                                           uint64_t commit) const {
  // A snapshot at our commit index whose chain value and digest are wrong,
  // sent to a follower that already holds that entry.
  auto at_term = storage_->Term(commit);
  auto at_chain = storage_->Chain(commit);
  if (commit == 0 || !at_term.ok() || !at_chain.ok()) return std::nullopt;
  raft::Message m;
  m.type = raft::MessageType::kSnapshotChunk;
  m.to = to;
  m.term = term;
  m.snapshot.index = commit;
  m.snapshot.term = *at_term;
  m.snapshot.chain = *at_chain;
  m.snapshot.chain[0] ^= 0xff;
  for (raft::NodeId peer : peers_) m.snapshot.conf.voters.push_back(peer);
  m.chunk_data = "a forged snapshot";
  m.snapshot.data_size = m.chunk_data.size();
  m.snapshot.data_digest.fill(0);
  m.chunk_offset = 0;
  m.chunk_last = true;
  return m;
}

// ---------------------------------------------------------- double-promotion

namespace {

constexpr raft::NodeId kForgedLearnerIds[] = {9001, 9002};
// Forgeries that carry only the learners: time for the followers to commit
// and apply them (the charter must list them before the promotions come).
constexpr int kLearnerOnlyForgeries = 2;

raft::Entry ConfEntry(const raft::ConfChange& change) {
  raft::Entry e;
  e.type = raft::EntryType::kConfChange;
  e.data = change.Encode();
  return e;
}

// Chains `entries` after (index, chain) in `term`.
void ChainAfter(uint64_t index, raft::ChainHash chain, uint64_t term,
                std::vector<raft::Entry>* entries) {
  for (raft::Entry& e : *entries) {
    e.term = term;
    e.index = ++index;
    e.chain = raft::ComputeChain(chain, e.term, e.index, e.type, e.data);
    chain = e.chain;
  }
}

}  // namespace

void HostileTransport::PlanDoublePromotion(uint64_t term) {
  ++promotion_forgeries_;
  if (!forged_learners_.empty()) return;
  // Two learners of our own site, after our last entry: a leader may add
  // learners, and the followers commit them because we say so.
  const uint64_t prev = storage_->LastIndex();
  auto prev_term = storage_->Term(prev);
  auto prev_chain = storage_->Chain(prev);
  if (!prev_term.ok() || !prev_chain.ok()) return;
  promotion_prev_index_ = prev;
  promotion_prev_term_ = *prev_term;
  promotion_prev_chain_ = *prev_chain;
  int n = 0;
  for (raft::NodeId id : kForgedLearnerIds) {
    v1::CharterNode node;
    node.set_id(id);
    node.set_site(own_site_);
    node.set_name(absl::StrCat("rogue", ++n));
    node.set_address("127.0.0.1:1");
    raft::ConfChange add;
    add.kind = raft::ConfChange::Kind::kAddLearner;
    add.node = id;
    add.context = node.SerializeAsString();
    forged_learners_.push_back(ConfEntry(add));
  }
  ChainAfter(prev, *prev_chain, term, &forged_learners_);
  // Then both promotions in one batch: each alone leaves our site at 2 of
  // 4 voters, together they give it 3 of 5.
  for (raft::NodeId id : kForgedLearnerIds) {
    raft::ConfChange promote;
    promote.kind = raft::ConfChange::Kind::kPromoteLearner;
    promote.node = id;
    forged_promotions_.push_back(ConfEntry(promote));
  }
  ChainAfter(forged_learners_.back().index, forged_learners_.back().chain, term,
             &forged_promotions_);
  Log(absl::StrCat("double-promotion: learners ", kForgedLearnerIds[0], " and ",
                   kForgedLearnerIds[1], " of ", own_site_, " after index ", prev));
}

std::optional<raft::Message> HostileTransport::DoublePromotion(raft::NodeId to, uint64_t term) {
  if (forged_learners_.empty()) return std::nullopt;
  raft::Message m;
  m.type = raft::MessageType::kAppend;
  m.to = to;
  m.term = term;
  const bool learners_only = promotion_forgeries_ <= kLearnerOnlyForgeries;
  const std::vector<raft::Entry>& entries = learners_only ? forged_learners_ : forged_promotions_;
  if (learners_only) {
    m.index = promotion_prev_index_;
    m.log_term = promotion_prev_term_;
    m.prev_chain = promotion_prev_chain_;
  } else {
    m.index = forged_learners_.back().index;
    m.log_term = forged_learners_.back().term;
    m.prev_chain = forged_learners_.back().chain;
  }
  m.entries = entries;
  m.commit = entries.back().index;  // "committed", because the leader says so
  return m;
}

// --------------------------------------------------------- oversized-command

std::optional<raft::Message> HostileTransport::OversizedCommand(raft::NodeId to, uint64_t term) {
  if (!oversized_.has_value()) {
    const uint64_t prev = storage_->LastIndex();
    auto prev_term = storage_->Term(prev);
    auto prev_chain = storage_->Chain(prev);
    if (!prev_term.ok() || !prev_chain.ok()) return std::nullopt;
    // An endorsement of 2 MiB: twice the largest guard command a node
    // applies (node/mailbox/apply_limits.h).
    v1::MailboxCommand command;
    command.set_actor("site-b/admin/bob");
    command.mutable_endorse_proposal()->set_endorsement(std::string(2 << 20, 'x'));
    raft::Entry e;
    e.type = raft::EntryType::kNormal;
    e.data = command.SerializeAsString();
    std::vector<raft::Entry> entries = {std::move(e)};
    ChainAfter(prev, *prev_chain, term, &entries);
    raft::Message m;
    m.type = raft::MessageType::kAppend;
    m.term = term;
    m.index = prev;
    m.log_term = *prev_term;
    m.prev_chain = *prev_chain;
    m.commit = entries.back().index;  // "committed", because the leader says so
    m.entries = std::move(entries);
    oversized_ = std::move(m);
    Log(absl::StrCat("oversized-command: a ", oversized_->entries.back().data.size(),
                     "-byte command at index ", oversized_->commit));
  }
  raft::Message m = *oversized_;
  m.to = to;
  return m;
}

}  // namespace qbox::server::hostile

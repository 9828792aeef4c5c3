#include "node/server/guard_agent.h"

#include <grpcpp/grpcpp.h>

#include <iterator>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/common/thread_name.h"
#include "node/guard/signed_statement.h"
#include "qbox/v1/command.pb.h"
#include "qbox/v1/raft.grpc.pb.h"

namespace qbox::server {
namespace {

constexpr size_t kOwnSignedKept = 64;
constexpr size_t kQueueLimit = 256;
constexpr absl::Duration kCheckpointRequestEvery = absl::Seconds(15);
// What of an alarm's narrative goes into an alarm report (the nodes refuse
// reports with more).
constexpr size_t kAlarmDetailLimit = 1024;

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

std::string DigestBytes(const std::array<uint8_t, 32>& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

}  // namespace

GuardAgent::GuardAgent(Options options, RaftRuntime* runtime, mailbox::MailboxStateMachine* machine,
                       const MailboxReplica* replica, const PeerDirectory* peers)
    : options_(std::move(options)),
      runtime_(runtime),
      machine_(machine),
      replica_(replica),
      peers_(peers),
      certificate_pem_(options_.certificate_pem),
      private_key_pem_(options_.private_key_pem) {}

GuardAgent::~GuardAgent() { Stop(); }

void GuardAgent::Start() {
  thread_ = std::thread([this] {
    NameThisThread("qbox-guard");
    Loop();
  });
}

void GuardAgent::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void GuardAgent::Log(const std::string& line) const {
  if (options_.logger) options_.logger(line);
}

void GuardAgent::OnCheckpointCaptured(uint64_t index) {
  // The hook runs inside the apply of this very entry, so the replica
  // knows the chain value the digest will belong to.
  const std::optional<raft::ChainHash> chain = replica_->ChainOf(index);
  if (!chain.has_value()) return;
  absl::MutexLock lock(&mu_);
  captured_chains_[index] = *chain;
  // Digests are signed in order, soon after: only a stuck worker leaves
  // more than a few here.
  while (captured_chains_.size() > kOwnSignedKept) captured_chains_.erase(captured_chains_.begin());
}

void GuardAgent::OnCheckpoint(const mailbox::OwnCheckpoint& checkpoint) {
  {
    // Signed already, for the evidence of a peer's statement compared first.
    absl::MutexLock lock(&mu_);
    if (own_signed_.count(checkpoint.index) != 0) return;
  }
  v1::NodeStatement statement;
  v1::Checkpoint* cp = statement.mutable_checkpoint();
  cp->set_index(checkpoint.index);
  cp->set_state_digest(DigestBytes(checkpoint.digest));
  {
    absl::MutexLock lock(&mu_);
    auto chain = captured_chains_.find(checkpoint.index);
    if (chain != captured_chains_.end()) {
      cp->set_chain(
          std::string(reinterpret_cast<const char*>(chain->second.data()), chain->second.size()));
      captured_chains_.erase(captured_chains_.begin(), std::next(chain));
    }
  }
  // Signed as soon as the digest exists, not at the next tick: a peer's
  // checkpoint for this index may be applied any time now, and the mismatch
  // alarm must be able to show this node's signed statement as evidence.
  auto signed_statement = Sign(std::move(statement));
  if (!signed_statement.ok()) {
    Log(absl::StrCat("cannot sign the checkpoint at index ", checkpoint.index, ": ",
                     signed_statement.status().message()));
    return;
  }
  absl::MutexLock lock(&mu_);
  // The other path (see OnCheckpointCompared) may have signed it meanwhile:
  // one signed statement per index, the one submitted and shown as evidence.
  if (own_signed_.count(checkpoint.index) != 0) return;
  own_signed_[checkpoint.index] = *signed_statement;
  while (own_signed_.size() > kOwnSignedKept) own_signed_.erase(own_signed_.begin());
  QueueLocked({absl::StrCat("cp/", checkpoint.index), v1::NodeStatement(),
               *std::move(signed_statement), checkpoint.index});
}

void GuardAgent::OnCheckpointCompared(const mailbox::CheckpointComparison& comparison) {
  bool signed_own;
  {
    absl::MutexLock lock(&mu_);
    signed_own = own_signed_.count(comparison.index) != 0;
  }
  // A peer's statement applied between the moment our digest was kept and
  // the moment it was signed is compared before OnCheckpoint ran: sign ours
  // now, so the evidence is always there.
  if (!signed_own) OnCheckpoint(mailbox::OwnCheckpoint{comparison.index, comparison.own_digest});
  absl::MutexLock lock(&mu_);
  v1::NodeStatement peer;
  peer.ParseFromString(comparison.peer.statement());
  auto own = own_signed_.find(comparison.index);
  // The state machine compares digests; the chain value is the log's, which
  // only this layer knows. Equal states reached by different histories are
  // a divergence too (G5).
  std::string chain_note;
  if (own != own_signed_.end()) {
    v1::NodeStatement mine;
    mine.ParseFromString(own->second.statement());
    if (!mine.checkpoint().chain().empty() && !peer.checkpoint().chain().empty() &&
        mine.checkpoint().chain() != peer.checkpoint().chain()) {
      chain_note = absl::StrCat(" (hash chains differ: ours ", Hex(mine.checkpoint().chain()),
                                ", theirs ", Hex(peer.checkpoint().chain()), ")");
    }
  }
  if (comparison.match && chain_note.empty()) {
    if (comparison.peer_site != options_.self.site && comparison.index > attested_index_) {
      attested_index_ = comparison.index;
      attested_by_ = comparison.peer_node;
    }
    return;
  }
  ++mismatches_;
  // The evidence: both signed checkpoints, as an operator can re-verify
  // them (qboxctl checkpoints shows the same statements).
  std::string own_evidence = own == own_signed_.end()
                                 ? "(this node's signed checkpoint is not kept any more)"
                                 : absl::Base64Escape(own->second.SerializeAsString());
  std::string alarm = absl::StrCat(
      "CHECKPOINT_MISMATCH: at index ", comparison.index, " this node's state digest is ",
      Hex(DigestBytes(comparison.own_digest)), " but ", comparison.peer_node, " signed ",
      Hex(peer.checkpoint().state_digest()), chain_note, "; evidence: own=", own_evidence,
      " peer=", absl::Base64Escape(comparison.peer.SerializeAsString()));
  Log(alarm);
  if (alarms_.size() < 100) alarms_.push_back(std::move(alarm));
  // For the audit log: the narrative without the evidence, which the log
  // already holds (both signed checkpoints were applied there).
  v1::AlarmReport report;
  report.set_kind("checkpoint-mismatch");
  report.set_offender(peer.node_id());
  report.set_index(comparison.index);
  report.set_detail(absl::StrCat("this node's state digest at index ", comparison.index, " is ",
                                 Hex(DigestBytes(comparison.own_digest)), " but ",
                                 comparison.peer_node, " signed ",
                                 Hex(peer.checkpoint().state_digest()), chain_note)
                        .substr(0, kAlarmDetailLimit));
  unreported_.push_back(
      {absl::StrCat("alarm/checkpoint-mismatch/", comparison.index, "/", peer.node_id()),
       std::move(report)});
}

void GuardAgent::ReportRefusal(std::string what) {
  Log(absl::StrCat("refused: ", what));
  v1::AlarmReport report;
  report.set_kind("refused-call");
  if (what.size() > kAlarmDetailLimit) what.resize(kAlarmDetailLimit);
  report.set_detail(std::move(what));
  absl::MutexLock lock(&mu_);
  // Every refusal is its own attempt: numbered, never merged with another.
  unreported_.push_back(
      {absl::StrCat("refusal/", absl::ToUnixMillis(absl::Now()), "/", ++refusals_),
       std::move(report)});
}

void GuardAgent::NoteStoredStateChangesLocked(
    const mailbox::MailboxStateMachine::StoredStateChanges& found) {
  const uint64_t fresh = found.total - std::min(found.total, stored_changes_seen_);
  stored_changes_seen_ = found.total;
  const size_t from = found.last.size() - std::min<size_t>(found.last.size(), fresh);
  for (size_t i = from; i < found.last.size(); ++i) {
    const mailbox::StoredStateChange& change = found.last[i];
    const std::string where = change.at_open
                                  ? absl::StrCat("at start (applied index ", change.index, ")")
                                  : absl::StrCat("at checkpoint index ", change.index);
    const std::string what = absl::StrCat(
        "this node's mailbox store holds records that digest to ",
        Hex(DigestBytes(change.records_digest)), " but the state digest kept with them says ",
        Hex(DigestBytes(change.accumulator_digest)),
        ": they were changed outside the log (files edited, or the storage failing); the node "
        "now checkpoints what is stored, so the other sites' comparison shows the difference");
    std::string alarm = absl::StrCat("STORED_STATE_CHANGED: ", where, " ", what);
    Log(alarm);
    if (alarms_.size() < 100) alarms_.push_back(std::move(alarm));
    ++stored_state_changes_;
    v1::AlarmReport report;
    report.set_kind("stored-state-changed");
    report.set_offender(options_.self.id);
    report.set_index(change.index);
    report.set_detail(absl::StrCat(where, ": ", what).substr(0, kAlarmDetailLimit));
    unreported_.push_back({absl::StrCat("alarm/stored-state-changed/", change.index, "/",
                                        change.at_open ? "start" : "checkpoint"),
                           std::move(report)});
  }
}

void GuardAgent::ReportAlarms() {
  // The core's alarms since the last tick (its status keeps the last 1000).
  const RuntimeStatus st = runtime_->Status();
  const mailbox::MailboxStateMachine::StoredStateChanges stored_changes =
      machine_->FoundStoredStateChanges();
  std::vector<std::pair<std::string, v1::AlarmReport>> reports;
  {
    absl::MutexLock lock(&mu_);
    NoteStoredStateChangesLocked(stored_changes);
    const uint64_t fresh = st.alarms_raised - std::min(st.alarms_raised, alarms_seen_);
    alarms_seen_ = st.alarms_raised;
    const size_t from = st.alarms.size() - std::min<size_t>(st.alarms.size(), fresh);
    for (size_t i = from; i < st.alarms.size(); ++i) {
      const raft::Alarm& alarm = st.alarms[i];
      v1::AlarmReport report;
      report.set_kind(raft::AlarmKindName(alarm.kind));
      report.set_offender(alarm.from);
      report.set_term(alarm.term);
      report.set_index(alarm.index);
      report.set_detail(alarm.detail.substr(0, kAlarmDetailLimit));
      // A hostile leader repeats itself at every heartbeat: one record per
      // kind of attempt, leader and term says it all.
      unreported_.push_back(
          {absl::StrCat("alarm/", report.kind(), "/", alarm.from, "/", alarm.term),
           std::move(report)});
    }
    // NOSPACE (no_space.h), once each time it is raised, so that every site
    // sees a full volume in the audit log. While no majority can write, the
    // report waits here like any other.
    if (st.no_space.raised > no_space_seen_) {
      no_space_seen_ = st.no_space.raised;
      v1::AlarmReport report;
      report.set_kind("nospace");
      report.set_detail(NoSpaceNarrative(st.no_space).substr(0, kAlarmDetailLimit));
      unreported_.push_back({absl::StrCat("alarm/nospace/", absl::ToUnixMillis(st.no_space.since)),
                             std::move(report)});
    }
    for (auto& [key, report] : unreported_) {
      if (!reported_alarms_.insert(key).second) continue;
      reports.emplace_back(key, std::move(report));
    }
    unreported_.clear();
    // Only new alarms are looked at, so forgetting old keys at worst
    // records an attempt that repeats much later once more.
    if (reported_alarms_.size() > 4096) reported_alarms_.clear();
  }
  for (auto& [key, report] : reports) {
    v1::NodeStatement statement;
    *statement.mutable_alarm_report() = std::move(report);
    // Signed once and kept until the cluster took it, like a checkpoint:
    // the leader it accuses may be the one that drops it first.
    absl::StatusOr<v1::SignedNodeStatement> signed_statement = Sign(std::move(statement));
    if (!signed_statement.ok()) {
      Log(absl::StrCat("cannot sign the alarm report ", key, ": ",
                       signed_statement.status().message()));
      continue;
    }
    absl::MutexLock lock(&mu_);
    QueueLocked({key, v1::NodeStatement(), *std::move(signed_statement)});
  }
}

std::vector<std::string> GuardAgent::Alarms() const {
  absl::MutexLock lock(&mu_);
  return alarms_;
}

uint64_t GuardAgent::mismatches() const {
  absl::MutexLock lock(&mu_);
  return mismatches_;
}

uint64_t GuardAgent::stored_state_changes() const {
  absl::MutexLock lock(&mu_);
  return stored_state_changes_;
}

std::string GuardAgent::RecoveryNarrative() const {
  absl::MutexLock lock(&mu_);
  return recovery_;
}

void GuardAgent::QueueLocked(PendingStatement item) {
  // Full: the oldest goes first, newer checkpoints matter more.
  if (queue_.size() >= kQueueLimit) queue_.pop_front();
  queue_.push_back(std::move(item));
}

void GuardAgent::Queue(std::string key, v1::NodeStatement statement) {
  absl::MutexLock lock(&mu_);
  QueueLocked({std::move(key), std::move(statement), std::nullopt});
}

void GuardAgent::Loop() {
  while (!stop_.WaitForNotificationWithTimeout(options_.period)) Tick();
}

void GuardAgent::Tick() {
  ReportAlarms();
  StateDueClocks();
  CheckRecovery();
  FlushQueue();
  RemoveWhatTheCharterRemoved();
}

void GuardAgent::RemoveWhatTheCharterRemoved() {
  if (runtime_->leader() != options_.self.id) return;
  auto charter = machine_->GetCharter();
  if (!charter.ok()) return;
  const RuntimeStatus st = runtime_->Status();
  for (const v1::CharterNode& n : charter->nodes()) {
    if (!n.removed() || !st.raft.conf.Contains(n.id())) continue;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    if (n.id() == options_.self.id) {
      // A leader cannot remove itself cleanly: hand over first; the next
      // leader removes this node.
      for (raft::NodeId other : st.raft.conf.voters) {
        if (other == options_.self.id) continue;
        Log(absl::StrCat("an executed proposal removed this node; handing leadership to node ",
                         other, " first"));
        (void)runtime_->TransferLeadership(other, deadline);
        return;
      }
      return;
    }
    // One change at a time, as the core requires (G2: the proposal that
    // removed it was approved by M sites, waited T and was not vetoed).
    raft::ConfChange change;
    change.kind = raft::ConfChange::Kind::kRemoveNode;
    change.node = n.id();
    absl::Status removed = runtime_->ChangeMembership(change, deadline);
    Log(absl::StrCat("removing ", n.site(), "/", n.name(), " (id ", n.id(),
                     ") from the consensus group, as the charter says: ",
                     removed.ok() ? "done" : std::string(removed.message())));
    return;
  }
}

void GuardAgent::StateDueClocks() {
  auto due = machine_->DueClockStatements(absl::ToUnixMillis(absl::Now()), options_.self.site);
  if (!due.ok()) return;  // no charter yet
  for (const auto& item : *due) {
    v1::NodeStatement statement;
    statement.mutable_proposal_clock()->set_proposal_id(item.proposal_id);
    statement.mutable_proposal_clock()->set_event(item.event);
    Queue(absl::StrCat("clock/", item.proposal_id, "/", item.event), std::move(statement));
  }
}

void GuardAgent::CheckRecovery() {
  const RuntimeStatus st = runtime_->Status();
  absl::MutexLock lock(&mu_);
  if (!st.raft.hard_state.recovering) {
    recovery_.clear();
    return;
  }
  if (!st.awaiting_attestation) {
    const uint64_t target = st.recovery_target;
    recovery_ = target == 0 ? "waiting for a leader to confirm the commit index to reach"
                            : absl::StrCat("catching up: applied ", st.applied, " of ", target);
    return;
  }
  if (attested_index_ != 0) {
    absl::Status confirmed = runtime_->ConfirmRecovery(absl::Now() + absl::Seconds(2));
    if (confirmed.ok()) {
      Log(absl::StrCat("state digest at index ", attested_index_, " matches the checkpoint ",
                       attested_by_, " signed: the rebuild is verified, voting again (G4)"));
      recovery_ = absl::StrCat("verified at index ", attested_index_, " by ", attested_by_);
    }
    return;
  }
  recovery_ = absl::StrCat("caught up at ", st.applied,
                           "; waiting for another site's signed checkpoint to match this "
                           "node's digest");
  if (absl::Now() - last_checkpoint_request_ > kCheckpointRequestEvery) {
    last_checkpoint_request_ = absl::Now();
    v1::NodeStatement statement;
    statement.mutable_checkpoint_request()->set_reason(
        absl::StrCat(options_.self.QualifiedName(),
                     " rebuilt its state and asks the other sites "
                     "to attest it (G4)"));
    queue_.push_back({absl::StrCat("cpreq/", absl::ToUnixSeconds(absl::Now())),
                      std::move(statement), std::nullopt});
  }
}

absl::StatusOr<v1::SignedNodeStatement> GuardAgent::Sign(v1::NodeStatement statement) const {
  statement.set_cluster(options_.cluster);
  statement.set_node_id(options_.self.id);
  statement.set_signed_at_ms(absl::ToUnixMillis(absl::Now()));
  v1::SignedNodeStatement signed_statement;
  signed_statement.set_statement(statement.SerializeAsString());
  std::string certificate_pem, private_key_pem;
  {
    absl::MutexLock lock(&mu_);
    certificate_pem = certificate_pem_;
    private_key_pem = private_key_pem_;
  }
  auto signature =
      guard::SignStatement(guard::StatementKind::kNodeStatement, signed_statement.statement(),
                           certificate_pem, private_key_pem);
  if (!signature.ok()) return signature.status();
  *signed_statement.mutable_signature() = *std::move(signature);
  return signed_statement;
}

void GuardAgent::FlushQueue() {
  std::deque<PendingStatement> work;
  {
    absl::MutexLock lock(&mu_);
    work.swap(queue_);
  }
  const absl::Time now = absl::Now();
  std::deque<PendingStatement> retry;
  for (PendingStatement& item : work) {
    {
      absl::MutexLock lock(&mu_);
      auto sent = sent_.find(item.key);
      if (sent != sent_.end() && now - sent->second < options_.resend_after) continue;
    }
    // Checkpoints and alarm reports are signed once, when they happen.
    const bool is_checkpoint = item.signed_statement.has_value();
    if (is_checkpoint && item.checkpoint_index != 0 &&
        OwnCheckpointApplied(item.checkpoint_index)) {
      continue;
    }
    auto signed_statement = is_checkpoint
                                ? absl::StatusOr<v1::SignedNodeStatement>(*item.signed_statement)
                                : Sign(item.statement);
    if (!signed_statement.ok()) {
      Log(absl::StrCat("cannot sign a node statement: ", signed_statement.status().message()));
      continue;
    }
    v1::MailboxCommand command;
    *command.mutable_node_statement() = *std::move(signed_statement);
    absl::Status submitted = SubmitToLeader(command);
    absl::MutexLock lock(&mu_);
    const bool transient = absl::IsUnavailable(submitted) || absl::IsDeadlineExceeded(submitted);
    if (submitted.ok() || !transient) {
      // Refused at apply (it is in the audit log): sending it again would
      // be refused again.
      sent_[item.key] = now;
      if (!submitted.ok()) {
        Log(absl::StrCat("the cluster refused this node's statement ", item.key, ": ",
                         submitted.message()));
      }
    } else if (is_checkpoint) {
      // Clock statements come back by themselves at the next tick while they
      // are still due; a checkpoint is signed once, so keep it.
      retry.push_back(std::move(item));
    }
  }
  absl::MutexLock lock(&mu_);
  for (auto& item : retry) queue_.push_back(std::move(item));
  // Forget what was sent long ago: the replicated state says the rest.
  for (auto it = sent_.begin(); it != sent_.end();) {
    it = now - it->second > absl::Minutes(10) ? sent_.erase(it) : std::next(it);
  }
}

bool GuardAgent::OwnCheckpointApplied(uint64_t index) const {
  // Only that index: a long backlog must not make each check read the rest.
  auto entries = machine_->GetCheckpoints(index, index);
  if (!entries.ok()) return false;  // send it: the apply decides
  for (const v1::CheckpointEntry& entry : *entries) {
    if (entry.index() != index) break;  // ascending
    for (const v1::SignedNodeStatement& signed_statement : entry.statements()) {
      v1::NodeStatement statement;
      if (statement.ParseFromString(signed_statement.statement()) &&
          statement.node_id() == options_.self.id) {
        return true;
      }
    }
  }
  return false;
}

void GuardAgent::ReplaceIdentity(std::string certificate_pem, std::string private_key_pem) {
  absl::MutexLock lock(&mu_);
  certificate_pem_ = std::move(certificate_pem);
  private_key_pem_ = std::move(private_key_pem);
}

void GuardAgent::ForgetChannels() {
  std::map<std::string, std::shared_ptr<grpc::Channel>> old;
  absl::MutexLock lock(&mu_);
  old.swap(channels_);
}

absl::Status GuardAgent::SubmitToLeader(const v1::MailboxCommand& command) {
  const raft::NodeId leader = runtime_->leader();
  if (leader == raft::kNoNode) return absl::UnavailableError("no leader known");
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  if (leader == options_.self.id) {
    v1::MailboxCommand local = command;
    local.set_actor(absl::StrCat(options_.self.site, "/node/", options_.self.name));
    local.set_leader_time_ms(absl::ToUnixMillis(absl::Now()));
    return runtime_->Propose(local.SerializeAsString(), deadline).status();
  }
  std::optional<NodeConfig> node = peers_->Find(leader);
  if (!node) return absl::UnavailableError(absl::StrCat("leader ", leader, " has no address"));
  std::shared_ptr<grpc::Channel> channel;
  {
    absl::MutexLock lock(&mu_);
    std::shared_ptr<grpc::Channel>& cached = channels_[node->address];
    if (!cached) {
      // A connection of our own (not gRPC's shared pool), so that
      // ForgetChannels really makes the next call handshake again.
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      cached = grpc::CreateCustomChannel(node->address, options_.peer_credentials, args);
    }
    channel = cached;
  }
  auto stub = v1::Raft::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(deadline));
  v1::SubmitRequest request;
  request.set_command(command.SerializeAsString());
  v1::SubmitResponse response;
  grpc::Status s = stub->Submit(&ctx, request, &response);
  if (!s.ok()) {
    return absl::Status(
        static_cast<absl::StatusCode>(s.error_code()),
        absl::StrCat("Raft.Submit to ", node->QualifiedName(), ": ", s.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace qbox::server

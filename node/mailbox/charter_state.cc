// The charter inside the mailbox state machine (DESIGN.md G2, G6):
// membership entries that install and change it, reads of it and of the
// proposals, and what this node's clock says it must state about them.
#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"
#include "node/guard/proposal_rules.h"
#include "node/guard/site_trust_store.h"
#include "node/mailbox/guard_records.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/state_machine.h"

namespace qbox::mailbox {
namespace {

absl::string_view AuditKind(MembershipChange::Kind kind) {
  switch (kind) {
    case MembershipChange::Kind::kGenesis:
      return "charter.genesis";
    case MembershipChange::Kind::kAddLearner:
      return "membership.add_learner";
    case MembershipChange::Kind::kPromoteLearner:
      return "membership.promote_learner";
    case MembershipChange::Kind::kRemoveNode:
      return "membership.remove_node";
  }
  return "membership.unknown";
}

absl::Status NoCharterYet() {
  return absl::FailedPreconditionError(
      "charter: no charter is installed yet (the genesis entry was not applied)");
}

// A charter node of `charter` by id, for changing it; NOT_FOUND otherwise.
absl::StatusOr<v1::CharterNode*> MutableNode(v1::Charter& charter, uint64_t id) {
  for (v1::CharterNode& node : *charter.mutable_nodes()) {
    if (node.id() == id) return &node;
  }
  return absl::NotFoundError(absl::StrCat("node: ", id, " is not a node of the charter"));
}

std::string NodeName(const v1::CharterNode& node) {
  return absl::StrCat(node.site(), "/node/", node.name(), " (id ", node.id(), ")");
}

// The charter after `change`, and the narrative of what changed; or why the
// change is refused.
absl::StatusOr<std::pair<v1::Charter, std::string>> ChangedCharter(
    const std::optional<v1::Charter>& current, const MembershipChange& change) {
  if (change.kind == MembershipChange::Kind::kGenesis) {
    if (current.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("charter: a charter is already installed (cluster ", current->cluster(),
                       ", version ", current->version(), ")"));
    }
    v1::Charter charter;
    if (!charter.ParseFromString(change.context)) {
      return absl::InvalidArgumentError("context: does not parse as a Charter");
    }
    RETURN_IF_ERROR(guard::ValidateCharter(charter));
    std::string detail = absl::StrCat(
        "installed the charter of cluster ", charter.cluster(), ": ", charter.sites_size(),
        " sites, ", charter.nodes_size(), " nodes, M=", charter.required_sites(),
        ", T=", charter.delay_ms(), " ms, R=", charter.retention_ms(), " ms, proposal lifetime ",
        charter.proposal_ttl_ms(), " ms, checkpoints every ", charter.checkpoint_every(),
        " entries");
    return std::make_pair(std::move(charter), std::move(detail));
  }
  if (!current.has_value()) return NoCharterYet();
  v1::Charter next = *current;
  next.set_version(current->version() + 1);
  std::string detail;
  switch (change.kind) {
    case MembershipChange::Kind::kAddLearner: {
      v1::CharterNode node;
      if (!node.ParseFromString(change.context)) {
        return absl::InvalidArgumentError("context: does not parse as a CharterNode");
      }
      if (node.id() != change.node) {
        return absl::InvalidArgumentError(absl::StrCat(
            "context.id: ", node.id(), " differs from the entry's node ", change.node));
      }
      if (guard::FindCharterNode(*current, node.id()) != nullptr) {
        return absl::AlreadyExistsError(absl::StrCat(
            "context.id: ", node.id(), " is already in the charter (ids are never reused)"));
      }
      node.set_voter(false);
      node.set_removed(false);
      detail = absl::StrCat("added ", NodeName(node), " at ", node.address(), " as a learner");
      *next.add_nodes() = std::move(node);
      RETURN_IF_ERROR(guard::ValidateCharter(next));
      break;
    }
    case MembershipChange::Kind::kPromoteLearner: {
      ASSIGN_OR_RETURN(v1::CharterNode * node, MutableNode(next, change.node));
      if (node->removed()) {
        return absl::FailedPreconditionError(
            absl::StrCat("node: ", NodeName(*node), " was removed"));
      }
      if (node->voter()) {
        return absl::FailedPreconditionError(
            absl::StrCat("node: ", NodeName(*node), " is already a voter"));
      }
      node->set_voter(true);
      detail = absl::StrCat("promoted ", NodeName(*node), " to voter");
      RETURN_IF_ERROR(guard::CheckNoSiteMajority(next));
      break;
    }
    case MembershipChange::Kind::kRemoveNode: {
      ASSIGN_OR_RETURN(v1::CharterNode * node, MutableNode(next, change.node));
      if (node->removed()) {
        return absl::FailedPreconditionError(
            absl::StrCat("node: ", NodeName(*node), " was already removed"));
      }
      node->set_voter(false);
      node->set_removed(true);
      detail = absl::StrCat("removed ", NodeName(*node));
      RETURN_IF_ERROR(guard::CheckNoSiteMajority(next));
      break;
    }
    default:
      return absl::InvalidArgumentError("kind: unknown membership change");
  }
  absl::StrAppend(&detail, " (charter version ", next.version(), ")");
  return std::make_pair(std::move(next), std::move(detail));
}

}  // namespace

absl::Status MailboxStateMachine::ApplyMembership(uint64_t log_index,
                                                  const MembershipChange& change) {
  PendingCallbacks pending;
  absl::Status status = [&]() -> absl::Status {
    absl::MutexLock lock(&mu_);
    if (log_index == 0) return absl::InvalidArgumentError("log_index: must be at least 1");
    if (log_index <= applied_index_) return absl::OkStatus();  // applied before: no change
    StoreTxn txn(store_.get());
    ASSIGN_OR_RETURN(std::optional<v1::Charter> charter, CurrentCharter(txn));
    ForgetCharter();  // rewritten below (or refused); read again after
    absl::StatusOr<std::pair<v1::Charter, std::string>> next = ChangedCharter(charter, change);
    v1::CommandResult result;
    std::string detail;
    if (next.ok()) {
      SaveCharter(txn, next->first);
      detail = std::move(next->second);
    } else {
      // Refused: only the index advances, and the attempt is audited.
      result.set_status_code(static_cast<int>(next.status().code()));
      result.set_status_message(std::string(next.status().message()));
      detail = absl::StrCat("refused: ", next.status().message());
    }
    RETURN_IF_ERROR(
        AppendAudit(txn, log_index, "", AuditKind(change.kind), change.context, detail));
    RETURN_IF_ERROR(FinishEntry(txn, log_index, result));
    ForgetCharter();
    return CheckpointIfDue(log_index, /*requested=*/false, &pending);
  }();
  RunCallbacks(pending);
  return status;
}

absl::Status MailboxStateMachine::ApplyNoop(uint64_t log_index) {
  PendingCallbacks pending;
  absl::Status status = [&]() -> absl::Status {
    absl::MutexLock lock(&mu_);
    if (log_index == 0) return absl::InvalidArgumentError("log_index: must be at least 1");
    if (log_index <= applied_index_) return absl::OkStatus();
    StoreTxn txn(store_.get());
    RETURN_IF_ERROR(FinishEntry(txn, log_index, v1::CommandResult()));
    return CheckpointIfDue(log_index, /*requested=*/false, &pending);
  }();
  RunCallbacks(pending);
  return status;
}

absl::StatusOr<const guard::SiteTrustStore*> MailboxStateMachine::TrustStoreFor(
    const v1::Charter& charter) {
  if (trust_ == nullptr || trust_version_ != charter.version()) {
    ASSIGN_OR_RETURN(guard::SiteTrustStore store, guard::TrustStoreOf(charter));
    trust_ = std::make_shared<const guard::SiteTrustStore>(std::move(store));
    trust_version_ = charter.version();
  }
  return trust_.get();
}

absl::Status MailboxStateMachine::RestampProposalsLocked() {
  const int64_t now = options_.local_clock_ms();
  StoreTxn txn(store_.get());
  std::vector<v1::ProposalRecord> records;
  bool corrupt = false;
  RETURN_IF_ERROR(txn.ScanPrefix(Cf::kGuard, keys::kProposalPrefix,
                                 [&](absl::string_view, absl::string_view value) {
                                   records.emplace_back();
                                   corrupt = !records.back().ParseFromString(std::string(value));
                                   return !corrupt;
                                 }));
  if (corrupt) {
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": bad proposal record"));
  }
  for (const v1::ProposalRecord& record : records) {
    LocalProposalStamps stamps;
    stamps.submitted_ms = now;
    if (record.approved_index() != 0) stamps.approved_ms = now;
    SaveLocalStamps(txn, record.proposal_id(), stamps);
  }
  return txn.Commit();
}

absl::StatusOr<v1::Charter> MailboxStateMachine::GetCharter() const {
  absl::ReaderMutexLock lock(&mu_);
  StoreTxn txn(store_.get());
  ASSIGN_OR_RETURN(std::optional<v1::Charter> charter, LoadCharter(txn));
  if (!charter.has_value()) {
    return absl::NotFoundError(
        "charter: none is installed yet (the genesis entry was not applied)");
  }
  return *std::move(charter);
}

absl::StatusOr<v1::ProposalRecord> MailboxStateMachine::GetProposal(
    absl::string_view proposal_id) const {
  if (!guard::IsValidProposalId(proposal_id)) {
    return absl::InvalidArgumentError("proposal_id: must be 32 lowercase hex characters");
  }
  absl::ReaderMutexLock lock(&mu_);
  StoreTxn txn(store_.get());
  ASSIGN_OR_RETURN(std::optional<v1::ProposalRecord> record, LoadProposal(txn, proposal_id));
  if (!record.has_value()) {
    return absl::NotFoundError(absl::StrCat("proposal_id: no proposal ", proposal_id));
  }
  RETURN_IF_ERROR(AddLocalStamps(txn, &*record));
  return *std::move(record);
}

absl::StatusOr<std::vector<v1::ProposalRecord>> MailboxStateMachine::ListProposals(
    bool include_closed) const {
  absl::ReaderMutexLock lock(&mu_);
  StoreTxn txn(store_.get());
  std::vector<v1::ProposalRecord> records;
  bool corrupt = false;
  RETURN_IF_ERROR(txn.ScanPrefix(Cf::kGuard, keys::kProposalPrefix,
                                 [&](absl::string_view, absl::string_view value) {
                                   v1::ProposalRecord record;
                                   if (!record.ParseFromString(std::string(value))) {
                                     corrupt = true;
                                     return false;
                                   }
                                   if (include_closed || !IsClosed(record.state())) {
                                     records.push_back(std::move(record));
                                   }
                                   return true;
                                 }));
  if (corrupt) {
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": bad proposal record"));
  }
  for (v1::ProposalRecord& record : records) RETURN_IF_ERROR(AddLocalStamps(txn, &record));
  // Ids are random; the log order is the order they were made in.
  std::sort(records.begin(), records.end(),
            [](const v1::ProposalRecord& a, const v1::ProposalRecord& b) {
              return a.submitted_index() < b.submitted_index();
            });
  return records;
}

absl::StatusOr<std::vector<MailboxStateMachine::DueClockStatement>>
MailboxStateMachine::DueClockStatements(int64_t now_ms, absl::string_view own_site) const {
  ASSIGN_OR_RETURN(std::vector<v1::ProposalRecord> open, ListProposals(false));
  auto holds = [&](const google::protobuf::RepeatedPtrField<std::string>& sites) {
    return std::find(sites.begin(), sites.end(), own_site) != sites.end();
  };
  absl::ReaderMutexLock lock(&mu_);
  StoreTxn txn(store_.get());
  std::vector<DueClockStatement> due;
  for (const v1::ProposalRecord& record : open) {
    // Only this node's own stamps count, never anyone's signed times; a
    // proposal without a stamp here is never due.
    ASSIGN_OR_RETURN(LocalProposalStamps stamps, LoadLocalStamps(txn, record.proposal_id()));
    if (record.state() == v1::PROPOSAL_STATE_PENDING && stamps.submitted_ms.has_value() &&
        now_ms - *stamps.submitted_ms >= record.ttl_ms() && !holds(record.expired_sites())) {
      due.push_back({record.proposal_id(), v1::ProposalClock::EVENT_EXPIRED});
    }
    if (record.state() == v1::PROPOSAL_STATE_APPROVED && stamps.approved_ms.has_value() &&
        now_ms - *stamps.approved_ms >= record.delay_ms() && !holds(record.delay_elapsed_sites())) {
      due.push_back({record.proposal_id(), v1::ProposalClock::EVENT_DELAY_ELAPSED});
    }
  }
  return due;
}

}  // namespace qbox::mailbox

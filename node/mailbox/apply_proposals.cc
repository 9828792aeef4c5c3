// Proposals, endorsements and node statements as the state machine applies
// them (apply_guard.h). The rules themselves are node/guard's pure
// functions; this file stores what they decide, stamps this node's clock,
// runs the action of a proposal whose time has come, and audits every
// attempt.
#include <algorithm>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"
#include "node/guard/proposal_rules.h"
#include "node/mailbox/account_actions.h"
#include "node/mailbox/apply_guard.h"
#include "node/mailbox/guard_records.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/records.h"

namespace qbox::mailbox {
namespace {

// An alarm report's fields (ApplyAlarmReport).
constexpr size_t kMaxAlarmKindBytes = 64;
constexpr size_t kMaxAlarmDetailBytes = 1024;

bool IsStorageFailure(const absl::Status& s) {
  return absl::IsDataLoss(s) || absl::IsUnavailable(s) || absl::IsInternal(s);
}

// The serialized command: what the audit record keeps as evidence (the
// signed items inside it verify on their own).
std::string Evidence(const GuardApplyContext& ctx) { return ctx.command.SerializeAsString(); }

// Who asked (G5): the signer whose signature this node verified; without
// one, what the proposing node claimed, explicitly marked as unverified.
std::string ActorOf(const GuardApplyContext& ctx, absl::string_view verified_signer = "") {
  if (!verified_signer.empty()) return std::string(verified_signer);
  return absl::StrCat(kUnverifiedActorPrefix, ctx.command.actor());
}

// Audits a refused attempt and makes it the command's result.
absl::StatusOr<v1::CommandResult> Refuse(GuardApplyContext& ctx, absl::string_view kind,
                                         const absl::Status& why) {
  RETURN_IF_ERROR(AppendAudit(ctx.txn, ctx.log_index, ActorOf(ctx), kind, Evidence(ctx),
                              absl::StrCat("refused: ", why.message())));
  v1::CommandResult result;
  result.set_status_code(static_cast<int>(why.code()));
  result.set_status_message(std::string(why.message()));
  return result;
}

// The charter and its trust store, or why a signed item cannot be checked.
absl::Status RequireCharter(const GuardApplyContext& ctx) {
  if (!ctx.charter.has_value()) {
    return absl::FailedPreconditionError(
        "charter: no charter is installed yet (the genesis entry was not applied)");
  }
  if (ctx.trust == nullptr) return ctx.trust_status;
  return absl::OkStatus();
}

std::string SitesProgress(const v1::ProposalRecord& record) {
  return absl::StrCat(record.approved_sites_size(), " of ", record.required_sites(), " sites");
}

// The proposal's record with this node's stamps, as a command result.
absl::StatusOr<v1::CommandResult> ProposalResult(const GuardApplyContext& ctx,
                                                 v1::ProposalRecord record) {
  RETURN_IF_ERROR(AddLocalStamps(ctx.txn, &record));
  v1::CommandResult result;
  *result.mutable_proposal() = std::move(record);
  return result;
}

absl::StatusOr<v1::CommandResult> ApplySubmit(GuardApplyContext& ctx) {
  constexpr absl::string_view kKind = "proposal.submit";
  if (absl::Status s = RequireCharter(ctx); !s.ok()) return Refuse(ctx, kKind, s);
  absl::StatusOr<v1::ProposalRecord> accepted =
      guard::AcceptProposal(*ctx.charter, *ctx.trust, ctx.command.submit_proposal(), ctx.log_index);
  if (!accepted.ok()) return Refuse(ctx, kKind, accepted.status());
  v1::ProposalRecord& record = *accepted;
  ASSIGN_OR_RETURN(auto existing, LoadProposal(ctx.txn, record.proposal_id()));
  if (existing.has_value()) {
    return Refuse(ctx, kKind,
                  absl::AlreadyExistsError(
                      absl::StrCat("proposal_id: ", record.proposal_id(), " is already taken")));
  }
  SaveProposal(ctx.txn, record);
  LocalProposalStamps stamps;
  stamps.submitted_ms = ctx.local_now_ms;
  if (record.state() == v1::PROPOSAL_STATE_APPROVED) stamps.approved_ms = ctx.local_now_ms;
  SaveLocalStamps(ctx.txn, record.proposal_id(), stamps);
  RETURN_IF_ERROR(AppendAudit(
      ctx.txn, ctx.log_index, ActorOf(ctx, record.proposer().name()), kKind, Evidence(ctx),
      absl::StrCat("proposal ", record.proposal_id(), " by ", record.proposer().name(), ": ",
                   guard::DescribeAction(*ctx.charter, record.body().action()), "; ",
                   guard::ProposalStateName(record.state()), " with ", SitesProgress(record))));
  return ProposalResult(ctx, std::move(record));
}

absl::string_view EndorsementKind(const v1::SignedEndorsement& signed_endorsement) {
  // Parsed unverified, only to name the audit record; the rules verify it.
  v1::Endorsement endorsement;
  if (endorsement.ParseFromString(signed_endorsement.endorsement())) {
    if (endorsement.decision() == v1::ENDORSEMENT_DECISION_APPROVE) return "proposal.approve";
    if (endorsement.decision() == v1::ENDORSEMENT_DECISION_VETO) return "proposal.veto";
  }
  return "proposal.endorse";
}

absl::StatusOr<v1::CommandResult> ApplyEndorse(GuardApplyContext& ctx) {
  const v1::SignedEndorsement& signed_endorsement = ctx.command.endorse_proposal();
  const absl::string_view kind = EndorsementKind(signed_endorsement);
  if (absl::Status s = RequireCharter(ctx); !s.ok()) return Refuse(ctx, kind, s);
  absl::StatusOr<std::string> id = guard::EndorsedProposalId(signed_endorsement);
  if (!id.ok()) return Refuse(ctx, kind, id.status());
  ASSIGN_OR_RETURN(std::optional<v1::ProposalRecord> record, LoadProposal(ctx.txn, *id));
  if (!record.has_value()) {
    return Refuse(ctx, kind,
                  absl::NotFoundError(absl::StrCat("endorsement.proposal_id: no proposal ", *id)));
  }
  absl::StatusOr<guard::ProposalChange> change = guard::AcceptEndorsement(
      *ctx.charter, *ctx.trust, signed_endorsement, ctx.log_index, &*record);
  if (!change.ok()) return Refuse(ctx, kind, change.status());
  SaveProposal(ctx.txn, *record);
  const bool veto = *change == guard::ProposalChange::kVetoed;
  const v1::ProposalSigner signer =
      veto || record->approvals().empty()
          ? (record->vetoes().empty() ? v1::ProposalSigner() : *record->vetoes().rbegin())
          : *record->approvals().rbegin();
  std::string detail;
  switch (*change) {
    case guard::ProposalChange::kApproved: {
      ASSIGN_OR_RETURN(LocalProposalStamps stamps, LoadLocalStamps(ctx.txn, *id));
      stamps.approved_ms = ctx.local_now_ms;
      SaveLocalStamps(ctx.txn, *id, stamps);
      detail = absl::StrCat("proposal ", *id, " approved by ", signer.name(), " (",
                            SitesProgress(*record), "): the delay of ", record->delay_ms(),
                            " ms starts");
      break;
    }
    case guard::ProposalChange::kVetoed:
      detail = absl::StrCat("proposal ", *id, " vetoed by ", signer.name(), ": it never runs");
      break;
    default:
      detail = absl::StrCat("proposal ", *id, " endorsed by ", signer.name(), " (",
                            SitesProgress(*record), "); state ",
                            guard::ProposalStateName(record->state()));
      break;
  }
  RETURN_IF_ERROR(AppendAudit(ctx.txn, ctx.log_index, ActorOf(ctx, signer.name()), kind,
                              Evidence(ctx), detail));
  return ProposalResult(ctx, *std::move(record));
}

// Runs the action of a proposal that M sites approved and whose delay M
// sites' nodes say has passed. A failing action changes nothing but closes
// the proposal as FAILED.
absl::Status ExecuteProposal(GuardApplyContext& ctx, v1::ProposalRecord* record) {
  const v1::ProposedAction& action = record->body().action();
  const std::string description = guard::DescribeAction(*ctx.charter, action);
  ctx.txn.SetSavePoint();
  absl::Status status;
  std::string outcome;
  if (guard::ChangesCharter(action)) {
    absl::StatusOr<v1::Charter> next = guard::ApplyCharterAction(*ctx.charter, action);
    if (next.ok()) {
      SaveCharter(ctx.txn, *next);
      ctx.charter = *std::move(next);
      outcome = absl::StrCat(description, " (charter version ", ctx.charter->version(), ")");
    } else {
      status = next.status();
    }
  } else {
    absl::StatusOr<std::string> done =
        action.has_purge_vault() ? PurgeAccountVault(ctx.txn, action.purge_vault().account())
        : action.has_delete_account()
            ? DeleteAccountForGood(ctx.txn, action.delete_account().account())
            : absl::InvalidArgumentError("action: unknown kind");
    if (done.ok()) {
      outcome = *std::move(done);
    } else {
      status = done.status();
    }
  }
  if (IsStorageFailure(status)) return status;
  if (!status.ok()) RETURN_IF_ERROR(ctx.txn.RollbackToSavePoint());
  guard::FinishProposal(status, outcome, ctx.log_index, record);
  SaveProposal(ctx.txn, *record);
  // Executing runs what the proposer signed and M sites approved.
  return AppendAudit(ctx.txn, ctx.log_index, ActorOf(ctx, record->proposer().name()),
                     "proposal.execute", Evidence(ctx),
                     status.ok()
                         ? absl::StrCat("proposal ", record->proposal_id(), " executed: ", outcome)
                         : absl::StrCat("proposal ", record->proposal_id(), " (", description,
                                        ") failed: ", status.message()));
}

absl::StatusOr<v1::CommandResult> ApplyProposalClock(GuardApplyContext& ctx,
                                                     const guard::VerifiedNodeStatement& verified) {
  constexpr absl::string_view kKind = "node.proposal_clock";
  const v1::ProposalClock& clock = verified.statement.proposal_clock();
  const std::string signer = verified.signer.ToString();
  ASSIGN_OR_RETURN(std::optional<v1::ProposalRecord> record,
                   LoadProposal(ctx.txn, clock.proposal_id()));
  if (!record.has_value()) {
    return Refuse(ctx, kKind,
                  absl::NotFoundError(absl::StrCat(
                      "statement.proposal_clock.proposal_id: no proposal ", clock.proposal_id())));
  }
  absl::StatusOr<guard::ProposalChange> change =
      guard::AcceptProposalClock(clock, verified.signer.site, ctx.log_index, &*record);
  if (!change.ok()) {
    const v1::ProposalState state = record->state();
    const bool closed = state == v1::PROPOSAL_STATE_EXECUTED ||
                        state == v1::PROPOSAL_STATE_VETOED || state == v1::PROPOSAL_STATE_EXPIRED ||
                        state == v1::PROPOSAL_STATE_FAILED;
    if (closed && absl::IsFailedPrecondition(change.status())) {
      // An honest node's clock that spoke while the entry closing the
      // proposal was in flight: late, not an attack, and audited as such.
      RETURN_IF_ERROR(
          AppendAudit(ctx.txn, ctx.log_index, ActorOf(ctx, signer), kKind, Evidence(ctx),
                      absl::StrCat("late: ", signer, " spoke about proposal ",
                                   record->proposal_id(), ", which is already ",
                                   guard::ProposalStateName(state), "; nothing changes")));
      v1::CommandResult result;
      result.set_status_code(static_cast<int>(change.status().code()));
      result.set_status_message(std::string(change.status().message()));
      return result;
    }
    return Refuse(ctx, kKind, change.status());
  }
  SaveProposal(ctx.txn, *record);
  std::string detail;
  switch (*change) {
    case guard::ProposalChange::kExpired:
      detail = absl::StrCat("proposal ", record->proposal_id(), " expired: the clock of ", signer,
                            " says its lifetime passed before M sites approved; ",
                            record->expired_sites_size(), " sites agree");
      break;
    case guard::ProposalChange::kExecute:
      detail =
          absl::StrCat("proposal ", record->proposal_id(), ": ", signer, " says the delay passed; ",
                       record->delay_elapsed_sites_size(), " sites agree, so it runs now");
      break;
    default:
      detail = clock.event() == v1::ProposalClock::EVENT_EXPIRED
                   ? absl::StrCat("proposal ", record->proposal_id(), ": ", signer,
                                  " says its lifetime passed (", record->expired_sites_size(),
                                  " of ", record->required_sites(), " sites)")
                   : absl::StrCat("proposal ", record->proposal_id(), ": ", signer,
                                  " says the delay passed (", record->delay_elapsed_sites_size(),
                                  " of ", record->required_sites(), " sites)");
      break;
  }
  RETURN_IF_ERROR(
      AppendAudit(ctx.txn, ctx.log_index, ActorOf(ctx, signer), kKind, Evidence(ctx), detail));
  if (*change == guard::ProposalChange::kExecute) {
    RETURN_IF_ERROR(ExecuteProposal(ctx, &*record));
  }
  return ProposalResult(ctx, *std::move(record));
}

absl::StatusOr<v1::CommandResult> ApplyCheckpoint(GuardApplyContext& ctx,
                                                  const guard::VerifiedNodeStatement& verified) {
  constexpr absl::string_view kKind = "node.checkpoint";
  const v1::Checkpoint& checkpoint = verified.statement.checkpoint();
  const std::string signer = verified.signer.ToString();
  if (checkpoint.index() == 0 || checkpoint.index() >= ctx.log_index) {
    return Refuse(ctx, kKind,
                  absl::InvalidArgumentError(absl::StrCat(
                      "statement.checkpoint.index: ", checkpoint.index(),
                      " is not an index applied before this entry (", ctx.log_index, ")")));
  }
  if (checkpoint.state_digest().size() != 32) {
    return Refuse(
        ctx, kKind,
        absl::InvalidArgumentError("statement.checkpoint.state_digest: must be 32 bytes"));
  }
  const std::string key = keys::Checkpoint(checkpoint.index(), verified.statement.node_id());
  ASSIGN_OR_RETURN(auto existing, ctx.txn.Get(Cf::kGuard, key));
  if (existing.has_value()) {
    return Refuse(ctx, kKind,
                  absl::AlreadyExistsError(absl::StrCat("statement.checkpoint: ", signer,
                                                        " already signed a checkpoint at index ",
                                                        checkpoint.index())));
  }
  ctx.txn.PutProto(Cf::kGuard, key, ctx.command.node_statement());
  // The detail is replicated, so it says nothing of this node's own digest.
  RETURN_IF_ERROR(
      AppendAudit(ctx.txn, ctx.log_index, ActorOf(ctx, signer), kKind, Evidence(ctx),
                  absl::StrCat("checkpoint at index ", checkpoint.index(), " signed by ", signer,
                               ": digest ", absl::BytesToHexString(checkpoint.state_digest()))));
  // Compared now if this node kept its digest at that index; if it is
  // still being computed, the checkpoint worker compares this statement
  // when it keeps the digest (checkpoints.cc). Both run under the state
  // machine's lock, so exactly one of them does.
  ASSIGN_OR_RETURN(auto own, LoadOwnCheckpoint(ctx.txn, checkpoint.index()));
  if (own.has_value()) {
    CheckpointComparison comparison;
    comparison.index = checkpoint.index();
    comparison.peer_site = verified.signer.site;
    comparison.peer_node = signer;
    comparison.own_digest = *own;
    comparison.match = checkpoint.state_digest() ==
                       absl::string_view(reinterpret_cast<const char*>(own->data()), own->size());
    comparison.peer = ctx.command.node_statement();
    ctx.comparisons.push_back(std::move(comparison));
  }
  return v1::CommandResult();
}

// An alarm a node raised goes into the audit log as that node said it
// (signed by it; nothing else is believed). Bounded, so that a node cannot
// bloat every replica's log through this door.
absl::StatusOr<v1::CommandResult> ApplyAlarmReport(GuardApplyContext& ctx,
                                                   const guard::VerifiedNodeStatement& verified,
                                                   absl::string_view kind) {
  const v1::AlarmReport& alarm = verified.statement.alarm_report();
  if (alarm.kind().empty() || alarm.kind().size() > kMaxAlarmKindBytes) {
    return Refuse(ctx, kind,
                  absl::InvalidArgumentError(absl::StrCat(
                      "statement.alarm_report.kind: must be 1 to ", kMaxAlarmKindBytes, " bytes")));
  }
  if (alarm.detail().size() > kMaxAlarmDetailBytes) {
    return Refuse(ctx, kind,
                  absl::InvalidArgumentError(
                      absl::StrCat("statement.alarm_report.detail: ", alarm.detail().size(),
                                   " bytes; the limit is ", kMaxAlarmDetailBytes)));
  }
  const std::string signer = verified.signer.ToString();
  RETURN_IF_ERROR(AppendAudit(
      ctx.txn, ctx.log_index, ActorOf(ctx, signer), kind, Evidence(ctx),
      absl::StrCat(signer, " raised an alarm: ", alarm.kind(),
                   alarm.offender() != 0 ? absl::StrCat(" against node ", alarm.offender()) : "",
                   " (term ", alarm.term(), ", index ", alarm.index(), "): ", alarm.detail())));
  return v1::CommandResult();
}

absl::string_view StatementKind(const v1::SignedNodeStatement& signed_statement) {
  // Parsed unverified, only to name the audit record of a refusal.
  v1::NodeStatement statement;
  if (!statement.ParseFromString(signed_statement.statement())) return "node.statement";
  switch (statement.statement_case()) {
    case v1::NodeStatement::kProposalClock:
      return "node.proposal_clock";
    case v1::NodeStatement::kCheckpoint:
      return "node.checkpoint";
    case v1::NodeStatement::kCheckpointRequest:
      return "node.checkpoint_request";
    case v1::NodeStatement::kAlarmReport:
      return "node.alarm";
    default:
      return "node.statement";
  }
}

absl::StatusOr<v1::CommandResult> ApplyNodeStatement(GuardApplyContext& ctx) {
  const v1::SignedNodeStatement& signed_statement = ctx.command.node_statement();
  const absl::string_view kind = StatementKind(signed_statement);
  if (absl::Status s = RequireCharter(ctx); !s.ok()) return Refuse(ctx, kind, s);
  absl::StatusOr<guard::VerifiedNodeStatement> verified =
      guard::VerifyNodeStatement(*ctx.charter, *ctx.trust, signed_statement);
  if (!verified.ok()) return Refuse(ctx, kind, verified.status());
  switch (verified->statement.statement_case()) {
    case v1::NodeStatement::kProposalClock:
      return ApplyProposalClock(ctx, *verified);
    case v1::NodeStatement::kCheckpoint:
      return ApplyCheckpoint(ctx, *verified);
    case v1::NodeStatement::kCheckpointRequest: {
      ctx.checkpoint_requested = true;
      const std::string signer = verified->signer.ToString();
      RETURN_IF_ERROR(AppendAudit(
          ctx.txn, ctx.log_index, ActorOf(ctx, signer), kind, Evidence(ctx),
          absl::StrCat(signer, " asks every node to checkpoint at index ", ctx.log_index, ": ",
                       verified->statement.checkpoint_request().reason())));
      return v1::CommandResult();
    }
    case v1::NodeStatement::kAlarmReport:
      return ApplyAlarmReport(ctx, *verified, kind);
    default:
      return Refuse(ctx, kind, absl::InvalidArgumentError("statement: no statement is set"));
  }
}

}  // namespace

bool IsGuardCommand(const v1::MailboxCommand& command) {
  return command.has_submit_proposal() || command.has_endorse_proposal() ||
         command.has_node_statement();
}

absl::StatusOr<v1::CommandResult> ApplyGuardCommand(GuardApplyContext& ctx) {
  // Whatever the leader checked: it may be hostile (apply_limits.h).
  const size_t bytes = ctx.command.ByteSizeLong();
  if (bytes > ctx.max_command_bytes) {
    const absl::string_view kind = ctx.command.has_submit_proposal()    ? "proposal.submit"
                                   : ctx.command.has_endorse_proposal() ? "proposal.endorse"
                                                                        : "node.statement";
    const absl::Status why = absl::InvalidArgumentError(absl::StrCat(
        "command: ", bytes, " bytes; the limit at apply is ", ctx.max_command_bytes, " bytes"));
    // The evidence is the command's SHA-256, not the command: a refused
    // oversized entry must not bloat every replica's audit log.
    RETURN_IF_ERROR(AppendAudit(ctx.txn, ctx.log_index, ActorOf(ctx), kind,
                                Sha256(ctx.command.SerializeAsString()),
                                absl::StrCat("refused: ", why.message())));
    v1::CommandResult result;
    result.set_status_code(static_cast<int>(why.code()));
    result.set_status_message(std::string(why.message()));
    return result;
  }
  if (ctx.command.has_submit_proposal()) return ApplySubmit(ctx);
  if (ctx.command.has_endorse_proposal()) return ApplyEndorse(ctx);
  return ApplyNodeStatement(ctx);
}

}  // namespace qbox::mailbox

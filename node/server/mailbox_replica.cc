#include "node/server/mailbox_replica.h"

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace qbox::server {
namespace {

mailbox::MembershipChange::Kind KindOf(raft::ConfChange::Kind kind) {
  switch (kind) {
    case raft::ConfChange::Kind::kGenesis:
      return mailbox::MembershipChange::Kind::kGenesis;
    case raft::ConfChange::Kind::kAddLearner:
      return mailbox::MembershipChange::Kind::kAddLearner;
    case raft::ConfChange::Kind::kPromoteLearner:
      return mailbox::MembershipChange::Kind::kPromoteLearner;
    case raft::ConfChange::Kind::kRemoveNode:
      return mailbox::MembershipChange::Kind::kRemoveNode;
  }
  return mailbox::MembershipChange::Kind::kGenesis;
}

}  // namespace

absl::StatusOr<std::string> MailboxReplica::Apply(const raft::Entry& entry) {
  const raft::Entry* one = &entry;
  std::vector<std::string> results;
  RETURN_IF_ERROR(ApplyBatch(absl::MakeConstSpan(&one, 1), &results));
  return std::move(results.front());
}

absl::Status MailboxReplica::ApplyBatch(absl::Span<const raft::Entry* const> entries,
                                        std::vector<std::string>* results) {
  applying_.clear();
  std::vector<v1::MailboxCommand> parsed(entries.size());
  std::vector<mailbox::MailboxStateMachine::BatchCommand> commands;
  commands.reserve(entries.size());
  std::vector<bool> unparsed(entries.size(), false);
  for (size_t i = 0; i < entries.size(); ++i) {
    const raft::Entry& entry = *entries[i];
    applying_.emplace_back(entry.index, entry.chain);
    // Only a leader's bug (or a hostile one) sends what does not parse;
    // every node applies it as a command without an operation and answers
    // it the same way, so the replicas stay identical.
    if (!parsed[i].ParseFromArray(entry.data.data(), static_cast<int>(entry.data.size()))) {
      parsed[i].Clear();
      unparsed[i] = true;
    }
    commands.push_back({entry.index, &parsed[i]});
  }
  absl::StatusOr<std::vector<absl::StatusOr<v1::CommandResult>>> applied =
      machine_->ApplyBatch(commands);
  applying_.clear();
  if (!applied.ok()) return applied.status();
  for (size_t i = 0; i < entries.size(); ++i) {
    absl::StatusOr<v1::CommandResult>& outcome = (*applied)[i];
    v1::CommandResult result;
    if (unparsed[i]) {
      result.set_status_code(static_cast<int>(absl::StatusCode::kInvalidArgument));
      result.set_status_message(
          absl::StrCat("entry ", entries[i]->index, " is not a valid MailboxCommand"));
    } else if (outcome.ok()) {
      result = *std::move(outcome);
    } else if (mailbox::IsStorageFailure(outcome.status())) {
      return outcome.status();
    } else {
      result.set_status_code(static_cast<int>(outcome.status().code()));
      result.set_status_message(std::string(outcome.status().message()));
    }
    results->push_back(result.SerializeAsString());
  }
  return absl::OkStatus();
}

std::optional<raft::ChainHash> MailboxReplica::ChainOf(uint64_t index) const {
  for (const auto& [applied, chain] : applying_) {
    if (applied == index) return chain;
  }
  return std::nullopt;
}

absl::Status MailboxReplica::ApplyConfChange(const raft::Entry& entry,
                                             const raft::ConfChange& change) {
  applying_.assign(1, {entry.index, entry.chain});
  mailbox::MembershipChange membership;
  membership.kind = KindOf(change.kind);
  membership.node = change.node;
  membership.context = change.context;
  absl::Status status = machine_->ApplyMembership(entry.index, membership);
  applying_.clear();
  return status;
}

absl::Status MailboxReplica::ApplyEmpty(const raft::Entry& entry) {
  applying_.assign(1, {entry.index, entry.chain});
  absl::Status status = machine_->ApplyNoop(entry.index);
  applying_.clear();
  return status;
}

}  // namespace qbox::server

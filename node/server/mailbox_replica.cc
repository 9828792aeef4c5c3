#include "node/server/mailbox_replica.h"

#include "absl/strings/str_cat.h"

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
  current_ = {entry.index, entry.chain};
  v1::MailboxCommand parsed;
  v1::CommandResult result;
  if (!parsed.ParseFromArray(entry.data.data(), static_cast<int>(entry.data.size()))) {
    // Only a leader's bug (or a hostile one) gets here; every node refuses it
    // the same way, so the replicas stay identical.
    auto applied = machine_->Apply(entry.index, v1::MailboxCommand());
    if (!applied.ok()) return applied.status();
    result.set_status_code(static_cast<int>(absl::StatusCode::kInvalidArgument));
    result.set_status_message(absl::StrCat("entry ", entry.index, " is not a valid MailboxCommand"));
    return result.SerializeAsString();
  }
  auto applied = machine_->Apply(entry.index, parsed);
  if (!applied.ok()) {
    // Deterministic command errors come back as a result with a status; an
    // error here is the storage failing.
    if (applied.status().code() == absl::StatusCode::kDataLoss ||
        applied.status().code() == absl::StatusCode::kUnavailable ||
        applied.status().code() == absl::StatusCode::kInternal) {
      return applied.status();
    }
    result.set_status_code(static_cast<int>(applied.status().code()));
    result.set_status_message(std::string(applied.status().message()));
    return result.SerializeAsString();
  }
  return applied->SerializeAsString();
}

absl::Status MailboxReplica::ApplyConfChange(const raft::Entry& entry,
                                             const raft::ConfChange& change) {
  current_ = {entry.index, entry.chain};
  mailbox::MembershipChange membership;
  membership.kind = KindOf(change.kind);
  membership.node = change.node;
  membership.context = change.context;
  return machine_->ApplyMembership(entry.index, membership);
}

absl::Status MailboxReplica::ApplyEmpty(const raft::Entry& entry) {
  current_ = {entry.index, entry.chain};
  return machine_->ApplyNoop(entry.index);
}

}  // namespace qbox::server

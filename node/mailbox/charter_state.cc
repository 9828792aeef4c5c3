// PLACEHOLDER (being replaced in this session): the charter, proposals,
// audit log and checkpoints of the mailbox state machine.
#include "node/mailbox/state_machine.h"

namespace qbox::mailbox {

absl::Status MailboxStateMachine::ApplyMembership(uint64_t log_index, const MembershipChange&) {
  return Apply(log_index, v1::MailboxCommand()).status();
}

absl::Status MailboxStateMachine::ApplyNoop(uint64_t log_index) {
  return Apply(log_index, v1::MailboxCommand()).status();
}

absl::StatusOr<v1::Charter> MailboxStateMachine::GetCharter() const {
  return absl::UnimplementedError("charter");
}
absl::StatusOr<v1::ProposalRecord> MailboxStateMachine::GetProposal(absl::string_view) const {
  return absl::UnimplementedError("proposals");
}
absl::StatusOr<std::vector<v1::ProposalRecord>> MailboxStateMachine::ListProposals(bool) const {
  return absl::UnimplementedError("proposals");
}
absl::StatusOr<std::vector<MailboxStateMachine::DueClockStatement>>
MailboxStateMachine::DueClockStatements(int64_t, absl::string_view) const {
  return std::vector<DueClockStatement>();
}
absl::Status MailboxStateMachine::ReadAuditLog(
    uint64_t, const std::function<bool(const v1::AuditRecord&)>&) const {
  return absl::UnimplementedError("audit log");
}
absl::StatusOr<std::vector<v1::CheckpointEntry>> MailboxStateMachine::GetCheckpoints(uint64_t) const {
  return absl::UnimplementedError("checkpoints");
}
absl::StatusOr<std::array<uint8_t, 32>> MailboxStateMachine::GetOwnCheckpoint(uint64_t) const {
  return absl::NotFoundError("checkpoint");
}

}  // namespace qbox::mailbox

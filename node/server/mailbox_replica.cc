#include "node/server/mailbox_replica.h"

#include "absl/strings/str_cat.h"

namespace qbox::server {

absl::StatusOr<std::string> MailboxReplica::Apply(uint64_t index, std::string_view command) {
  v1::MailboxCommand parsed;
  v1::CommandResult result;
  if (!parsed.ParseFromArray(command.data(), static_cast<int>(command.size()))) {
    // Only a leader's bug (or a hostile one) gets here; every node refuses it
    // the same way, so the replicas stay identical.
    auto applied = machine_->Apply(index, v1::MailboxCommand());
    if (!applied.ok()) return applied.status();
    result.set_status_code(static_cast<int>(absl::StatusCode::kInvalidArgument));
    result.set_status_message(absl::StrCat("entry ", index, " is not a valid MailboxCommand"));
    return result.SerializeAsString();
  }
  auto applied = machine_->Apply(index, parsed);
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

absl::Status MailboxReplica::ApplyEmpty(uint64_t index) {
  return machine_->Apply(index, v1::MailboxCommand()).status();
}

}  // namespace qbox::server

// Adapts the mailbox state machine (node/mailbox/) to the runtime's
// ReplicatedStateMachine: entries carry serialized MailboxCommands, results
// are serialized CommandResults.
#ifndef QBOX_NODE_SERVER_MAILBOX_REPLICA_H_
#define QBOX_NODE_SERVER_MAILBOX_REPLICA_H_

#include "node/mailbox/state_machine.h"
#include "node/server/replicated_state_machine.h"

namespace qbox::server {

class MailboxReplica : public ReplicatedStateMachine {
 public:
  explicit MailboxReplica(mailbox::MailboxStateMachine* machine) : machine_(machine) {}

  uint64_t applied_index() const override { return machine_->applied_index(); }
  absl::StatusOr<std::string> Apply(const raft::Entry& entry) override;
  absl::Status ApplyConfChange(const raft::Entry& entry, const raft::ConfChange& change) override;
  absl::Status ApplyEmpty(const raft::Entry& entry) override;
  absl::StatusOr<uint64_t> WriteSnapshot(const std::string& path) override {
    return machine_->WriteSnapshot(path);
  }
  absl::Status RestoreSnapshot(const std::string& path) override {
    return machine_->RestoreSnapshot(path);
  }

  // The entry being applied (on the apply thread): lets the state
  // machine's checkpoint callback, which runs inside an apply, sign the
  // entry's chain value with its digest (G5).
  struct CurrentEntry {
    uint64_t index = 0;
    raft::ChainHash chain{};
  };
  const CurrentEntry& current() const { return current_; }

 private:
  mailbox::MailboxStateMachine* machine_;
  CurrentEntry current_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_MAILBOX_REPLICA_H_

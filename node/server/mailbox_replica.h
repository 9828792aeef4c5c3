// Adapts the mailbox state machine (node/mailbox/) to the runtime's
// ReplicatedStateMachine: entries carry serialized MailboxCommands, results
// are serialized CommandResults.
#ifndef QBOX_NODE_SERVER_MAILBOX_REPLICA_H_
#define QBOX_NODE_SERVER_MAILBOX_REPLICA_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "node/mailbox/state_machine.h"
#include "node/server/replicated_state_machine.h"

namespace qbox::server {

class MailboxReplica : public ReplicatedStateMachine {
 public:
  explicit MailboxReplica(mailbox::MailboxStateMachine* machine) : machine_(machine) {}

  uint64_t applied_index() const override { return machine_->applied_index(); }
  absl::StatusOr<std::string> Apply(const raft::Entry& entry) override;
  absl::Status ApplyBatch(absl::Span<const raft::Entry* const> entries,
                          std::vector<std::string>* results) override;
  absl::Status ApplyConfChange(const raft::Entry& entry, const raft::ConfChange& change) override;
  absl::Status ApplyEmpty(const raft::Entry& entry) override;
  absl::StatusOr<uint64_t> WriteSnapshot(const std::string& path,
                                         std::optional<raft::ChainHash>* file_sha256) override {
    raft::ChainHash hashed;
    absl::StatusOr<uint64_t> index = machine_->WriteSnapshot(path, &hashed);
    if (index.ok()) *file_sha256 = hashed;
    return index;
  }
  absl::Status RestoreSnapshot(const std::string& path) override {
    return machine_->RestoreSnapshot(path);
  }
  absl::StatusOr<uint64_t> MakeDurable() override { return machine_->MakeDurable(); }

  // The chain value of the entry at `index` if it is being applied now (on
  // the apply thread): lets the state machine's checkpoint callback, which
  // runs inside an apply, sign the entry's chain value with its digest (G5).
  std::optional<raft::ChainHash> ChainOf(uint64_t index) const;

 private:
  mailbox::MailboxStateMachine* machine_;
  // The entries of the apply in progress: index and chain value.
  std::vector<std::pair<uint64_t, raft::ChainHash>> applying_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_MAILBOX_REPLICA_H_

// What the Raft runtime applies committed entries to. The mailbox state
// machine implements it (mailbox_replica.h); tests may implement it too.
#ifndef QBOX_NODE_SERVER_REPLICATED_STATE_MACHINE_H_
#define QBOX_NODE_SERVER_REPLICATED_STATE_MACHINE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "node/raft/types.h"

namespace qbox::server {

class ReplicatedStateMachine {
 public:
  virtual ~ReplicatedStateMachine() = default;

  // Index of the last entry applied (durable: survives a restart).
  virtual uint64_t applied_index() const = 0;

  // Applies the command committed in `entry` (a normal entry) and returns
  // its serialized result. A non-OK status means storage failed and the node
  // must stop applying; a command's own deterministic error is part of the
  // result. The entry's index and chain value are there for checkpoints (G5).
  virtual absl::StatusOr<std::string> Apply(const raft::Entry& entry) = 0;

  // Applies a membership entry (its decoded change), e.g. the genesis entry
  // that carries the charter.
  virtual absl::Status ApplyConfChange(const raft::Entry& entry, const raft::ConfChange& change) = 0;

  // Records that `entry` (a leader's no-op) was applied.
  virtual absl::Status ApplyEmpty(const raft::Entry& entry) = 0;

  // Writes a consistent snapshot to `path`; returns the applied index it
  // includes.
  virtual absl::StatusOr<uint64_t> WriteSnapshot(const std::string& path) = 0;

  // Replaces the whole state from a snapshot file.
  virtual absl::Status RestoreSnapshot(const std::string& path) = 0;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_REPLICATED_STATE_MACHINE_H_

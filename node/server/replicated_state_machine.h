// What the Raft runtime applies committed entries to. The mailbox state
// machine implements it (mailbox_replica.h); tests may implement it too.
#ifndef QBOX_NODE_SERVER_REPLICATED_STATE_MACHINE_H_
#define QBOX_NODE_SERVER_REPLICATED_STATE_MACHINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "node/raft/types.h"

namespace qbox::server {

class ReplicatedStateMachine {
 public:
  virtual ~ReplicatedStateMachine() = default;

  // Index of the last entry applied. It survives a restart, but after a
  // crash it may be lower than it was (never below the last snapshot's):
  // the runtime applies the raft log again from there.
  virtual uint64_t applied_index() const = 0;

  // Applies the command committed in `entry` (a normal entry) and returns
  // its serialized result. A non-OK status means storage failed and the node
  // must stop applying; a command's own deterministic error is part of the
  // result. The entry's index and chain value are there for checkpoints (G5).
  virtual absl::StatusOr<std::string> Apply(const raft::Entry& entry) = 0;

  // Applies normal entries at ascending indexes as Apply would one by one,
  // appending each one's serialized result to `results`; a state machine
  // may write them together. A non-OK status means storage failed, as for
  // Apply. By default, Apply for each.
  virtual absl::Status ApplyBatch(absl::Span<const raft::Entry* const> entries,
                                  std::vector<std::string>* results) {
    for (const raft::Entry* entry : entries) {
      absl::StatusOr<std::string> result = Apply(*entry);
      if (!result.ok()) return result.status();
      results->push_back(*std::move(result));
    }
    return absl::OkStatus();
  }

  // Applies a membership entry (its decoded change), e.g. the genesis entry
  // that carries the charter.
  virtual absl::Status ApplyConfChange(const raft::Entry& entry, const raft::ConfChange& change) = 0;

  // Records that `entry` (a leader's no-op) was applied.
  virtual absl::Status ApplyEmpty(const raft::Entry& entry) = 0;

  // Writes a consistent snapshot to `path`; returns the applied index it
  // includes. If the state machine hashed the file as it wrote it, it sets
  // `*file_sha256` (SHA-256 of the whole file), so the log storage need not
  // read it again; otherwise it leaves it empty.
  virtual absl::StatusOr<uint64_t> WriteSnapshot(const std::string& path,
                                                 std::optional<raft::ChainHash>* file_sha256) = 0;

  // Replaces the whole state from a snapshot file.
  virtual absl::Status RestoreSnapshot(const std::string& path) = 0;

  // Makes everything applied so far durable in the state machine's own
  // storage and returns the applied index that now survives a crash (its
  // applied_index() never goes below it again). The runtime then compacts
  // the raft log up to it without writing a copy of the state
  // (LogStorage::SaveStateMachineSnapshot), and writes a snapshot file only
  // when a follower needs one. UNIMPLEMENTED (the default) for a state
  // machine that is not durable on its own: every snapshot is then written.
  // May run on another thread while entries are applied.
  virtual absl::StatusOr<uint64_t> MakeDurable() {
    return absl::UnimplementedError("this state machine keeps no durable state of its own");
  }
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_REPLICATED_STATE_MACHINE_H_

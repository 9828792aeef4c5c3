// TEST BINARY ONLY (qbox-node-hostile, QBOX_HOSTILE_HOOKS): which ways a
// compromised leader misbehaves in the attack tests (tests/attack/). The
// production qbox-node neither compiles nor links anything in this folder.
#ifndef QBOX_NODE_SERVER_HOSTILE_HOSTILE_BEHAVIOURS_H_
#define QBOX_NODE_SERVER_HOSTILE_HOSTILE_BEHAVIOURS_H_

#include <string>

#include "absl/status/statusor.h"

namespace qbox::server::hostile {

struct HostileBehaviours {
  // Send each follower AppendEntries that would replace entries at or below
  // its commit index with forged ones (a valid chain over forged content,
  // a higher term than the entries they replace).
  bool overwrite_committed = false;
  // Send entries past the follower's last index whose chain value is wrong.
  bool broken_chain = false;
  // Send an InstallSnapshot whose chain and digest are wrong to an
  // up-to-date follower.
  bool bad_snapshot = false;
  // Keep sending heartbeats, but never entries or snapshots: nothing
  // commits any more (G7).
  bool stop_committing = false;

  // Membership (G7): commit two forged learners of this node's own site on
  // the followers, then send both their promotions in one AppendEntries,
  // which together would give this site a majority of the voters.
  bool double_promotion = false;
  // Bounds at apply: commit, after our own log, a guard command of 2 MiB
  // (twice what any node applies) on the followers.
  bool oversized_command = false;

  bool any() const {
    return overwrite_committed || broken_chain || bad_snapshot || stop_committing ||
           double_promotion || oversized_command;
  }
};

// Parses --hostile's comma-separated list ("" = none). INVALID_ARGUMENT
// naming the flag and the unknown word otherwise.
absl::StatusOr<HostileBehaviours> ParseBehaviours(const std::string& list);

}  // namespace qbox::server::hostile

#endif  // QBOX_NODE_SERVER_HOSTILE_HOSTILE_BEHAVIOURS_H_

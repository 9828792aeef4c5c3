// Bounds every node re-checks when it applies an entry, whatever the node
// that proposed it checked before: a hostile leader can put anything in the
// log. They are constants, not flags, so every replica decides alike.
#ifndef QBOX_NODE_MAILBOX_APPLY_LIMITS_H_
#define QBOX_NODE_MAILBOX_APPLY_LIMITS_H_

#include <cstdint>

namespace qbox::mailbox {

// The largest message body any account may allow: the ceiling of
// qbox-node's --max-message-bytes.
inline constexpr uint64_t kMaxMessageBytesCeiling = 1ull << 30;
// The largest mail command: one body at the ceiling and its request.
inline constexpr uint64_t kMaxMailCommandBytes = kMaxMessageBytesCeiling + (1ull << 20);
// The largest guard command (a proposal, an endorsement or a node
// statement): its signed items are a few KiB each.
inline constexpr uint64_t kMaxGuardCommandBytes = 1ull << 20;

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_APPLY_LIMITS_H_

// How big one GetChanges reply may be. Shared by the state machine (which
// answers the read) and the server (which refuses a bad request before it
// reads anything).
#ifndef QBOX_NODE_MAILBOX_CHANGE_PAGES_H_
#define QBOX_NODE_MAILBOX_CHANGE_PAGES_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qbox::mailbox {

// Entries (changed + vanished) in a reply whose request left max_changes 0.
// A changed entry is a MessageInfo of roughly 100-200 bytes, so a default
// page is a few MB: far below the client's 64 MiB receive limit, and small
// enough that a node building it for a 500k-message resync does not hold
// the whole answer in memory at once.
inline constexpr uint32_t kDefaultMaxChanges = 10'000;
// The largest max_changes accepted. A page of MessageInfos with many long
// keywords could otherwise outgrow the client's receive limit.
inline constexpr uint32_t kMaxMaxChanges = 100'000;

// The page size to use for a requested max_changes: kDefaultMaxChanges for
// 0, the value itself up to kMaxMaxChanges, else INVALID_ARGUMENT starting
// with `field`.
absl::StatusOr<uint32_t> ResolveMaxChanges(uint32_t requested, absl::string_view field);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_CHANGE_PAGES_H_

// IMAP sequence sets over UIDs ("1:5,7,9:*"), as used by every request that
// names messages. Parsing is pure; "*" is resolved later against the
// mailbox, because its meaning ("the largest UID in use") depends on state.
#ifndef QBOX_NODE_MAILBOX_UID_SET_H_
#define QBOX_NODE_MAILBOX_UID_SET_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qbox::mailbox {

// An inclusive range of UIDs, first <= last.
struct UidRange {
  uint32_t first = 0;
  uint32_t last = 0;
  bool operator==(const UidRange& o) const { return first == o.first && last == o.last; }
};

class UidSet {
 public:
  // Longest text accepted; bounds the work a single request can cause.
  static constexpr size_t kMaxTextBytes = 64 * 1024;

  // Parses RFC 9051 sequence-set syntax: comma-separated numbers (1 to
  // 4294967295) or "*", each alone or as "a:b" (in either order). Returns
  // INVALID_ARGUMENT starting with `field` and naming the offset of the
  // first bad character.
  static absl::StatusOr<UidSet> Parse(absl::string_view text, absl::string_view field);

  // The set as sorted, non-overlapping, non-adjacent ranges, with "*" read
  // as `largest_uid` (the largest UID in the mailbox, 0 if it is empty; a
  // range involving "*" then still covers what RFC 9051 says it covers).
  std::vector<UidRange> Resolve(uint32_t largest_uid) const;

  // True if `uid` is in the set with "*" read as `largest_uid`.
  bool Contains(uint32_t uid, uint32_t largest_uid) const;

 private:
  // 0 stands for "*" (UIDs are never 0).
  std::vector<UidRange> raw_;
};

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_UID_SET_H_

// System flags and keywords. System flags are kept as a bit set; keywords
// as a sorted list of IMAP atoms. Both the server (before proposing) and
// the state machine (while applying) use these checks.
#ifndef QBOX_NODE_MAILBOX_FLAGS_H_
#define QBOX_NODE_MAILBOX_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"

namespace qbox::mailbox {

enum SystemFlag : uint32_t {
  kFlagSeen = 1u << 0,
  kFlagAnswered = 1u << 1,
  kFlagFlagged = 1u << 2,
  kFlagDeleted = 1u << 3,
  kFlagDraft = 1u << 4,
};

inline constexpr size_t kMaxKeywordBytes = 255;
inline constexpr size_t kMaxKeywordsPerRequest = 128;

using StringList = google::protobuf::RepeatedPtrField<std::string>;

// Parses system flags ("\Seen", case-insensitive) into a bit set. Anything
// else, including keywords and "\Recent", is INVALID_ARGUMENT naming
// "<field>[i]".
absl::StatusOr<uint32_t> ParseSystemFlags(const StringList& flags, absl::string_view field);

// The canonical names of the flags in `bits`, in a fixed order.
std::vector<std::string> SystemFlagNames(uint32_t bits);

// Checks that `keyword` is an IMAP atom: 1-255 printable ASCII characters
// without atom-specials "(){ %*\"\\]" and not starting with '\'.
absl::Status ValidateKeyword(absl::string_view keyword, absl::string_view field);

// Validates every keyword ("<field>[i]") and returns them sorted and unique.
absl::StatusOr<std::vector<std::string>> NormalizeKeywords(const StringList& keywords,
                                                           absl::string_view field);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_FLAGS_H_

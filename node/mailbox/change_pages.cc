#include "node/mailbox/change_pages.h"

#include "absl/strings/str_cat.h"

namespace qbox::mailbox {

absl::StatusOr<uint32_t> ResolveMaxChanges(uint32_t requested, absl::string_view field) {
  if (requested == 0) return kDefaultMaxChanges;
  if (requested > kMaxMaxChanges) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", requested, " is more than the largest page of ", kMaxMaxChanges, " changes"));
  }
  return requested;
}

}  // namespace qbox::mailbox

#include "node/server/hostile/hostile_behaviours.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace qbox::server::hostile {

absl::StatusOr<HostileBehaviours> ParseBehaviours(const std::string& list) {
  HostileBehaviours b;
  for (absl::string_view word : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    if (word == "overwrite-committed") {
      b.overwrite_committed = true;
    } else if (word == "broken-chain") {
      b.broken_chain = true;
    } else if (word == "bad-snapshot") {
      b.bad_snapshot = true;
    } else if (word == "stop-committing") {
      b.stop_committing = true;
    } else if (word == "double-promotion") {
      b.double_promotion = true;
    } else if (word == "oversized-command") {
      b.oversized_command = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--hostile: unknown behaviour '", word,
                       "' (known: overwrite-committed, broken-chain, bad-snapshot, "
                       "stop-committing, double-promotion, oversized-command)"));
    }
  }
  return b;
}

}  // namespace qbox::server::hostile

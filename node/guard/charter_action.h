// Internal to node/guard: the pieces charter.cc and charter_action.cc share.
// The public contract for both files is charter.h.
#ifndef QBOX_NODE_GUARD_CHARTER_ACTION_H_
#define QBOX_NODE_GUARD_CHARTER_ACTION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qbox::guard {

// Checks that `pem` is exactly one CA certificate fit to be `site`'s CA
// (parses, CA:TRUE, names no other site) and returns its public key (DER),
// by which callers spot two sites sharing one CA. INVALID_ARGUMENT whose
// message starts with `field` otherwise.
absl::StatusOr<std::string> CheckSiteCaCertificate(absl::string_view pem, absl::string_view site,
                                                   absl::string_view field);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_CHARTER_ACTION_H_

// What the client accepts as an endpoint: "host:port" or "[ipv6]:port",
// with a decimal port in 1..65535 and no spaces or control characters.
// Checked for configured endpoints and for addresses in leader hints, so a
// garbled hint can never send the client somewhere strange.
#ifndef QBOX_CLIENT_ENDPOINT_SYNTAX_H_
#define QBOX_CLIENT_ENDPOINT_SYNTAX_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qbox::internal {

// OK, or INVALID_ARGUMENT saying what is wrong with `endpoint` (the caller
// prefixes the field name).
absl::Status CheckEndpointSyntax(absl::string_view endpoint);

}  // namespace qbox::internal

#endif  // QBOX_CLIENT_ENDPOINT_SYNTAX_H_

// Checking ClientOptions and reading the TLS files they name, once, when a
// client is opened: bad input gets one error naming the option (and file)
// and no client is created.
#ifndef QBOX_CLIENT_CLIENT_OPTIONS_CHECK_H_
#define QBOX_CLIENT_CLIENT_OPTIONS_CHECK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "qbox/options.h"

namespace qbox::internal {

// INVALID_ARGUMENT naming the first bad field: "endpoints" (empty),
// "endpoints[i]" (not host:port), "default_timeout", "connect_timeout",
// "initial_backoff", "max_backoff", "max_receive_message_bytes" (not
// positive, or initial > max). Files are not looked at.
absl::Status CheckClientOptions(const ClientOptions& options);

// The PEM contents of the three TLS files.
struct TlsMaterial {
  std::string ca_bundle_pem;
  std::string certificate_pem;
  std::string private_key_pem;
};

// Reads ca_bundle_file, certificate_file and private_key_file. Errors name
// the option and the path: INVALID_ARGUMENT if a path is empty or the file
// holds no PEM block of the expected kind; NOT_FOUND if it does not exist;
// PERMISSION_DENIED if it cannot be read for lack of rights;
// FAILED_PRECONDITION with the system's reason for any other read error.
absl::StatusOr<TlsMaterial> ReadTlsMaterial(const ClientOptions& options);

}  // namespace qbox::internal

#endif  // QBOX_CLIENT_CLIENT_OPTIONS_CHECK_H_

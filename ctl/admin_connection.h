// Opening the client library's AdminClient from resolved connection flags,
// and turning a failed call into the one line qboxctl prints. Everything
// that talks to nodes goes through here, so the transport is one file.
#ifndef QBOX_CTL_ADMIN_CONNECTION_H_
#define QBOX_CTL_ADMIN_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ctl/connection_flags.h"
#include "qbox/admin_client.h"

namespace qbox::ctl {

// An AdminClient for `endpoints` (all of the connection's if empty) with the
// connection's TLS files and timeout. No network traffic; errors name the
// file or option that the library refused.
absl::StatusOr<std::unique_ptr<AdminClient>> OpenAdminClient(
    const Connection& connection, const std::vector<std::string>& endpoints = {});

// Calls `open` with the client library's options for `connection` (all of
// its endpoints if `endpoints` is empty). A CA bundle taken from --cluster
// exists as a temporary file only while `open` runs, so `open` must read
// the files (as AdminClient::Open does) before it returns. Returns what
// `open` returns, or the error of writing the temporary file.
absl::Status WithClientOptions(const Connection& connection,
                               const std::vector<std::string>& endpoints,
                               const std::function<absl::Status(const ClientOptions&)>& open);

// The call's options: the --timeout deadline.
CallOptions CallOptionsFor(const Connection& connection);

// Rewrites a failed call's status as one line for an operator: what was
// attempted (`action`, e.g. "transferring leadership"), where
// (`endpoints`), the server's or library's reason, and what to do about it.
// Keeps the code.
absl::Status ExplainCallError(const absl::Status& status, absl::string_view action,
                              const std::vector<std::string>& endpoints,
                              const Connection& connection);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_ADMIN_CONNECTION_H_

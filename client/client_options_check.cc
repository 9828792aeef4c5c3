#include "client/client_options_check.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "client/endpoint_syntax.h"
#include "node/common/status_macros.h"

namespace qbox::internal {
namespace {

absl::Status RequirePositive(absl::Duration value, absl::string_view field) {
  if (value <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be positive, got ", absl::FormatDuration(value)));
  }
  return absl::OkStatus();
}

// Reads `path` whole. `field` names the option in every error.
absl::StatusOr<std::string> ReadPemFile(absl::string_view field, const std::string& path,
                                        absl::string_view expected_block) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": no file given"));
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    const std::string where = absl::StrCat(field, " ", path, ": ");
    if (error == ENOENT) return absl::NotFoundError(absl::StrCat(where, "no such file"));
    if (error == EACCES)
      return absl::PermissionDeniedError(absl::StrCat(where, "permission denied"));
    return absl::FailedPreconditionError(absl::StrCat(where, std::strerror(error)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::FailedPreconditionError(absl::StrCat(field, " ", path, ": read failed"));
  }
  std::string pem = std::move(contents).str();
  // A cheap check that catches swapped or wrong files here, instead of as
  // an opaque TLS handshake failure on the first call.
  if (pem.find("-----BEGIN") == std::string::npos ||
      pem.find(std::string(expected_block)) == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " ", path, ": no PEM ", expected_block, " block in the file"));
  }
  return pem;
}

}  // namespace

absl::Status CheckClientOptions(const ClientOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("endpoints: at least one host:port is required");
  }
  for (size_t i = 0; i < options.endpoints.size(); ++i) {
    absl::Status syntax = CheckEndpointSyntax(options.endpoints[i]);
    if (!syntax.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("endpoints[", i, "]: ", syntax.message()));
    }
  }
  RETURN_IF_ERROR(RequirePositive(options.default_timeout, "default_timeout"));
  RETURN_IF_ERROR(RequirePositive(options.connect_timeout, "connect_timeout"));
  RETURN_IF_ERROR(RequirePositive(options.initial_backoff, "initial_backoff"));
  RETURN_IF_ERROR(RequirePositive(options.max_backoff, "max_backoff"));
  if (options.initial_backoff > options.max_backoff) {
    return absl::InvalidArgumentError(
        absl::StrCat("initial_backoff: ", absl::FormatDuration(options.initial_backoff),
                     " is longer than max_backoff ", absl::FormatDuration(options.max_backoff)));
  }
  if (options.max_receive_message_bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_receive_message_bytes: must be positive, got ", options.max_receive_message_bytes));
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsMaterial> ReadTlsMaterial(const ClientOptions& options) {
  TlsMaterial tls;
  ASSIGN_OR_RETURN(tls.ca_bundle_pem,
                   ReadPemFile("ca_bundle_file", options.ca_bundle_file, "CERTIFICATE"));
  ASSIGN_OR_RETURN(tls.certificate_pem,
                   ReadPemFile("certificate_file", options.certificate_file, "CERTIFICATE"));
  ASSIGN_OR_RETURN(tls.private_key_pem,
                   ReadPemFile("private_key_file", options.private_key_file, "PRIVATE KEY"));
  return tls;
}

}  // namespace qbox::internal

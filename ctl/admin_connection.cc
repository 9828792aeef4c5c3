#include "ctl/admin_connection.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/guard/credential_directory.h"

namespace qbox::ctl {
namespace {

// The client library reads its CA bundle from a file. A bundle taken from
// --cluster goes to a private temporary file for the duration of Open.
class TemporaryBundleFile {
 public:
  TemporaryBundleFile() = default;
  ~TemporaryBundleFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TemporaryBundleFile(const TemporaryBundleFile&) = delete;
  TemporaryBundleFile& operator=(const TemporaryBundleFile&) = delete;

  absl::StatusOr<std::string> Write(const std::string& pem) {
    std::string dir = std::filesystem::temp_directory_path().string();
    std::string tmpl = dir + "/qboxctl-ca-XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot create a temporary file in ", dir, " for the CA bundle"));
    }
    ::close(fd);
    path_ = tmpl;
    absl::Status written = guard::WriteFileAtomically(path_, pem, 0600, /*overwrite=*/true);
    if (!written.ok()) return written;
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace

absl::Status WithClientOptions(const Connection& connection,
                               const std::vector<std::string>& endpoints,
                               const std::function<absl::Status(const ClientOptions&)>& open) {
  ClientOptions options;
  options.endpoints = endpoints.empty() ? connection.endpoints : endpoints;
  options.certificate_file = connection.certificate_file;
  options.private_key_file = connection.private_key_file;
  options.default_timeout = connection.timeout;
  // A node that swallows connections must not eat the whole deadline.
  options.connect_timeout = std::min(options.connect_timeout, connection.timeout);
  TemporaryBundleFile temporary;
  if (!connection.ca_bundle_file.empty()) {
    options.ca_bundle_file = connection.ca_bundle_file;
  } else {
    absl::StatusOr<std::string> path = temporary.Write(connection.ca_bundle_pem);
    if (!path.ok()) return path.status();
    options.ca_bundle_file = *path;
  }
  return open(options);
}

absl::StatusOr<std::unique_ptr<AdminClient>> OpenAdminClient(
    const Connection& connection, const std::vector<std::string>& endpoints) {
  std::unique_ptr<AdminClient> client;
  // Open reads the files once; the temporary one may go right after.
  absl::Status opened = WithClientOptions(connection, endpoints, [&](const ClientOptions& o) {
    absl::StatusOr<std::unique_ptr<AdminClient>> c = AdminClient::Open(o);
    if (!c.ok()) return c.status();
    client = *std::move(c);
    return absl::OkStatus();
  });
  if (!opened.ok()) return opened;
  return client;
}

CallOptions CallOptionsFor(const Connection& connection) {
  CallOptions options;
  options.timeout = connection.timeout;
  return options;
}

absl::Status ExplainCallError(const absl::Status& status, absl::string_view action,
                              const std::vector<std::string>& endpoints,
                              const Connection& connection) {
  std::string where = absl::StrJoin(endpoints.empty() ? connection.endpoints : endpoints, ",");
  std::string hint;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      if (absl::StrContains(status.message(), "Socket closed")) {
        // What a node's refusal of our certificate looks like from here.
        hint = absl::StrCat(
            "; the node closed the connection, most likely because it does not "
            "trust ",
            connection.admin_identity, ": use an admin certificate of one of the cluster's sites");
      } else if (absl::StrContains(status.message(), "andshake") ||
                 absl::StrContains(status.message(), "SSL") ||
                 absl::StrContains(status.message(), "certificate")) {
        hint =
            "; the TLS handshake failed: check that --cacert/--cluster holds every site's CA "
            "and that your admin certificate is from one of the cluster's sites";
      } else {
        hint = absl::StrCat(
            "; check that the nodes are running and reachable at --endpoints, "
            "or raise --timeout (now ",
            absl::FormatDuration(connection.timeout), ")");
      }
      break;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      hint = absl::StrCat("; the nodes refused ", connection.admin_identity,
                          ": use an admin certificate of one of the cluster's sites");
      break;
    default:
      break;
  }
  return absl::Status(status.code(),
                      absl::StrCat(action, " via ", where, ": ", status.message(), hint));
}

}  // namespace qbox::ctl

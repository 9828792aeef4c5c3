// The connection flags every command that talks to nodes takes, and their
// resolution into what the client library needs (issue 4, "Conventions"):
//
//   --endpoints host:port,...   nodes to talk to (default: --cluster's nodes)
//   --cacert FILE               every site's CA certificate, concatenated
//   --cluster FILE              cluster.json: CA bundle and endpoints from it
//   --cert FILE --key FILE      the operator's admin certificate and key
//   --site-dir DIR --admin NAME the same, from DIR/admins/NAME.crt|.key
//   --timeout DURATION          deadline of each call (default 10s)
//
// Everything is checked locally before any connection is made, so a wrong
// file is reported by flag and path rather than as a TLS handshake failure.
// What the flags leave unset comes from the line's other connection flags,
// QBOX_* variables and the context file (connection_settings.h), in that
// order; main() hands those over with SetConnectionFallback.
#ifndef QBOX_CTL_CONNECTION_FLAGS_H_
#define QBOX_CTL_CONNECTION_FLAGS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ctl/connection_settings.h"
#include "node/server/cluster_config.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

struct ConnectionFlags {
  std::string endpoints;  // comma-separated host:port
  std::string cacert;
  std::string cluster_file;
  std::string cert;
  std::string key;
  std::string site_dir;
  std::string admin;
  std::string timeout;  // empty: from QBOX_TIMEOUT or the context, else default_timeout
  // What a command waits when nothing sets --timeout: 10s for a call, more
  // for a command that streams (snapshot save) or follows (rebuild watch).
  std::string default_timeout = "10s";
};

// Adds the flags above to `command` in a "Connection" group.
void AddConnectionFlags(CLI::App* command, ConnectionFlags* flags);

// What ResolveConnection fills unset flags from, for the rest of the
// process: the connection flags given before the command, then the
// environment and the context file. An error (a broken context file, an
// unknown --context) is returned by every later ResolveConnection, so
// commands that need no connection still run.
void SetConnectionFallback(absl::StatusOr<ConnectionSettings> fallback);

ConnectionSettings ToSettings(const ConnectionFlags& flags);
ConnectionFlags FromSettings(const ConnectionSettings& settings);

struct Connection {
  std::vector<std::string> endpoints;
  std::string ca_bundle_pem;     // every site's CA certificate
  std::string ca_bundle_file;    // --cacert, or empty if the bundle came from --cluster
  std::string certificate_file;  // the admin certificate
  std::string private_key_file;
  std::string admin_identity;  // "site-a/admin/alice", for messages
  absl::Duration timeout;
  // Set when --cluster was given: maps addresses to nodes for messages and
  // for endpoints that do not answer.
  std::optional<server::ClusterConfig> cluster;
};

// Reads and checks every file and value. On error returns a status whose
// message starts with the flag at fault and names the file and what to do:
//  - INVALID_ARGUMENT: a malformed value, a missing companion flag (--key
//    without --cert, --site-dir without --admin, ...), a file of the wrong
//    kind, a key that does not belong to the certificate, a certificate
//    that is not an admin's;
//  - NOT_FOUND / PERMISSION_DENIED: a missing or unreadable file;
//  - UNAUTHENTICATED: the admin certificate is not verified by any CA in
//    the bundle (another cluster's or site's credentials, or expired).
absl::StatusOr<Connection> ResolveConnection(const ConnectionFlags& flags);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_CONNECTION_FLAGS_H_

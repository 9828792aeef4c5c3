// Options for the quorumbox client library: how to reach a cluster (once,
// per client) and how long one call may take (per call).
//
// Plain structs with defaults; copy them freely. Nothing here is checked
// until Client::Open / AdminClient::Open, which report the first bad field
// by name and create nothing.
#ifndef QBOX_CLIENT_INCLUDE_QBOX_OPTIONS_H_
#define QBOX_CLIENT_INCLUDE_QBOX_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace qbox {

struct ClientOptions {
  // Where the cluster's nodes listen, as "host:port" (the gRPC port that
  // serves MailStore and Admin). At least one. Any node will do: the client
  // follows leader hints, and adds every leader address it is told about
  // to this set for the lifetime of the client.
  std::vector<std::string> endpoints;

  // Mutual TLS is always on. All three are PEM files read once by Open.
  //
  // ca_bundle_file: the CA certificates of every site, concatenated. A node
  // is trusted if any of them signed its certificate; which site it belongs
  // to is the server's concern, not the client's.
  std::string ca_bundle_file;
  // certificate_file / private_key_file: this client's own identity, issued
  // by `qboxctl site issue` (a frontend certificate for Client, an admin
  // certificate for AdminClient). The server decides what it may do.
  std::string certificate_file;
  std::string private_key_file;

  // Deadline of a call that does not set CallOptions::timeout. Includes
  // every retry and back-off. Must be positive.
  absl::Duration default_timeout = absl::Seconds(10);

  // How long one attempt may spend establishing a connection (TCP + TLS
  // handshake) before the client gives up on that node and tries the next.
  // Bounds the cost of a node that is down without refusing connections.
  // Must be positive. Always cut short by the call's deadline.
  absl::Duration connect_timeout = absl::Seconds(2);

  // Jittered exponential back-off between attempts that found no leader:
  // the n-th wait is uniform in [b/2, b] with b = min(initial * 2^n, max),
  // and never extends past the call's deadline. Both must be positive and
  // initial <= max.
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);

  // Largest response message accepted, in bytes (a FetchMessages response
  // carries one whole message body). Must be positive.
  int32_t max_receive_message_bytes = 64 << 20;
};

struct CallOptions {
  // The call's deadline, counted from when the call starts. Unset: the
  // client's default_timeout. Must be positive if set. A call never returns
  // later than this (plus scheduling noise), whatever it retries.
  std::optional<absl::Duration> timeout;
};

}  // namespace qbox

#endif  // QBOX_CLIENT_INCLUDE_QBOX_OPTIONS_H_

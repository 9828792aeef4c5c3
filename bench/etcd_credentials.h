// How qbox-load connects to etcd: plain gRPC, or mutual TLS with a CA, a
// client certificate and its key (bench/run-cluster-bench.sh runs both, so
// quorumbox, which always uses mutual TLS, is also compared like for like).
#ifndef QBOX_BENCH_ETCD_CREDENTIALS_H_
#define QBOX_BENCH_ETCD_CREDENTIALS_H_

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace qbox::bench {

// The three PEM files of an etcd client identity, each named by the
// command-line flag it came from so errors can point at that flag.
struct EtcdTlsFiles {
  std::string cacert;  // --etcd-cacert: CA that signed the etcd servers' certificates
  std::string cert;    // --etcd-cert: this client's certificate
  std::string key;     // --etcd-key: this client's private key
};

// Returns channel credentials for etcd's client port:
//  - all three files empty: insecure (plain HTTP/2) credentials;
//  - all three given and readable: TLS that verifies the server against
//    `cacert` and presents `cert`/`key`.
// Errors (INVALID_ARGUMENT, nothing else happens): only some of the three
// are given (the message names the missing flags), or a file cannot be read
// or is empty (the message names the flag and the path).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> EtcdChannelCredentials(
    const EtcdTlsFiles& files);

}  // namespace qbox::bench

#endif  // QBOX_BENCH_ETCD_CREDENTIALS_H_

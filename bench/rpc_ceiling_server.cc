// qbox-rpc-ceiling: a MEASURING INSTRUMENT, NOT A SERVER. It stores
// nothing, replicates nothing and checks no permissions; never point a
// front end at it.
//
// It serves qbox.v1.MailStore over mutual TLS exactly as a qbox-node does
// (the same synchronous gRPC server, the same client-certificate
// requirement, the same message-size limit, a node certificate and the
// concatenated site CAs as trust roots), but its AppendMessage answers at
// once with a fixed UID after gRPC has parsed the request. Every other
// method answers UNIMPLEMENTED. Loading it with qbox-load, the same payload
// size and clients as a cluster run, measures what gRPC + mutual TLS alone
// can carry on this machine: the ceiling that no quorumbox node, which does
// the same RPC work plus guard checks, fsyncs and replication, can exceed.
// bench/run-cluster-bench.sh runs it with CEILING=1.
//
//   qbox-rpc-ceiling --listen 127.0.0.1:0 --cacert CA_BUNDLE --cert NODE_CRT --key NODE_KEY
//
// Prints "listening on HOST:PORT" on stdout once it serves (so --listen may
// use port 0), and stops on SIGTERM or SIGINT. Exit status 1 on bad flags
// or when it cannot listen; the error names the flag.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/pem_file.h"
#include "node/common/status_macros.h"
#include "qbox/v1/mailstore.grpc.pb.h"

namespace {

struct CeilingOptions {
  std::string listen = "127.0.0.1:0";
  std::string cacert, cert, key;
};

// Same limit as a qbox-node with its default --max-message-bytes (64 MiB):
// twice that plus 16 MiB of headroom.
constexpr int kMaxMessageBytes = (64 << 20) * 2 + (16 << 20);

class CeilingMailStore final : public qbox::v1::MailStore::Service {
 public:
  grpc::Status AppendMessage(grpc::ServerContext* /*call*/,
                             const qbox::v1::AppendMessageRequest* request,
                             qbox::v1::AppendMessageResponse* response) override {
    // The one check a node makes that costs nothing, so that a load
    // generator sending nothing cannot pass for one that works.
    if (request->body().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "body: must not be empty");
    }
    response->set_uidvalidity(1);
    response->set_uid(1);
    response->set_modseq(1);
    return grpc::Status::OK;
  }
};

absl::Status Serve(const CeilingOptions& o) {
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ASSIGN_OR_RETURN(tls.pem_root_certs, qbox::bench::ReadPemFlag("--cacert", o.cacert));
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.cert_chain, qbox::bench::ReadPemFlag("--cert", o.cert));
  ASSIGN_OR_RETURN(pair.private_key, qbox::bench::ReadPemFlag("--key", o.key));
  tls.pem_key_cert_pairs.push_back(std::move(pair));

  // Signals are blocked before gRPC starts its threads, so they all inherit
  // the mask and the one sigwait below is the only place they arrive.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CeilingMailStore service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(o.listen, grpc::SslServerCredentials(tls), &port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    return absl::UnavailableError(absl::StrCat("--listen: cannot serve gRPC on ", o.listen,
                                               " (address in use or not local?)"));
  }
  const std::string host = o.listen.substr(0, o.listen.rfind(':'));
  absl::PrintF("listening on %s:%d\n", host, port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  absl::FPrintF(stderr, "qbox-rpc-ceiling: signal %d, stopping\n", signal_number);
  server->Shutdown();
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "qbox-rpc-ceiling: a measuring instrument, not a server. Serves qbox.v1.MailStore over "
      "mutual TLS; AppendMessage answers at once (no storage, no replication), everything else "
      "is UNIMPLEMENTED."};
  CeilingOptions o;
  app.add_option("--listen", o.listen, "host:port to serve on (port 0: any free port)");
  app.add_option("--cacert", o.cacert, "CA bundle that client certificates must chain to (PEM)")
      ->required();
  app.add_option("--cert", o.cert, "Server certificate, e.g. a node's (PEM)")->required();
  app.add_option("--key", o.key, "Its private key (PEM)")->required();
  CLI11_PARSE(app, argc, argv);
  if (absl::Status s = Serve(o); !s.ok()) {
    absl::FPrintF(stderr, "qbox-rpc-ceiling: %s\n", s.ToString());
    return 1;
  }
  return 0;
}

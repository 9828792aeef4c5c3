// qbox-node: one quorumbox storage node. See node_options.h for flags and
// node_server.h for what it serves.
#include <grpc/support/log.h>

#include <csignal>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "node/server/node_log.h"
#include "node/server/node_options.h"
#include "node/server/node_server.h"

namespace {

// gRPC's own messages (connection and handshake errors) go to the node log
// too, so that with --log-format=json every line on stderr is one object.
void ForwardGrpcLog(gpr_log_func_args* args) {
  const std::string message =
      absl::StrCat("grpc: ", args->message, " (", args->file, ":", args->line, ")");
  switch (args->severity) {
    case GPR_LOG_SEVERITY_DEBUG:
      qbox::server::LogDebug(message);
      break;
    case GPR_LOG_SEVERITY_INFO:
      qbox::server::LogInfo(message);
      break;
    default:
      qbox::server::LogError(message);
      break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  auto options = qbox::server::ParseNodeOptions(argc, argv);
  if (!options.ok()) {
    if (absl::IsCancelled(options.status())) return 0;  // --help
    qbox::server::LogError(options.status().message());
    return 2;
  }
  qbox::server::ConfigureNodeLog(options->site, options->name, options->log_format,
                                 options->log_level);
  gpr_set_log_function(&ForwardGrpcLog);
  // Abseil's mutex deadlock detection tracks every lock acquisition; it
  // showed up in profiles of the append path. Lock order is checked by the
  // annotations at compile time instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  qbox::server::NodeServer server(*options);
  absl::Notification stop_requested;
  int signal = 0;
  std::thread signal_waiter([&] {
    sigwait(&stop, &signal);
    server.RequestStop();
    stop_requested.Notify();
  });
  absl::Status started = server.Start();
  if (!started.ok()) {
    server.Shutdown();
    if (absl::IsCancelled(started) && stop_requested.HasBeenNotified()) {
      signal_waiter.join();
      return 0;
    }
    qbox::server::LogFatal(absl::StrCat("cannot start: ", started.ToString()));
    std::_Exit(1);  // the signal thread is still waiting; nothing to clean up
  }
  stop_requested.WaitForNotification();
  signal_waiter.join();
  qbox::server::LogInfo(
      absl::StrCat("received ", signal == SIGTERM ? "SIGTERM" : "SIGINT", ", shutting down"));
  server.Shutdown();
  return 0;
}

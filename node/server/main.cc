// qbox-node: one quorumbox storage node. See node_options.h for flags and
// node_server.h for what it serves.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "node/server/node_options.h"
#include "node/server/node_server.h"

int main(int argc, char** argv) {
  auto options = qbox::server::ParseNodeOptions(argc, argv);
  if (!options.ok()) {
    if (absl::IsCancelled(options.status())) return 0;  // --help
    std::fprintf(stderr, "qbox-node: %s\n", std::string(options.status().message()).c_str());
    return 2;
  }
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
    std::fprintf(stderr, "qbox-node: %s\n", started.ToString().c_str());
    std::_Exit(1);  // the signal thread is still waiting; nothing to clean up
  }
  stop_requested.WaitForNotification();
  signal_waiter.join();
  std::fprintf(stderr, "qbox-node: received %s, shutting down\n",
               signal == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Shutdown();
  return 0;
}

// The retry loop every client call runs through: pick a node, make one
// attempt, and on UNAVAILABLE follow the leader hint or back off and move
// on, all within the call's deadline (qbox/client.h, "What every call
// promises").
#ifndef QBOX_CLIENT_RETRYING_CALLER_H_
#define QBOX_CLIENT_RETRYING_CALLER_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/endpoint_set.h"
#include "qbox/options.h"

namespace qbox::internal {

struct AttemptResult {
  grpc::Status status;
  // False once retrying would be unsafe whatever the code, e.g. a stream
  // that already delivered messages to the caller.
  bool may_retry = true;
};

// One attempt of a call on `channel`. `context` already carries the call's
// deadline; the attempt must not outlive it (gRPC enforces that).
using Attempt = std::function<AttemptResult(const std::shared_ptr<grpc::Channel>& channel,
                                            grpc::ClientContext& context)>;

// Thread-safe: Run may be called from many threads at once.
class RetryingCaller {
 public:
  // Checks `options`, reads its TLS files and sets up (unconnected)
  // channels. Errors as Client::Open.
  static absl::StatusOr<std::unique_ptr<RetryingCaller>> Create(const ClientOptions& options);

  // Runs `attempt` until it succeeds, fails with a code that is not
  // retried, says it may not be retried, or the deadline leaves no time for
  // another attempt. Returns OK or the error (see qbox/client.h for the
  // codes and messages). INVALID_ARGUMENT naming "timeout" if
  // call_options.timeout is set and not positive; then nothing is sent.
  absl::Status Run(const CallOptions& call_options, const Attempt& attempt);

  std::string PreferredEndpoint() const { return endpoints_.Preferred(); }

  // The deadline Run gives a call with `call_options`, as a duration (not
  // checked: Run refuses a timeout that is not positive).
  absl::Duration TimeoutOf(const CallOptions& call_options) const {
    return call_options.timeout.value_or(options_.default_timeout);
  }

 private:
  RetryingCaller(const ClientOptions& options,
                 std::shared_ptr<grpc::ChannelCredentials> credentials);

  // OK once `channel` is READY or has failed (the attempt then fails fast
  // with gRPC's own reason); UNAVAILABLE if it is still connecting at
  // `limit`, so a node that swallows connections costs at most
  // connect_timeout.
  static absl::Status AwaitConnectionOutcome(grpc::Channel& channel, const std::string& endpoint,
                                             absl::Time limit);

  const ClientOptions options_;
  EndpointSet endpoints_;
};

}  // namespace qbox::internal

#endif  // QBOX_CLIENT_RETRYING_CALLER_H_

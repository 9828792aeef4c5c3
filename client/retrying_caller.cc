#include "client/retrying_caller.h"

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/time.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/client_options_check.h"
#include "client/grpc_status_conversion.h"
#include "client/retry_backoff.h"
#include "node/common/status_macros.h"

namespace qbox::internal {
namespace {

grpc::ChannelArguments ChannelArgumentsFor(const ClientOptions& options) {
  grpc::ChannelArguments args;
  // gRPC's default reconnect back-off grows to two minutes; a node that
  // restarts should be usable again within about a second.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Despite its name, gRPC uses this as the minimum time a connection
  // attempt (TCP + TLS handshake) may take before it is abandoned. Tie it to
  // connect_timeout: smaller would cut off slow but healthy cross-site
  // handshakes, larger is pointless as we stop waiting then anyway.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(options.connect_timeout)));
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  return args;
}

// The error a call returns when its deadline ends the retries: the last
// attempt's code and message, plus where it came from and how hard we tried.
absl::Status GaveUp(const absl::Status& last, const std::string& endpoint, int attempts,
                    absl::Duration timeout) {
  return absl::Status(
      last.code(),
      absl::StrCat(last.message(), " (last from ", endpoint, "; gave up after ", attempts,
                   attempts == 1 ? " attempt" : " attempts", " within the call's ",
                   absl::FormatDuration(timeout), " deadline)"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<RetryingCaller>> RetryingCaller::Create(
    const ClientOptions& options) {
  RETURN_IF_ERROR(CheckClientOptions(options));
  ASSIGN_OR_RETURN(TlsMaterial tls, ReadTlsMaterial(options));
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = std::move(tls.ca_bundle_pem);
  ssl.pem_cert_chain = std::move(tls.certificate_pem);
  ssl.pem_private_key = std::move(tls.private_key_pem);
  return std::unique_ptr<RetryingCaller>(new RetryingCaller(options, grpc::SslCredentials(ssl)));
}

RetryingCaller::RetryingCaller(const ClientOptions& options,
                               std::shared_ptr<grpc::ChannelCredentials> credentials)
    : options_(options),
      endpoints_(options.endpoints, std::move(credentials), ChannelArgumentsFor(options)) {}

absl::Status RetryingCaller::AwaitConnectionOutcome(grpc::Channel& channel,
                                                    const std::string& endpoint, absl::Time limit) {
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state == GRPC_CHANNEL_IDLE || state == GRPC_CHANNEL_CONNECTING) {
    if (!channel.WaitForStateChange(state, absl::ToChronoTime(limit))) {
      return absl::UnavailableError(
          absl::StrCat("could not connect to ", endpoint, " (TCP and TLS handshake) in time"));
    }
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return absl::OkStatus();
}

absl::Status RetryingCaller::Run(const CallOptions& call_options, const Attempt& attempt) {
  const absl::Duration timeout = TimeoutOf(call_options);
  if (timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("timeout: must be positive, got ", absl::FormatDuration(timeout)));
  }
  const absl::Time deadline = absl::Now() + timeout;
  Backoff backoff(options_.initial_backoff, options_.max_backoff);
  std::string target = endpoints_.Preferred();
  bool arrived_by_hint = false;
  for (int attempts = 1;; ++attempts) {
    std::shared_ptr<grpc::Channel> channel = endpoints_.ChannelFor(target);
    grpc::Status grpc_status;
    bool may_retry = true;
    absl::Status connected = AwaitConnectionOutcome(
        *channel, target, std::min(deadline, absl::Now() + options_.connect_timeout));
    if (connected.ok()) {
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(deadline));
      AttemptResult result = attempt(channel, context);
      grpc_status = std::move(result.status);
      may_retry = result.may_retry;
    } else {
      grpc_status = grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(connected.message()));
    }
    if (grpc_status.ok()) {
      // Whoever answered is the best first guess for the next call.
      endpoints_.Prefer(target);
      return absl::OkStatus();
    }
    absl::Status error = ToAbslStatus(grpc_status);
    // The call's deadline ended inside this attempt: say where and after
    // how many attempts, as for a deadline that ends the back-off below.
    if (error.code() == absl::StatusCode::kDeadlineExceeded) {
      return GaveUp(error, target, attempts, timeout);
    }
    if (!IsRetryable(error.code()) || !may_retry) return error;

    // Where to go next: the hinted leader if we were told of one we are not
    // already at, else the next node in the ring.
    std::optional<v1::LeaderHint> hint = LeaderHintOf(grpc_status);
    const bool follow_hint =
        hint.has_value() && !hint->leader_address().empty() && hint->leader_address() != target;
    std::string next;
    if (follow_hint) {
      next = hint->leader_address();
      endpoints_.Prefer(next);
    } else {
      next = endpoints_.MoveOnFrom(target);
    }

    // The first hop to a hinted leader is immediate. Anything else backs
    // off, including a second hint in a row: during an election nodes may
    // point at each other, and we must not spin between them.
    const absl::Duration remaining = deadline - absl::Now();
    const bool wait = !(follow_hint && !arrived_by_hint);
    const absl::Duration pause = wait ? backoff.Next() : absl::ZeroDuration();
    if (remaining <= pause || remaining <= absl::ZeroDuration()) {
      return GaveUp(error, target, attempts, timeout);
    }
    if (pause > absl::ZeroDuration()) absl::SleepFor(pause);
    arrived_by_hint = follow_hint;
    target = std::move(next);
  }
}

}  // namespace qbox::internal

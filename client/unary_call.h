// One unary RPC through the retry loop, for any generated stub method.
#ifndef QBOX_CLIENT_UNARY_CALL_H_
#define QBOX_CLIENT_UNARY_CALL_H_

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <memory>

#include "absl/status/statusor.h"
#include "client/idempotency_key.h"
#include "client/retrying_caller.h"
#include "qbox/options.h"

namespace qbox::internal {

// Calls `method` of a fresh `Stub` on whichever channel the retry loop
// picks. The request is sent unchanged on every attempt; callers that need
// an idempotency key set it before (idempotency_key.h).
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> CallUnary(RetryingCaller& caller, const CallOptions& options,
                                   const Request& request,
                                   grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                const Request&, Response*)) {
  Response response;
  absl::Status status = caller.Run(
      options, [&](const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& context) {
        // A stub only wraps the channel; making one per attempt is cheap.
        Stub stub(channel);
        response.Clear();
        return AttemptResult{(stub.*method)(&context, request, &response)};
      });
  if (!status.ok()) return status;
  return response;
}

// As CallUnary, for requests with an `optional string idempotency_key`:
// generates the key once if the caller left it empty, then reuses it on
// every attempt. Copies the request only in that case.
template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> CallUnaryWithKey(RetryingCaller& caller, const CallOptions& options,
                                          const Request& request,
                                          grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                                       const Request&, Response*)) {
  if (request.has_idempotency_key() && !request.idempotency_key().empty()) {
    return CallUnary(caller, options, request, method);
  }
  Request keyed = request;
  EnsureIdempotencyKey(keyed);
  return CallUnary(caller, options, keyed, method);
}

}  // namespace qbox::internal

#endif  // QBOX_CLIENT_UNARY_CALL_H_

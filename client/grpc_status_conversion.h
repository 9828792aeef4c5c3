// grpc::Status -> absl::Status, and the leader hint a follower attaches to
// its UNAVAILABLE answers (proto/qbox/v1/errors.proto).
#ifndef QBOX_CLIENT_GRPC_STATUS_CONVERSION_H_
#define QBOX_CLIENT_GRPC_STATUS_CONVERSION_H_

#include <grpcpp/support/status.h>

#include <optional>

#include "absl/status/status.h"
#include "qbox/v1/errors.pb.h"

namespace qbox::internal {

// Same code (the numeric values of gRPC and absl codes agree) and the same
// message, so the server's naming of the bad field reaches the caller.
absl::Status ToAbslStatus(const grpc::Status& status);

// The LeaderHint serialized in `status.error_details()`, if there is one
// that parses. An UNAVAILABLE without details, or with details that are not
// a LeaderHint, yields nullopt: the caller then treats it like any other
// unavailability.
std::optional<v1::LeaderHint> LeaderHintOf(const grpc::Status& status);

}  // namespace qbox::internal

#endif  // QBOX_CLIENT_GRPC_STATUS_CONVERSION_H_

// absl::Status -> grpc::Status, keeping the code and the message (which
// names the field or the leader, as CONVENTIONS.md asks).
#ifndef QBOX_NODE_SERVER_GRPC_STATUS_H_
#define QBOX_NODE_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"

namespace qbox::server {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_GRPC_STATUS_H_

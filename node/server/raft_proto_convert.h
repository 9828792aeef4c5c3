// Conversion between the consensus core's plain structs (node/raft/types.h)
// and their wire form (proto/qbox/v1/raft.proto).
#ifndef QBOX_NODE_SERVER_RAFT_PROTO_CONVERT_H_
#define QBOX_NODE_SERVER_RAFT_PROTO_CONVERT_H_

#include "absl/status/statusor.h"
#include "node/raft/types.h"
#include "qbox/v1/raft.pb.h"

namespace qbox::server {

void ToProto(const raft::Message& in, v1::RaftMessage* out);
// INVALID_ARGUMENT naming the field if a chain or digest is not 32 bytes or
// an enum is out of range.
absl::StatusOr<raft::Message> FromProto(const v1::RaftMessage& in);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_RAFT_PROTO_CONVERT_H_

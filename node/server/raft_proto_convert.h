// Conversion between the consensus core's plain structs (node/raft/types.h)
// and their wire form (proto/qbox/v1/raft.proto).
#ifndef QBOX_NODE_SERVER_RAFT_PROTO_CONVERT_H_
#define QBOX_NODE_SERVER_RAFT_PROTO_CONVERT_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "node/raft/types.h"
#include "qbox/v1/raft.pb.h"

namespace qbox::server {

// The largest snapshot a node accepts from a peer: 1 TiB. A snapshot's
// declared data_size decides how much a follower stages before it checks
// the digest, so a hostile leader must not be able to declare any size it
// likes. The bound is far above any store this version serves; the free
// space of the data directory is the tighter, runtime bound.
inline constexpr uint64_t kMaxSnapshotDataBytes = 1ull << 40;

void ToProto(const raft::Message& in, v1::RaftMessage* out);
// INVALID_ARGUMENT naming the field if a chain or digest is not 32 bytes,
// an enum is out of range or snapshot.data_size is above
// kMaxSnapshotDataBytes.
absl::StatusOr<raft::Message> FromProto(const v1::RaftMessage& in);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_RAFT_PROTO_CONVERT_H_

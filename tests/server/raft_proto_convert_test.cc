// The wire form of consensus messages (node/server/raft_proto_convert.h):
// what a node refuses before the core sees it.
#include "node/server/raft_proto_convert.h"

#include <gtest/gtest.h>

#include <string>

namespace qbox::server {
namespace {

// One InstallSnapshot chunk as a leader sends it, declaring `data_size`.
v1::RaftMessage SnapshotChunk(uint64_t data_size) {
  raft::Message m;
  m.type = raft::MessageType::kSnapshotChunk;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.snapshot.index = 100;
  m.snapshot.term = 3;
  m.snapshot.conf.voters = {1, 2, 3};
  m.chunk_data = "chunk";
  v1::RaftMessage out;
  ToProto(m, &out);
  out.mutable_snapshot()->set_data_size(data_size);
  return out;
}

TEST(RaftProtoConvertTest, ASnapshotDeclaringMoreThanTheBoundIsRefused) {
  absl::StatusOr<raft::Message> refused = FromProto(SnapshotChunk(kMaxSnapshotDataBytes + 1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << refused.status();
  EXPECT_EQ(refused.status().message().rfind("snapshot.data_size: ", 0), 0u) << refused.status();

  absl::StatusOr<raft::Message> at_bound = FromProto(SnapshotChunk(kMaxSnapshotDataBytes));
  ASSERT_TRUE(at_bound.ok()) << at_bound.status();
  EXPECT_EQ(at_bound->snapshot.data_size, kMaxSnapshotDataBytes);
  EXPECT_EQ(at_bound->snapshot.index, 100u);
}

}  // namespace
}  // namespace qbox::server

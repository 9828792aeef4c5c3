// The genesis charter (charter.proto) a cluster configuration describes.
// Every genesis voter derives it from its own copy of the configuration and
// writes it into the genesis entry; identical configurations give identical
// bytes, so a node configured differently fails the hash chain at index 1.
#ifndef QBOX_NODE_SERVER_CLUSTER_CHARTER_H_
#define QBOX_NODE_SERVER_CLUSTER_CHARTER_H_

#include <string>

#include "absl/status/statusor.h"
#include "node/server/cluster_config.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::server {

// The charter at version 1: sites with their CA certificates, every node
// (genesis voters as voters, spares as learners-to-be are NOT included: an
// operator adds them later), M, T, R, proposal lifetime and checkpoint
// interval from the configuration. Validated with guard::ValidateCharter;
// INVALID_ARGUMENT naming the field otherwise.
absl::StatusOr<v1::Charter> GenesisCharter(const ClusterConfig& config);

// Deterministic serialization (the genesis entry's context).
std::string SerializeCharter(const v1::Charter& charter);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_CLUSTER_CHARTER_H_

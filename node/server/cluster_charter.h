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

// The configuration as the replicated charter has it: once proposals have
// changed the charter (a site added or removed, a CA replaced, a node
// removed; G2) the configuration file only seeded genesis and is out of
// date. Sites and their CAs come from the charter; nodes are the charter's
// nodes that are not removed (with their charter addresses) plus the file's
// spares the charter does not know yet. FAILED_PRECONDITION if `self_id` was
// removed by the charter or its site is no longer a site of it.
absl::StatusOr<ClusterConfig> ConfigWithCharter(const ClusterConfig& file,
                                                const v1::Charter& charter, uint64_t self_id);

// Deterministic serialization (the genesis entry's context).
std::string SerializeCharter(const v1::Charter& charter);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_CLUSTER_CHARTER_H_

// The nodes this node knows: id, site, name and address. Filled from the
// cluster configuration; maps an authenticated peer (site, name) to the
// consensus core's node id. Thread-safe.
#ifndef QBOX_NODE_SERVER_PEER_DIRECTORY_H_
#define QBOX_NODE_SERVER_PEER_DIRECTORY_H_

#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "node/server/cluster_config.h"

namespace qbox::server {

class PeerDirectory {
 public:
  explicit PeerDirectory(const std::vector<NodeConfig>& nodes) : nodes_(nodes) {}

  std::optional<NodeConfig> Find(uint64_t id) const {
    absl::MutexLock lock(&mu_);
    for (const NodeConfig& n : nodes_) {
      if (n.id == id) return n;
    }
    return std::nullopt;
  }
  std::optional<NodeConfig> Find(const std::string& site, const std::string& name) const {
    absl::MutexLock lock(&mu_);
    for (const NodeConfig& n : nodes_) {
      if (n.site == site && n.name == name) return n;
    }
    return std::nullopt;
  }
  std::vector<NodeConfig> All() const {
    absl::MutexLock lock(&mu_);
    return nodes_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<NodeConfig> nodes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_PEER_DIRECTORY_H_

// Whether `qboxctl status` should exit non-zero, like `etcdctl endpoint
// health`: the cluster has no leader, or a node does not answer.
#ifndef QBOX_CTL_STATUS_HEALTH_H_
#define QBOX_CTL_STATUS_HEALTH_H_

#include <string>
#include <vector>

#include "ctl/cluster_view.h"

namespace qbox::ctl {

// What is wrong, one phrase each, in the view's node order: "no leader"
// when no answer named one; "SITE/NODE unreachable (ERROR)" for every
// endpoint asked that did not answer; "SITE/NODE unreachable from the
// leader" for a node the leader reports it cannot reach. Empty = healthy.
std::vector<std::string> ClusterHealthProblems(const ClusterView& view);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_STATUS_HEALTH_H_

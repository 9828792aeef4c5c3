// The step `status` and `alarms list` share: ask every endpoint, merge, and
// fail only if nobody answered.
#ifndef QBOX_CTL_STATUS_GATHERING_H_
#define QBOX_CTL_STATUS_GATHERING_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ctl/cluster_view.h"
#include "ctl/connection_flags.h"

namespace qbox::ctl {

// The merged view if at least one endpoint answered. Otherwise the first
// endpoint's error, explained (ExplainCallError) under `action`, with the
// number of endpoints that failed.
absl::StatusOr<ClusterView> GatherClusterView(const Connection& connection,
                                              absl::string_view action);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_STATUS_GATHERING_H_

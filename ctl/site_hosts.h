// Turning `--host` / `--node-host` values into a certificate's DNS and IP
// subject alternative names.
#ifndef QBOX_CTL_SITE_HOSTS_H_
#define QBOX_CTL_SITE_HOSTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/guard/site_ca.h"

namespace qbox::ctl {

// What a node certificate names when the operator gives no host: enough for
// a loopback dev cluster, where clients dial 127.0.0.1 or localhost.
std::vector<std::string> DefaultNodeHosts();

// Sorts `hosts` into IP SANs (anything inet_pton accepts) and DNS SANs.
// INVALID_ARGUMENT "<flag>: '<host>' is not a valid host name or IP
// address" for anything else, or if a host is given twice.
absl::StatusOr<guard::LeafOptions> LeafOptionsForHosts(const std::vector<std::string>& hosts,
                                                       absl::string_view flag);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_SITE_HOSTS_H_

#include "ctl/site_hosts.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "node/guard/identity_names.h"

namespace qbox::ctl {

std::vector<std::string> DefaultNodeHosts() { return {"localhost", "127.0.0.1"}; }

absl::StatusOr<guard::LeafOptions> LeafOptionsForHosts(const std::vector<std::string>& hosts,
                                                       absl::string_view flag) {
  guard::LeafOptions options;
  std::set<std::string> seen;
  for (const std::string& host : hosts) {
    if (!seen.insert(host).second) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": '", host, "' is given twice"));
    }
    if (guard::IsIpAddress(host)) {
      options.ip_addresses.push_back(host);
    } else if (guard::ValidateDnsName(host).ok()) {
      options.dns_names.push_back(host);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, ": '", host, "' is not a valid host name or IP address"));
    }
  }
  return options;
}

}  // namespace qbox::ctl

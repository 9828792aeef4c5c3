#include "ctl/node_spec.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/identity_names.h"

namespace qbox::ctl {
namespace {

absl::Status Bad(absl::string_view flag, absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": '", text, "' ", why));
}

}  // namespace

absl::StatusOr<NodeRef> ParseNodeRef(absl::string_view text, absl::string_view flag) {
  size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    return Bad(flag, text, "is not SITE/NAME (e.g. site-a/n1)");
  }
  NodeRef ref{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
  if (!guard::ValidateSiteName(ref.site).ok()) {
    return Bad(flag, text, "does not start with a valid site name ([a-z0-9][a-z0-9-]{0,62})");
  }
  if (!guard::ValidateEntityName(ref.name).ok()) {
    return Bad(flag, text, "does not end in a valid node name ([a-z0-9][a-z0-9._-]{0,62})");
  }
  return ref;
}

absl::Status ValidateHostPort(absl::string_view address, absl::string_view flag) {
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return Bad(flag, address, "is not HOST:PORT");
  }
  absl::string_view host = address.substr(0, colon);
  uint32_t port = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return Bad(flag, address, "does not end in a port from 1 to 65535");
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (!guard::IsIpAddress(host)) return Bad(flag, address, "has a bad IPv6 address");
    return absl::OkStatus();
  }
  if (!guard::IsIpAddress(host) && !guard::ValidateDnsName(host).ok()) {
    return Bad(flag, address, "does not start with a valid host name or IP address");
  }
  return absl::OkStatus();
}

absl::StatusOr<NodeSpec> ParseNodeSpec(absl::string_view text, absl::string_view flag) {
  size_t equals = text.find('=');
  size_t at = text.find('@');
  if (equals == absl::string_view::npos || at == absl::string_view::npos || at < equals) {
    return Bad(flag, text, "is not ID=SITE/NAME@HOST:PORT (e.g. 1=site-a/n1@10.0.0.1:7101)");
  }
  NodeSpec spec;
  if (!absl::SimpleAtoi(text.substr(0, equals), &spec.id) || spec.id == 0) {
    return Bad(flag, text, "does not start with a node id (a whole number from 1)");
  }
  absl::string_view ref = text.substr(equals + 1, at - equals - 1);
  ASSIGN_OR_RETURN(spec.node, ParseNodeRef(ref, flag));
  spec.address = std::string(text.substr(at + 1));
  if (!ValidateHostPort(spec.address, flag).ok()) {
    return Bad(flag, text,
               absl::StrCat("does not end in HOST:PORT: '", spec.address,
                            "' is not a host name or IP with a port from 1 to 65535"));
  }
  return spec;
}

absl::StatusOr<SiteCaSpec> ParseSiteCaSpec(absl::string_view text, absl::string_view flag) {
  size_t equals = text.find('=');
  if (equals == absl::string_view::npos || equals == 0 || equals + 1 == text.size()) {
    return Bad(flag, text, "is not SITE=CAFILE (e.g. site-a=creds/site-a/ca.crt)");
  }
  SiteCaSpec spec{std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
  if (!guard::ValidateSiteName(spec.site).ok()) {
    return Bad(flag, text, "does not start with a valid site name ([a-z0-9][a-z0-9-]{0,62})");
  }
  return spec;
}

}  // namespace qbox::ctl

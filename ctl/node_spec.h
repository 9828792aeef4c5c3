// Parsing the `ID=SITE/NAME@HOST:PORT` and `SITE=CAFILE` values that
// `qboxctl cluster init` takes, and the `SITE/NAME` node references other
// commands take. Only the spelling is checked here; whether the site exists
// or a name is used twice is the caller's business.
#ifndef QBOX_CTL_NODE_SPEC_H_
#define QBOX_CTL_NODE_SPEC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace qbox::ctl {

struct NodeRef {
  std::string site;
  std::string name;
};

struct NodeSpec {
  uint64_t id = 0;
  NodeRef node;
  std::string address;  // host:port
};

struct SiteCaSpec {
  std::string site;
  std::string ca_file;
};

// "SITE/NAME" with both parts spelled as identity_names.h requires.
// INVALID_ARGUMENT "<flag>: '<text>' ..." saying what is wrong otherwise.
absl::StatusOr<NodeRef> ParseNodeRef(absl::string_view text, absl::string_view flag);

// "ID=SITE/NAME@HOST:PORT": ID a positive whole number, PORT 1-65535, HOST
// a host name or IP address (IPv6 in brackets). INVALID_ARGUMENT naming
// `flag` and the value otherwise.
absl::StatusOr<NodeSpec> ParseNodeSpec(absl::string_view text, absl::string_view flag);

// "SITE=CAFILE". INVALID_ARGUMENT naming `flag` if either part is missing or
// the site name is not valid.
absl::StatusOr<SiteCaSpec> ParseSiteCaSpec(absl::string_view text, absl::string_view flag);

// OK if `address` is HOST:PORT as above; INVALID_ARGUMENT naming `flag`.
absl::Status ValidateHostPort(absl::string_view address, absl::string_view flag);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_NODE_SPEC_H_

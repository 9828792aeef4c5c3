// The spelling rules for the three parts of a quorumbox identity: the site,
// the role and the name. They are checked before anything is written into a
// certificate or a file path, and again when a certificate is read back, so
// a name can never smuggle a path separator, a URI delimiter or upper/lower
// case look-alikes into either.
#ifndef QBOX_NODE_GUARD_IDENTITY_NAMES_H_
#define QBOX_NODE_GUARD_IDENTITY_NAMES_H_

#include <array>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qbox::guard {

// The roles a certificate can carry. A node speaks Raft with other nodes, a
// front end (IMAP/SMTP/JMAP tier) uses MailStore, an admin uses Admin.
inline constexpr absl::string_view kRoleNode = "node";
inline constexpr absl::string_view kRoleFrontend = "frontend";
inline constexpr absl::string_view kRoleAdmin = "admin";
inline constexpr std::array<absl::string_view, 3> kAllRoles = {kRoleNode, kRoleFrontend,
                                                               kRoleAdmin};

// OK if `site` matches [a-z0-9][a-z0-9-]{0,62} (usable as a DNS label, a
// directory name and the authority of a spiffe:// URI). Otherwise
// INVALID_ARGUMENT whose message starts with `field` (e.g. "site" or a flag
// name such as "SITE") and says what is allowed.
absl::Status ValidateSiteName(absl::string_view site, absl::string_view field = "site");

// OK if `role` is one of kAllRoles; otherwise INVALID_ARGUMENT naming `field`
// and listing the roles.
absl::Status ValidateRole(absl::string_view role, absl::string_view field = "role");

// OK if `name` (a node, front end or admin name) matches
// [a-z0-9][a-z0-9._-]{0,62}: safe as a file name (never "." or "..") and as
// a URI path segment. Otherwise INVALID_ARGUMENT naming `field`.
absl::Status ValidateEntityName(absl::string_view name, absl::string_view field = "name");

// OK if `dns` is a host name for a DNS SAN: labels of letters, digits and
// '-' separated by single dots, at most 253 characters. Wildcards are not
// allowed: a node certificate names the hosts it serves. Otherwise
// INVALID_ARGUMENT naming `field`.
absl::Status ValidateDnsName(absl::string_view dns, absl::string_view field = "dns name");

// OK if `ip` is an IPv4 or IPv6 address in text form; otherwise
// INVALID_ARGUMENT naming `field`.
absl::Status ValidateIpAddress(absl::string_view ip, absl::string_view field = "ip address");

// True if `host` parses as an IPv4 or IPv6 address (so it belongs in an IP
// SAN rather than a DNS SAN).
bool IsIpAddress(absl::string_view host);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_IDENTITY_NAMES_H_

#include "node/guard/peer_identity.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"
#include "node/guard/identity_names.h"

namespace qbox::guard {
namespace {

constexpr absl::string_view kScheme = "spiffe://";

}  // namespace

std::string PeerIdentity::SpiffeUri() const {
  return absl::StrCat(kScheme, site, "/", role, "/", name);
}

std::string PeerIdentity::ToString() const { return absl::StrCat(site, "/", role, "/", name); }

absl::StatusOr<PeerIdentity> MakePeerIdentity(absl::string_view site, absl::string_view role,
                                              absl::string_view name) {
  RETURN_IF_ERROR(ValidateSiteName(site, "site"));
  RETURN_IF_ERROR(ValidateRole(role, "role"));
  RETURN_IF_ERROR(ValidateEntityName(name, "name"));
  return PeerIdentity{std::string(site), std::string(role), std::string(name)};
}

absl::StatusOr<PeerIdentity> ParseSpiffeUri(absl::string_view uri) {
  if (!absl::StartsWith(uri, kScheme)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SPIFFE ID '", uri, "' does not start with ", kScheme));
  }
  // Split keeps empty pieces, so "a//b", "a/b/" and "a/b/c/d" are all caught
  // by the count check or by the name rules (which reject empty strings and
  // every delimiter such as '?', '#', ':', '@' and '%').
  std::vector<absl::string_view> parts = absl::StrSplit(uri.substr(kScheme.size()), '/');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("SPIFFE ID '", uri, "' must have the form spiffe://<site>/<role>/<name>"));
  }
  absl::StatusOr<PeerIdentity> identity = MakePeerIdentity(parts[0], parts[1], parts[2]);
  if (!identity.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("SPIFFE ID '", uri, "': ", identity.status().message()));
  }
  return identity;
}

std::string TrustDomainUri(absl::string_view site) { return absl::StrCat(kScheme, site); }

absl::Status RequireRole(const PeerIdentity& identity, absl::string_view role) {
  if (identity.role == role) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("peer ", identity.ToString(), " has role '",
                                                  identity.role, "' but this call needs role '",
                                                  role, "'"));
}

}  // namespace qbox::guard

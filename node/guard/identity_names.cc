#include "node/guard/identity_names.h"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace qbox::guard {
namespace {

constexpr size_t kMaxLength = 63;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// True if `s` is 1..63 characters, starts with [a-z0-9] and every further
// character is [a-z0-9] or one of `extra`.
bool MatchesNamePattern(absl::string_view s, absl::string_view extra) {
  if (s.empty() || s.size() > kMaxLength || !IsLowerAlnum(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!IsLowerAlnum(c) && extra.find(c) == absl::string_view::npos) return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateSiteName(absl::string_view site, absl::string_view field) {
  if (MatchesNamePattern(site, "-")) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", site,
                   "' is not a valid site name; use 1-63 characters of a-z, 0-9 and '-', "
                   "starting with a letter or digit"));
}

absl::Status ValidateRole(absl::string_view role, absl::string_view field) {
  for (absl::string_view known : kAllRoles) {
    if (role == known) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": '", role, "' is not a known role; use one of ", absl::StrJoin(kAllRoles, ", ")));
}

absl::Status ValidateEntityName(absl::string_view name, absl::string_view field) {
  if (MatchesNamePattern(name, "-._")) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", name,
                   "' is not a valid name; use 1-63 characters of a-z, 0-9, '-', '.' and '_', "
                   "starting with a letter or digit"));
}

absl::Status ValidateDnsName(absl::string_view dns, absl::string_view field) {
  bool ok = !dns.empty() && dns.size() <= 253 && dns.front() != '.' && dns.back() != '.' &&
            dns.front() != '-' && !absl::StrContains(dns, "..") &&
            std::all_of(dns.begin(), dns.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.';
            });
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": '", dns, "' is not a valid host name"));
}

bool IsIpAddress(absl::string_view host) {
  std::string s(host);
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

absl::Status ValidateIpAddress(absl::string_view ip, absl::string_view field) {
  if (IsIpAddress(ip)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": '", ip, "' is not an IPv4 or IPv6 address"));
}

}  // namespace qbox::guard

#include "client/endpoint_syntax.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace qbox::internal {

absl::Status CheckEndpointSyntax(absl::string_view endpoint) {
  if (endpoint.empty()) return absl::InvalidArgumentError("empty endpoint");
  for (char c : endpoint) {
    if (absl::ascii_iscntrl(static_cast<unsigned char>(c)) || c == ' ' ||
        static_cast<unsigned char>(c) >= 0x80) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", absl::CEscape(endpoint), "\" contains a space or control character"));
    }
  }
  const size_t colon = endpoint.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", endpoint, "\" is not host:port (no port)"));
  }
  absl::string_view host = endpoint.substr(0, colon);
  absl::string_view port_text = endpoint.substr(colon + 1);
  if (host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", endpoint, "\" has no host"));
  }
  const bool bracketed = host.front() == '[';
  if (bracketed != (host.back() == ']') || (bracketed && host.size() < 3)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", endpoint, "\" has an unbalanced [ipv6] host"));
  }
  if (!bracketed && host.find(':') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", endpoint, "\": an IPv6 host must be written [addr]:port"));
  }
  uint32_t port = 0;
  if (port_text.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(port_text[0])) ||
      !absl::SimpleAtoi(port_text, &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", endpoint, "\" has no valid port (1-65535)"));
  }
  return absl::OkStatus();
}

}  // namespace qbox::internal

// A local check of IMAP UID-set syntax (RFC 9051 sequence-set over UIDs),
// the same grammar the nodes accept, so that "--uids 1-3" is refused by
// flag before anything is sent.
#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/examples/qbox_mail.h"

namespace qbox::mail {
namespace {

constexpr char kExample[] = " (want e.g. 1:5,7,9:*)";

absl::Status BadAt(const std::string& text, size_t offset, const std::string& what) {
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not a UID set: ", what, " at offset ", offset, kExample));
}

// One "number" or "*" starting at *pos; advances *pos past it.
absl::Status ParseUidOrStar(const std::string& text, size_t* pos) {
  if (*pos < text.size() && text[*pos] == '*') {
    ++*pos;
    return absl::OkStatus();
  }
  const size_t start = *pos;
  uint64_t value = 0;
  while (*pos < text.size() && std::isdigit(static_cast<unsigned char>(text[*pos]))) {
    value = value * 10 + static_cast<uint64_t>(text[*pos] - '0');
    if (value > UINT32_MAX) return BadAt(text, start, "UID larger than 4294967295");
    ++*pos;
  }
  if (*pos == start) {
    if (*pos == text.size()) return BadAt(text, start, "missing UID");
    return BadAt(text, start, absl::StrCat("unexpected '", text.substr(start, 1), "'"));
  }
  if (value == 0) return BadAt(text, start, "UIDs start at 1");
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckUidSet(const std::string& text) {
  if (text.empty()) return absl::InvalidArgumentError("empty UID set (want e.g. 1:5,7,9:*)");
  size_t pos = 0;
  while (true) {
    if (absl::Status s = ParseUidOrStar(text, &pos); !s.ok()) return s;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (absl::Status s = ParseUidOrStar(text, &pos); !s.ok()) return s;
    }
    if (pos == text.size()) return absl::OkStatus();
    if (text[pos] != ',') {
      return BadAt(text, pos, absl::StrCat("unexpected '", text.substr(pos, 1), "'"));
    }
    ++pos;
  }
}

void AddUidsOption(CLI::App* command, std::string* uids, const std::string& default_value) {
  CLI::Validator uid_set(
      [](std::string& text) {
        absl::Status status = CheckUidSet(text);
        return status.ok() ? std::string() : std::string(status.message());
      },
      "SET");
  CLI::Option* option =
      command->add_option("--uids", *uids, "Messages by UID, IMAP syntax: 1:5,7,9:* (* = last)")
          ->check(uid_set);
  if (default_value.empty()) {
    option->required();
  } else {
    *uids = default_value;
    option->default_str(default_value);
  }
}

}  // namespace qbox::mail

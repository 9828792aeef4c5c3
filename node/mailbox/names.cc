#include "node/mailbox/names.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace qbox::mailbox {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

bool HasControlCharacter(absl::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Checks the common rules for a human-chosen name.
absl::Status ValidateText(absl::string_view text, size_t max_bytes, absl::string_view kind,
                          absl::string_view field) {
  if (text.empty()) return Invalid(field, absl::StrCat(kind, " must not be empty"));
  if (text.size() > max_bytes) {
    return Invalid(field,
                   absl::StrCat(kind, " is ", text.size(), " bytes; the limit is ", max_bytes));
  }
  if (!IsValidUtf8(text)) return Invalid(field, absl::StrCat(kind, " is not valid UTF-8"));
  if (HasControlCharacter(text)) {
    return Invalid(field, absl::StrCat(kind, " must not contain control characters"));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = text[i];
    int extra;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1;
      code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (int k = 1; k <= extra; ++k) {
      const unsigned char cc = text[i + k];
      if ((cc & 0xc0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3f);
    }
    // Reject overlong encodings, UTF-16 surrogates and values past Unicode.
    static constexpr uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code < kMinForLength[extra]) return false;
    if (code >= 0xd800 && code <= 0xdfff) return false;
    if (code > 0x10ffff) return false;
    i += extra + 1;
  }
  return true;
}

absl::Status ValidateMailboxName(absl::string_view name, absl::string_view field) {
  if (absl::Status s = ValidateText(name, kMaxMailboxNameBytes, "mailbox name", field); !s.ok()) {
    return s;
  }
  if (name.find_first_of("*%") != absl::string_view::npos) {
    return Invalid(field, "mailbox name must not contain the wildcards '*' or '%'");
  }
  if (name.front() == kHierarchySeparator) {
    return Invalid(field, "mailbox name must not start with '/'");
  }
  if (name.back() == kHierarchySeparator) {
    return Invalid(field, "mailbox name must not end with '/'");
  }
  for (absl::string_view level : absl::StrSplit(name, kHierarchySeparator)) {
    if (level.empty()) return Invalid(field, "mailbox name must not contain an empty level ('//')");
  }
  return absl::OkStatus();
}

std::string CanonicalMailboxName(absl::string_view name) {
  if (absl::EqualsIgnoreCase(name, kInbox)) return std::string(kInbox);
  return std::string(name);
}

std::string ParentMailboxName(absl::string_view name) {
  const size_t pos = name.rfind(kHierarchySeparator);
  if (pos == absl::string_view::npos) return "";
  return std::string(name.substr(0, pos));
}

absl::Status ValidateAccountName(absl::string_view name, absl::string_view field) {
  if (absl::Status s = ValidateText(name, kMaxAccountNameBytes, "account name", field); !s.ok()) {
    return s;
  }
  if (name.find('/') != absl::string_view::npos) {
    return Invalid(field, "account name must not contain '/'");
  }
  return absl::OkStatus();
}

absl::Status ValidateSieveScriptName(absl::string_view name, absl::string_view field) {
  return ValidateText(name, kMaxSieveScriptNameBytes, "sieve script name", field);
}

absl::Status ValidateIdempotencyKey(absl::string_view key, absl::string_view field) {
  if (key.empty()) return Invalid(field, "idempotency key must not be empty when set");
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return Invalid(field, absl::StrCat("idempotency key is ", key.size(), " bytes; the limit is ",
                                       kMaxIdempotencyKeyBytes));
  }
  return absl::OkStatus();
}

}  // namespace qbox::mailbox

#include "node/mailbox/flags.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace qbox::mailbox {
namespace {

struct FlagName {
  SystemFlag flag;
  absl::string_view name;
};
constexpr FlagName kFlagNames[] = {
    {kFlagSeen, "\\Seen"},       {kFlagAnswered, "\\Answered"}, {kFlagFlagged, "\\Flagged"},
    {kFlagDeleted, "\\Deleted"}, {kFlagDraft, "\\Draft"},
};

}  // namespace

absl::StatusOr<uint32_t> ParseSystemFlags(const StringList& flags, absl::string_view field) {
  uint32_t bits = 0;
  for (int i = 0; i < flags.size(); ++i) {
    const std::string& text = flags[i];
    bool known = false;
    for (const FlagName& f : kFlagNames) {
      if (absl::EqualsIgnoreCase(text, f.name)) {
        bits |= f.flag;
        known = true;
        break;
      }
    }
    if (!known) {
      const std::string where = absl::StrCat(field, "[", i, "]");
      if (text.empty() || text[0] != '\\') {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": \"", text, "\" is not a system flag (keywords go in `keywords`)"));
      }
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown system flag \"", text,
                       "\"; known are \\Seen \\Answered \\Flagged \\Deleted \\Draft"));
    }
  }
  return bits;
}

std::vector<std::string> SystemFlagNames(uint32_t bits) {
  std::vector<std::string> names;
  for (const FlagName& f : kFlagNames) {
    if (bits & f.flag) names.emplace_back(f.name);
  }
  return names;
}

absl::Status ValidateKeyword(absl::string_view keyword, absl::string_view field) {
  if (keyword.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": keyword is empty"));
  if (keyword.size() > kMaxKeywordBytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": keyword is ", keyword.size(),
                                                   " bytes; the limit is ", kMaxKeywordBytes));
  }
  if (keyword[0] == '\\') {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": \"", keyword, "\" looks like a system flag; system flags go in `flags`"));
  }
  for (size_t i = 0; i < keyword.size(); ++i) {
    const unsigned char c = keyword[i];
    const bool special = c <= 0x20 || c >= 0x7f || c == '(' || c == ')' || c == '{' || c == '%' ||
                         c == '*' || c == '"' || c == '\\' || c == ']';
    if (special) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": keyword \"", absl::CHexEscape(keyword),
                       "\" has a character not allowed in an IMAP atom at offset ", i));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> NormalizeKeywords(const StringList& keywords,
                                                           absl::string_view field) {
  if (static_cast<size_t>(keywords.size()) > kMaxKeywordsPerRequest) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", keywords.size(), " keywords; the limit is ", kMaxKeywordsPerRequest));
  }
  std::vector<std::string> out;
  for (int i = 0; i < keywords.size(); ++i) {
    if (absl::Status s = ValidateKeyword(keywords[i], absl::StrCat(field, "[", i, "]")); !s.ok()) {
      return s;
    }
    out.push_back(keywords[i]);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace qbox::mailbox

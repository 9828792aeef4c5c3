#include "node/mailbox/uid_set.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace qbox::mailbox {
namespace {

constexpr uint32_t kStar = 0;

absl::Status ParseError(absl::string_view field, absl::string_view text, size_t offset,
                        absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      field, ": UID set \"", text, "\" does not parse at offset ", offset, ": ", what));
}

}  // namespace

absl::StatusOr<UidSet> UidSet::Parse(absl::string_view text, absl::string_view field) {
  if (text.empty()) return ParseError(field, text, 0, "the set is empty");
  if (text.size() > kMaxTextBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": UID set is ", text.size(), " bytes; the limit is ", kMaxTextBytes));
  }
  UidSet set;
  size_t pos = 0;
  // Reads one seq-number at `pos`: "*" or a non-zero 32-bit number.
  auto read_number = [&](uint32_t* out) -> absl::Status {
    if (pos < text.size() && text[pos] == '*') {
      *out = kStar;
      ++pos;
      return absl::OkStatus();
    }
    const size_t start = pos;
    uint64_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      value = value * 10 + static_cast<uint64_t>(text[pos] - '0');
      if (value > UINT32_MAX) return ParseError(field, text, start, "number exceeds 4294967295");
      ++pos;
    }
    if (pos == start) return ParseError(field, text, pos, "expected a number or '*'");
    if (text[start] == '0')
      return ParseError(field, text, start, "UIDs start at 1, without leading zeros");
    *out = static_cast<uint32_t>(value);
    return absl::OkStatus();
  };
  while (true) {
    UidRange range;
    if (absl::Status s = read_number(&range.first); !s.ok()) return s;
    range.last = range.first;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (absl::Status s = read_number(&range.last); !s.ok()) return s;
    }
    set.raw_.push_back(range);
    if (pos == text.size()) break;
    if (text[pos] != ',') return ParseError(field, text, pos, "expected ',' or ':'");
    ++pos;
  }
  return set;
}

std::vector<UidRange> UidSet::Resolve(uint32_t largest_uid) const {
  std::vector<UidRange> ranges;
  ranges.reserve(raw_.size());
  for (UidRange r : raw_) {
    if (r.first == kStar) r.first = largest_uid;
    if (r.last == kStar) r.last = largest_uid;
    if (r.first > r.last) std::swap(r.first, r.last);
    // "*" in an empty mailbox resolves to 0, which no message has.
    if (r.last == 0) continue;
    if (r.first == 0) r.first = 1;
    ranges.push_back(r);
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const UidRange& a, const UidRange& b) { return a.first < b.first; });
  std::vector<UidRange> merged;
  for (const UidRange& r : ranges) {
    if (!merged.empty() && static_cast<uint64_t>(merged.back().last) + 1 >= r.first) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

bool UidSet::Contains(uint32_t uid, uint32_t largest_uid) const {
  for (const UidRange& r : Resolve(largest_uid)) {
    if (uid >= r.first && uid <= r.last) return true;
  }
  return false;
}

}  // namespace qbox::mailbox

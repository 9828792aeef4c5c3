#include "tests/sim/hash_state_machine.h"

#include <openssl/sha.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace qbox::sim {
namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  // splitmix64 finaliser over the running value.
  uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t HashBytes(absl::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a
  for (unsigned char c : data) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

std::string ToHex(const raft::ChainHash& chain) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : chain) {
    out.push_back(kDigits[byte >> 4]);
    out.push_back(kDigits[byte & 15]);
  }
  return out;
}

std::string JoinIds(const std::vector<raft::NodeId>& ids) { return absl::StrJoin(ids, ","); }

absl::StatusOr<std::vector<raft::NodeId>> ParseIds(absl::string_view text,
                                                   absl::string_view field) {
  std::vector<raft::NodeId> ids;
  if (text.empty()) return ids;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    uint64_t id = 0;
    if (!absl::SimpleAtoi(part, &id)) {
      return absl::InvalidArgumentError(
          absl::StrCat("snapshot field ", field, ": bad id '", part, "'"));
    }
    ids.push_back(id);
  }
  return ids;
}

}  // namespace

void HashStateMachine::Apply(const raft::Entry& entry) {
  applied_index_ = entry.index;
  applied_term_ = entry.term;
  applied_chain_ = entry.chain;
  digest_ = Mix(Mix(Mix(Mix(digest_, entry.index), entry.term), static_cast<uint64_t>(entry.type)),
                HashBytes(entry.data));
  if (entry.type == raft::EntryType::kConfChange) {
    std::optional<raft::ConfChange> change = raft::ConfChange::Decode(entry.data);
    if (change.has_value()) change->ApplyTo(&conf_);
  } else if (entry.type == raft::EntryType::kNormal) {
    ++normal_entries_;
    absl::string_view command = entry.data;
    size_t eq = command.find('=');
    if (eq != absl::string_view::npos) {
      values_[std::string(command.substr(0, eq))] = std::string(command.substr(eq + 1));
    }
  }
}

std::string HashStateMachine::Serialize() const {
  std::string out =
      absl::StrCat(applied_index_, " ", applied_term_, " ", digest_, " ", normal_entries_, " ",
                   ToHex(applied_chain_), "\n", "voters=", JoinIds(conf_.voters), "\n",
                   "learners=", JoinIds(conf_.learners), "\n");
  for (const auto& [key, value] : values_) absl::StrAppend(&out, key, "=", value, "\n");
  return out;
}

raft::SnapshotMeta HashStateMachine::SnapshotMetaFor(absl::string_view data) const {
  raft::SnapshotMeta meta;
  meta.index = applied_index_;
  meta.term = applied_term_;
  meta.chain = applied_chain_;
  meta.conf = conf_;
  meta.data_size = data.size();
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), meta.data_digest.data());
  return meta;
}

absl::StatusOr<HashStateMachine> HashStateMachine::Parse(absl::string_view data) {
  std::vector<absl::string_view> lines = absl::StrSplit(data, '\n', absl::SkipEmpty());
  if (lines.size() < 3) return absl::InvalidArgumentError("snapshot: fewer than 3 lines");
  std::vector<absl::string_view> header = absl::StrSplit(lines[0], ' ');
  HashStateMachine sm;
  if (header.size() != 5 || !absl::SimpleAtoi(header[0], &sm.applied_index_) ||
      !absl::SimpleAtoi(header[1], &sm.applied_term_) ||
      !absl::SimpleAtoi(header[2], &sm.digest_) ||
      !absl::SimpleAtoi(header[3], &sm.normal_entries_) || header[4].size() != 64) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot header: '", lines[0], "'"));
  }
  for (size_t i = 0; i < 32; ++i) {
    int byte = 0;
    for (char c : header[4].substr(2 * i, 2)) {
      int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (v < 0) return absl::InvalidArgumentError("snapshot header: bad chain hex");
      byte = byte * 16 + v;
    }
    sm.applied_chain_[i] = static_cast<uint8_t>(byte);
  }
  if (!absl::ConsumePrefix(&lines[1], "voters=") || !absl::ConsumePrefix(&lines[2], "learners=")) {
    return absl::InvalidArgumentError("snapshot: missing voters= or learners= line");
  }
  auto voters = ParseIds(lines[1], "voters");
  if (!voters.ok()) return voters.status();
  auto learners = ParseIds(lines[2], "learners");
  if (!learners.ok()) return learners.status();
  sm.conf_.voters = *voters;
  sm.conf_.learners = *learners;
  for (size_t i = 3; i < lines.size(); ++i) {
    size_t eq = lines[i].find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot value line: '", lines[i], "'"));
    }
    sm.values_[std::string(lines[i].substr(0, eq))] = std::string(lines[i].substr(eq + 1));
  }
  return sm;
}

}  // namespace qbox::sim

#include "ctl/snapshot_manifest.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "ctl/snapshot_sha256.h"

namespace qbox::ctl {
namespace {

using nlohmann::json;

std::string Rfc3339(int64_t ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

absl::Status BadField(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("manifest field \"", field, "\": ", what));
}

absl::StatusOr<std::string> HashFromHex(const json& doc, const char* field) {
  if (!doc.contains(field) || !doc[field].is_string())
    return BadField(field, "missing or not a string");
  const std::string hex = doc[field].get<std::string>();
  if (hex.size() != 64) return BadField(field, "is not 64 hex digits");
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int value = 0;
    for (size_t j = i; j < i + 2; ++j) {
      char c = hex[j];
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) return BadField(field, "is not 64 lower-case hex digits");
      value = value * 16 + digit;
    }
    bytes.push_back(static_cast<char>(value));
  }
  return bytes;
}

absl::StatusOr<uint64_t> Unsigned(const json& doc, const char* field) {
  if (!doc.contains(field) || !doc[field].is_number_unsigned()) {
    return BadField(field, "missing or not a whole number");
  }
  return doc[field].get<uint64_t>();
}

absl::StatusOr<std::string> Text(const json& doc, const char* field) {
  if (!doc.contains(field) || !doc[field].is_string())
    return BadField(field, "missing or not a string");
  return doc[field].get<std::string>();
}

}  // namespace

json ManifestToJson(const v1::SnapshotManifest& manifest) {
  json members = json::array();
  for (const v1::SnapshotMember& m : manifest.members()) {
    members.push_back({{"id", m.id()}, {"node", m.name()}, {"voter", m.voter()}});
  }
  return json{{"cluster", manifest.cluster()},
              {"log_index", manifest.log_index()},
              {"log_term", manifest.log_term()},
              {"chain", ToHex(manifest.chain())},
              {"members", std::move(members)},
              {"data_bytes", manifest.data_bytes()},
              {"data_sha256", ToHex(manifest.data_sha256())},
              {"state_digest", ToHex(manifest.state_digest())},
              {"node", manifest.node()},
              {"created_at", Rfc3339(manifest.created_at_ms())},
              {"created_at_ms", manifest.created_at_ms()}};
}

absl::StatusOr<v1::SnapshotManifest> ManifestFromJson(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("the manifest is not a JSON object");
  }
  v1::SnapshotManifest m;
#define QBOX_FIELD(setter, reader, field)   \
  {                                         \
    auto value = reader(doc, field);        \
    if (!value.ok()) return value.status(); \
    m.setter(*value);                       \
  }
  QBOX_FIELD(set_cluster, Text, "cluster");
  QBOX_FIELD(set_log_index, Unsigned, "log_index");
  QBOX_FIELD(set_log_term, Unsigned, "log_term");
  QBOX_FIELD(set_chain, HashFromHex, "chain");
  QBOX_FIELD(set_data_bytes, Unsigned, "data_bytes");
  QBOX_FIELD(set_data_sha256, HashFromHex, "data_sha256");
  QBOX_FIELD(set_state_digest, HashFromHex, "state_digest");
  QBOX_FIELD(set_node, Text, "node");
#undef QBOX_FIELD
  if (!doc.contains("created_at_ms") || !doc["created_at_ms"].is_number_integer()) {
    return BadField("created_at_ms", "missing or not a whole number");
  }
  m.set_created_at_ms(doc["created_at_ms"].get<int64_t>());
  if (!doc.contains("members") || !doc["members"].is_array()) {
    return BadField("members", "missing or not an array");
  }
  for (size_t i = 0; i < doc["members"].size(); ++i) {
    const json& entry = doc["members"][i];
    const std::string field = absl::StrCat("members[", i, "]");
    if (!entry.is_object() || !entry.contains("id") || !entry["id"].is_number_unsigned() ||
        entry["id"].get<uint64_t>() == 0 || !entry.contains("voter") ||
        !entry["voter"].is_boolean()) {
      return BadField(field, "needs a non-zero \"id\" and a boolean \"voter\"");
    }
    v1::SnapshotMember* member = m.add_members();
    member->set_id(entry["id"].get<uint64_t>());
    member->set_voter(entry["voter"].get<bool>());
    if (entry.contains("node") && entry["node"].is_string()) {
      member->set_name(entry["node"].get<std::string>());
    }
  }
  if (m.log_index() == 0) return BadField("log_index", "is 0: a snapshot holds at least one entry");
  bool has_voter = false;
  for (const v1::SnapshotMember& member : m.members()) has_voter |= member.voter();
  if (!has_voter) return BadField("members", "has no voter: no node could elect a leader");
  return m;
}

void PrintManifest(std::ostream& out, const v1::SnapshotManifest& manifest) {
  std::vector<std::string> voters, learners;
  for (const v1::SnapshotMember& m : manifest.members()) {
    std::string name = absl::StrCat(m.name().empty() ? "node" : m.name(), " (id ", m.id(), ")");
    (m.voter() ? voters : learners).push_back(std::move(name));
  }
  out << "  cluster       " << manifest.cluster() << "\n"
      << "  log index     " << manifest.log_index() << "\n"
      << "  log term      " << manifest.log_term() << "\n"
      << "  chain         " << ToHex(manifest.chain()) << "\n"
      << "  voters        " << (voters.empty() ? "-" : absl::StrJoin(voters, ", ")) << "\n"
      << "  learners      " << (learners.empty() ? "-" : absl::StrJoin(learners, ", ")) << "\n"
      << "  data          " << manifest.data_bytes() << " bytes, SHA-256 "
      << ToHex(manifest.data_sha256()) << "\n"
      << "  state digest  " << ToHex(manifest.state_digest()) << "\n"
      << "  taken from    " << manifest.node() << " at " << Rfc3339(manifest.created_at_ms())
      << "\n";
}

}  // namespace qbox::ctl

#include "node/storage/record_codec.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace qbox::storage {
namespace {

// Bumped when a payload layout changes; a reader refuses versions it does not
// know rather than misparse them.
constexpr uint8_t kFormatVersion = 1;
constexpr size_t kChecksumBytes = 4;

// A ConfState with more members than this is not something we wrote.
constexpr uint64_t kMaxConfMembers = 1024;

void PutU8(uint8_t v, std::string* out) { out->push_back(static_cast<char>(v)); }

void PutU32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutU64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutChain(const raft::ChainHash& chain, std::string* out) {
  out->append(reinterpret_cast<const char*>(chain.data()), chain.size());
}

// Reads fixed-size fields from a payload; every Get fails once the input is
// exhausted, so a truncated record can never be read as a shorter valid one.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool GetU8(uint8_t* v) {
    if (in_.empty()) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool GetU32(uint32_t* v) {
    if (in_.size() < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v = (*v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  bool GetU64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<uint8_t>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  bool GetChain(raft::ChainHash* chain) {
    if (in_.size() < chain->size()) return false;
    std::memcpy(chain->data(), in_.data(), chain->size());
    in_.remove_prefix(chain->size());
    return true;
  }
  std::string_view Rest() {
    std::string_view rest = in_;
    in_ = {};
    return rest;
  }
  bool AtEnd() const { return in_.empty(); }

 private:
  std::string_view in_;
};

uint32_t Crc32(std::string_view bytes) {
  // zlib's crc32 takes a uInt length; records are far below 4 GiB, but loop
  // anyway so the function is correct for any size.
  uLong crc = crc32(0L, Z_NULL, 0);
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n));
    bytes.remove_prefix(n);
  }
  return static_cast<uint32_t>(crc);
}

// Wraps `payload` in the checksummed frame.
std::string Frame(const std::string& body) {
  std::string out;
  out.reserve(kChecksumBytes + body.size());
  PutU32(Crc32(body), &out);
  out.append(body);
  return out;
}

std::string StartBody() {
  std::string body;
  PutU8(kFormatVersion, &body);
  return body;
}

// Checks the frame and returns the payload after the version byte.
absl::StatusOr<std::string_view> Unframe(const std::string& what, std::string_view value) {
  if (value.size() < kChecksumBytes + 1) {
    return absl::DataLossError(
        absl::StrCat(what, " is corrupt: truncated to ", value.size(), " bytes"));
  }
  Reader header(value.substr(0, kChecksumBytes));
  uint32_t stored = 0;
  header.GetU32(&stored);
  std::string_view body = value.substr(kChecksumBytes);
  if (Crc32(body) != stored) {
    return absl::DataLossError(absl::StrCat(what, " is corrupt: checksum mismatch"));
  }
  const uint8_t version = static_cast<uint8_t>(body[0]);
  if (version != kFormatVersion) {
    return absl::DataLossError(
        absl::StrCat(what, " has unknown format version ", static_cast<int>(version)));
  }
  return body.substr(1);
}

absl::Status Malformed(const std::string& what, const std::string& why) {
  return absl::DataLossError(absl::StrCat(what, " is corrupt: ", why));
}

void PutIds(const std::vector<raft::NodeId>& ids, std::string* out) {
  PutU64(ids.size(), out);
  for (raft::NodeId id : ids) PutU64(id, out);
}

bool GetIds(Reader* in, std::vector<raft::NodeId>* ids) {
  uint64_t count = 0;
  if (!in->GetU64(&count) || count > kMaxConfMembers) return false;
  ids->resize(count);
  for (auto& id : *ids) {
    if (!in->GetU64(&id)) return false;
  }
  return true;
}

}  // namespace

std::string LogKey(uint64_t index) {
  std::string key;
  PutU64(index, &key);
  return key;
}

absl::StatusOr<uint64_t> ParseLogKey(std::string_view key, const std::string& location) {
  uint64_t index = 0;
  Reader in(key);
  if (key.size() != 8 || !in.GetU64(&index)) {
    return absl::DataLossError(absl::StrCat("raft log key in ", location,
                                            " is corrupt: ", key.size(), " bytes, expected 8"));
  }
  return index;
}

// Payload: term, index, type, chain, then the data to the end of the record.
// Built in place (no separate body + frame copy): on the append path every
// entry's bytes are copied once here and once into the WriteBatch.
std::string EncodeEntry(const raft::Entry& entry) {
  std::string out;
  out.reserve(kChecksumBytes + 1 + 8 + 8 + 1 + entry.chain.size() + entry.data.size());
  out.append(kChecksumBytes, '\0');
  PutU8(kFormatVersion, &out);
  PutU64(entry.term, &out);
  PutU64(entry.index, &out);
  PutU8(static_cast<uint8_t>(entry.type), &out);
  PutChain(entry.chain, &out);
  out.append(entry.data);
  const uint32_t crc = Crc32(std::string_view(out).substr(kChecksumBytes));
  for (size_t i = 0; i < kChecksumBytes; ++i) {
    out[i] = static_cast<char>((crc >> (8 * (kChecksumBytes - 1 - i))) & 0xff);
  }
  return out;
}

absl::StatusOr<raft::Entry> DecodeEntry(uint64_t expected_index, std::string_view value,
                                        const std::string& location) {
  const std::string what =
      absl::StrCat("raft log record at index ", expected_index, " in ", location);
  auto payload = Unframe(what, value);
  if (!payload.ok()) return payload.status();
  Reader in(*payload);
  raft::Entry entry;
  uint8_t type = 0;
  if (!in.GetU64(&entry.term) || !in.GetU64(&entry.index) || !in.GetU8(&type) ||
      !in.GetChain(&entry.chain)) {
    return Malformed(what, "truncated header");
  }
  if (type > static_cast<uint8_t>(raft::EntryType::kNoop)) {
    return Malformed(what, absl::StrCat("unknown entry type ", static_cast<int>(type)));
  }
  if (entry.index != expected_index) {
    return Malformed(what, absl::StrCat("it holds index ", entry.index));
  }
  entry.type = static_cast<raft::EntryType>(type);
  entry.data = std::string(in.Rest());
  return entry;
}

std::string EncodeHardState(const raft::HardState& state) {
  std::string body = StartBody();
  PutU64(state.term, &body);
  PutU64(state.vote, &body);
  PutU64(state.commit, &body);
  PutU8(state.recovering ? 1 : 0, &body);
  PutU64(state.recovery_target, &body);
  return Frame(body);
}

absl::StatusOr<raft::HardState> DecodeHardState(std::string_view value,
                                                const std::string& location) {
  const std::string what = absl::StrCat("hard state record in ", location);
  auto payload = Unframe(what, value);
  if (!payload.ok()) return payload.status();
  Reader in(*payload);
  raft::HardState state;
  uint8_t recovering = 0;
  if (!in.GetU64(&state.term) || !in.GetU64(&state.vote) || !in.GetU64(&state.commit) ||
      !in.GetU8(&recovering) || !in.GetU64(&state.recovery_target) || !in.AtEnd() ||
      recovering > 1) {
    return Malformed(what, "bad layout");
  }
  state.recovering = recovering == 1;
  return state;
}

// The trailing byte of a snapshot held by the state machine.
constexpr uint8_t kHeldByStateMachine = 1;

std::string EncodeSnapshotMeta(const raft::SnapshotMeta& meta) {
  std::string body = StartBody();
  PutU64(meta.index, &body);
  PutU64(meta.term, &body);
  PutChain(meta.chain, &body);
  PutU64(meta.data_size, &body);
  PutChain(meta.data_digest, &body);
  PutIds(meta.conf.voters, &body);
  PutIds(meta.conf.learners, &body);
  // Appended only when set, so that a snapshot with data keeps the layout
  // earlier versions wrote (and an older reader refuses a held snapshot
  // instead of looking for a data file that is not there).
  if (meta.held_by_state_machine) PutU8(kHeldByStateMachine, &body);
  return Frame(body);
}

absl::StatusOr<raft::SnapshotMeta> DecodeSnapshotMeta(std::string_view value,
                                                      const std::string& location) {
  const std::string what = absl::StrCat("snapshot metadata record in ", location);
  auto payload = Unframe(what, value);
  if (!payload.ok()) return payload.status();
  Reader in(*payload);
  raft::SnapshotMeta meta;
  if (!in.GetU64(&meta.index) || !in.GetU64(&meta.term) || !in.GetChain(&meta.chain) ||
      !in.GetU64(&meta.data_size) || !in.GetChain(&meta.data_digest) ||
      !GetIds(&in, &meta.conf.voters) || !GetIds(&in, &meta.conf.learners)) {
    return Malformed(what, "bad layout");
  }
  if (!in.AtEnd()) {
    uint8_t held = 0;
    if (!in.GetU8(&held) || held != kHeldByStateMachine || !in.AtEnd()) {
      return Malformed(what, "bad layout");
    }
    if (meta.data_size != 0) return Malformed(what, "a held snapshot with a data size");
    meta.held_by_state_machine = true;
  }
  return meta;
}

std::string EncodeLogStart(const LogStart& start) {
  std::string body = StartBody();
  PutU64(start.index, &body);
  PutU64(start.term, &body);
  PutChain(start.chain, &body);
  return Frame(body);
}

absl::StatusOr<LogStart> DecodeLogStart(std::string_view value, const std::string& location) {
  const std::string what = absl::StrCat("log start record in ", location);
  auto payload = Unframe(what, value);
  if (!payload.ok()) return payload.status();
  Reader in(*payload);
  LogStart start;
  if (!in.GetU64(&start.index) || !in.GetU64(&start.term) || !in.GetChain(&start.chain) ||
      !in.AtEnd()) {
    return Malformed(what, "bad layout");
  }
  return start;
}

}  // namespace qbox::storage

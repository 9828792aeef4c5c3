#include "node/raft/types.h"

#include <openssl/evp.h>

#include <algorithm>

#include "node/common/sha256.h"

namespace qbox::raft {
namespace {

constexpr uint64_t kMaxConfChangeContext = 1 << 20;

void PutBigEndian64(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

bool GetBigEndian64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int i = 0; i < 8; ++i) *v = (*v << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  return true;
}

bool ListContains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

void Erase(std::vector<NodeId>* ids, NodeId id) {
  ids->erase(std::remove(ids->begin(), ids->end(), id), ids->end());
}

}  // namespace

bool ConfState::IsVoter(NodeId id) const { return ListContains(voters, id); }
bool ConfState::IsLearner(NodeId id) const { return ListContains(learners, id); }

bool ConfState::operator==(const ConfState& o) const {
  auto sorted = [](std::vector<NodeId> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  return sorted(voters) == sorted(o.voters) && sorted(learners) == sorted(o.learners);
}

// Encoding: kind byte, node (8 bytes BE), then for kGenesis a count and the
// voter ids. Fixed layout so every node produces identical bytes, and so
// identical chain values, for the genesis entry.
std::string ConfChange::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kind));
  PutBigEndian64(node, &out);
  if (kind == Kind::kGenesis) {
    PutBigEndian64(genesis_voters.size(), &out);
    for (NodeId id : genesis_voters) PutBigEndian64(id, &out);
  }
  PutBigEndian64(context.size(), &out);
  out.append(context);
  return out;
}

std::optional<ConfChange> ConfChange::Decode(std::string_view data) {
  if (data.empty()) return std::nullopt;
  uint8_t kind = static_cast<uint8_t>(data[0]);
  if (kind > static_cast<uint8_t>(Kind::kGenesis)) return std::nullopt;
  data.remove_prefix(1);
  ConfChange cc;
  cc.kind = static_cast<Kind>(kind);
  if (!GetBigEndian64(&data, &cc.node)) return std::nullopt;
  if (cc.kind == Kind::kGenesis) {
    uint64_t count = 0;
    if (!GetBigEndian64(&data, &count) || count == 0 || count > data.size() / 8) return std::nullopt;
    for (uint64_t i = 0; i < count; ++i) {
      NodeId id = 0;
      if (!GetBigEndian64(&data, &id) || id == kNoNode) return std::nullopt;
      cc.genesis_voters.push_back(id);
    }
  } else if (cc.node == kNoNode) {
    return std::nullopt;
  }
  uint64_t context_size = 0;
  if (!GetBigEndian64(&data, &context_size) || context_size > kMaxConfChangeContext ||
      context_size != data.size()) {
    return std::nullopt;
  }
  cc.context.assign(data.data(), data.size());
  return cc;
  return cc;
}

bool ConfChange::ApplyTo(ConfState* conf) const {
  switch (kind) {
    case Kind::kGenesis:
      if (!conf->voters.empty() || !conf->learners.empty()) return false;
      conf->voters = genesis_voters;
      return true;
    case Kind::kAddLearner:
      if (conf->Contains(node)) return false;
      conf->learners.push_back(node);
      return true;
    case Kind::kPromoteLearner:
      if (!conf->IsLearner(node)) return false;
      Erase(&conf->learners, node);
      conf->voters.push_back(node);
      return true;
    case Kind::kRemoveNode:
      if (!conf->Contains(node)) return false;
      // The last voter cannot be removed: nobody could commit again.
      if (conf->IsVoter(node) && conf->voters.size() == 1) return false;
      Erase(&conf->voters, node);
      Erase(&conf->learners, node);
      return true;
  }
  return false;
}

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kPreVote: return "PreVote";
    case MessageType::kPreVoteResp: return "PreVoteResp";
    case MessageType::kVote: return "Vote";
    case MessageType::kVoteResp: return "VoteResp";
    case MessageType::kAppend: return "Append";
    case MessageType::kAppendResp: return "AppendResp";
    case MessageType::kHeartbeat: return "Heartbeat";
    case MessageType::kHeartbeatResp: return "HeartbeatResp";
    case MessageType::kSnapshotChunk: return "SnapshotChunk";
    case MessageType::kSnapshotResp: return "SnapshotResp";
    case MessageType::kTimeoutNow: return "TimeoutNow";
    case MessageType::kReadIndex: return "ReadIndex";
    case MessageType::kReadIndexResp: return "ReadIndexResp";
  }
  return "Unknown";
}

ChainHash ComputeChain(const ChainHash& prev, uint64_t term, uint64_t index, EntryType type,
                       std::string_view data) {
  std::string header;
  header.reserve(25);
  PutBigEndian64(term, &header);
  PutBigEndian64(index, &header);
  header.push_back(static_cast<char>(type));
  PutBigEndian64(data.size(), &header);
  ChainHash out{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, qbox::Sha256Md(), nullptr);
  EVP_DigestUpdate(ctx, prev.data(), prev.size());
  EVP_DigestUpdate(ctx, header.data(), header.size());
  EVP_DigestUpdate(ctx, data.data(), data.size());
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, out.data(), &len);
  EVP_MD_CTX_free(ctx);
  return out;
}

std::string ChainToHex(const ChainHash& chain) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(chain.size() * 2);
  for (uint8_t b : chain) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

}  // namespace qbox::raft

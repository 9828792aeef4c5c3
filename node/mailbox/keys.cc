#include "node/mailbox/keys.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace qbox::mailbox::keys {

std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

std::string BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

uint64_t ReadBigEndian64(absl::string_view data) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(data[i]);
  return v;
}

uint32_t ReadBigEndian32(absl::string_view data) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(data[i]);
  return v;
}

std::string Account(absl::string_view name) { return absl::StrCat(kAccountPrefix, name); }

std::string MailboxName(uint64_t account_id, absl::string_view name) {
  return absl::StrCat(MailboxNamePrefix(account_id), name);
}
std::string MailboxNamePrefix(uint64_t account_id) {
  return absl::StrCat("n", BigEndian64(account_id));
}
std::string MailboxById(uint64_t mailbox_id) { return absl::StrCat("i", BigEndian64(mailbox_id)); }

std::string Message(uint64_t mailbox_id, uint32_t uid) {
  return absl::StrCat(BigEndian64(mailbox_id), BigEndian32(uid));
}
std::string MessagePrefix(uint64_t mailbox_id) { return BigEndian64(mailbox_id); }
std::string Change(uint64_t mailbox_id, uint64_t modseq) {
  return absl::StrCat(BigEndian64(mailbox_id), BigEndian64(modseq));
}

std::optional<uint64_t> ChangeModseq(absl::string_view key, absl::string_view prefix) {
  if (key.size() != prefix.size() + 8 || !absl::StartsWith(key, prefix)) return std::nullopt;
  return ReadBigEndian64(key.substr(prefix.size()));
}

std::string BodyData(uint64_t account_id, absl::string_view sha256) {
  return absl::StrCat(BigEndian64(account_id), sha256, "d");
}
std::string BodyLiveRefs(uint64_t account_id, absl::string_view sha256) {
  return absl::StrCat(BigEndian64(account_id), sha256, "l");
}
std::string BodyVaultRefs(uint64_t account_id, absl::string_view sha256) {
  return absl::StrCat(BigEndian64(account_id), sha256, "v");
}

std::string Vault(uint64_t account_id, uint64_t vault_id) {
  return absl::StrCat(BigEndian64(account_id), BigEndian64(vault_id));
}
std::string AccountPrefix(uint64_t account_id) { return BigEndian64(account_id); }

std::string Sieve(uint64_t account_id, absl::string_view name) {
  return absl::StrCat(BigEndian64(account_id), name);
}

std::string Idempotency(absl::string_view account, absl::string_view key) {
  return absl::StrCat(account, absl::string_view("\0", 1), key);
}

std::string IdempotencyByTime(int64_t leader_time_ms, absl::string_view account,
                              absl::string_view key) {
  // Times before the epoch sort first (they are forgotten first).
  const uint64_t t = leader_time_ms < 0 ? 0 : static_cast<uint64_t>(leader_time_ms);
  return absl::StrCat(kIdempotencyByTimePrefix, BigEndian64(t), Idempotency(account, key));
}

std::string Result(uint64_t index) { return absl::StrCat(kResultPrefix, BigEndian64(index)); }

std::string Proposal(absl::string_view proposal_id) {
  return absl::StrCat(kProposalPrefix, proposal_id);
}

std::string Audit(uint64_t seq) { return absl::StrCat(kAuditPrefix, BigEndian64(seq)); }

std::string Checkpoint(uint64_t index, uint64_t node_id) {
  return absl::StrCat(CheckpointIndex(index), BigEndian64(node_id));
}

std::string CheckpointIndex(uint64_t index) {
  return absl::StrCat(kCheckpointPrefix, BigEndian64(index));
}

std::string PrefixEnd(absl::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(32, '\xff');  // every key: nothing sorts after this in practice
}

}  // namespace qbox::mailbox::keys

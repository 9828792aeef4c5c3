// Key layout of the mailbox state machine's column families. Integers are
// big-endian so that RocksDB's bytewise order is numeric order: messages of
// a mailbox iterate by UID, changes by MODSEQ.
//
//   accounts     "a" name -> AccountRecord;  "#ids" -> IdCounters
//   mailboxes    "n" account_id name -> mailbox_id;  "i" mailbox_id -> MailboxRecord
//   messages     mailbox_id uid(4) -> MessageRecord
//   changes      mailbox_id modseq -> ChangeRecord (latest change per UID only)
//   bodies       account_id sha256 "d" -> body bytes; "l"/"v" -> live/vault refcount
//   vault        account_id vault_id -> VaultRecord
//   sieve        account_id name -> script text
//   idempotency  account name "\0" key -> IdempotencyRecord;
//                "\xff" leader_time_ms(8) account name "\0" key -> "" (expiry
//                order; 0xff never starts a UTF-8 account name)
//   meta         "applied_index", "result/" index -> CommandResult, "restoring",
//                "state_digest" -> the state digest accumulator (256 bytes,
//                state_digest.h)
//   guard        "c" -> Charter;  "p" proposal_id -> ProposalRecord (no local_*);
//                "a" seq -> AuditRecord;  "k" index node_id -> SignedNodeStatement
//   local        "p" proposal_id -> local_submitted_ms(8) local_approved_ms(8);
//                "k" index -> this node's 32-byte digest there
#ifndef QBOX_NODE_MAILBOX_KEYS_H_
#define QBOX_NODE_MAILBOX_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace qbox::mailbox::keys {

std::string BigEndian64(uint64_t v);
std::string BigEndian32(uint32_t v);
// Decodes 8 (or 4) big-endian bytes at `data`; the caller checks the length.
uint64_t ReadBigEndian64(absl::string_view data);
uint32_t ReadBigEndian32(absl::string_view data);

inline constexpr absl::string_view kIdCounters = "#ids";
std::string Account(absl::string_view name);
inline constexpr absl::string_view kAccountPrefix = "a";

std::string MailboxName(uint64_t account_id, absl::string_view name);
std::string MailboxNamePrefix(uint64_t account_id);
std::string MailboxById(uint64_t mailbox_id);

std::string Message(uint64_t mailbox_id, uint32_t uid);
std::string MessagePrefix(uint64_t mailbox_id);  // also the changes prefix
std::string Change(uint64_t mailbox_id, uint64_t modseq);
// The MODSEQ of `key`, a changes key of the mailbox whose MessagePrefix is
// `prefix`; nullopt if the key does not have that shape.
std::optional<uint64_t> ChangeModseq(absl::string_view key, absl::string_view prefix);

std::string BodyData(uint64_t account_id, absl::string_view sha256);
std::string BodyLiveRefs(uint64_t account_id, absl::string_view sha256);
std::string BodyVaultRefs(uint64_t account_id, absl::string_view sha256);

std::string Vault(uint64_t account_id, uint64_t vault_id);
std::string AccountPrefix(uint64_t account_id);  // vault, sieve and bodies prefix

std::string Sieve(uint64_t account_id, absl::string_view name);

std::string Idempotency(absl::string_view account, absl::string_view key);
inline constexpr absl::string_view kIdempotencyByTimePrefix = "\xff";
std::string IdempotencyByTime(int64_t leader_time_ms, absl::string_view account,
                              absl::string_view key);

inline constexpr absl::string_view kAppliedIndex = "applied_index";
inline constexpr absl::string_view kRestoring = "restoring";
inline constexpr absl::string_view kStateDigest = "state_digest";
std::string Result(uint64_t index);
inline constexpr absl::string_view kResultPrefix = "result/";

inline constexpr absl::string_view kCharter = "c";
inline constexpr absl::string_view kProposalPrefix = "p";
std::string Proposal(absl::string_view proposal_id);  // guard and local CFs
inline constexpr absl::string_view kAuditPrefix = "a";
std::string Audit(uint64_t seq);
inline constexpr absl::string_view kCheckpointPrefix = "k";
std::string Checkpoint(uint64_t index, uint64_t node_id);  // guard CF
std::string CheckpointIndex(uint64_t index);               // guard CF prefix; local CF key

// The smallest key greater than every key starting with `prefix`.
std::string PrefixEnd(absl::string_view prefix);

}  // namespace qbox::mailbox::keys

#endif  // QBOX_NODE_MAILBOX_KEYS_H_

#include "node/mailbox/message_ops.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/flags.h"
#include "node/mailbox/keys.h"

namespace qbox::mailbox {
namespace {

std::string RefKey(uint64_t account_id, absl::string_view sha256, BodyRef kind) {
  return kind == BodyRef::kLive ? keys::BodyLiveRefs(account_id, sha256)
                                : keys::BodyVaultRefs(account_id, sha256);
}

absl::StatusOr<uint64_t> ReadRefs(const StoreTxn& txn, const std::string& key) {
  ASSIGN_OR_RETURN(auto value, txn.Get(Cf::kBodies, key));
  if (!value.has_value()) return 0;
  if (value->size() != 8) {
    return absl::DataLossError(absl::StrCat("mailbox store ", txn.store()->dir(),
                                            ": body reference count is not 8 bytes"));
  }
  return keys::ReadBigEndian64(*value);
}

// Absent means zero, so that the digest of a count never depends on
// whether it was once non-zero.
void WriteRefs(StoreTxn& txn, const std::string& key, uint64_t count) {
  if (count == 0) {
    txn.Delete(Cf::kBodies, key);
  } else {
    txn.Put(Cf::kBodies, key, keys::BigEndian64(count));
  }
}

void WriteChange(StoreTxn& txn, uint64_t mailbox_id, uint64_t modseq, uint32_t uid, bool vanished) {
  v1::ChangeRecord change;
  change.set_uid(uid);
  change.set_vanished(vanished);
  txn.PutProto(Cf::kChanges, keys::Change(mailbox_id, modseq), change);
}

bool IsUnseen(uint32_t flags) { return (flags & kFlagSeen) == 0; }

}  // namespace

absl::Status AddBodyRef(StoreTxn& txn, uint64_t account_id, absl::string_view sha256, BodyRef kind,
                        absl::string_view body) {
  ASSIGN_OR_RETURN(uint64_t live, ReadRefs(txn, RefKey(account_id, sha256, BodyRef::kLive)));
  ASSIGN_OR_RETURN(uint64_t vault, ReadRefs(txn, RefKey(account_id, sha256, BodyRef::kVault)));
  if (live == 0 && vault == 0) txn.Put(Cf::kBodies, keys::BodyData(account_id, sha256), body);
  const std::string key = RefKey(account_id, sha256, kind);
  WriteRefs(txn, key, (kind == BodyRef::kLive ? live : vault) + 1);
  return absl::OkStatus();
}

absl::Status MoveBodyRef(StoreTxn& txn, uint64_t account_id, absl::string_view sha256, BodyRef from,
                         BodyRef to) {
  const std::string from_key = RefKey(account_id, sha256, from);
  const std::string to_key = RefKey(account_id, sha256, to);
  ASSIGN_OR_RETURN(uint64_t from_count, ReadRefs(txn, from_key));
  ASSIGN_OR_RETURN(uint64_t to_count, ReadRefs(txn, to_key));
  if (from_count == 0) {
    return absl::DataLossError(
        absl::StrCat("mailbox store ", txn.store()->dir(), ": body reference count underflow"));
  }
  WriteRefs(txn, from_key, from_count - 1);
  WriteRefs(txn, to_key, to_count + 1);
  return absl::OkStatus();
}

absl::Status DropBodyRef(StoreTxn& txn, uint64_t account_id, absl::string_view sha256,
                         BodyRef kind) {
  ASSIGN_OR_RETURN(uint64_t live, ReadRefs(txn, RefKey(account_id, sha256, BodyRef::kLive)));
  ASSIGN_OR_RETURN(uint64_t vault, ReadRefs(txn, RefKey(account_id, sha256, BodyRef::kVault)));
  uint64_t& count = kind == BodyRef::kLive ? live : vault;
  if (count == 0) {
    return absl::DataLossError(
        absl::StrCat("mailbox store ", txn.store()->dir(), ": body reference count underflow"));
  }
  --count;
  WriteRefs(txn, RefKey(account_id, sha256, kind), count);
  if (live == 0 && vault == 0) txn.Delete(Cf::kBodies, keys::BodyData(account_id, sha256));
  return absl::OkStatus();
}

absl::StatusOr<v1::MessageRecord> InsertMessage(StoreTxn& txn, v1::MailboxRecord* mailbox,
                                                v1::MessageRecord message) {
  if (mailbox->uidnext() == UINT32_MAX) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "mailbox: \"", mailbox->name(), "\" has used every UID; rename and re-create it"));
  }
  message.set_uid(mailbox->uidnext());
  message.set_modseq(mailbox->highest_modseq() + 1);
  mailbox->set_uidnext(mailbox->uidnext() + 1);
  mailbox->set_highest_modseq(message.modseq());
  mailbox->set_total(mailbox->total() + 1);
  mailbox->set_size_bytes(mailbox->size_bytes() + message.size());
  if (IsUnseen(message.system_flags())) mailbox->set_unseen(mailbox->unseen() + 1);
  txn.PutProto(Cf::kMessages, keys::Message(mailbox->mailbox_id(), message.uid()), message);
  WriteChange(txn, mailbox->mailbox_id(), message.modseq(), message.uid(), /*vanished=*/false);
  return message;
}

void RemoveMessage(StoreTxn& txn, v1::MailboxRecord* mailbox, const v1::MessageRecord& message) {
  const uint64_t modseq = mailbox->highest_modseq() + 1;
  mailbox->set_highest_modseq(modseq);
  mailbox->set_total(mailbox->total() - 1);
  mailbox->set_size_bytes(mailbox->size_bytes() - message.size());
  if (IsUnseen(message.system_flags())) mailbox->set_unseen(mailbox->unseen() - 1);
  txn.Delete(Cf::kMessages, keys::Message(mailbox->mailbox_id(), message.uid()));
  txn.Delete(Cf::kChanges, keys::Change(mailbox->mailbox_id(), message.modseq()));
  WriteChange(txn, mailbox->mailbox_id(), modseq, message.uid(), /*vanished=*/true);
}

absl::Status PruneVanished(StoreTxn& txn, v1::MailboxRecord* mailbox, uint64_t removed,
                           uint64_t limit) {
  // Off: the mailbox record stays byte for byte what a binary without
  // pruning writes, so replicas of either kind keep equal G5 digests.
  if (limit == 0) return absl::OkStatus();
  mailbox->set_vanished_count(mailbox->vanished_count() + removed);
  if (mailbox->vanished_count() <= limit) return absl::OkStatus();
  // Down to 90%, not to the limit: the scan then runs once per limit/10
  // removals instead of on every expunge of a mailbox at its limit.
  const uint64_t drop = mailbox->vanished_count() - (limit - limit / 10);
  // Every vanished record at or below the floor is gone already, so the
  // scan starts above it and does not walk the old live records again.
  const std::string prefix = keys::MessagePrefix(mailbox->mailbox_id());
  std::vector<std::string> dropped;
  uint64_t floor = mailbox->vanished_floor_modseq();
  bool corrupt = false;
  RETURN_IF_ERROR(txn.Scan(
      Cf::kChanges, keys::Change(mailbox->mailbox_id(), floor + 1), keys::PrefixEnd(prefix),
      [&](absl::string_view key, absl::string_view value) {
        v1::ChangeRecord change;
        const std::optional<uint64_t> modseq = keys::ChangeModseq(key, prefix);
        if (!modseq.has_value() || !change.ParseFromString(std::string(value))) {
          corrupt = true;
          return false;
        }
        if (!change.vanished()) return true;
        dropped.emplace_back(key);
        floor = *modseq;
        return dropped.size() < drop;
      }));
  if (corrupt) {
    return absl::DataLossError(absl::StrCat("mailbox store ", txn.store()->dir(),
                                            ": a change record of mailbox ", mailbox->mailbox_id(),
                                            " does not parse"));
  }
  for (const std::string& key : dropped) txn.Delete(Cf::kChanges, key);
  mailbox->set_vanished_count(mailbox->vanished_count() - dropped.size());
  mailbox->set_vanished_floor_modseq(floor);
  return absl::OkStatus();
}

void ReplaceFlags(StoreTxn& txn, v1::MailboxRecord* mailbox, v1::MessageRecord* message,
                  uint32_t system_flags, const std::vector<std::string>& keywords) {
  const uint64_t modseq = mailbox->highest_modseq() + 1;
  mailbox->set_highest_modseq(modseq);
  if (IsUnseen(message->system_flags()) && !IsUnseen(system_flags)) {
    mailbox->set_unseen(mailbox->unseen() - 1);
  } else if (!IsUnseen(message->system_flags()) && IsUnseen(system_flags)) {
    mailbox->set_unseen(mailbox->unseen() + 1);
  }
  txn.Delete(Cf::kChanges, keys::Change(mailbox->mailbox_id(), message->modseq()));
  message->set_modseq(modseq);
  message->set_system_flags(system_flags);
  message->clear_keywords();
  for (const std::string& k : keywords) message->add_keywords(k);
  txn.PutProto(Cf::kMessages, keys::Message(mailbox->mailbox_id(), message->uid()), *message);
  WriteChange(txn, mailbox->mailbox_id(), modseq, message->uid(), /*vanished=*/false);
}

absl::Status CheckQuota(const v1::AccountRecord& account, uint64_t messages, uint64_t bytes) {
  if (account.quota_messages() != 0 &&
      account.used_messages() + messages > account.quota_messages()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "quota: account \"", account.name(), "\" holds ", account.used_messages(),
        " messages; adding ", messages, " would exceed its limit of ", account.quota_messages()));
  }
  if (account.quota_bytes() != 0 && account.used_bytes() + bytes > account.quota_bytes()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "quota: account \"", account.name(), "\" uses ", account.used_bytes(), " bytes; adding ",
        bytes, " would exceed its limit of ", account.quota_bytes()));
  }
  return absl::OkStatus();
}

void AddUsage(v1::AccountRecord* account, int64_t messages, int64_t bytes) {
  account->set_used_messages(account->used_messages() + messages);
  account->set_used_bytes(account->used_bytes() + bytes);
}

}  // namespace qbox::mailbox

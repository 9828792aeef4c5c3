#include "node/mailbox/records.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "node/common/sha256.h"
#include "node/common/status_macros.h"
#include "node/mailbox/flags.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/names.h"

namespace qbox::mailbox {

absl::StatusOr<v1::AccountRecord> LoadAccount(const StoreTxn& txn, absl::string_view name,
                                              absl::string_view field) {
  RETURN_IF_ERROR(ValidateAccountName(name, field));
  v1::AccountRecord account;
  ASSIGN_OR_RETURN(bool found, txn.GetProto(Cf::kAccounts, keys::Account(name), &account));
  if (!found) {
    return absl::NotFoundError(absl::StrCat(field, ": no account named \"", name, "\""));
  }
  return account;
}

void SaveAccount(StoreTxn& txn, const v1::AccountRecord& account) {
  txn.PutProto(Cf::kAccounts, keys::Account(account.name()), account);
}

absl::StatusOr<std::optional<v1::MailboxRecord>> FindMailbox(const StoreTxn& txn,
                                                             uint64_t account_id,
                                                             absl::string_view name) {
  ASSIGN_OR_RETURN(
      auto id, txn.Get(Cf::kMailboxes, keys::MailboxName(account_id, CanonicalMailboxName(name))));
  if (!id.has_value()) return std::nullopt;
  if (id->size() != 8) {
    return absl::DataLossError(absl::StrCat("mailbox store ", txn.store()->dir(),
                                            ": name index entry for \"", name,
                                            "\" is not an 8-byte id"));
  }
  v1::MailboxRecord mailbox;
  const uint64_t mailbox_id = keys::ReadBigEndian64(*id);
  ASSIGN_OR_RETURN(bool found,
                   txn.GetProto(Cf::kMailboxes, keys::MailboxById(mailbox_id), &mailbox));
  if (!found) {
    return absl::DataLossError(absl::StrCat("mailbox store ", txn.store()->dir(), ": mailbox \"",
                                            name, "\" points at missing id ", mailbox_id));
  }
  return mailbox;
}

absl::StatusOr<v1::MailboxRecord> LoadMailbox(const StoreTxn& txn, const v1::AccountRecord& account,
                                              absl::string_view name, absl::string_view field) {
  RETURN_IF_ERROR(ValidateMailboxName(name, field));
  ASSIGN_OR_RETURN(auto mailbox, FindMailbox(txn, account.account_id(), name));
  if (!mailbox.has_value()) {
    return absl::NotFoundError(absl::StrCat(field, ": no mailbox named \"", name,
                                            "\" in account \"", account.name(), "\""));
  }
  return *std::move(mailbox);
}

void SaveMailbox(StoreTxn& txn, const v1::MailboxRecord& mailbox) {
  txn.PutProto(Cf::kMailboxes, keys::MailboxById(mailbox.mailbox_id()), mailbox);
}

absl::StatusOr<v1::IdCounters> LoadCounters(const StoreTxn& txn) {
  v1::IdCounters counters;
  ASSIGN_OR_RETURN(bool found, txn.GetProto(Cf::kAccounts, keys::kIdCounters, &counters));
  if (!found) {
    // Ids start at 1 so that 0 can mean "none" on the wire.
    counters.set_next_account_id(1);
    counters.set_next_mailbox_id(1);
    counters.set_next_vault_id(1);
  }
  return counters;
}

void SaveCounters(StoreTxn& txn, const v1::IdCounters& counters) {
  txn.PutProto(Cf::kAccounts, keys::kIdCounters, counters);
}

absl::StatusOr<uint32_t> LargestUid(const StoreTxn& txn, uint64_t mailbox_id) {
  ASSIGN_OR_RETURN(auto key, txn.LastKeyWithPrefix(Cf::kMessages, keys::MessagePrefix(mailbox_id)));
  if (!key.has_value()) return 0u;
  return keys::ReadBigEndian32(absl::string_view(*key).substr(8));
}

absl::StatusOr<std::vector<v1::MessageRecord>> LoadMessages(const StoreTxn& txn,
                                                            uint64_t mailbox_id,
                                                            const std::vector<UidRange>& ranges) {
  std::vector<v1::MessageRecord> messages;
  bool corrupt = false;
  for (const UidRange& range : ranges) {
    const std::string until = range.last == UINT32_MAX
                                  ? keys::PrefixEnd(keys::MessagePrefix(mailbox_id))
                                  : keys::Message(mailbox_id, range.last + 1);
    RETURN_IF_ERROR(txn.Scan(Cf::kMessages, keys::Message(mailbox_id, range.first), until,
                             [&](absl::string_view, absl::string_view value) {
                               v1::MessageRecord& m = messages.emplace_back();
                               corrupt = !m.ParseFromString(std::string(value));
                               return !corrupt;
                             }));
    if (corrupt) {
      return absl::DataLossError(absl::StrCat("mailbox store ", txn.store()->dir(),
                                              ": a message record of mailbox ", mailbox_id,
                                              " does not parse"));
    }
  }
  return messages;
}

absl::StatusOr<std::vector<v1::MessageRecord>> LoadUidSet(const StoreTxn& txn, uint64_t mailbox_id,
                                                          absl::string_view uid_set,
                                                          absl::string_view field) {
  ASSIGN_OR_RETURN(UidSet set, UidSet::Parse(uid_set, field));
  ASSIGN_OR_RETURN(uint32_t largest, LargestUid(txn, mailbox_id));
  return LoadMessages(txn, mailbox_id, set.Resolve(largest));
}

v1::MailboxInfo ToMailboxInfo(const v1::MailboxRecord& mailbox) {
  v1::MailboxInfo info;
  info.set_mailbox_id(mailbox.mailbox_id());
  info.set_name(mailbox.name());
  info.set_special_use(mailbox.special_use());
  info.set_uidvalidity(mailbox.uidvalidity());
  info.set_uidnext(mailbox.uidnext());
  info.set_highest_modseq(mailbox.highest_modseq());
  info.set_total(mailbox.total());
  info.set_unseen(mailbox.unseen());
  info.set_size_bytes(mailbox.size_bytes());
  return info;
}

v1::MessageInfo ToMessageInfo(const v1::MessageRecord& message) {
  v1::MessageInfo info;
  info.set_uid(message.uid());
  info.set_modseq(message.modseq());
  for (std::string& name : SystemFlagNames(message.system_flags())) info.add_flags(std::move(name));
  for (const std::string& k : message.keywords()) info.add_keywords(k);
  info.set_internal_date_ms(message.internal_date_ms());
  info.set_size(message.size());
  info.set_content_sha256(message.content_sha256());
  return info;
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int length = 0;
  // Never fails with the default provider's SHA-256 and memory for 32 bytes.
  EVP_Digest(data.data(), data.size(), digest, &length, qbox::Sha256Md(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

}  // namespace qbox::mailbox

#include "node/mailbox/account_actions.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/message_ops.h"
#include "node/mailbox/records.h"

namespace qbox::mailbox {
namespace {

// Every key of `cf` starting with `prefix`. Collected first: a scan must
// not write to the transaction it reads.
absl::StatusOr<std::vector<std::string>> KeysWithPrefix(const StoreTxn& txn, Cf cf,
                                                        absl::string_view prefix) {
  std::vector<std::string> found;
  RETURN_IF_ERROR(txn.ScanPrefix(cf, prefix, [&](absl::string_view key, absl::string_view) {
    found.emplace_back(key);
    return true;
  }));
  return found;
}

absl::Status DeleteAll(StoreTxn& txn, Cf cf, absl::string_view prefix, uint64_t* count) {
  ASSIGN_OR_RETURN(std::vector<std::string> found, KeysWithPrefix(txn, cf, prefix));
  for (const std::string& key : found) txn.Delete(cf, key);
  if (count != nullptr) *count += found.size();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> PurgeAccountVault(StoreTxn& txn, absl::string_view account_name) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(txn, account_name, "account"));
  struct Entry {
    std::string key;
    v1::VaultRecord record;
  };
  std::vector<Entry> entries;
  bool corrupt = false;
  RETURN_IF_ERROR(txn.ScanPrefix(Cf::kVault, keys::AccountPrefix(account.account_id()),
                                 [&](absl::string_view key, absl::string_view value) {
                                   Entry entry{std::string(key), {}};
                                   if (!entry.record.ParseFromString(std::string(value))) {
                                     corrupt = true;
                                     return false;
                                   }
                                   entries.push_back(std::move(entry));
                                   return true;
                                 }));
  if (corrupt) {
    return absl::DataLossError(absl::StrCat("mailbox store ", txn.store()->dir(),
                                            ": bad vault record of account ", account_name));
  }
  uint64_t messages = 0;
  for (const Entry& entry : entries) {
    for (const v1::VaultedMessage& m : entry.record.messages()) {
      RETURN_IF_ERROR(DropBodyRef(txn, account.account_id(), m.content_sha256(), BodyRef::kVault));
      ++messages;
    }
    txn.Delete(Cf::kVault, entry.key);
  }
  return absl::StrCat("purged ", entries.size(), " vault entries (", messages,
                      " messages) of account ", account_name);
}

absl::StatusOr<std::string> DeleteAccountForGood(StoreTxn& txn, absl::string_view account_name) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(txn, account_name, "account"));
  const uint64_t id = account.account_id();
  // Mailboxes by their name index: each value is the mailbox id whose
  // record, messages and change index go with it.
  std::vector<std::pair<std::string, uint64_t>> mailboxes;
  RETURN_IF_ERROR(txn.ScanPrefix(Cf::kMailboxes, keys::MailboxNamePrefix(id),
                                 [&](absl::string_view key, absl::string_view value) {
                                   if (value.size() == 8) {
                                     mailboxes.emplace_back(std::string(key),
                                                            keys::ReadBigEndian64(value));
                                   }
                                   return true;
                                 }));
  uint64_t messages = 0;
  for (const auto& [name_key, mailbox_id] : mailboxes) {
    txn.Delete(Cf::kMailboxes, name_key);
    txn.Delete(Cf::kMailboxes, keys::MailboxById(mailbox_id));
    RETURN_IF_ERROR(DeleteAll(txn, Cf::kMessages, keys::MessagePrefix(mailbox_id), &messages));
    RETURN_IF_ERROR(DeleteAll(txn, Cf::kChanges, keys::MessagePrefix(mailbox_id), nullptr));
  }
  uint64_t vault_entries = 0;
  uint64_t scripts = 0;
  RETURN_IF_ERROR(DeleteAll(txn, Cf::kVault, keys::AccountPrefix(id), &vault_entries));
  RETURN_IF_ERROR(DeleteAll(txn, Cf::kSieve, keys::AccountPrefix(id), &scripts));
  // Bodies are kept per account, so every one of them goes.
  RETURN_IF_ERROR(DeleteAll(txn, Cf::kBodies, keys::AccountPrefix(id), nullptr));
  RETURN_IF_ERROR(DeleteAll(txn, Cf::kIdempotency, keys::Idempotency(account_name, ""), nullptr));
  txn.Delete(Cf::kAccounts, keys::Account(account_name));
  return absl::StrCat("deleted account ", account_name, " with ", mailboxes.size(), " mailboxes, ",
                      messages, " messages, ", vault_entries, " vault entries and ", scripts,
                      " sieve scripts");
}

}  // namespace qbox::mailbox

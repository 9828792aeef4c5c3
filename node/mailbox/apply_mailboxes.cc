// Accounts and mailboxes: create, quota, rename, delete (into the vault).
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/apply_ops.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/message_ops.h"
#include "node/mailbox/names.h"
#include "node/mailbox/records.h"

namespace qbox::mailbox {
namespace {

absl::Status ValidateSpecialUse(v1::SpecialUse use) {
  if (!v1::SpecialUse_IsValid(use)) {
    return absl::InvalidArgumentError(absl::StrCat("special_use: unknown value ", use));
  }
  return absl::OkStatus();
}

// Creates every missing ancestor of `name` (IMAP CREATE does the same).
absl::Status CreateMissingParents(ApplyContext& ctx, v1::AccountRecord* account,
                                  const std::string& name, uint32_t proposed_uidvalidity) {
  std::vector<std::string> missing;
  for (std::string parent = ParentMailboxName(name); !parent.empty();
       parent = ParentMailboxName(parent)) {
    ASSIGN_OR_RETURN(auto existing, FindMailbox(ctx.txn, account->account_id(), parent));
    if (existing.has_value()) break;
    missing.push_back(parent);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    RETURN_IF_ERROR(
        NewMailbox(ctx, account, *it, v1::SPECIAL_USE_NONE, proposed_uidvalidity).status());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::MailboxRecord> NewMailbox(ApplyContext& ctx, v1::AccountRecord* account,
                                             const std::string& name, v1::SpecialUse special_use,
                                             uint32_t proposed_uidvalidity) {
  if (account->last_uidvalidity() == UINT32_MAX) {
    return absl::ResourceExhaustedError(
        absl::StrCat("account: \"", account->name(), "\" has used every UIDVALIDITY value"));
  }
  ASSIGN_OR_RETURN(v1::IdCounters counters, LoadCounters(ctx.txn));
  v1::MailboxRecord mailbox;
  mailbox.set_mailbox_id(counters.next_mailbox_id());
  counters.set_next_mailbox_id(counters.next_mailbox_id() + 1);
  SaveCounters(ctx.txn, counters);
  mailbox.set_account_id(account->account_id());
  mailbox.set_name(name);
  mailbox.set_special_use(special_use);
  // Strictly increasing per account, so a re-created name always gets a
  // different UIDVALIDITY even if the leader's clock went backwards.
  const uint32_t uidvalidity = std::max(proposed_uidvalidity, account->last_uidvalidity() + 1);
  account->set_last_uidvalidity(uidvalidity);
  mailbox.set_uidvalidity(uidvalidity);
  mailbox.set_uidnext(1);
  mailbox.set_highest_modseq(1);
  SaveMailbox(ctx.txn, mailbox);
  ctx.txn.Put(Cf::kMailboxes, keys::MailboxName(account->account_id(), name),
              keys::BigEndian64(mailbox.mailbox_id()));
  return mailbox;
}

absl::Status CheckMaxMessageBytes(uint64_t max_message_bytes) {
  if (max_message_bytes > kMaxMessageBytesCeiling) {
    return absl::InvalidArgumentError(absl::StrCat("max_message_bytes: ", max_message_bytes,
                                                   " is more than the ", kMaxMessageBytesCeiling,
                                                   " bytes any node accepts"));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AddVaultEntry(ApplyContext& ctx, const v1::AccountRecord& account,
                                       v1::VaultRecord record) {
  ASSIGN_OR_RETURN(v1::IdCounters counters, LoadCounters(ctx.txn));
  record.set_vault_id(counters.next_vault_id());
  counters.set_next_vault_id(counters.next_vault_id() + 1);
  SaveCounters(ctx.txn, counters);
  record.set_deleted_at_ms(ctx.leader_time_ms);
  const int64_t retention_ms =
      ctx.charter_retention_ms > 0 ? ctx.charter_retention_ms : account.retention_ms();
  record.set_retention_ms(retention_ms);
  record.set_restorable_until_ms(ctx.leader_time_ms + retention_ms - kRestoreGraceMs);
  record.set_local_applied_ms(ctx.local_now_ms);
  ctx.txn.PutProto(Cf::kVault, keys::Vault(account.account_id(), record.vault_id()), record);
  return record.vault_id();
}

absl::Status ApplyCreateAccount(ApplyContext& ctx, const v1::CreateAccountCommand& cmd,
                                v1::CreateAccountResponse* out) {
  const v1::CreateAccountRequest& req = cmd.request();
  RETURN_IF_ERROR(ValidateAccountName(req.account(), "account"));
  ASSIGN_OR_RETURN(auto existing, ctx.txn.Get(Cf::kAccounts, keys::Account(req.account())));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("account: an account named \"", req.account(), "\" already exists"));
  }
  if (cmd.retention_ms() < 0) {
    return absl::InvalidArgumentError("retention_ms: must not be negative");
  }
  RETURN_IF_ERROR(CheckMaxMessageBytes(req.max_message_bytes()));
  ASSIGN_OR_RETURN(v1::IdCounters counters, LoadCounters(ctx.txn));
  v1::AccountRecord account;
  account.set_account_id(counters.next_account_id());
  counters.set_next_account_id(counters.next_account_id() + 1);
  SaveCounters(ctx.txn, counters);
  account.set_name(req.account());
  account.set_quota_bytes(req.quota_bytes());
  account.set_quota_messages(req.quota_messages());
  account.set_max_message_bytes(req.max_message_bytes() != 0 ? req.max_message_bytes()
                                                             : kDefaultMaxMessageBytes);
  account.set_retention_ms(cmd.retention_ms() != 0 ? cmd.retention_ms() : kDefaultRetentionMs);
  RETURN_IF_ERROR(NewMailbox(ctx, &account, std::string(kInbox), v1::SPECIAL_USE_NONE,
                             std::max<uint32_t>(cmd.inbox_uidvalidity(), 1))
                      .status());
  SaveAccount(ctx.txn, account);
  out->set_account(account.name());
  return absl::OkStatus();
}

absl::Status ApplySetQuota(ApplyContext& ctx, const v1::SetQuotaRequest& req,
                           v1::SetQuotaResponse*) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  RETURN_IF_ERROR(CheckMaxMessageBytes(req.max_message_bytes()));
  account.set_quota_bytes(req.quota_bytes());
  account.set_quota_messages(req.quota_messages());
  account.set_max_message_bytes(req.max_message_bytes() != 0 ? req.max_message_bytes()
                                                             : kDefaultMaxMessageBytes);
  SaveAccount(ctx.txn, account);
  return absl::OkStatus();
}

absl::Status ApplyCreateMailbox(ApplyContext& ctx, const v1::CreateMailboxCommand& cmd,
                                v1::CreateMailboxResponse* out) {
  const v1::CreateMailboxRequest& req = cmd.request();
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  RETURN_IF_ERROR(ValidateMailboxName(req.name(), "name"));
  RETURN_IF_ERROR(ValidateSpecialUse(req.special_use()));
  const std::string name = CanonicalMailboxName(req.name());
  ASSIGN_OR_RETURN(auto existing, FindMailbox(ctx.txn, account.account_id(), name));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "name: a mailbox named \"", name, "\" already exists in account \"", account.name(), "\""));
  }
  RETURN_IF_ERROR(CreateMissingParents(ctx, &account, name, cmd.uidvalidity()));
  ASSIGN_OR_RETURN(v1::MailboxRecord mailbox,
                   NewMailbox(ctx, &account, name, req.special_use(), cmd.uidvalidity()));
  SaveAccount(ctx.txn, account);
  *out->mutable_mailbox() = ToMailboxInfo(mailbox);
  return absl::OkStatus();
}

absl::Status ApplyRenameMailbox(ApplyContext& ctx, const v1::RenameMailboxRequest& req,
                                v1::RenameMailboxResponse* out) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  RETURN_IF_ERROR(ValidateMailboxName(req.name(), "name"));
  RETURN_IF_ERROR(ValidateMailboxName(req.new_name(), "new_name"));
  const std::string from = CanonicalMailboxName(req.name());
  const std::string to = CanonicalMailboxName(req.new_name());
  if (from == kInbox) {
    return absl::FailedPreconditionError("name: INBOX cannot be renamed");
  }
  ASSIGN_OR_RETURN(v1::MailboxRecord mailbox, LoadMailbox(ctx.txn, account, from, "name"));
  ASSIGN_OR_RETURN(auto clash, FindMailbox(ctx.txn, account.account_id(), to));
  if (clash.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("new_name: a mailbox named \"", to, "\" already exists"));
  }
  const std::string child_prefix = absl::StrCat(from, std::string(1, kHierarchySeparator));
  if (absl::StartsWith(to, child_prefix)) {
    return absl::InvalidArgumentError(absl::StrCat("new_name: \"", to, "\" is inside \"", from,
                                                   "\"; cannot move a mailbox into itself"));
  }
  // Collect the mailbox and its children first; the scan must not see its
  // own writes.
  std::vector<std::pair<std::string, uint64_t>> renames = {{from, mailbox.mailbox_id()}};
  const std::string name_prefix = keys::MailboxNamePrefix(account.account_id());
  RETURN_IF_ERROR(ctx.txn.ScanPrefix(Cf::kMailboxes, absl::StrCat(name_prefix, child_prefix),
                                     [&](absl::string_view key, absl::string_view value) {
                                       renames.emplace_back(
                                           std::string(key.substr(name_prefix.size())),
                                           keys::ReadBigEndian64(value));
                                       return true;
                                     }));
  RETURN_IF_ERROR(CreateMissingParents(ctx, &account, to, 0));
  for (const auto& [old_name, id] : renames) {
    v1::MailboxRecord record;
    ASSIGN_OR_RETURN(bool found, ctx.txn.GetProto(Cf::kMailboxes, keys::MailboxById(id), &record));
    if (!found) return absl::DataLossError(absl::StrCat("mailbox store: missing mailbox id ", id));
    const std::string new_name = absl::StrCat(to, old_name.substr(from.size()));
    ctx.txn.Delete(Cf::kMailboxes, keys::MailboxName(account.account_id(), old_name));
    ctx.txn.Put(Cf::kMailboxes, keys::MailboxName(account.account_id(), new_name),
                keys::BigEndian64(id));
    record.set_name(new_name);
    SaveMailbox(ctx.txn, record);
    if (id == mailbox.mailbox_id()) *out->mutable_mailbox() = ToMailboxInfo(record);
  }
  SaveAccount(ctx.txn, account);
  return absl::OkStatus();
}

absl::Status ApplyDeleteMailbox(ApplyContext& ctx, const v1::DeleteMailboxRequest& req,
                                v1::DeleteMailboxResponse* out) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  ASSIGN_OR_RETURN(v1::MailboxRecord mailbox, LoadMailbox(ctx.txn, account, req.name(), "name"));
  if (mailbox.name() == kInbox) {
    return absl::FailedPreconditionError("name: INBOX cannot be deleted");
  }
  bool has_children = false;
  RETURN_IF_ERROR(
      ctx.txn.ScanPrefix(Cf::kMailboxes,
                         absl::StrCat(keys::MailboxNamePrefix(account.account_id()), mailbox.name(),
                                      std::string(1, kHierarchySeparator)),
                         [&](absl::string_view, absl::string_view) {
                           has_children = true;
                           return false;
                         }));
  if (has_children) {
    return absl::FailedPreconditionError(absl::StrCat("name: mailbox \"", mailbox.name(),
                                                      "\" has child mailboxes; delete them first"));
  }
  ASSIGN_OR_RETURN(auto messages,
                   LoadMessages(ctx.txn, mailbox.mailbox_id(), {UidRange{1, UINT32_MAX}}));
  v1::VaultRecord vault;
  vault.set_whole_mailbox(true);
  vault.set_mailbox(mailbox.name());
  vault.set_special_use(mailbox.special_use());
  for (const v1::MessageRecord& m : messages) {
    v1::VaultedMessage* vm = vault.add_messages();
    vm->set_original_uid(m.uid());
    vm->set_system_flags(m.system_flags());
    *vm->mutable_keywords() = m.keywords();
    vm->set_internal_date_ms(m.internal_date_ms());
    vm->set_size(m.size());
    vm->set_content_sha256(m.content_sha256());
    RETURN_IF_ERROR(MoveBodyRef(ctx.txn, account.account_id(), m.content_sha256(), BodyRef::kLive,
                                BodyRef::kVault));
    ctx.txn.Delete(Cf::kMessages, keys::Message(mailbox.mailbox_id(), m.uid()));
    AddUsage(&account, -1, -static_cast<int64_t>(m.size()));
  }
  // The change log dies with the mailbox: a client holding the old
  // UIDVALIDITY must resync anyway.
  std::vector<std::string> change_keys;
  RETURN_IF_ERROR(ctx.txn.ScanPrefix(Cf::kChanges, keys::MessagePrefix(mailbox.mailbox_id()),
                                     [&](absl::string_view key, absl::string_view) {
                                       change_keys.emplace_back(key);
                                       return true;
                                     }));
  for (const std::string& key : change_keys) ctx.txn.Delete(Cf::kChanges, key);
  ctx.txn.Delete(Cf::kMailboxes, keys::MailboxById(mailbox.mailbox_id()));
  ctx.txn.Delete(Cf::kMailboxes, keys::MailboxName(account.account_id(), mailbox.name()));
  ASSIGN_OR_RETURN(uint64_t vault_id, AddVaultEntry(ctx, account, std::move(vault)));
  SaveAccount(ctx.txn, account);
  out->set_vault_id(vault_id);
  return absl::OkStatus();
}

}  // namespace qbox::mailbox

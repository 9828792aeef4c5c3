// The retention vault's restore (purging is local: vault_purge.cc) and the
// account's sieve scripts, which go into the vault when overwritten or
// deleted, like mail (G3).
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/apply_ops.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/message_ops.h"
#include "node/mailbox/names.h"
#include "node/mailbox/records.h"

namespace qbox::mailbox {
namespace {

// UIDVALIDITY proposal for mailboxes a restore re-creates: the leader's
// clock in seconds, as the leader would pick for CreateMailbox.
uint32_t UidvalidityFromLeaderTime(int64_t leader_time_ms) {
  const int64_t seconds = leader_time_ms / 1000;
  if (seconds <= 0) return 1;
  if (seconds >= UINT32_MAX) return UINT32_MAX - 1;
  return static_cast<uint32_t>(seconds);
}

// G3 for sieve scripts: `content`, the text script `name` had, goes into
// the vault like expunged mail, so that overwriting or deleting a script
// can be undone for R days.
absl::Status VaultSieveScript(ApplyContext& ctx, const v1::AccountRecord& account,
                              const std::string& name, std::string content) {
  v1::VaultRecord record;
  record.set_sieve_script(name);
  record.set_sieve_content(std::move(content));
  return AddVaultEntry(ctx, account, std::move(record)).status();
}

// Puts the script a vault entry holds back under its name; a different
// script of that name goes into the vault in its place.
absl::Status RestoreSieveScript(ApplyContext& ctx, const v1::AccountRecord& account,
                                const v1::VaultRecord& entry) {
  const std::string key = keys::Sieve(account.account_id(), entry.sieve_script());
  ASSIGN_OR_RETURN(auto current, ctx.txn.Get(Cf::kSieve, key));
  if (current.has_value() && *current != entry.sieve_content()) {
    RETURN_IF_ERROR(VaultSieveScript(ctx, account, entry.sieve_script(), *std::move(current)));
  }
  ctx.txn.Put(Cf::kSieve, key, entry.sieve_content());
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyRestoreDeleted(ApplyContext& ctx, const v1::RestoreDeletedRequest& req,
                                 v1::RestoreDeletedResponse* out) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  if (req.vault_ids().empty()) {
    return absl::InvalidArgumentError("vault_ids: name at least one vault entry");
  }
  if (!req.target_mailbox().empty()) {
    RETURN_IF_ERROR(ValidateMailboxName(req.target_mailbox(), "target_mailbox"));
  }
  std::set<uint64_t> seen;
  std::map<uint64_t, v1::MailboxRecord> touched;  // by mailbox id, saved at the end
  for (int i = 0; i < req.vault_ids_size(); ++i) {
    const std::string field = absl::StrCat("vault_ids[", i, "]");
    const uint64_t vault_id = req.vault_ids(i);
    if (!seen.insert(vault_id).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": vault entry ", vault_id, " is listed twice"));
    }
    v1::VaultRecord entry;
    ASSIGN_OR_RETURN(
        bool found,
        ctx.txn.GetProto(Cf::kVault, keys::Vault(account.account_id(), vault_id), &entry));
    if (!found) {
      return absl::NotFoundError(
          absl::StrCat(field, ": account \"", account.name(), "\" has no vault entry ", vault_id));
    }
    // A charter's R shortened by an executed proposal also shortens the
    // restore window of earlier deletions, as it does their purging.
    int64_t restorable_until = entry.restorable_until_ms();
    if (ctx.charter_retention_ms > 0) {
      restorable_until = std::min(
          restorable_until, entry.deleted_at_ms() + ctx.charter_retention_ms - kRestoreGraceMs);
    }
    if (ctx.leader_time_ms > restorable_until) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, ": vault entry ", vault_id, " is past its retention period and may be purged"));
    }
    if (!entry.sieve_script().empty()) {
      if (!req.target_mailbox().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "target_mailbox: ", field, " (vault entry ", vault_id, ") is the sieve script \"",
            entry.sieve_script(), "\", not mail; restore it without a target_mailbox"));
      }
      RETURN_IF_ERROR(RestoreSieveScript(ctx, account, entry));
      out->add_restored_sieve_scripts(entry.sieve_script());
      ctx.txn.Delete(Cf::kVault, keys::Vault(account.account_id(), vault_id));
      continue;
    }
    const std::string name =
        CanonicalMailboxName(req.target_mailbox().empty() ? entry.mailbox() : req.target_mailbox());
    ASSIGN_OR_RETURN(auto target, FindMailbox(ctx.txn, account.account_id(), name));
    if (target.has_value() && touched.count(target->mailbox_id())) {
      target = touched[target->mailbox_id()];
    }
    if (!target.has_value()) {
      if (!entry.whole_mailbox()) {
        return absl::NotFoundError(
            absl::StrCat(req.target_mailbox().empty() ? field : "target_mailbox", ": mailbox \"",
                         name, "\" does not exist; create it or pass another target_mailbox"));
      }
      // A deleted mailbox comes back under its name with a new UIDVALIDITY.
      ASSIGN_OR_RETURN(target, NewMailbox(ctx, &account, name, entry.special_use(),
                                          UidvalidityFromLeaderTime(ctx.leader_time_ms)));
    }
    uint64_t bytes = 0;
    for (const v1::VaultedMessage& vm : entry.messages()) bytes += vm.size();
    RETURN_IF_ERROR(CheckQuota(account, entry.messages_size(), bytes));
    for (const v1::VaultedMessage& vm : entry.messages()) {
      v1::MessageRecord message;
      message.set_system_flags(vm.system_flags());
      *message.mutable_keywords() = vm.keywords();
      message.set_internal_date_ms(vm.internal_date_ms());
      message.set_size(vm.size());
      message.set_content_sha256(vm.content_sha256());
      RETURN_IF_ERROR(MoveBodyRef(ctx.txn, account.account_id(), vm.content_sha256(),
                                  BodyRef::kVault, BodyRef::kLive));
      RETURN_IF_ERROR(InsertMessage(ctx.txn, &*target, std::move(message)).status());
    }
    AddUsage(&account, entry.messages_size(), bytes);
    out->set_restored_messages(out->restored_messages() + entry.messages_size());
    ctx.txn.Delete(Cf::kVault, keys::Vault(account.account_id(), vault_id));
    touched[target->mailbox_id()] = *target;
  }
  for (const auto& [id, mailbox] : touched) {
    SaveMailbox(ctx.txn, mailbox);
    *out->add_mailboxes() = ToMailboxInfo(mailbox);
  }
  SaveAccount(ctx.txn, account);
  return absl::OkStatus();
}

absl::Status ApplyPutSieveScript(ApplyContext& ctx, const v1::PutSieveScriptRequest& req,
                                 v1::PutSieveScriptResponse*) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  RETURN_IF_ERROR(ValidateSieveScriptName(req.name(), "name"));
  if (req.content().size() > kMaxSieveScriptBytes) {
    return absl::InvalidArgumentError(absl::StrCat("content: script is ", req.content().size(),
                                                   " bytes; the limit is ", kMaxSieveScriptBytes));
  }
  if (!IsValidUtf8(req.content())) {
    return absl::InvalidArgumentError("content: script is not valid UTF-8");
  }
  const std::string key = keys::Sieve(account.account_id(), req.name());
  ASSIGN_OR_RETURN(auto replaced, ctx.txn.Get(Cf::kSieve, key));
  if (replaced.has_value() && *replaced != req.content()) {
    RETURN_IF_ERROR(VaultSieveScript(ctx, account, req.name(), *std::move(replaced)));
  }
  ctx.txn.Put(Cf::kSieve, key, req.content());
  return absl::OkStatus();
}

absl::Status ApplyDeleteSieveScript(ApplyContext& ctx, const v1::DeleteSieveScriptRequest& req,
                                    v1::DeleteSieveScriptResponse*) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  RETURN_IF_ERROR(ValidateSieveScriptName(req.name(), "name"));
  const std::string key = keys::Sieve(account.account_id(), req.name());
  ASSIGN_OR_RETURN(auto existing, ctx.txn.Get(Cf::kSieve, key));
  if (!existing.has_value()) {
    return absl::NotFoundError(absl::StrCat("name: no sieve script named \"", req.name(), "\""));
  }
  if (account.active_sieve() == req.name()) {
    return absl::FailedPreconditionError(
        absl::StrCat("name: sieve script \"", req.name(), "\" is active; deactivate it first"));
  }
  RETURN_IF_ERROR(VaultSieveScript(ctx, account, req.name(), *std::move(existing)));
  ctx.txn.Delete(Cf::kSieve, key);
  return absl::OkStatus();
}

absl::Status ApplySetActiveSieveScript(ApplyContext& ctx,
                                       const v1::SetActiveSieveScriptRequest& req,
                                       v1::SetActiveSieveScriptResponse*) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  if (!req.name().empty()) {
    RETURN_IF_ERROR(ValidateSieveScriptName(req.name(), "name"));
    ASSIGN_OR_RETURN(auto existing,
                     ctx.txn.Get(Cf::kSieve, keys::Sieve(account.account_id(), req.name())));
    if (!existing.has_value()) {
      return absl::NotFoundError(absl::StrCat("name: no sieve script named \"", req.name(), "\""));
    }
  }
  account.set_active_sieve(req.name());
  SaveAccount(ctx.txn, account);
  return absl::OkStatus();
}

}  // namespace qbox::mailbox

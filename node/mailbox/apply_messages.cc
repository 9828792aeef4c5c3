// Messages: append, flag changes, copy, move and expunge (into the vault).
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/apply_ops.h"
#include "node/mailbox/flags.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/message_ops.h"
#include "node/mailbox/records.h"

namespace qbox::mailbox {
namespace {

v1::MessageRecord CopyOf(const v1::MessageRecord& source) {
  v1::MessageRecord copy = source;
  copy.clear_uid();
  copy.clear_modseq();
  return copy;
}

// Loads source and target for copy/move; the target is named by
// "target_mailbox".
struct CopyPlan {
  v1::AccountRecord account;
  v1::MailboxRecord source;
  v1::MailboxRecord target;
  std::vector<v1::MessageRecord> messages;
};

absl::StatusOr<CopyPlan> PlanCopy(ApplyContext& ctx, const std::string& account,
                                  const std::string& mailbox, const std::string& uid_set,
                                  const std::string& target_mailbox) {
  CopyPlan plan;
  ASSIGN_OR_RETURN(plan.account, LoadAccount(ctx.txn, account));
  ASSIGN_OR_RETURN(plan.source, LoadMailbox(ctx.txn, plan.account, mailbox, "mailbox"));
  ASSIGN_OR_RETURN(plan.target,
                   LoadMailbox(ctx.txn, plan.account, target_mailbox, "target_mailbox"));
  ASSIGN_OR_RETURN(plan.messages,
                   LoadUidSet(ctx.txn, plan.source.mailbox_id(), uid_set, "uid_set"));
  return plan;
}

}  // namespace

absl::Status ApplyAppendMessage(ApplyContext& ctx, const v1::AppendMessageCommand& cmd,
                                v1::AppendMessageResponse* out) {
  const v1::AppendMessageRequest& req = cmd.request();
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  ASSIGN_OR_RETURN(v1::MailboxRecord mailbox,
                   LoadMailbox(ctx.txn, account, req.mailbox(), "mailbox"));
  if (req.body().empty()) return absl::InvalidArgumentError("body: must not be empty");
  if (req.body().size() > std::min(account.max_message_bytes(), kMaxMessageBytesCeiling)) {
    return absl::InvalidArgumentError(absl::StrCat("body: message of ", req.body().size(),
                                                   " bytes exceeds the limit of ",
                                                   account.max_message_bytes(), " bytes"));
  }
  ASSIGN_OR_RETURN(uint32_t flags, ParseSystemFlags(req.flags(), "flags"));
  ASSIGN_OR_RETURN(std::vector<std::string> keywords,
                   NormalizeKeywords(req.keywords(), "keywords"));
  RETURN_IF_ERROR(CheckQuota(account, 1, req.body().size()));

  v1::MessageRecord message;
  message.set_system_flags(flags);
  for (std::string& k : keywords) message.add_keywords(std::move(k));
  message.set_internal_date_ms(cmd.internal_date_ms());
  message.set_size(req.body().size());
  message.set_content_sha256(Sha256(req.body()));
  RETURN_IF_ERROR(AddBodyRef(ctx.txn, account.account_id(), message.content_sha256(),
                             BodyRef::kLive, req.body()));
  ASSIGN_OR_RETURN(message, InsertMessage(ctx.txn, &mailbox, std::move(message)));
  AddUsage(&account, 1, req.body().size());
  SaveMailbox(ctx.txn, mailbox);
  SaveAccount(ctx.txn, account);
  out->set_uidvalidity(mailbox.uidvalidity());
  out->set_uid(message.uid());
  out->set_modseq(message.modseq());
  out->set_commit_index(ctx.index);
  return absl::OkStatus();
}

absl::Status ApplyStoreFlags(ApplyContext& ctx, const v1::StoreFlagsRequest& req,
                             v1::StoreFlagsResponse* out) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  ASSIGN_OR_RETURN(v1::MailboxRecord mailbox,
                   LoadMailbox(ctx.txn, account, req.mailbox(), "mailbox"));
  if (!v1::FlagOperation_IsValid(req.operation()) ||
      req.operation() == v1::FLAG_OPERATION_UNSPECIFIED) {
    return absl::InvalidArgumentError("operation: must be ADD, REMOVE or REPLACE");
  }
  ASSIGN_OR_RETURN(uint32_t flags, ParseSystemFlags(req.flags(), "flags"));
  ASSIGN_OR_RETURN(std::vector<std::string> keywords,
                   NormalizeKeywords(req.keywords(), "keywords"));
  ASSIGN_OR_RETURN(auto messages,
                   LoadUidSet(ctx.txn, mailbox.mailbox_id(), req.uid_set(), "uid_set"));

  for (v1::MessageRecord& m : messages) {
    if (req.has_unchanged_since() && m.modseq() > req.unchanged_since()) {
      out->add_modified(m.uid());
      continue;
    }
    std::vector<std::string> new_keywords(m.keywords().begin(), m.keywords().end());
    uint32_t new_flags = m.system_flags();
    switch (req.operation()) {
      case v1::FLAG_OPERATION_ADD:
        new_flags |= flags;
        new_keywords.insert(new_keywords.end(), keywords.begin(), keywords.end());
        break;
      case v1::FLAG_OPERATION_REMOVE:
        new_flags &= ~flags;
        for (const std::string& k : keywords) {
          new_keywords.erase(std::remove(new_keywords.begin(), new_keywords.end(), k),
                             new_keywords.end());
        }
        break;
      default:  // REPLACE
        new_flags = flags;
        new_keywords = keywords;
        break;
    }
    std::sort(new_keywords.begin(), new_keywords.end());
    new_keywords.erase(std::unique(new_keywords.begin(), new_keywords.end()), new_keywords.end());
    const bool changed =
        new_flags != m.system_flags() || !std::equal(new_keywords.begin(), new_keywords.end(),
                                                     m.keywords().begin(), m.keywords().end());
    // An unchanged message keeps its MODSEQ: nothing happened to it.
    if (changed) ReplaceFlags(ctx.txn, &mailbox, &m, new_flags, new_keywords);
    *out->add_updated() = ToMessageInfo(m);
  }
  SaveMailbox(ctx.txn, mailbox);
  out->set_highest_modseq(mailbox.highest_modseq());
  return absl::OkStatus();
}

absl::Status ApplyCopyMessages(ApplyContext& ctx, const v1::CopyMessagesRequest& req,
                               v1::CopyMessagesResponse* out) {
  ASSIGN_OR_RETURN(CopyPlan plan, PlanCopy(ctx, req.account(), req.mailbox(), req.uid_set(),
                                           req.target_mailbox()));
  uint64_t bytes = 0;
  for (const v1::MessageRecord& m : plan.messages) bytes += m.size();
  RETURN_IF_ERROR(CheckQuota(plan.account, plan.messages.size(), bytes));
  // Copying into the same mailbox must see the UIDNEXT the copies advance.
  v1::MailboxRecord* target =
      plan.target.mailbox_id() == plan.source.mailbox_id() ? &plan.source : &plan.target;
  for (const v1::MessageRecord& m : plan.messages) {
    RETURN_IF_ERROR(
        AddBodyRef(ctx.txn, plan.account.account_id(), m.content_sha256(), BodyRef::kLive, ""));
    ASSIGN_OR_RETURN(v1::MessageRecord copy, InsertMessage(ctx.txn, target, CopyOf(m)));
    out->add_source_uids(m.uid());
    out->add_target_uids(copy.uid());
  }
  AddUsage(&plan.account, plan.messages.size(), bytes);
  SaveMailbox(ctx.txn, *target);
  SaveAccount(ctx.txn, plan.account);
  out->set_target_uidvalidity(target->uidvalidity());
  return absl::OkStatus();
}

absl::Status ApplyMoveMessages(ApplyContext& ctx, const v1::MoveMessagesRequest& req,
                               v1::MoveMessagesResponse* out) {
  ASSIGN_OR_RETURN(CopyPlan plan, PlanCopy(ctx, req.account(), req.mailbox(), req.uid_set(),
                                           req.target_mailbox()));
  if (plan.source.mailbox_id() == plan.target.mailbox_id()) {
    return absl::InvalidArgumentError(
        "target_mailbox: is the same as mailbox; a message cannot move onto itself");
  }
  // The body keeps its one live reference; only the message record moves.
  for (const v1::MessageRecord& m : plan.messages) {
    RemoveMessage(ctx.txn, &plan.source, m);
    ASSIGN_OR_RETURN(v1::MessageRecord moved, InsertMessage(ctx.txn, &plan.target, CopyOf(m)));
    out->add_source_uids(m.uid());
    out->add_target_uids(moved.uid());
  }
  RETURN_IF_ERROR(
      PruneVanished(ctx.txn, &plan.source, plan.messages.size(), ctx.max_vanished_records));
  SaveMailbox(ctx.txn, plan.source);
  SaveMailbox(ctx.txn, plan.target);
  out->set_target_uidvalidity(plan.target.uidvalidity());
  return absl::OkStatus();
}

absl::Status ApplyExpungeMessages(ApplyContext& ctx, const v1::ExpungeMessagesRequest& req,
                                  v1::ExpungeMessagesResponse* out) {
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(ctx.txn, req.account()));
  ASSIGN_OR_RETURN(v1::MailboxRecord mailbox,
                   LoadMailbox(ctx.txn, account, req.mailbox(), "mailbox"));
  std::vector<v1::MessageRecord> candidates;
  if (req.uid_set().empty()) {
    ASSIGN_OR_RETURN(candidates,
                     LoadMessages(ctx.txn, mailbox.mailbox_id(), {UidRange{1, UINT32_MAX}}));
  } else {
    ASSIGN_OR_RETURN(candidates,
                     LoadUidSet(ctx.txn, mailbox.mailbox_id(), req.uid_set(), "uid_set"));
  }
  v1::VaultRecord vault;
  vault.set_mailbox(mailbox.name());
  for (const v1::MessageRecord& m : candidates) {
    if (req.only_deleted() && (m.system_flags() & kFlagDeleted) == 0) continue;
    v1::VaultedMessage* vm = vault.add_messages();
    vm->set_original_uid(m.uid());
    vm->set_system_flags(m.system_flags());
    *vm->mutable_keywords() = m.keywords();
    vm->set_internal_date_ms(m.internal_date_ms());
    vm->set_size(m.size());
    vm->set_content_sha256(m.content_sha256());
    RETURN_IF_ERROR(MoveBodyRef(ctx.txn, account.account_id(), m.content_sha256(), BodyRef::kLive,
                                BodyRef::kVault));
    RemoveMessage(ctx.txn, &mailbox, m);
    AddUsage(&account, -1, -static_cast<int64_t>(m.size()));
    out->add_expunged(m.uid());
  }
  if (vault.messages_size() > 0) {
    ASSIGN_OR_RETURN(uint64_t vault_id, AddVaultEntry(ctx, account, std::move(vault)));
    out->set_vault_id(vault_id);
  }
  RETURN_IF_ERROR(PruneVanished(ctx.txn, &mailbox, out->expunged_size(), ctx.max_vanished_records));
  SaveMailbox(ctx.txn, mailbox);
  SaveAccount(ctx.txn, account);
  out->set_highest_modseq(mailbox.highest_modseq());
  return absl::OkStatus();
}

}  // namespace qbox::mailbox

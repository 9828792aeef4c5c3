#include "node/server/mailstore_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/change_pages.h"
#include "node/mailbox/flags.h"
#include "node/mailbox/names.h"
#include "node/mailbox/uid_set.h"
#include "node/server/grpc_status.h"
#include "node/server/node_metrics.h"
#include "node/server/service_helpers.h"

namespace qbox::server {
namespace {

using mailbox::CanonicalMailboxName;
using mailbox::ValidateAccountName;
using mailbox::ValidateMailboxName;
using Result = v1::CommandResult;

constexpr absl::string_view kRole = "frontend";

// ---- argument checks: pure, run before anything is proposed or read ----

absl::Status ValidateOptionalKey(bool has_key, const std::string& key) {
  if (!has_key) return absl::OkStatus();
  return mailbox::ValidateIdempotencyKey(key, "idempotency_key");
}

absl::Status ValidateUidSet(const std::string& text) {
  return mailbox::UidSet::Parse(text, "uid_set").status();
}

absl::Status ValidateFlagsAndKeywords(const mailbox::StringList& flags,
                                      const mailbox::StringList& keywords) {
  RETURN_IF_ERROR(mailbox::ParseSystemFlags(flags, "flags").status());
  return mailbox::NormalizeKeywords(keywords, "keywords").status();
}

absl::Status ValidateAccountAndMailbox(const std::string& account, const std::string& name,
                                       absl::string_view field) {
  RETURN_IF_ERROR(ValidateAccountName(account, "account"));
  return ValidateMailboxName(name, field);
}

absl::Status Validate(const v1::GetChangesRequest& req) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.mailbox(), "mailbox"));
  return mailbox::ResolveMaxChanges(req.max_changes(), "max_changes").status();
}

absl::Status Validate(const v1::CreateMailboxRequest& req) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.name(), "name"));
  if (!v1::SpecialUse_IsValid(req.special_use())) {
    return absl::InvalidArgumentError(
        absl::StrCat("special_use: unknown value ", req.special_use()));
  }
  return ValidateOptionalKey(req.has_idempotency_key(), req.idempotency_key());
}

absl::Status Validate(const v1::RenameMailboxRequest& req) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.name(), "name"));
  RETURN_IF_ERROR(ValidateMailboxName(req.new_name(), "new_name"));
  if (CanonicalMailboxName(req.name()) == mailbox::kInbox) {
    return absl::FailedPreconditionError("name: INBOX cannot be renamed");
  }
  return absl::OkStatus();
}

absl::Status Validate(const v1::DeleteMailboxRequest& req) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.name(), "name"));
  if (CanonicalMailboxName(req.name()) == mailbox::kInbox) {
    return absl::FailedPreconditionError("name: INBOX cannot be deleted");
  }
  return absl::OkStatus();
}

absl::Status Validate(const v1::AppendMessageRequest& req, uint64_t max_message_bytes) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.mailbox(), "mailbox"));
  if (req.body().empty()) return absl::InvalidArgumentError("body: must not be empty");
  if (req.body().size() > max_message_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("body: message of ", req.body().size(),
                                                   " bytes exceeds this node's limit of ",
                                                   max_message_bytes, " bytes"));
  }
  RETURN_IF_ERROR(ValidateFlagsAndKeywords(req.flags(), req.keywords()));
  if (req.has_internal_date_ms() && req.internal_date_ms() < 0) {
    return absl::InvalidArgumentError("internal_date_ms: must not be before 1970");
  }
  return ValidateOptionalKey(req.has_idempotency_key(), req.idempotency_key());
}

absl::Status Validate(const v1::FetchMessagesRequest& req) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.mailbox(), "mailbox"));
  return ValidateUidSet(req.uid_set());
}

absl::Status Validate(const v1::StoreFlagsRequest& req) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.mailbox(), "mailbox"));
  RETURN_IF_ERROR(ValidateUidSet(req.uid_set()));
  if (!v1::FlagOperation_IsValid(req.operation()) ||
      req.operation() == v1::FLAG_OPERATION_UNSPECIFIED) {
    return absl::InvalidArgumentError("operation: must be ADD, REMOVE or REPLACE");
  }
  return ValidateFlagsAndKeywords(req.flags(), req.keywords());
}

// Copy and move share their shape.
template <typename Request>
absl::Status ValidateTransfer(const Request& req) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.mailbox(), "mailbox"));
  RETURN_IF_ERROR(ValidateUidSet(req.uid_set()));
  RETURN_IF_ERROR(ValidateMailboxName(req.target_mailbox(), "target_mailbox"));
  return ValidateOptionalKey(req.has_idempotency_key(), req.idempotency_key());
}

absl::Status Validate(const v1::ExpungeMessagesRequest& req) {
  RETURN_IF_ERROR(ValidateAccountAndMailbox(req.account(), req.mailbox(), "mailbox"));
  // An empty set means every message in the mailbox.
  if (req.uid_set().empty()) return absl::OkStatus();
  return ValidateUidSet(req.uid_set());
}

absl::Status Validate(const v1::RestoreDeletedRequest& req) {
  RETURN_IF_ERROR(ValidateAccountName(req.account(), "account"));
  if (req.vault_ids().empty()) {
    return absl::InvalidArgumentError("vault_ids: name at least one vault entry");
  }
  if (!req.target_mailbox().empty()) {
    RETURN_IF_ERROR(ValidateMailboxName(req.target_mailbox(), "target_mailbox"));
  }
  return ValidateOptionalKey(req.has_idempotency_key(), req.idempotency_key());
}

absl::Status Validate(const v1::PutSieveScriptRequest& req) {
  RETURN_IF_ERROR(ValidateAccountName(req.account(), "account"));
  RETURN_IF_ERROR(mailbox::ValidateSieveScriptName(req.name(), "name"));
  if (req.content().size() > mailbox::kMaxSieveScriptBytes) {
    return absl::InvalidArgumentError(absl::StrCat("content: script is ", req.content().size(),
                                                   " bytes; the limit is ",
                                                   mailbox::kMaxSieveScriptBytes));
  }
  if (!mailbox::IsValidUtf8(req.content())) {
    return absl::InvalidArgumentError("content: script is not valid UTF-8");
  }
  return absl::OkStatus();
}

absl::Status ValidateScriptName(const std::string& account, const std::string& name) {
  RETURN_IF_ERROR(ValidateAccountName(account, "account"));
  return mailbox::ValidateSieveScriptName(name, "name");
}

}  // namespace

// ---- the three steps every call shares ----

grpc::Status MailStoreService::Admit(const grpc::ServerContextBase& call,
                                     const absl::Status& validation) const {
  if (grpc::Status s = AuthorizeCall(*ctx_, call, kRole); !s.ok()) return s;
  return ToGrpcStatus(validation);
}

grpc::Status MailStoreService::Write(const grpc::ServerContext& call, v1::MailboxCommand command,
                                     Result::ResultCase expected, Result* result) const {
  return ProposeCommand(*ctx_, std::move(command), CallDeadline(*ctx_, call), expected, result);
}

grpc::Status MailStoreService::BeforeRead(const grpc::ServerContext& call,
                                          bool stale_read_ok) const {
  return ReadBarrierUnlessStale(*ctx_, CallDeadline(*ctx_, call), stale_read_ok);
}

// ---- mailboxes ----

grpc::Status MailStoreService::CreateMailbox(grpc::ServerContext* call,
                                             const v1::CreateMailboxRequest* req,
                                             v1::CreateMailboxResponse* resp) {
  if (grpc::Status s = Admit(*call, Validate(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_create_mailbox()->mutable_request() = *req;
  command.mutable_create_mailbox()->set_uidvalidity(ProposerUidValidity());
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kCreateMailbox, &result);
  if (s.ok()) *resp = std::move(*result.mutable_create_mailbox());
  return s;
}

grpc::Status MailStoreService::ListMailboxes(grpc::ServerContext* call,
                                             const v1::ListMailboxesRequest* req,
                                             v1::ListMailboxesResponse* resp) {
  if (grpc::Status s = Admit(*call, ValidateAccountName(req->account(), "account")); !s.ok()) {
    return s;
  }
  if (grpc::Status s = BeforeRead(*call, false); !s.ok()) return s;
  auto listed = ctx_->mailbox->ListMailboxes(*req);
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  *resp = std::move(*listed);
  return grpc::Status::OK;
}

grpc::Status MailStoreService::RenameMailbox(grpc::ServerContext* call,
                                             const v1::RenameMailboxRequest* req,
                                             v1::RenameMailboxResponse* resp) {
  if (grpc::Status s = Admit(*call, Validate(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_rename_mailbox() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kRenameMailbox, &result);
  if (s.ok()) *resp = std::move(*result.mutable_rename_mailbox());
  return s;
}

grpc::Status MailStoreService::DeleteMailbox(grpc::ServerContext* call,
                                             const v1::DeleteMailboxRequest* req,
                                             v1::DeleteMailboxResponse* resp) {
  if (grpc::Status s = Admit(*call, Validate(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_delete_mailbox() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kDeleteMailbox, &result);
  if (s.ok()) *resp = std::move(*result.mutable_delete_mailbox());
  return s;
}

// ---- messages ----

grpc::ServerUnaryReactor* MailStoreService::AppendMessage(grpc::CallbackServerContext* call,
                                                          const v1::AppendMessageRequest* req,
                                                          v1::AppendMessageResponse* resp) {
  grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
  if (grpc::Status s = Admit(*call, Validate(*req, ctx_->max_message_bytes)); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  v1::MailboxCommand command;
  v1::AppendMessageCommand* append = command.mutable_append_message();
  *append->mutable_request() = *req;
  // The date is fixed here, once, so that every replica stores the same one.
  append->set_internal_date_ms(req->has_internal_date_ms() ? req->internal_date_ms()
                                                           : ProposerClockMs());
  // `resp` stays valid until Finish; the runtime calls back exactly once
  // (at the latest at the deadline, or when it stops), even if the client
  // went away meanwhile.
  ProposeCommandAsync(*ctx_, std::move(command), CallDeadline(*ctx_, *call), Result::kAppendMessage,
                      [reactor, resp](grpc::Status status, Result result) {
                        if (status.ok()) *resp = std::move(*result.mutable_append_message());
                        reactor->Finish(status);
                      });
  return reactor;
}

grpc::Status MailStoreService::FetchMessages(
    grpc::ServerContext* call, const v1::FetchMessagesRequest* req,
    grpc::ServerWriter<v1::FetchMessagesResponse>* writer) {
  if (grpc::Status s = Admit(*call, Validate(*req)); !s.ok()) return s;
  if (grpc::Status s = BeforeRead(*call, req->stale_read_ok()); !s.ok()) return s;
  bool stream_broken = false;
  absl::Status read = ctx_->mailbox->FetchMessages(*req, [&](v1::FetchMessagesResponse message) {
    // Reading bodies the client will never receive is wasted disk I/O.
    if (call->IsCancelled()) return false;
    if (!writer->Write(message)) {
      stream_broken = true;
      return false;
    }
    return true;
  });
  if (!read.ok()) return ToGrpcStatus(read);
  if (stream_broken || call->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away during the fetch");
  }
  return grpc::Status::OK;
}

grpc::Status MailStoreService::StoreFlags(grpc::ServerContext* call,
                                          const v1::StoreFlagsRequest* req,
                                          v1::StoreFlagsResponse* resp) {
  if (grpc::Status s = Admit(*call, Validate(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_store_flags() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kStoreFlags, &result);
  if (s.ok()) *resp = std::move(*result.mutable_store_flags());
  return s;
}

grpc::Status MailStoreService::CopyMessages(grpc::ServerContext* call,
                                            const v1::CopyMessagesRequest* req,
                                            v1::CopyMessagesResponse* resp) {
  if (grpc::Status s = Admit(*call, ValidateTransfer(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_copy_messages() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kCopyMessages, &result);
  if (s.ok()) *resp = std::move(*result.mutable_copy_messages());
  return s;
}

grpc::Status MailStoreService::MoveMessages(grpc::ServerContext* call,
                                            const v1::MoveMessagesRequest* req,
                                            v1::MoveMessagesResponse* resp) {
  if (grpc::Status s = Admit(*call, ValidateTransfer(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_move_messages() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kMoveMessages, &result);
  if (s.ok()) *resp = std::move(*result.mutable_move_messages());
  return s;
}

grpc::Status MailStoreService::ExpungeMessages(grpc::ServerContext* call,
                                               const v1::ExpungeMessagesRequest* req,
                                               v1::ExpungeMessagesResponse* resp) {
  if (grpc::Status s = Admit(*call, Validate(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_expunge_messages() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kExpungeMessages, &result);
  if (s.ok()) {
    *resp = std::move(*result.mutable_expunge_messages());
    // Stolen front-end credentials can only soft-delete; count what they
    // move to the vault so that an alert can fire on a mass expunge.
    if (ctx_->metrics != nullptr) ctx_->metrics->RecordExpunged(resp->expunged_size());
  }
  return s;
}

grpc::Status MailStoreService::GetChanges(grpc::ServerContext* call,
                                          const v1::GetChangesRequest* req,
                                          v1::GetChangesResponse* resp) {
  grpc::Status s = Admit(*call, Validate(*req));
  if (!s.ok()) return s;
  if (s = BeforeRead(*call, req->stale_read_ok()); !s.ok()) return s;
  auto changes = ctx_->mailbox->GetChanges(*req);
  if (!changes.ok()) return ToGrpcStatus(changes.status());
  *resp = std::move(*changes);
  return grpc::Status::OK;
}

// ---- the retention vault ----

grpc::Status MailStoreService::ListDeleted(grpc::ServerContext* call,
                                           const v1::ListDeletedRequest* req,
                                           v1::ListDeletedResponse* resp) {
  if (grpc::Status s = Admit(*call, ValidateAccountName(req->account(), "account")); !s.ok()) {
    return s;
  }
  if (grpc::Status s = BeforeRead(*call, false); !s.ok()) return s;
  auto listed = ctx_->mailbox->ListDeleted(*req);
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  *resp = std::move(*listed);
  return grpc::Status::OK;
}

grpc::Status MailStoreService::RestoreDeleted(grpc::ServerContext* call,
                                              const v1::RestoreDeletedRequest* req,
                                              v1::RestoreDeletedResponse* resp) {
  if (grpc::Status s = Admit(*call, Validate(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_restore_deleted() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kRestoreDeleted, &result);
  if (s.ok()) *resp = std::move(*result.mutable_restore_deleted());
  return s;
}

// ---- sieve scripts ----

grpc::Status MailStoreService::PutSieveScript(grpc::ServerContext* call,
                                              const v1::PutSieveScriptRequest* req,
                                              v1::PutSieveScriptResponse* resp) {
  if (grpc::Status s = Admit(*call, Validate(*req)); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_put_sieve_script() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kPutSieveScript, &result);
  if (s.ok()) *resp = std::move(*result.mutable_put_sieve_script());
  return s;
}

grpc::Status MailStoreService::GetSieveScript(grpc::ServerContext* call,
                                              const v1::GetSieveScriptRequest* req,
                                              v1::GetSieveScriptResponse* resp) {
  if (grpc::Status s = Admit(*call, ValidateScriptName(req->account(), req->name())); !s.ok()) {
    return s;
  }
  if (grpc::Status s = BeforeRead(*call, false); !s.ok()) return s;
  auto script = ctx_->mailbox->GetSieveScript(*req);
  if (!script.ok()) return ToGrpcStatus(script.status());
  *resp = std::move(*script);
  return grpc::Status::OK;
}

grpc::Status MailStoreService::ListSieveScripts(grpc::ServerContext* call,
                                                const v1::ListSieveScriptsRequest* req,
                                                v1::ListSieveScriptsResponse* resp) {
  if (grpc::Status s = Admit(*call, ValidateAccountName(req->account(), "account")); !s.ok()) {
    return s;
  }
  if (grpc::Status s = BeforeRead(*call, false); !s.ok()) return s;
  auto listed = ctx_->mailbox->ListSieveScripts(*req);
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  *resp = std::move(*listed);
  return grpc::Status::OK;
}

grpc::Status MailStoreService::DeleteSieveScript(grpc::ServerContext* call,
                                                 const v1::DeleteSieveScriptRequest* req,
                                                 v1::DeleteSieveScriptResponse* resp) {
  if (grpc::Status s = Admit(*call, ValidateScriptName(req->account(), req->name())); !s.ok()) {
    return s;
  }
  v1::MailboxCommand command;
  *command.mutable_delete_sieve_script() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kDeleteSieveScript, &result);
  if (s.ok()) *resp = std::move(*result.mutable_delete_sieve_script());
  return s;
}

grpc::Status MailStoreService::SetActiveSieveScript(grpc::ServerContext* call,
                                                    const v1::SetActiveSieveScriptRequest* req,
                                                    v1::SetActiveSieveScriptResponse* resp) {
  // An empty name deactivates every script.
  absl::Status valid = req->name().empty() ? ValidateAccountName(req->account(), "account")
                                           : ValidateScriptName(req->account(), req->name());
  if (grpc::Status s = Admit(*call, valid); !s.ok()) return s;
  v1::MailboxCommand command;
  *command.mutable_set_active_sieve_script() = *req;
  Result result;
  grpc::Status s = Write(*call, std::move(command), Result::kSetActiveSieveScript, &result);
  if (s.ok()) *resp = std::move(*result.mutable_set_active_sieve_script());
  return s;
}

// ---- quota ----

grpc::Status MailStoreService::GetQuota(grpc::ServerContext* call, const v1::GetQuotaRequest* req,
                                        v1::GetQuotaResponse* resp) {
  if (grpc::Status s = Admit(*call, ValidateAccountName(req->account(), "account")); !s.ok()) {
    return s;
  }
  if (grpc::Status s = BeforeRead(*call, false); !s.ok()) return s;
  auto quota = ctx_->mailbox->GetQuota(*req);
  if (!quota.ok()) return ToGrpcStatus(quota.status());
  *resp = std::move(*quota);
  // This node refuses larger bodies before the account's limit is consulted.
  if (resp->max_message_bytes() == 0 || resp->max_message_bytes() > ctx_->max_message_bytes) {
    resp->set_max_message_bytes(ctx_->max_message_bytes);
  }
  return grpc::Status::OK;
}

}  // namespace qbox::server

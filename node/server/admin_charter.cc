// Admin: the charter, its proposals, the audit log and checkpoints
// (DESIGN.md G2, G5). Signed statements are proposed as they came: each
// node verifies every signature itself when it applies the entry (a
// refused one is still written to the audit log, so every attempt is
// visible), and the caller gets the state machine's verdict.
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/guard/proposal_rules.h"
#include "node/server/admin_service.h"
#include "node/server/grpc_status.h"
#include "node/server/service_helpers.h"

namespace qbox::server {
namespace {

constexpr absl::string_view kRole = "admin";
constexpr size_t kMaxSignedBytes = 64 << 10;  // a statement is a few hundred bytes

grpc::Status Invalid(absl::string_view what) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(what));
}

// Syntax only: whether the signature verifies is decided by every node at
// apply time, where a refusal is audited.
grpc::Status CheckSignedShape(absl::string_view field, absl::string_view bytes_name,
                              const std::string& bytes, bool has_signature,
                              const v1::Signature& signature) {
  if (bytes.empty()) return Invalid(absl::StrCat(field, ".", bytes_name, ": must not be empty"));
  if (bytes.size() > kMaxSignedBytes) {
    return Invalid(absl::StrCat(field, ".", bytes_name, ": ", bytes.size(),
                                " bytes is more than a signed statement may hold (",
                                kMaxSignedBytes, ")"));
  }
  if (!has_signature) return Invalid(absl::StrCat(field, ".signature: missing"));
  if (signature.certificate_pem().empty()) {
    return Invalid(absl::StrCat(field, ".signature.certificate_pem: must not be empty"));
  }
  if (signature.signature().empty()) {
    return Invalid(absl::StrCat(field, ".signature.signature: must not be empty"));
  }
  if (signature.certificate_pem().size() > kMaxSignedBytes ||
      signature.signature().size() > 1024) {
    return Invalid(absl::StrCat(field, ".signature: too large"));
  }
  return grpc::Status::OK;
}

// Proposes a command carrying a signed statement on behalf of `caller` and
// returns the proposal as applied (or the state machine's refusal).
grpc::Status ProposeSigned(const ServiceContext& ctx, const grpc::ServerContext& call,
                           const guard::PeerIdentity& caller, v1::MailboxCommand command,
                           absl::string_view verb, v1::ProposalRecord* proposal) {
  command.set_actor(caller.ToString());
  v1::CommandResult result;
  grpc::Status s = ProposeCommand(ctx, std::move(command), CallDeadline(ctx, call),
                                  v1::CommandResult::kProposal, &result);
  if (!s.ok()) return s;
  *proposal = std::move(*result.mutable_proposal());
  if (ctx.logger) {
    ctx.logger(absl::StrCat(caller.ToString(), " ", verb, " ", proposal->proposal_id(), " (now ",
                            guard::ProposalStateName(proposal->state()), ")"));
  }
  return grpc::Status::OK;
}

}  // namespace

grpc::Status AdminService::GetCharter(grpc::ServerContext* call, const v1::GetCharterRequest*,
                                      v1::GetCharterResponse* resp) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  if (grpc::Status s = ReadBarrierUnlessStale(*ctx_, CallDeadline(*ctx_, *call), false); !s.ok()) {
    return s;
  }
  auto charter = ctx_->mailbox->GetCharter();
  if (!charter.ok()) return ToGrpcStatus(charter.status());
  *resp->mutable_charter() = *std::move(charter);
  resp->set_applied_index(ctx_->mailbox->applied_index());
  resp->set_reporter(ctx_->self.QualifiedName());
  return grpc::Status::OK;
}

grpc::Status AdminService::SubmitProposal(grpc::ServerContext* call,
                                          const v1::SubmitProposalRequest* req,
                                          v1::SubmitProposalResponse* resp) {
  guard::PeerIdentity caller;
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole, &caller); !s.ok()) return s;
  if (!req->has_proposal()) return Invalid("proposal: missing");
  if (grpc::Status s = CheckSignedShape("proposal", "body", req->proposal().body(),
                                        req->proposal().has_signature(),
                                        req->proposal().signature());
      !s.ok()) {
    return s;
  }
  v1::MailboxCommand command;
  *command.mutable_submit_proposal() = req->proposal();
  return ProposeSigned(*ctx_, *call, caller, std::move(command), "proposed",
                       resp->mutable_proposal());
}

grpc::Status AdminService::EndorseProposal(grpc::ServerContext* call,
                                           const v1::EndorseProposalRequest* req,
                                           v1::EndorseProposalResponse* resp) {
  guard::PeerIdentity caller;
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole, &caller); !s.ok()) return s;
  if (!req->has_endorsement()) return Invalid("endorsement: missing");
  if (grpc::Status s = CheckSignedShape("endorsement", "endorsement",
                                        req->endorsement().endorsement(),
                                        req->endorsement().has_signature(),
                                        req->endorsement().signature());
      !s.ok()) {
    return s;
  }
  v1::MailboxCommand command;
  *command.mutable_endorse_proposal() = req->endorsement();
  return ProposeSigned(*ctx_, *call, caller, std::move(command), "endorsed",
                       resp->mutable_proposal());
}

grpc::Status AdminService::ListProposals(grpc::ServerContext* call,
                                         const v1::ListProposalsRequest* req,
                                         v1::ListProposalsResponse* resp) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  if (grpc::Status s = ReadBarrierUnlessStale(*ctx_, CallDeadline(*ctx_, *call), false); !s.ok()) {
    return s;
  }
  auto listed = ctx_->mailbox->ListProposals(req->include_closed());
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  for (v1::ProposalRecord& record : *listed) *resp->add_proposals() = std::move(record);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetProposal(grpc::ServerContext* call,
                                       const v1::GetProposalRequest* req,
                                       v1::GetProposalResponse* resp) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  if (!guard::IsValidProposalId(req->proposal_id())) {
    return Invalid(absl::StrCat("proposal_id: \"", req->proposal_id().substr(0, 64),
                                "\" is not 32 lowercase hex characters"));
  }
  if (grpc::Status s = ReadBarrierUnlessStale(*ctx_, CallDeadline(*ctx_, *call), false); !s.ok()) {
    return s;
  }
  auto record = ctx_->mailbox->GetProposal(req->proposal_id());
  if (!record.ok()) return ToGrpcStatus(record.status());
  *resp->mutable_proposal() = *std::move(record);
  return grpc::Status::OK;
}

grpc::Status AdminService::GetAuditLog(grpc::ServerContext* call,
                                       const v1::GetAuditLogRequest* req,
                                       grpc::ServerWriter<v1::AuditRecord>* writer) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  if (grpc::Status s = ReadBarrierUnlessStale(*ctx_, CallDeadline(*ctx_, *call), false); !s.ok()) {
    return s;
  }
  bool receiver_gone = false;
  absl::Status read = ctx_->mailbox->ReadAuditLog(req->from_seq(), [&](const v1::AuditRecord& r) {
    if (call->IsCancelled() || !writer->Write(r)) {
      receiver_gone = true;
      return false;
    }
    return true;
  });
  if (!read.ok()) return ToGrpcStatus(read);
  if (receiver_gone) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the receiver of the audit log went away");
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::GetCheckpoints(grpc::ServerContext* call,
                                          const v1::GetCheckpointsRequest* req,
                                          v1::GetCheckpointsResponse* resp) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  if (grpc::Status s = ReadBarrierUnlessStale(*ctx_, CallDeadline(*ctx_, *call), false); !s.ok()) {
    return s;
  }
  auto checkpoints = ctx_->mailbox->GetCheckpoints(req->min_index());
  if (!checkpoints.ok()) return ToGrpcStatus(checkpoints.status());
  for (v1::CheckpointEntry& entry : *checkpoints) *resp->add_checkpoints() = std::move(entry);
  return grpc::Status::OK;
}

}  // namespace qbox::server

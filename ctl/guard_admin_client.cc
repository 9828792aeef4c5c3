#include "ctl/guard_admin_client.h"

#include <grpcpp/client_context.h>

#include <utility>

#include "client/retrying_caller.h"
#include "client/unary_call.h"
#include "ctl/admin_connection.h"
#include "node/common/status_macros.h"
#include "qbox/v1/admin.grpc.pb.h"

namespace qbox::ctl {

using internal::CallUnary;
using Stub = v1::Admin::Stub;

absl::StatusOr<std::unique_ptr<GuardAdminClient>> GuardAdminClient::Open(
    const Connection& connection) {
  std::unique_ptr<internal::RetryingCaller> caller;
  RETURN_IF_ERROR(WithClientOptions(connection, {}, [&](const ClientOptions& options) {
    absl::StatusOr<std::unique_ptr<internal::RetryingCaller>> created =
        internal::RetryingCaller::Create(options);
    if (!created.ok()) return created.status();
    caller = *std::move(created);
    return absl::OkStatus();
  }));
  return std::unique_ptr<GuardAdminClient>(
      new GuardAdminClient(std::move(caller), CallOptionsFor(connection)));
}

GuardAdminClient::GuardAdminClient(std::unique_ptr<internal::RetryingCaller> caller,
                                   CallOptions options)
    : caller_(std::move(caller)), options_(options) {}

GuardAdminClient::~GuardAdminClient() = default;

absl::StatusOr<v1::GetCharterResponse> GuardAdminClient::GetCharter() {
  return CallUnary(*caller_, options_, v1::GetCharterRequest(), &Stub::GetCharter);
}

absl::StatusOr<v1::ProposalRecord> GuardAdminClient::SubmitProposal(
    const v1::SignedProposal& proposal) {
  v1::SubmitProposalRequest request;
  *request.mutable_proposal() = proposal;
  ASSIGN_OR_RETURN(v1::SubmitProposalResponse response,
                   CallUnary(*caller_, options_, request, &Stub::SubmitProposal));
  return std::move(*response.mutable_proposal());
}

absl::StatusOr<v1::ProposalRecord> GuardAdminClient::EndorseProposal(
    const v1::SignedEndorsement& endorsement) {
  v1::EndorseProposalRequest request;
  *request.mutable_endorsement() = endorsement;
  ASSIGN_OR_RETURN(v1::EndorseProposalResponse response,
                   CallUnary(*caller_, options_, request, &Stub::EndorseProposal));
  return std::move(*response.mutable_proposal());
}

absl::StatusOr<std::vector<v1::ProposalRecord>> GuardAdminClient::ListProposals(
    bool include_closed) {
  v1::ListProposalsRequest request;
  request.set_include_closed(include_closed);
  ASSIGN_OR_RETURN(v1::ListProposalsResponse response,
                   CallUnary(*caller_, options_, request, &Stub::ListProposals));
  return std::vector<v1::ProposalRecord>(response.proposals().begin(), response.proposals().end());
}

absl::StatusOr<v1::ProposalRecord> GuardAdminClient::GetProposal(const std::string& proposal_id) {
  v1::GetProposalRequest request;
  request.set_proposal_id(proposal_id);
  ASSIGN_OR_RETURN(v1::GetProposalResponse response,
                   CallUnary(*caller_, options_, request, &Stub::GetProposal));
  return std::move(*response.mutable_proposal());
}

absl::StatusOr<std::vector<v1::AuditRecord>> GuardAdminClient::GetAuditLog(uint64_t from_seq) {
  v1::GetAuditLogRequest request;
  request.set_from_seq(from_seq);
  std::vector<v1::AuditRecord> records;
  RETURN_IF_ERROR(caller_->Run(
      options_, [&](const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& context) {
        Stub stub(channel);
        // Nothing reaches the caller before the stream ended, so a retry
        // simply starts over.
        records.clear();
        std::unique_ptr<grpc::ClientReader<v1::AuditRecord>> reader =
            stub.GetAuditLog(&context, request);
        v1::AuditRecord record;
        while (reader->Read(&record)) records.push_back(std::move(record));
        return internal::AttemptResult{reader->Finish()};
      }));
  return records;
}

absl::StatusOr<v1::GetCheckpointsResponse> GuardAdminClient::GetCheckpoints(uint64_t min_index) {
  v1::GetCheckpointsRequest request;
  request.set_min_index(min_index);
  return CallUnary(*caller_, options_, request, &Stub::GetCheckpoints);
}

}  // namespace qbox::ctl

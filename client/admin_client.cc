#include "qbox/admin_client.h"

#include <utility>

#include "client/retrying_caller.h"
#include "client/unary_call.h"
#include "node/common/status_macros.h"
#include "qbox/v1/admin.grpc.pb.h"

namespace qbox {

using internal::CallUnary;
using internal::CallUnaryWithKey;
using Stub = v1::Admin::Stub;

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Open(const ClientOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<internal::RetryingCaller> caller,
                   internal::RetryingCaller::Create(options));
  return std::unique_ptr<AdminClient>(new AdminClient(std::move(caller)));
}

AdminClient::AdminClient(std::unique_ptr<internal::RetryingCaller> caller)
    : caller_(std::move(caller)) {}

AdminClient::~AdminClient() = default;

std::string AdminClient::PreferredEndpoint() const { return caller_->PreferredEndpoint(); }

absl::StatusOr<v1::GetClusterStatusResponse> AdminClient::GetClusterStatus(
    const v1::GetClusterStatusRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::GetClusterStatus);
}

absl::StatusOr<v1::CreateAccountResponse> AdminClient::CreateAccount(
    const v1::CreateAccountRequest& request, const CallOptions& options) {
  return CallUnaryWithKey(*caller_, options, request, &Stub::CreateAccount);
}

absl::StatusOr<v1::ListAccountsResponse> AdminClient::ListAccounts(
    const v1::ListAccountsRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::ListAccounts);
}

absl::StatusOr<v1::SetQuotaResponse> AdminClient::SetQuota(const v1::SetQuotaRequest& request,
                                                           const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::SetQuota);
}

absl::StatusOr<v1::TransferLeadershipResponse> AdminClient::TransferLeadership(
    const v1::TransferLeadershipRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::TransferLeadership);
}

absl::StatusOr<v1::AddLearnerResponse> AdminClient::AddLearner(const v1::AddLearnerRequest& request,
                                                               const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::AddLearner);
}

absl::StatusOr<v1::PromoteLearnerResponse> AdminClient::PromoteLearner(
    const v1::PromoteLearnerRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::PromoteLearner);
}

absl::StatusOr<v1::RemoveNodeResponse> AdminClient::RemoveNode(const v1::RemoveNodeRequest& request,
                                                               const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::RemoveNode);
}

}  // namespace qbox

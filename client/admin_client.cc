#include "qbox/admin_client.h"

#include <grpcpp/client_context.h>

#include <utility>

#include "absl/strings/str_cat.h"
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

absl::StatusOr<v1::SnapshotManifest> AdminClient::SaveSnapshot(
    const v1::SaveSnapshotRequest& request, const SnapshotDataCallback& on_data,
    const CallOptions& options) {
  // Errors found here rather than by gRPC: returned instead of the status
  // of the cancelled or finished stream.
  absl::Status local_error;
  v1::SnapshotManifest manifest;
  absl::Status status = caller_->Run(
      options, [&](const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& context) {
        Stub stub(channel);
        std::unique_ptr<grpc::ClientReader<v1::SnapshotChunk>> reader =
            stub.SaveSnapshot(&context, request);
        v1::SnapshotChunk chunk;
        bool delivered = false;
        bool have_manifest = false;
        uint64_t received = 0;
        auto stop = [&](absl::Status why) {
          local_error = std::move(why);
          context.TryCancel();
          // Drain so that Finish does not wait for messages nobody reads.
          while (reader->Read(&chunk)) {
          }
          reader->Finish().IgnoreError();
          return internal::AttemptResult{grpc::Status(grpc::StatusCode::CANCELLED, "stopped"),
                                         /*may_retry=*/false};
        };
        while (reader->Read(&chunk)) {
          if (have_manifest) {
            return stop(absl::DataLossError("the node sent snapshot data after the manifest"));
          }
          if (chunk.has_manifest()) {
            manifest = std::move(*chunk.mutable_manifest());
            have_manifest = true;
            continue;
          }
          delivered = true;
          received += chunk.data().size();
          absl::Status taken = on_data(chunk.data());
          if (!taken.ok()) return stop(std::move(taken));
        }
        grpc::Status finished = reader->Finish();
        // Pieces already handed to the caller cannot be taken back, so a
        // stream that broke after them must not be replayed from the start.
        if (!finished.ok()) return internal::AttemptResult{finished, /*may_retry=*/!delivered};
        if (!have_manifest) {
          local_error = absl::DataLossError("the snapshot stream ended without a manifest");
        } else if (manifest.data_bytes() != received) {
          local_error = absl::DataLossError(
              absl::StrCat("received ", received, " bytes of snapshot data, the manifest says ",
                           manifest.data_bytes()));
        }
        return internal::AttemptResult{finished, /*may_retry=*/false};
      });
  if (!local_error.ok()) return local_error;
  if (!status.ok()) return status;
  return manifest;
}

}  // namespace qbox

#include "qbox/client.h"

#include <grpcpp/client_context.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/idempotency_key.h"
#include "client/retrying_caller.h"
#include "client/unary_call.h"
#include "node/common/status_macros.h"
#include "qbox/v1/mailstore.grpc.pb.h"

namespace qbox {

using internal::CallUnary;
using internal::CallUnaryWithKey;
using Stub = v1::MailStore::Stub;

absl::StatusOr<std::unique_ptr<Client>> Client::Open(const ClientOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<internal::RetryingCaller> caller,
                   internal::RetryingCaller::Create(options));
  return std::unique_ptr<Client>(new Client(std::move(caller)));
}

Client::Client(std::unique_ptr<internal::RetryingCaller> caller) : caller_(std::move(caller)) {}

Client::~Client() = default;

std::string Client::PreferredEndpoint() const { return caller_->PreferredEndpoint(); }

absl::StatusOr<v1::CreateMailboxResponse> Client::CreateMailbox(
    const v1::CreateMailboxRequest& request, const CallOptions& options) {
  return CallUnaryWithKey(*caller_, options, request, &Stub::CreateMailbox);
}

absl::StatusOr<v1::ListMailboxesResponse> Client::ListMailboxes(
    const v1::ListMailboxesRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::ListMailboxes);
}

absl::StatusOr<v1::RenameMailboxResponse> Client::RenameMailbox(
    const v1::RenameMailboxRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::RenameMailbox);
}

absl::StatusOr<v1::DeleteMailboxResponse> Client::DeleteMailbox(
    const v1::DeleteMailboxRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::DeleteMailbox);
}

absl::StatusOr<v1::AppendMessageResponse> Client::AppendMessage(
    const v1::AppendMessageRequest& request, const CallOptions& options) {
  return CallUnaryWithKey(*caller_, options, request, &Stub::AppendMessage);
}

absl::Status Client::FetchMessages(const v1::FetchMessagesRequest& request,
                                   const FetchCallback& on_message, const CallOptions& options) {
  // Set when the callback stops the fetch; returned instead of the
  // CANCELLED that gRPC reports for the cancelled stream.
  absl::Status stopped_by_callback;
  absl::Status status = caller_->Run(
      options, [&](const std::shared_ptr<grpc::Channel>& channel, grpc::ClientContext& context) {
        Stub stub(channel);
        std::unique_ptr<grpc::ClientReader<v1::FetchMessagesResponse>> reader =
            stub.FetchMessages(&context, request);
        v1::FetchMessagesResponse response;
        bool delivered = false;
        while (reader->Read(&response)) {
          delivered = true;
          stopped_by_callback = on_message(response);
          if (!stopped_by_callback.ok()) {
            context.TryCancel();
            // Drain so that Finish does not wait for messages nobody reads.
            while (reader->Read(&response)) {
            }
            reader->Finish().IgnoreError();
            return internal::AttemptResult{
                grpc::Status(grpc::StatusCode::CANCELLED, "stopped by the fetch callback"),
                /*may_retry=*/false};
          }
        }
        // Messages already handed to the caller cannot be taken back, so a
        // stream that broke after them must not be replayed from the start.
        return internal::AttemptResult{reader->Finish(), /*may_retry=*/!delivered};
      });
  if (!stopped_by_callback.ok()) return stopped_by_callback;
  return status;
}

absl::StatusOr<v1::StoreFlagsResponse> Client::StoreFlags(const v1::StoreFlagsRequest& request,
                                                          const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::StoreFlags);
}

absl::StatusOr<v1::CopyMessagesResponse> Client::CopyMessages(
    const v1::CopyMessagesRequest& request, const CallOptions& options) {
  return CallUnaryWithKey(*caller_, options, request, &Stub::CopyMessages);
}

absl::StatusOr<v1::MoveMessagesResponse> Client::MoveMessages(
    const v1::MoveMessagesRequest& request, const CallOptions& options) {
  return CallUnaryWithKey(*caller_, options, request, &Stub::MoveMessages);
}

absl::StatusOr<v1::ExpungeMessagesResponse> Client::ExpungeMessages(
    const v1::ExpungeMessagesRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::ExpungeMessages);
}

absl::StatusOr<v1::GetChangesResponse> Client::GetChanges(const v1::GetChangesRequest& request,
                                                          const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::GetChanges);
}

absl::Status Client::GetAllChanges(const v1::GetChangesRequest& request,
                                   const ChangesCallback& on_page, const CallOptions& options) {
  const absl::Time deadline = absl::Now() + caller_->TimeoutOf(options);
  v1::GetChangesRequest page_request = request;
  // The first page runs with the caller's options unchanged, so that a bad
  // timeout is refused exactly as for any call.
  CallOptions page_options = options;
  std::optional<uint32_t> uidvalidity;
  for (int pages = 0;; ++pages) {
    if (pages > 0) {
      const absl::Duration remaining = deadline - absl::Now();
      if (remaining <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrCat(
            "GetAllChanges: the deadline ended after ", pages, " page(s), complete through MODSEQ ",
            page_request.since_modseq(), "; resume from there"));
      }
      page_options.timeout = remaining;
    }
    ASSIGN_OR_RETURN(v1::GetChangesResponse page, GetChanges(page_request, page_options));
    if (uidvalidity.has_value() && page.uidvalidity() != *uidvalidity) {
      return absl::AbortedError(absl::StrCat(
          "GetAllChanges: mailbox \"", request.mailbox(), "\" changed UIDVALIDITY from ",
          *uidvalidity, " to ", page.uidvalidity(), " between pages; resync from scratch"));
    }
    uidvalidity = page.uidvalidity();
    if (page.has_more_changes() && page.changes_through_modseq() <= page_request.since_modseq()) {
      return absl::InternalError(
          absl::StrCat("GetAllChanges: the server reported more changes in \"", request.mailbox(),
                       "\" but no progress past MODSEQ ", page_request.since_modseq()));
    }
    RETURN_IF_ERROR(on_page(page));
    if (!page.has_more_changes()) return absl::OkStatus();
    page_request.set_since_modseq(page.changes_through_modseq());
  }
}

absl::StatusOr<v1::ListDeletedResponse> Client::ListDeleted(const v1::ListDeletedRequest& request,
                                                            const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::ListDeleted);
}

absl::StatusOr<v1::RestoreDeletedResponse> Client::RestoreDeleted(
    const v1::RestoreDeletedRequest& request, const CallOptions& options) {
  return CallUnaryWithKey(*caller_, options, request, &Stub::RestoreDeleted);
}

absl::StatusOr<v1::PutSieveScriptResponse> Client::PutSieveScript(
    const v1::PutSieveScriptRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::PutSieveScript);
}

absl::StatusOr<v1::GetSieveScriptResponse> Client::GetSieveScript(
    const v1::GetSieveScriptRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::GetSieveScript);
}

absl::StatusOr<v1::ListSieveScriptsResponse> Client::ListSieveScripts(
    const v1::ListSieveScriptsRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::ListSieveScripts);
}

absl::StatusOr<v1::DeleteSieveScriptResponse> Client::DeleteSieveScript(
    const v1::DeleteSieveScriptRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::DeleteSieveScript);
}

absl::StatusOr<v1::SetActiveSieveScriptResponse> Client::SetActiveSieveScript(
    const v1::SetActiveSieveScriptRequest& request, const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::SetActiveSieveScript);
}

absl::StatusOr<v1::GetQuotaResponse> Client::GetQuota(const v1::GetQuotaRequest& request,
                                                      const CallOptions& options) {
  return CallUnary(*caller_, options, request, &Stub::GetQuota);
}

}  // namespace qbox

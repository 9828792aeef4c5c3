// The MailStore gRPC service (proto/qbox/v1/mailstore.proto): what front
// ends (IMAP, JMAP, LMTP) call. Only callers whose certificate carries the
// "frontend" role are served (DESIGN.md G6).
//
// Every call first validates its arguments without touching any state:
// INVALID_ARGUMENT naming the field ("mailbox: ...", "uid_set: ...",
// "body: ...") with the same validators the state machine applies, so bad
// input is refused before anything is proposed and changes nothing.
//
// Writes are proposed to the consensus core and answered once applied on
// this node (DESIGN.md "The path of one append"). On a node that is not the
// leader they fail with UNAVAILABLE carrying a qbox.v1.LeaderHint in the
// status details (service_helpers.h); the client retries at the leader.
//
// Reads are linearizable: the node first confirms a read index with the
// leader (ReadIndex, which also works on followers) and waits until it has
// applied up to it, then reads its own state machine. Requests with
// `stale_read_ok` skip that and may return data a little behind.
//
// Thread-safety: the service is stateless beyond its context; gRPC may call
// every method concurrently.
#ifndef QBOX_NODE_SERVER_MAILSTORE_SERVICE_H_
#define QBOX_NODE_SERVER_MAILSTORE_SERVICE_H_

#include "node/server/service_context.h"
#include "qbox/v1/command.pb.h"
#include "qbox/v1/mailstore.grpc.pb.h"

namespace qbox::server {

// AppendMessage, the write a mail platform makes most (every delivery), is
// served by gRPC's callback API: no thread waits while the entry is
// replicated and applied, and the answer goes out from the runtime's reply
// thread. The other methods are synchronous.
class MailStoreService final
    : public v1::MailStore::WithCallbackMethod_AppendMessage<v1::MailStore::Service> {
 public:
  // `context` (and everything it points to) must outlive the service.
  explicit MailStoreService(const ServiceContext* context) : ctx_(context) {}

  grpc::Status CreateMailbox(grpc::ServerContext* call, const v1::CreateMailboxRequest* req,
                             v1::CreateMailboxResponse* resp) override;
  grpc::Status ListMailboxes(grpc::ServerContext* call, const v1::ListMailboxesRequest* req,
                             v1::ListMailboxesResponse* resp) override;
  grpc::Status RenameMailbox(grpc::ServerContext* call, const v1::RenameMailboxRequest* req,
                             v1::RenameMailboxResponse* resp) override;
  grpc::Status DeleteMailbox(grpc::ServerContext* call, const v1::DeleteMailboxRequest* req,
                             v1::DeleteMailboxResponse* resp) override;
  grpc::ServerUnaryReactor* AppendMessage(grpc::CallbackServerContext* call,
                                          const v1::AppendMessageRequest* req,
                                          v1::AppendMessageResponse* resp) override;
  // Streams one response per message in UID order; stops early (CANCELLED)
  // when the client goes away.
  grpc::Status FetchMessages(grpc::ServerContext* call, const v1::FetchMessagesRequest* req,
                             grpc::ServerWriter<v1::FetchMessagesResponse>* writer) override;
  grpc::Status StoreFlags(grpc::ServerContext* call, const v1::StoreFlagsRequest* req,
                          v1::StoreFlagsResponse* resp) override;
  grpc::Status CopyMessages(grpc::ServerContext* call, const v1::CopyMessagesRequest* req,
                            v1::CopyMessagesResponse* resp) override;
  grpc::Status MoveMessages(grpc::ServerContext* call, const v1::MoveMessagesRequest* req,
                            v1::MoveMessagesResponse* resp) override;
  grpc::Status ExpungeMessages(grpc::ServerContext* call, const v1::ExpungeMessagesRequest* req,
                               v1::ExpungeMessagesResponse* resp) override;
  grpc::Status GetChanges(grpc::ServerContext* call, const v1::GetChangesRequest* req,
                          v1::GetChangesResponse* resp) override;
  grpc::Status ListDeleted(grpc::ServerContext* call, const v1::ListDeletedRequest* req,
                           v1::ListDeletedResponse* resp) override;
  grpc::Status RestoreDeleted(grpc::ServerContext* call, const v1::RestoreDeletedRequest* req,
                              v1::RestoreDeletedResponse* resp) override;
  grpc::Status PutSieveScript(grpc::ServerContext* call, const v1::PutSieveScriptRequest* req,
                              v1::PutSieveScriptResponse* resp) override;
  grpc::Status GetSieveScript(grpc::ServerContext* call, const v1::GetSieveScriptRequest* req,
                              v1::GetSieveScriptResponse* resp) override;
  grpc::Status ListSieveScripts(grpc::ServerContext* call, const v1::ListSieveScriptsRequest* req,
                                v1::ListSieveScriptsResponse* resp) override;
  grpc::Status DeleteSieveScript(grpc::ServerContext* call, const v1::DeleteSieveScriptRequest* req,
                                 v1::DeleteSieveScriptResponse* resp) override;
  grpc::Status SetActiveSieveScript(grpc::ServerContext* call,
                                    const v1::SetActiveSieveScriptRequest* req,
                                    v1::SetActiveSieveScriptResponse* resp) override;
  // max_message_bytes is the smaller of the account's limit and this
  // node's, i.e. the largest body AppendMessage will actually accept.
  grpc::Status GetQuota(grpc::ServerContext* call, const v1::GetQuotaRequest* req,
                        v1::GetQuotaResponse* resp) override;

 private:
  // Authorizes the caller, then checks `validation` (the request's
  // argument check); the first error wins.
  grpc::Status Admit(const grpc::ServerContextBase& call, const absl::Status& validation) const;
  // Proposes `command` and leaves the state machine's result in `*result`.
  grpc::Status Write(const grpc::ServerContext& call, v1::MailboxCommand command,
                     v1::CommandResult::ResultCase expected, v1::CommandResult* result) const;
  // Linearizable-read barrier unless `stale_read_ok`.
  grpc::Status BeforeRead(const grpc::ServerContext& call, bool stale_read_ok) const;

  const ServiceContext* ctx_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_MAILSTORE_SERVICE_H_

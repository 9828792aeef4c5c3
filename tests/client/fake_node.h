// A real gRPC server on 127.0.0.1:<port 0> with mutual TLS, serving fake
// MailStore and Admin services whose answers the test scripts. Each fake
// records what it was asked (how often, with which idempotency keys), so a
// test can check what the client really sent over the wire.
#ifndef QBOX_TESTS_CLIENT_FAKE_NODE_H_
#define QBOX_TESTS_CLIENT_FAKE_NODE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "qbox/v1/mailstore.grpc.pb.h"
#include "tests/client/test_credentials.h"

namespace qbox::testing {

// UNAVAILABLE carrying a LeaderHint that names `leader_address`, as a
// follower answers a write.
grpc::Status NotLeader(const std::string& leader_address);

// How a fake answers a unary call: given the server context and the number
// of this call at this service (1 for the first), the status to return.
// An OK answer comes with a plausible response.
using UnaryAnswer = std::function<grpc::Status(grpc::ServerContext* context, int call_number)>;

// The default: OK for every call.
UnaryAnswer AlwaysOk();

// What the fake does with a FetchMessages stream.
using FetchAnswer = std::function<grpc::Status(
    grpc::ServerContext* context, grpc::ServerWriter<v1::FetchMessagesResponse>* writer)>;

// How the fake answers a GetChanges: given the request, fills in the
// response and returns the status.
using ChangesAnswer = std::function<grpc::Status(const v1::GetChangesRequest& request,
                                                 v1::GetChangesResponse* response)>;

// Thread-safe: gRPC calls the fakes from its own threads.
class CallLog {
 public:
  void Record(const std::string& method, const std::string& idempotency_key = "")
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Calls of `method` so far (0 if never called).
  int Calls(const std::string& method) const ABSL_LOCKS_EXCLUDED(mutex_);
  // Every call of any method.
  int TotalCalls() const ABSL_LOCKS_EXCLUDED(mutex_);
  // Idempotency keys received by `method`, in arrival order.
  std::vector<std::string> Keys(const std::string& method) const ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  mutable absl::Mutex mutex_;
  std::vector<std::pair<std::string, std::string>> calls_ ABSL_GUARDED_BY(mutex_);
};

class FakeMailStore final : public v1::MailStore::Service {
 public:
  void SetUnaryAnswer(UnaryAnswer answer) ABSL_LOCKS_EXCLUDED(mutex_);
  void SetFetchAnswer(FetchAnswer answer) ABSL_LOCKS_EXCLUDED(mutex_);
  void SetChangesAnswer(ChangesAnswer answer) ABSL_LOCKS_EXCLUDED(mutex_);
  const CallLog& log() const { return log_; }
  // The body of the last AppendMessage received ("" if none).
  std::string LastAppendedBody() const ABSL_LOCKS_EXCLUDED(mutex_);

  grpc::Status CreateMailbox(grpc::ServerContext* context, const v1::CreateMailboxRequest* request,
                             v1::CreateMailboxResponse* response) override;
  grpc::Status ListMailboxes(grpc::ServerContext* context, const v1::ListMailboxesRequest* request,
                             v1::ListMailboxesResponse* response) override;
  grpc::Status RenameMailbox(grpc::ServerContext* context, const v1::RenameMailboxRequest* request,
                             v1::RenameMailboxResponse* response) override;
  grpc::Status AppendMessage(grpc::ServerContext* context, const v1::AppendMessageRequest* request,
                             v1::AppendMessageResponse* response) override;
  grpc::Status FetchMessages(grpc::ServerContext* context, const v1::FetchMessagesRequest* request,
                             grpc::ServerWriter<v1::FetchMessagesResponse>* writer) override;
  grpc::Status GetChanges(grpc::ServerContext* context, const v1::GetChangesRequest* request,
                          v1::GetChangesResponse* response) override;

 private:
  grpc::Status Answer(grpc::ServerContext* context, const std::string& method,
                      const std::string& key = "") ABSL_LOCKS_EXCLUDED(mutex_);

  CallLog log_;
  mutable absl::Mutex mutex_;
  UnaryAnswer unary_answer_ ABSL_GUARDED_BY(mutex_) = AlwaysOk();
  FetchAnswer fetch_answer_ ABSL_GUARDED_BY(mutex_);
  ChangesAnswer changes_answer_ ABSL_GUARDED_BY(mutex_);
  std::string last_appended_body_ ABSL_GUARDED_BY(mutex_);
};

class FakeAdmin final : public v1::Admin::Service {
 public:
  void SetUnaryAnswer(UnaryAnswer answer) ABSL_LOCKS_EXCLUDED(mutex_);
  const CallLog& log() const { return log_; }

  grpc::Status GetClusterStatus(grpc::ServerContext* context,
                                const v1::GetClusterStatusRequest* request,
                                v1::GetClusterStatusResponse* response) override;
  grpc::Status CreateAccount(grpc::ServerContext* context, const v1::CreateAccountRequest* request,
                             v1::CreateAccountResponse* response) override;

 private:
  CallLog log_;
  mutable absl::Mutex mutex_;
  UnaryAnswer unary_answer_ ABSL_GUARDED_BY(mutex_) = AlwaysOk();
};

class FakeNode {
 public:
  // Starts serving at once, with `credentials.server()` as its certificate
  // and the site-a + site-b bundle as the CAs it accepts clients from.
  explicit FakeNode(const TestCredentials& credentials);
  ~FakeNode();

  // "127.0.0.1:<port>".
  const std::string& address() const { return address_; }
  FakeMailStore& mailstore() { return mailstore_; }
  FakeAdmin& admin() { return admin_; }

 private:
  FakeMailStore mailstore_;
  FakeAdmin admin_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

// A port on 127.0.0.1 where nothing listens (bound to find a free port,
// then closed): connections are refused.
std::string RefusingAddress();

// A TCP listener on 127.0.0.1 that accepts connections (the kernel does)
// but never speaks TLS: a node that hangs during the handshake.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

}  // namespace qbox::testing

#endif  // QBOX_TESTS_CLIENT_FAKE_NODE_H_

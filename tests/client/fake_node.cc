#include "tests/client/fake_node.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "gtest/gtest.h"
#include "qbox/v1/errors.pb.h"

namespace qbox::testing {

grpc::Status NotLeader(const std::string& leader_address) {
  v1::LeaderHint hint;
  hint.set_leader_id(2);
  hint.set_leader_name("site-b/n1");
  hint.set_leader_address(leader_address);
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "not the leader; the leader is site-b/n1",
                      hint.SerializeAsString());
}

UnaryAnswer AlwaysOk() {
  return [](grpc::ServerContext*, int) { return grpc::Status::OK; };
}

void CallLog::Record(const std::string& method, const std::string& idempotency_key) {
  absl::MutexLock lock(&mutex_);
  calls_.emplace_back(method, idempotency_key);
}

int CallLog::Calls(const std::string& method) const {
  absl::MutexLock lock(&mutex_);
  int n = 0;
  for (const auto& call : calls_) n += call.first == method;
  return n;
}

int CallLog::TotalCalls() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int>(calls_.size());
}

std::vector<std::string> CallLog::Keys(const std::string& method) const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::string> keys;
  for (const auto& call : calls_) {
    if (call.first == method) keys.push_back(call.second);
  }
  return keys;
}

void FakeMailStore::SetUnaryAnswer(UnaryAnswer answer) {
  absl::MutexLock lock(&mutex_);
  unary_answer_ = std::move(answer);
}

void FakeMailStore::SetFetchAnswer(FetchAnswer answer) {
  absl::MutexLock lock(&mutex_);
  fetch_answer_ = std::move(answer);
}

void FakeMailStore::SetChangesAnswer(ChangesAnswer answer) {
  absl::MutexLock lock(&mutex_);
  changes_answer_ = std::move(answer);
}

std::string FakeMailStore::LastAppendedBody() const {
  absl::MutexLock lock(&mutex_);
  return last_appended_body_;
}

grpc::Status FakeMailStore::Answer(grpc::ServerContext* context, const std::string& method,
                                   const std::string& key) {
  log_.Record(method, key);
  UnaryAnswer answer;
  {
    absl::MutexLock lock(&mutex_);
    answer = unary_answer_;
  }
  return answer(context, log_.TotalCalls());
}

grpc::Status FakeMailStore::CreateMailbox(grpc::ServerContext* context,
                                          const v1::CreateMailboxRequest* request,
                                          v1::CreateMailboxResponse* response) {
  response->mutable_mailbox()->set_name(request->name());
  return Answer(context, "CreateMailbox", request->idempotency_key());
}

grpc::Status FakeMailStore::ListMailboxes(grpc::ServerContext* context,
                                          const v1::ListMailboxesRequest*,
                                          v1::ListMailboxesResponse* response) {
  response->add_mailboxes()->set_name("INBOX");
  return Answer(context, "ListMailboxes");
}

grpc::Status FakeMailStore::RenameMailbox(grpc::ServerContext* context,
                                          const v1::RenameMailboxRequest* request,
                                          v1::RenameMailboxResponse* response) {
  response->mutable_mailbox()->set_name(request->new_name());
  return Answer(context, "RenameMailbox");
}

grpc::Status FakeMailStore::AppendMessage(grpc::ServerContext* context,
                                          const v1::AppendMessageRequest* request,
                                          v1::AppendMessageResponse* response) {
  grpc::Status status = Answer(context, "AppendMessage", request->idempotency_key());
  {
    absl::MutexLock lock(&mutex_);
    last_appended_body_ = request->body();
  }
  response->set_uidvalidity(7);
  response->set_uid(static_cast<uint32_t>(log_.Calls("AppendMessage")));
  response->set_modseq(100 + response->uid());
  return status;
}

grpc::Status FakeMailStore::FetchMessages(grpc::ServerContext* context,
                                          const v1::FetchMessagesRequest*,
                                          grpc::ServerWriter<v1::FetchMessagesResponse>* writer) {
  log_.Record("FetchMessages");
  FetchAnswer answer;
  {
    absl::MutexLock lock(&mutex_);
    answer = fetch_answer_;
  }
  if (!answer) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no fetch answer scripted");
  return answer(context, writer);
}

grpc::Status FakeMailStore::GetChanges(grpc::ServerContext*, const v1::GetChangesRequest* request,
                                       v1::GetChangesResponse* response) {
  log_.Record("GetChanges");
  ChangesAnswer answer;
  {
    absl::MutexLock lock(&mutex_);
    answer = changes_answer_;
  }
  if (!answer) return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "no changes answer scripted");
  return answer(*request, response);
}

void FakeAdmin::SetUnaryAnswer(UnaryAnswer answer) {
  absl::MutexLock lock(&mutex_);
  unary_answer_ = std::move(answer);
}

grpc::Status FakeAdmin::GetClusterStatus(grpc::ServerContext* context,
                                         const v1::GetClusterStatusRequest*,
                                         v1::GetClusterStatusResponse* response) {
  log_.Record("GetClusterStatus");
  response->set_leader("site-a/n1");
  response->set_term(3);
  UnaryAnswer answer;
  {
    absl::MutexLock lock(&mutex_);
    answer = unary_answer_;
  }
  return answer(context, log_.TotalCalls());
}

grpc::Status FakeAdmin::CreateAccount(grpc::ServerContext* context,
                                      const v1::CreateAccountRequest* request,
                                      v1::CreateAccountResponse* response) {
  log_.Record("CreateAccount", request->idempotency_key());
  response->set_account(request->account());
  UnaryAnswer answer;
  {
    absl::MutexLock lock(&mutex_);
    answer = unary_answer_;
  }
  return answer(context, log_.TotalCalls());
}

FakeNode::FakeNode(const TestCredentials& credentials) {
  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = credentials.trusted_bundle_pem();
  tls.pem_key_cert_pairs.push_back(
      {credentials.server().private_key_pem, credentials.server().certificate_pem});
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &port);
  builder.RegisterService(&mailstore_);
  builder.RegisterService(&admin_);
  server_ = builder.BuildAndStart();
  EXPECT_NE(server_, nullptr);
  EXPECT_GT(port, 0);
  address_ = "127.0.0.1:" + std::to_string(port);
}

FakeNode::~FakeNode() {
  // Cancels calls still running (e.g. a fake that hangs) after a grace
  // period, so a failing test cannot hang here.
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

namespace {

// A socket bound to 127.0.0.1:0; its port in *port. -1 on failure.
int BindLoopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

std::string RefusingAddress() {
  int port = 0;
  int fd = BindLoopback(&port);
  EXPECT_GE(fd, 0);
  // Bound but not listening, then closed: connecting gets RST at once.
  close(fd);
  return "127.0.0.1:" + std::to_string(port);
}

SilentListener::SilentListener() {
  int port = 0;
  fd_ = BindLoopback(&port);
  EXPECT_GE(fd_, 0);
  EXPECT_EQ(listen(fd_, 16), 0);
  address_ = "127.0.0.1:" + std::to_string(port);
}

SilentListener::~SilentListener() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace qbox::testing

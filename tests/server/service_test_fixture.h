// A single-voter node serving MailStore and Admin over mutual TLS, with
// stubs for a front end and an admin, and small helpers for calling them.
#ifndef QBOX_TESTS_SERVER_SERVICE_TEST_FIXTURE_H_
#define QBOX_TESTS_SERVER_SERVICE_TEST_FIXTURE_H_

#include <array>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "qbox/v1/admin.grpc.pb.h"
#include "qbox/v1/mailstore.grpc.pb.h"
#include "tests/server/in_process_node.h"

namespace qbox::server::testing {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("services-test");
    ASSERT_FALSE(dir_.empty());
    auto credentials = SiteCredentials::Create(dir_ + "/credentials");
    ASSERT_TRUE(credentials.ok()) << credentials.status();
    credentials_ = *credentials;
    auto node = InProcessNode::Start(dir_ + "/node", credentials_, InProcessNodeOptions{});
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    ASSERT_TRUE(node_->WaitUntilServingLeader(absl::Seconds(20)))
        << "the single voter did not become a serving leader";
    mail_ = v1::MailStore::NewStub(node_->Channel(credentials_.frontend));
    admin_ = v1::Admin::NewStub(node_->Channel(credentials_.admin));
  }

  void TearDown() override {
    mail_.reset();
    admin_.reset();
    node_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // One unary call with a 10 s deadline.
  template <typename Stub, typename Request, typename Response>
  static grpc::Status Call(Stub& stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                           const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return (stub.*method)(&context, request, response);
  }

  // Drains a FetchMessages stream.
  grpc::Status Fetch(const v1::FetchMessagesRequest& request,
                     std::vector<v1::FetchMessagesResponse>* out) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = mail_->FetchMessages(&context, request);
    v1::FetchMessagesResponse message;
    while (reader->Read(&message)) out->push_back(message);
    return reader->Finish();
  }

  void CreateAccount(const std::string& account, uint64_t quota_bytes = 0,
                     uint64_t quota_messages = 0) {
    v1::CreateAccountRequest req;
    req.set_account(account);
    req.set_quota_bytes(quota_bytes);
    req.set_quota_messages(quota_messages);
    v1::CreateAccountResponse resp;
    grpc::Status s = Call(*admin_, &v1::Admin::Stub::CreateAccount, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.account(), account);
  }

  static v1::AppendMessageRequest AppendRequest(const std::string& account,
                                                const std::string& mailbox,
                                                const std::string& body) {
    v1::AppendMessageRequest req;
    req.set_account(account);
    req.set_mailbox(mailbox);
    req.set_body(body);
    return req;
  }

  // Every account with its usage and quota, serialized (to compare).
  std::string Accounts() const {
    auto listed = node_->mailbox()->ListAccounts();
    EXPECT_TRUE(listed.ok()) << listed.status();
    return listed.ok() ? listed->SerializeAsString() : std::string();
  }

  // The detail of the newest audit record ("" if none).
  std::string LastAuditDetail() const {
    std::string detail;
    absl::Status read = node_->mailbox()->ReadAuditLog(0, [&](const v1::AuditRecord& r) {
      detail = r.detail();
      return true;
    });
    EXPECT_TRUE(read.ok()) << read;
    return detail;
  }

  std::array<uint8_t, 32> Digest() const {
    auto digest = node_->mailbox()->Digest();
    EXPECT_TRUE(digest.ok()) << digest.status();
    return digest.ok() ? *digest : std::array<uint8_t, 32>{};
  }

  std::string dir_;
  SiteCredentials credentials_;
  std::unique_ptr<InProcessNode> node_;
  std::unique_ptr<v1::MailStore::Stub> mail_;
  std::unique_ptr<v1::Admin::Stub> admin_;
};

}  // namespace qbox::server::testing

#endif  // QBOX_TESTS_SERVER_SERVICE_TEST_FIXTURE_H_

// Runs the real qbox-example binary against a fake node: it must append,
// fetch the same body back and exit 0; with bad input it must exit 2 and
// say which flag or file is wrong.
#include <stdio.h>
#include <sys/wait.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/client/fake_node.h"
#include "tests/client/test_credentials.h"

namespace qbox {
namespace {

using ::testing::HasSubstr;

struct ProgramResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

ProgramResult RunExample(const std::string& arguments) {
  ProgramResult result;
  const std::string command = absl::StrCat(QBOX_EXAMPLE_PATH, " ", arguments, " 2>&1");
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

class ExampleProgramTest : public ::testing::Test {
 protected:
  std::string TlsFlags() const {
    return absl::StrCat("--ca_bundle=", credentials_.bundle_file(),
                        " --cert=", credentials_.FrontendCertificateFile(),
                        " --key=", credentials_.FrontendKeyFile());
  }

  testing::TestCredentials credentials_;
};

TEST_F(ExampleProgramTest, AppendsAndFetchesTheMessageBack) {
  testing::FakeNode follower(credentials_);
  testing::FakeNode leader(credentials_);
  follower.mailstore().SetUnaryAnswer(
      [&](grpc::ServerContext*, int) { return testing::NotLeader(leader.address()); });
  // The leader serves back whatever was appended to it.
  leader.mailstore().SetFetchAnswer(
      [&](grpc::ServerContext*, grpc::ServerWriter<v1::FetchMessagesResponse>* writer) {
        v1::FetchMessagesResponse response;
        response.mutable_message()->set_uid(1);
        response.mutable_message()->set_body(leader.mailstore().LastAppendedBody());
        writer->Write(response);
        return grpc::Status::OK;
      });

  ProgramResult run = RunExample(absl::StrCat("--endpoints=", follower.address(), " ", TlsFlags(),
                                              " --account=alice --mailbox=INBOX"));
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("ok: the fetched body is the appended one"));
  EXPECT_THAT(run.output, HasSubstr(leader.address()));
  EXPECT_EQ(leader.mailstore().log().Calls("AppendMessage"), 1);
}

TEST_F(ExampleProgramTest, ReportsAWrongBodyAsFailure) {
  testing::FakeNode node(credentials_);
  node.mailstore().SetFetchAnswer(
      [](grpc::ServerContext*, grpc::ServerWriter<v1::FetchMessagesResponse>* writer) {
        v1::FetchMessagesResponse response;
        response.mutable_message()->set_uid(1);
        response.mutable_message()->set_body("something else");
        writer->Write(response);
        return grpc::Status::OK;
      });
  ProgramResult run =
      RunExample(absl::StrCat("--endpoints=", node.address(), " ", TlsFlags(), " --account=alice"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
}

TEST_F(ExampleProgramTest, BadInputExitsTwoNamingTheProblem) {
  ProgramResult no_account = RunExample(absl::StrCat("--endpoints=127.0.0.1:1 ", TlsFlags()));
  EXPECT_EQ(no_account.exit_code, 2);
  EXPECT_THAT(no_account.output, HasSubstr("--account"));

  ProgramResult missing_key = RunExample(absl::StrCat(
      "--endpoints=127.0.0.1:1 --account=alice --ca_bundle=", credentials_.bundle_file(),
      " --cert=", credentials_.FrontendCertificateFile(), " --key=", credentials_.dir(),
      "/no-such.key"));
  EXPECT_EQ(missing_key.exit_code, 2);
  EXPECT_THAT(missing_key.output, HasSubstr("no-such.key"));
}

}  // namespace
}  // namespace qbox

// qbox-example: appends one message to a mailbox and fetches it back, the
// smallest complete use of the client library.
//
//   qbox-example --endpoints=127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
//                --ca_bundle=all-sites-ca.pem
//                --cert=site-a/frontends/fe1.crt --key=site-a/frontends/fe1.key
//                --account=alice --mailbox=INBOX
//
// Exits 0 if the fetched body is the appended one, 1 on any error (printed
// with its gRPC code and message), 2 on bad flags.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "qbox/client.h"

ABSL_FLAG(std::string, endpoints, "", "comma-separated host:port of the cluster's nodes");
ABSL_FLAG(std::string, ca_bundle, "", "PEM file with every site's CA certificate");
ABSL_FLAG(std::string, cert, "", "this front end's certificate (PEM)");
ABSL_FLAG(std::string, key, "", "this front end's private key (PEM)");
ABSL_FLAG(std::string, account, "", "account to append to");
ABSL_FLAG(std::string, mailbox, "INBOX", "mailbox to append to");
ABSL_FLAG(std::string, subject, "hello from qbox-example", "subject of the test message");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10), "deadline of each call");

namespace {

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "qbox-example: %s: %s\n", what.c_str(), status.ToString().c_str());
  return 1;
}

std::string TestMessage(const std::string& subject) {
  return absl::StrCat("From: qbox-example@localhost\r\n", "To: ", absl::GetFlag(FLAGS_account),
                      "@localhost\r\n", "Subject: ", subject, "\r\n", "Message-ID: <",
                      absl::ToUnixMicros(absl::Now()), "@qbox-example>\r\n", "\r\n",
                      "Appended and fetched back by qbox-example.\r\n");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "appends a message to a quorumbox mailbox and fetches it back.\n"
      "Required: --endpoints --ca_bundle --cert --key --account");
  absl::ParseCommandLine(argc, argv);
  for (const char* required : {"endpoints", "account"}) {
    const std::string value = std::string(required) == "endpoints" ? absl::GetFlag(FLAGS_endpoints)
                                                                   : absl::GetFlag(FLAGS_account);
    if (value.empty()) {
      std::fprintf(stderr, "qbox-example: --%s is required\n", required);
      return 2;
    }
  }

  qbox::ClientOptions options;
  options.endpoints = absl::StrSplit(absl::GetFlag(FLAGS_endpoints), ',', absl::SkipEmpty());
  options.ca_bundle_file = absl::GetFlag(FLAGS_ca_bundle);
  options.certificate_file = absl::GetFlag(FLAGS_cert);
  options.private_key_file = absl::GetFlag(FLAGS_key);
  options.default_timeout = absl::GetFlag(FLAGS_timeout);
  absl::StatusOr<std::unique_ptr<qbox::Client>> client = qbox::Client::Open(options);
  if (!client.ok()) {
    std::fprintf(stderr, "qbox-example: %s\n", client.status().ToString().c_str());
    return 2;
  }

  qbox::v1::AppendMessageRequest append;
  append.set_account(absl::GetFlag(FLAGS_account));
  append.set_mailbox(absl::GetFlag(FLAGS_mailbox));
  append.set_body(TestMessage(absl::GetFlag(FLAGS_subject)));
  append.add_flags("\\Seen");
  absl::StatusOr<qbox::v1::AppendMessageResponse> appended = (*client)->AppendMessage(append);
  if (!appended.ok()) return Fail("append", appended.status());
  std::printf("appended to %s/%s: uidvalidity %u uid %u modseq %llu (commit index %llu)\n",
              append.account().c_str(), append.mailbox().c_str(), appended->uidvalidity(),
              appended->uid(), static_cast<unsigned long long>(appended->modseq()),
              static_cast<unsigned long long>(appended->commit_index()));

  qbox::v1::FetchMessagesRequest fetch;
  fetch.set_account(append.account());
  fetch.set_mailbox(append.mailbox());
  fetch.set_uid_set(std::to_string(appended->uid()));
  fetch.set_include_body(true);
  bool matched = false;
  absl::Status fetched =
      (*client)->FetchMessages(fetch, [&](const qbox::v1::FetchMessagesResponse& response) {
        const qbox::v1::MessageInfo& message = response.message();
        matched = matched || message.body() == append.body();
        std::printf("fetched uid %u: %llu bytes, modseq %llu, flags [%s]\n", message.uid(),
                    static_cast<unsigned long long>(message.size()),
                    static_cast<unsigned long long>(message.modseq()),
                    absl::StrJoin(message.flags(), " ").c_str());
        return absl::OkStatus();
      });
  if (!fetched.ok()) return Fail("fetch", fetched);
  if (!matched) {
    std::fprintf(stderr, "qbox-example: uid %u came back without the appended body\n",
                 appended->uid());
    return 1;
  }
  std::printf("ok: the fetched body is the appended one (served by %s)\n",
              (*client)->PreferredEndpoint().c_str());
  return 0;
}

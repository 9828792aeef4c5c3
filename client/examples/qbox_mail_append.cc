// `qbox-mail append`: one message from a file, from standard input, or
// composed from --subject/--body.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/examples/qbox_mail.h"

namespace qbox::mail {
namespace {

struct AppendOptions {
  std::string mailbox;
  std::vector<std::string> flags;
  std::string file;
  bool from_stdin = false;
  std::string subject;
  std::string text;
  std::string body;  // the RFC 5322 message, filled by Prepare
};

// A minimal RFC 5322 message with CRLF line ends, as IMAP APPEND expects.
std::string Compose(const std::string& account, const std::string& subject,
                    const std::string& text) {
  const absl::Time now = absl::Now();
  std::string crlf_text = absl::StrReplaceAll(text, {{"\r\n", "\n"}});
  crlf_text = absl::StrReplaceAll(crlf_text, {{"\n", "\r\n"}});
  return absl::StrCat("From: qbox-mail <", account, "@localhost>\r\n", "To: <", account,
                      "@localhost>\r\n", "Subject: ", subject, "\r\n", "Date: ",
                      absl::FormatTime("%a, %d %b %Y %H:%M:%S +0000", now, absl::UTCTimeZone()),
                      "\r\n", "Message-ID: <", absl::ToUnixMicros(now), ".", getpid(),
                      "@qbox-mail>\r\n", "\r\n", crlf_text, "\r\n");
}

absl::Status Prepare(AppendOptions* o) {
  if (!o->file.empty()) {
    std::ifstream in(o->file, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("--file ", o->file, ": cannot be read"));
    o->body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) return absl::DataLossError(absl::StrCat("--file ", o->file, ": read failed"));
    if (o->body.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--file ", o->file, ": the file is empty"));
    }
  } else if (o->from_stdin) {
    o->body.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    if (o->body.empty()) {
      return absl::InvalidArgumentError("--stdin: no message on standard input");
    }
  }
  // Composing needs the account, which is known only once connected; see Run.
  return absl::OkStatus();
}

absl::Status Run(const Session& s, const AppendOptions& o) {
  v1::AppendMessageRequest request;
  request.set_account(s.account);
  request.set_mailbox(o.mailbox);
  request.set_body(o.body.empty() ? Compose(s.account, o.subject, o.text) : o.body);
  AddFlagsAndKeywords(o.flags, &request);
  absl::StatusOr<v1::AppendMessageResponse> appended = s.client->AppendMessage(request, s.call);
  if (!appended.ok()) return appended.status();
  std::printf("appended uid %u to %s (uidvalidity %u, modseq %llu, %zu bytes)\n", appended->uid(),
              o.mailbox.c_str(), appended->uidvalidity(),
              static_cast<unsigned long long>(appended->modseq()), request.body().size());
  return absl::OkStatus();
}

}  // namespace

void AddAppendCommand(CLI::App* app, Command* selected) {
  auto options = std::make_shared<AppendOptions>();
  CLI::App* append = app->add_subcommand(
      "append", "Append one message: --file F, --stdin, or --subject S --body TEXT");
  append->add_option("--mailbox", options->mailbox, "Target mailbox, e.g. INBOX")->required();
  append->add_option("--flag", options->flags,
                     "Initial flag (\\Seen, \\Flagged, ...) or keyword; repeatable");
  CLI::Option* file =
      append->add_option("--file", options->file, "The message (RFC 5322) from this file");
  CLI::Option* from_stdin =
      append->add_flag("--stdin", options->from_stdin, "The message from standard input");
  CLI::Option* subject =
      append->add_option("--subject", options->subject, "Compose a message with this subject");
  CLI::Option* text = append->add_option("--body", options->text, "Text of the composed message");
  file->excludes(from_stdin)->excludes(subject)->excludes(text);
  from_stdin->excludes(subject)->excludes(text);
  append->callback([selected, options, file, from_stdin, subject, text] {
    if (file->count() + from_stdin->count() + subject->count() + text->count() == 0) {
      throw CLI::ValidationError("--file",
                                 "give the message: --file F, --stdin, or --subject S "
                                 "--body TEXT");
    }
    selected->prepare = [options] { return Prepare(options.get()); };
    selected->run = [options](const Session& s) { return Run(s, *options); };
  });
}

}  // namespace qbox::mail

// `qbox-mail flag` and `qbox-mail expunge`: changing existing messages.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/examples/qbox_mail.h"

namespace qbox::mail {
namespace {

struct UpdateOptions {
  std::string mailbox;
  std::string uids;
  bool add = false;
  bool remove = false;
  bool replace = false;
  std::vector<std::string> flags;
};

absl::Status Flag(const Session& s, const UpdateOptions& o) {
  v1::StoreFlagsRequest request;
  request.set_account(s.account);
  request.set_mailbox(o.mailbox);
  request.set_uid_set(o.uids);
  request.set_operation(o.add      ? v1::FLAG_OPERATION_ADD
                        : o.remove ? v1::FLAG_OPERATION_REMOVE
                                   : v1::FLAG_OPERATION_REPLACE);
  AddFlagsAndKeywords(o.flags, &request);
  absl::StatusOr<v1::StoreFlagsResponse> stored = s.client->StoreFlags(request, s.call);
  if (!stored.ok()) return stored.status();
  for (const v1::MessageInfo& m : stored->updated()) {
    std::printf("uid %u: flags %s (modseq %llu)\n", m.uid(), FlagsText(m).c_str(),
                static_cast<unsigned long long>(m.modseq()));
  }
  std::printf("%d message(s) updated in %s; highest modseq %llu\n", stored->updated_size(),
              o.mailbox.c_str(), static_cast<unsigned long long>(stored->highest_modseq()));
  return absl::OkStatus();
}

absl::Status Expunge(const Session& s, const UpdateOptions& o) {
  v1::ExpungeMessagesRequest request;
  request.set_account(s.account);
  request.set_mailbox(o.mailbox);
  request.set_uid_set(o.uids);
  absl::StatusOr<v1::ExpungeMessagesResponse> expunged = s.client->ExpungeMessages(request, s.call);
  if (!expunged.ok()) return expunged.status();
  if (expunged->expunged().empty()) {
    std::printf("nothing expunged: no message in %s has a UID in %s\n", o.mailbox.c_str(),
                o.uids.c_str());
    return absl::OkStatus();
  }
  std::printf(
      "expunged uid(s) %s from %s into vault entry %llu (undo: qbox-mail restore %llu); "
      "highest modseq %llu\n",
      absl::StrJoin(expunged->expunged(), ",").c_str(), o.mailbox.c_str(),
      static_cast<unsigned long long>(expunged->vault_id()),
      static_cast<unsigned long long>(expunged->vault_id()),
      static_cast<unsigned long long>(expunged->highest_modseq()));
  return absl::OkStatus();
}

}  // namespace

void AddUpdateCommands(CLI::App* app, Command* selected) {
  auto options = std::make_shared<UpdateOptions>();

  CLI::App* flag = app->add_subcommand(
      "flag", "Add, remove or replace flags/keywords: flag --mailbox M --uids 1:3 --add '\\Seen'");
  flag->add_option("--mailbox", options->mailbox, "Mailbox holding the messages")->required();
  AddUidsOption(flag, &options->uids);
  CLI::Option* add = flag->add_flag("--add", options->add, "Add FLAGS to each message");
  CLI::Option* remove =
      flag->add_flag("--remove", options->remove, "Remove FLAGS from each message");
  CLI::Option* replace = flag->add_flag("--replace", options->replace,
                                        "Make FLAGS each message's whole set (none: clear all)");
  add->excludes(remove)->excludes(replace);
  remove->excludes(replace);
  flag->add_option("FLAGS", options->flags, "System flags (\\Seen, \\Flagged, ...) or keywords");
  flag->callback([selected, options] {
    if (!options->add && !options->remove && !options->replace) {
      throw CLI::ValidationError("--add", "say how: --add, --remove or --replace");
    }
    if (options->flags.empty() && !options->replace) {
      throw CLI::ValidationError("FLAGS", "name at least one flag or keyword, e.g. '\\Seen'");
    }
    selected->run = [options](const Session& s) { return Flag(s, *options); };
  });

  CLI::App* expunge = app->add_subcommand(
      "expunge", "Remove messages into the retention vault (restorable with 'restore')");
  expunge->add_option("--mailbox", options->mailbox, "Mailbox holding the messages")->required();
  AddUidsOption(expunge, &options->uids);
  expunge->callback([selected, options] {
    selected->run = [options](const Session& s) { return Expunge(s, *options); };
  });
}

}  // namespace qbox::mail

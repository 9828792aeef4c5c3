// `qbox-mail mailbox create|list|rename|delete`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/examples/qbox_mail.h"

namespace qbox::mail {
namespace {

struct MailboxOptions {
  std::string name;
  std::string new_name;
  v1::SpecialUse special_use = v1::SPECIAL_USE_NONE;
  OutputFormat format = OutputFormat::kTable;
};

std::string SpecialUseText(v1::SpecialUse use) {
  if (use == v1::SPECIAL_USE_NONE) return "-";
  // SPECIAL_USE_ARCHIVE -> \Archive, as IMAP shows it.
  std::string name = absl::AsciiStrToLower(v1::SpecialUse_Name(use).substr(12));
  name[0] = absl::ascii_toupper(name[0]);
  return "\\" + name;
}

absl::Status Create(const Session& s, const MailboxOptions& o) {
  v1::CreateMailboxRequest request;
  request.set_account(s.account);
  request.set_name(o.name);
  request.set_special_use(o.special_use);
  absl::StatusOr<v1::CreateMailboxResponse> created = s.client->CreateMailbox(request, s.call);
  if (!created.ok()) return created.status();
  std::printf("created mailbox %s (uidvalidity %u)\n", created->mailbox().name().c_str(),
              created->mailbox().uidvalidity());
  return absl::OkStatus();
}

absl::Status List(const Session& s, const MailboxOptions& o) {
  v1::ListMailboxesRequest request;
  request.set_account(s.account);
  absl::StatusOr<v1::ListMailboxesResponse> listed = s.client->ListMailboxes(request, s.call);
  if (!listed.ok()) return listed.status();
  if (o.format == OutputFormat::kJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const v1::MailboxInfo& m : listed->mailboxes()) out.push_back(MailboxJson(m));
    std::printf("%s\n", JsonText(out).c_str());
    return absl::OkStatus();
  }
  Table table({"NAME", "MESSAGES", "UNSEEN", "BYTES", "UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ",
               "SPECIAL-USE"});
  for (const v1::MailboxInfo& m : listed->mailboxes()) {
    table.AddRow({m.name(), std::to_string(m.total()), std::to_string(m.unseen()),
                  std::to_string(m.size_bytes()), std::to_string(m.uidvalidity()),
                  std::to_string(m.uidnext()), std::to_string(m.highest_modseq()),
                  SpecialUseText(m.special_use())});
  }
  std::printf("%s", table.ToString().c_str());
  return absl::OkStatus();
}

absl::Status Rename(const Session& s, const MailboxOptions& o) {
  v1::RenameMailboxRequest request;
  request.set_account(s.account);
  request.set_name(o.name);
  request.set_new_name(o.new_name);
  absl::StatusOr<v1::RenameMailboxResponse> renamed = s.client->RenameMailbox(request, s.call);
  if (!renamed.ok()) return renamed.status();
  std::printf("renamed mailbox %s to %s\n", o.name.c_str(), renamed->mailbox().name().c_str());
  return absl::OkStatus();
}

absl::Status Delete(const Session& s, const MailboxOptions& o) {
  v1::DeleteMailboxRequest request;
  request.set_account(s.account);
  request.set_name(o.name);
  absl::StatusOr<v1::DeleteMailboxResponse> deleted = s.client->DeleteMailbox(request, s.call);
  if (!deleted.ok()) return deleted.status();
  std::printf("deleted mailbox %s into vault entry %llu (undo: qbox-mail restore %llu)\n",
              o.name.c_str(), static_cast<unsigned long long>(deleted->vault_id()),
              static_cast<unsigned long long>(deleted->vault_id()));
  return absl::OkStatus();
}

using Action = absl::Status (*)(const Session&, const MailboxOptions&);

void SelectOnParse(CLI::App* command, Command* selected, std::shared_ptr<MailboxOptions> options,
                   Action action) {
  command->callback([selected, options, action] {
    selected->run = [options, action](const Session& s) { return action(s, *options); };
  });
}

}  // namespace

void AddMailboxCommands(CLI::App* app, Command* selected) {
  CLI::App* mailbox = app->add_subcommand("mailbox", "Create, list, rename and delete mailboxes");
  auto options = std::make_shared<MailboxOptions>();

  CLI::App* create = mailbox->add_subcommand("create", "Create a mailbox; its parent must exist");
  create->add_option("NAME", options->name, "Full name, '/' between levels: Archive/2024")
      ->required();
  const std::map<std::string, v1::SpecialUse> uses = {
      {"archive", v1::SPECIAL_USE_ARCHIVE}, {"drafts", v1::SPECIAL_USE_DRAFTS},
      {"flagged", v1::SPECIAL_USE_FLAGGED}, {"junk", v1::SPECIAL_USE_JUNK},
      {"sent", v1::SPECIAL_USE_SENT},       {"trash", v1::SPECIAL_USE_TRASH},
      {"all", v1::SPECIAL_USE_ALL},         {"important", v1::SPECIAL_USE_IMPORTANT}};
  std::vector<std::string> use_names;
  for (const auto& [name, use] : uses) use_names.push_back(name);
  create
      ->add_option_function<std::string>(
          "--special-use",
          [options, uses](const std::string& name) { options->special_use = uses.at(name); },
          "Role: archive, drafts, flagged, junk, sent, trash, all or important")
      ->check(CLI::IsMember(use_names));
  SelectOnParse(create, selected, options, Create);

  CLI::App* list = mailbox->add_subcommand("list", "List the account's mailboxes with counts");
  AddOutputFlag(list, &options->format);
  SelectOnParse(list, selected, options, List);

  CLI::App* rename = mailbox->add_subcommand("rename", "Rename a mailbox and those below it");
  rename->add_option("NAME", options->name, "Current full name")->required();
  rename->add_option("NEW_NAME", options->new_name, "New full name")->required();
  SelectOnParse(rename, selected, options, Rename);

  CLI::App* remove =
      mailbox->add_subcommand("delete", "Delete a mailbox into the retention vault (restorable)");
  remove->add_option("NAME", options->name, "Full name")->required();
  SelectOnParse(remove, selected, options, Delete);
}

}  // namespace qbox::mail

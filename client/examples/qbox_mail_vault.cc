// `qbox-mail deleted list` and `qbox-mail restore`: the retention vault that
// holds expunged messages and deleted mailboxes (DESIGN.md, G3).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "client/examples/qbox_mail.h"

namespace qbox::mail {
namespace {

struct VaultOptions {
  std::vector<uint64_t> vault_ids;
  std::string target_mailbox;
  OutputFormat format = OutputFormat::kTable;
};

// "mailbox", "messages" or "sieve" (a deleted or replaced sieve script).
std::string KindOf(const v1::DeletedItem& item) {
  if (item.whole_mailbox()) return "mailbox";
  if (!item.sieve_script().empty()) return "sieve";
  return "messages";
}

absl::Status ListDeleted(const Session& s, const VaultOptions& o) {
  v1::ListDeletedRequest request;
  request.set_account(s.account);
  absl::StatusOr<v1::ListDeletedResponse> listed = s.client->ListDeleted(request, s.call);
  if (!listed.ok()) return listed.status();
  if (o.format == OutputFormat::kJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const v1::DeletedItem& item : listed->items()) {
      out.push_back({{"id", item.vault_id()},
                     {"kind", KindOf(item)},
                     {"sieve_script", item.sieve_script()},
                     {"mailbox", item.mailbox()},
                     {"messages", item.message_count()},
                     {"size_bytes", item.size_bytes()},
                     {"deleted_at", FormatTimeMs(item.deleted_at_ms())},
                     {"restorable_until", FormatTimeMs(item.restorable_until_ms())}});
    }
    std::printf("%s\n", JsonText(out).c_str());
    return absl::OkStatus();
  }
  Table table({"ID", "KIND", "MAILBOX", "MESSAGES", "BYTES", "DELETED", "RESTORABLE-UNTIL"});
  for (const v1::DeletedItem& item : listed->items()) {
    table.AddRow({std::to_string(item.vault_id()), KindOf(item),
                  item.sieve_script().empty() ? item.mailbox() : item.sieve_script(),
                  std::to_string(item.message_count()), std::to_string(item.size_bytes()),
                  FormatTimeMs(item.deleted_at_ms()), FormatTimeMs(item.restorable_until_ms())});
  }
  std::printf("%s", table.ToString().c_str());
  return absl::OkStatus();
}

absl::Status Restore(const Session& s, const VaultOptions& o) {
  v1::RestoreDeletedRequest request;
  request.set_account(s.account);
  for (uint64_t id : o.vault_ids) request.add_vault_ids(id);
  request.set_target_mailbox(o.target_mailbox);
  absl::StatusOr<v1::RestoreDeletedResponse> restored = s.client->RestoreDeleted(request, s.call);
  if (!restored.ok()) return restored.status();
  std::printf("restored %llu message(s) with new UIDs\n",
              static_cast<unsigned long long>(restored->restored_messages()));
  for (const v1::MailboxInfo& m : restored->mailboxes()) {
    std::printf("  %s: %llu message(s), uidnext %u, highest modseq %llu\n", m.name().c_str(),
                static_cast<unsigned long long>(m.total()), m.uidnext(),
                static_cast<unsigned long long>(m.highest_modseq()));
  }
  return absl::OkStatus();
}

}  // namespace

void AddVaultCommands(CLI::App* app, Command* selected) {
  auto options = std::make_shared<VaultOptions>();

  CLI::App* deleted =
      app->add_subcommand("deleted", "The retention vault: expunged messages, deleted mailboxes");
  CLI::App* list = deleted->add_subcommand("list", "List the vault's entries, oldest first");
  AddOutputFlag(list, &options->format);
  list->callback([selected, options] {
    selected->run = [options](const Session& s) { return ListDeleted(s, *options); };
  });

  CLI::App* restore =
      app->add_subcommand("restore", "Bring vault entries back (messages get new UIDs)");
  restore->add_option("ID", options->vault_ids, "Vault entry id(s) from 'deleted list'")
      ->required()
      ->check(CLI::Validator(
          [](std::string& id) {
            const bool positive = id.find_first_not_of("0123456789") == std::string::npos &&
                                  id.find_first_not_of('0') != std::string::npos;
            return positive ? std::string()
                            : "'" + id +
                                  "' is not a vault entry id (a positive number from "
                                  "'qbox-mail deleted list')";
          },
          "ID"));
  restore->add_option("--to", options->target_mailbox,
                      "Restore into (or, for a mailbox, as) this mailbox instead");
  restore->callback([selected, options] {
    selected->run = [options](const Session& s) { return Restore(s, *options); };
  });
}

}  // namespace qbox::mail

// `qbox-mail fetch` and `qbox-mail changes`: reading messages. Fetch prints
// each message as it arrives, so memory does not grow with the mailbox.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/examples/qbox_mail.h"

namespace qbox::mail {
namespace {

struct ReadOptions {
  std::string mailbox;
  std::string uids;
  bool bodies = false;
  uint64_t since_modseq = 0;
  OutputFormat format = OutputFormat::kTable;
};

constexpr char kRowFormat[] = "%-8s %-8s %-8s %-20s %s\n";

void PrintRow(const v1::MessageInfo& m) {
  std::printf(kRowFormat, std::to_string(m.uid()).c_str(), std::to_string(m.modseq()).c_str(),
              std::to_string(m.size()).c_str(), FormatTimeMs(m.internal_date_ms()).c_str(),
              FlagsText(m).c_str());
}

void PrintHeader() { std::printf(kRowFormat, "UID", "MODSEQ", "SIZE", "INTERNALDATE", "FLAGS"); }

// A body under its row, indented and without CRs, so rows stay findable.
void PrintBody(absl::string_view body) {
  if (!body.empty() && body.back() == '\n') body.remove_suffix(1);
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::printf("    | %.*s\n", static_cast<int>(line.size()), line.data());
  }
}

absl::Status Fetch(const Session& s, const ReadOptions& o) {
  v1::FetchMessagesRequest request;
  request.set_account(s.account);
  request.set_mailbox(o.mailbox);
  request.set_uid_set(o.uids);
  request.set_include_body(o.bodies);
  const bool json = o.format == OutputFormat::kJson;
  // Output starts with the first message, so an error (unknown mailbox)
  // leaves stdout empty. JSON is streamed as an array, one message a line.
  int printed = 0;
  absl::Status status = s.client->FetchMessages(
      request,
      [&](const v1::FetchMessagesResponse& response) {
        if (json) {
          nlohmann::json message = MessageJson(response.message());
          message["uidvalidity"] = response.uidvalidity();
          std::printf("%s  %s", printed == 0 ? "[\n" : ",\n", JsonText(message, -1).c_str());
        } else {
          if (printed == 0) PrintHeader();
          PrintRow(response.message());
          if (o.bodies) PrintBody(response.message().body());
        }
        ++printed;
        return absl::OkStatus();
      },
      s.call);
  if (printed > 0) {
    if (json) std::printf("\n]\n");
  } else if (status.ok()) {
    if (json) {
      std::printf("[]\n");
    } else {
      PrintHeader();
    }
  }
  return status;
}

absl::Status Changes(const Session& s, const ReadOptions& o) {
  v1::GetChangesRequest request;
  request.set_account(s.account);
  request.set_mailbox(o.mailbox);
  request.set_since_modseq(o.since_modseq);
  // The server answers in pages; the tool shows one merged answer. A UID
  // listed again by a later page changed again meanwhile, so the later
  // listing wins, and a vanished UID never comes back (UIDs are not
  // reused).
  std::map<uint32_t, v1::MessageInfo> changed;
  std::set<uint32_t> vanished;
  uint64_t highest_modseq = 0;
  uint32_t uidvalidity = 0;
  bool vanished_incomplete = false;
  absl::Status status = s.client->GetAllChanges(
      request,
      [&](const v1::GetChangesResponse& page) {
        for (const v1::MessageInfo& m : page.changed()) changed[m.uid()] = m;
        for (uint32_t uid : page.vanished()) {
          changed.erase(uid);
          vanished.insert(uid);
        }
        highest_modseq = page.highest_modseq();
        uidvalidity = page.uidvalidity();
        vanished_incomplete |= page.vanished_incomplete();
        return absl::OkStatus();
      },
      s.call);
  if (!status.ok()) return status;
  if (o.format == OutputFormat::kJson) {
    nlohmann::json out = {{"uidvalidity", uidvalidity},
                          {"highest_modseq", highest_modseq},
                          {"changed", nlohmann::json::array()},
                          {"vanished", std::vector<uint32_t>(vanished.begin(), vanished.end())},
                          {"vanished_incomplete", vanished_incomplete}};
    for (const auto& [uid, m] : changed) out["changed"].push_back(MessageJson(m));
    std::printf("%s\n", JsonText(out).c_str());
    return absl::OkStatus();
  }
  std::printf("%s since modseq %llu: highest modseq %llu, uidvalidity %u\n", o.mailbox.c_str(),
              static_cast<unsigned long long>(o.since_modseq),
              static_cast<unsigned long long>(highest_modseq), uidvalidity);
  std::printf("changed: %zu message(s)\n", changed.size());
  if (!changed.empty()) {
    PrintHeader();
    for (const auto& [uid, m] : changed) PrintRow(m);
  }
  std::printf("vanished: %s\n", vanished.empty() ? "none" : absl::StrJoin(vanished, ",").c_str());
  if (vanished_incomplete) {
    // The store dropped its oldest vanished records (mailstore.proto).
    std::printf("vanished list incomplete: UIDs expunged long ago are not listed\n");
  }
  return absl::OkStatus();
}

}  // namespace

void AddReadCommands(CLI::App* app, Command* selected) {
  auto options = std::make_shared<ReadOptions>();

  CLI::App* fetch = app->add_subcommand("fetch", "Show messages (metadata, optionally bodies)");
  fetch->add_option("--mailbox", options->mailbox, "Mailbox to read, e.g. INBOX")->required();
  AddUidsOption(fetch, &options->uids, "1:*");
  fetch->add_flag("--bodies", options->bodies, "Also show each message's full text");
  AddOutputFlag(fetch, &options->format);
  fetch->callback([selected, options] {
    selected->run = [options](const Session& s) { return Fetch(s, *options); };
  });

  CLI::App* changes = app->add_subcommand(
      "changes", "What changed in a mailbox after a MODSEQ (CONDSTORE/QRESYNC resync)");
  changes->add_option("--mailbox", options->mailbox, "Mailbox to read")->required();
  changes->add_option("--since", options->since_modseq, "Report changes with MODSEQ > this")
      ->required();
  AddOutputFlag(changes, &options->format);
  changes->callback([selected, options] {
    selected->run = [options](const Session& s) { return Changes(s, *options); };
  });
}

}  // namespace qbox::mail

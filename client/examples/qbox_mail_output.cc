// How qbox-mail prints what the cluster answered: aligned tables for people,
// JSON for scripts.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/examples/qbox_mail.h"

namespace qbox::mail {
namespace {

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

}  // namespace

void AddOutputFlag(CLI::App* command, OutputFormat* format) {
  command
      ->add_option_function<std::string>(
          "-o,--output",
          [format](const std::string& name) {
            *format = name == "json" ? OutputFormat::kJson : OutputFormat::kTable;
          },
          "Output format: table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->default_str("table");
}

std::string FormatTimeMs(int64_t ms_since_epoch) {
  if (ms_since_epoch == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(ms_since_epoch),
                          absl::UTCTimeZone());
}

std::string FlagsText(const v1::MessageInfo& message) {
  std::vector<std::string> all(message.flags().begin(), message.flags().end());
  all.insert(all.end(), message.keywords().begin(), message.keywords().end());
  return all.empty() ? "-" : absl::StrJoin(all, " ");
}

nlohmann::json MessageJson(const v1::MessageInfo& message) {
  nlohmann::json out = {
      {"uid", message.uid()},
      {"modseq", message.modseq()},
      {"flags", std::vector<std::string>(message.flags().begin(), message.flags().end())},
      {"keywords", std::vector<std::string>(message.keywords().begin(), message.keywords().end())},
      {"internal_date", FormatTimeMs(message.internal_date_ms())},
      {"size", message.size()},
  };
  if (!message.content_sha256().empty()) out["sha256"] = Hex(message.content_sha256());
  if (!message.body().empty()) out["body"] = message.body();
  return out;
}

nlohmann::json MailboxJson(const v1::MailboxInfo& mailbox) {
  return {
      {"name", mailbox.name()},
      {"id", mailbox.mailbox_id()},
      {"special_use", v1::SpecialUse_Name(mailbox.special_use())},
      {"uidvalidity", mailbox.uidvalidity()},
      {"uidnext", mailbox.uidnext()},
      {"highest_modseq", mailbox.highest_modseq()},
      {"total", mailbox.total()},
      {"unseen", mailbox.unseen()},
      {"size_bytes", mailbox.size_bytes()},
  };
}

std::string JsonText(const nlohmann::json& value, int indent) {
  // Bodies are bytes; a message that is not UTF-8 must not abort the print.
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::ToString() const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace qbox::mail

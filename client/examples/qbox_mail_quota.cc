// `qbox-mail quota`: the account's usage and limits.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/examples/qbox_mail.h"

namespace qbox::mail {
namespace {

std::string OfLimit(uint64_t used, uint64_t limit) {
  return limit == 0 ? absl::StrCat(used, " (no limit)") : absl::StrCat(used, " of ", limit);
}

absl::Status Quota(const Session& s, OutputFormat format) {
  v1::GetQuotaRequest request;
  request.set_account(s.account);
  absl::StatusOr<v1::GetQuotaResponse> quota = s.client->GetQuota(request, s.call);
  if (!quota.ok()) return quota.status();
  if (format == OutputFormat::kJson) {
    nlohmann::json out = {{"account", s.account},
                          {"used_bytes", quota->used_bytes()},
                          {"limit_bytes", quota->limit_bytes()},
                          {"used_messages", quota->used_messages()},
                          {"limit_messages", quota->limit_messages()},
                          {"max_message_bytes", quota->max_message_bytes()}};
    std::printf("%s\n", JsonText(out).c_str());
    return absl::OkStatus();
  }
  std::printf(
      "account %s\n  bytes:    %s\n  messages: %s\n  largest message accepted: %llu bytes\n",
      s.account.c_str(), OfLimit(quota->used_bytes(), quota->limit_bytes()).c_str(),
      OfLimit(quota->used_messages(), quota->limit_messages()).c_str(),
      static_cast<unsigned long long>(quota->max_message_bytes()));
  return absl::OkStatus();
}

}  // namespace

void AddQuotaCommand(CLI::App* app, Command* selected) {
  auto format = std::make_shared<OutputFormat>(OutputFormat::kTable);
  CLI::App* quota = app->add_subcommand("quota", "The account's usage and limits");
  AddOutputFlag(quota, format.get());
  quota->callback([selected, format] {
    selected->run = [format](const Session& s) { return Quota(s, *format); };
  });
}

}  // namespace qbox::mail

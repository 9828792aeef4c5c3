// `qboxctl charter show`.
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "ctl/admin_connection.h"
#include "ctl/charter_commands.h"
#include "ctl/guard_admin_client.h"
#include "ctl/proposal_narrative.h"
#include "node/common/status_macros.h"
#include "node/guard/certificate_info.h"

namespace qbox::ctl {
namespace {

std::string NodeState(const v1::CharterNode& node) {
  if (node.removed()) return "removed";
  return node.voter() ? "voter" : "learner";
}

}  // namespace

absl::Status RunCharterShow(const ReadCommandOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<v1::GetCharterResponse> answer = client->GetCharter();
  if (!answer.ok()) {
    return ExplainCallError(answer.status(), "reading the charter", {}, connection);
  }
  const v1::Charter& charter = answer->charter();

  nlohmann::json sites = nlohmann::json::array();
  std::vector<std::vector<std::string>> site_rows;
  for (const v1::CharterSite& site : charter.sites()) {
    absl::StatusOr<guard::CertificateInfo> info =
        guard::DescribeCertificate(site.ca_cert_pem(), absl::StrCat("site ", site.name()));
    std::string fingerprint = info.ok() ? info->public_key_sha256_hex : "(unreadable)";
    std::string subject = info.ok() ? info->subject : std::string(info.status().message());
    sites.push_back(
        {{"name", site.name()}, {"ca_fingerprint", fingerprint}, {"ca_subject", subject}});
    site_rows.push_back({site.name(), fingerprint, subject});
  }
  nlohmann::json nodes = nlohmann::json::array();
  std::vector<std::vector<std::string>> node_rows;
  for (const v1::CharterNode& node : charter.nodes()) {
    nodes.push_back({{"id", node.id()},
                     {"site", node.site()},
                     {"name", node.name()},
                     {"address", node.address()},
                     {"state", NodeState(node)}});
    node_rows.push_back({std::to_string(node.id()), node.site() + "/" + node.name(), node.address(),
                         NodeState(node)});
  }

  if (options.format == OutputFormat::kJson) {
    nlohmann::json doc = {{"cluster", charter.cluster()},
                          {"version", charter.version()},
                          {"required_sites", charter.required_sites()},
                          {"site_count", charter.sites_size()},
                          {"delay_ms", charter.delay_ms()},
                          {"retention_ms", charter.retention_ms()},
                          {"proposal_ttl_ms", charter.proposal_ttl_ms()},
                          {"checkpoint_every", charter.checkpoint_every()},
                          {"sites", std::move(sites)},
                          {"nodes", std::move(nodes)},
                          {"applied_index", answer->applied_index()},
                          {"reporter", answer->reporter()}};
    std::cout << doc.dump(2) << "\n";
    return absl::OkStatus();
  }
  std::cout << "cluster " << charter.cluster() << ", charter version " << charter.version()
            << " (as applied at index " << answer->applied_index() << " by " << answer->reporter()
            << ")\n";
  std::cout << "irreversible actions need " << charter.required_sites() << " of "
            << charter.sites_size() << " sites, then wait T = " << FormatMs(charter.delay_ms())
            << "; proposals live " << FormatMs(charter.proposal_ttl_ms()) << "\n";
  std::cout << "vault retention R = " << FormatMs(charter.retention_ms()) << "; checkpoint every "
            << charter.checkpoint_every() << " entries\n\n";
  PrintTable(std::cout, {"SITE", "CA KEY SHA-256", "CA SUBJECT"}, site_rows);
  std::cout << "\n";
  PrintTable(std::cout, {"ID", "NODE", "ADDRESS", "STATE"}, node_rows);
  return absl::OkStatus();
}

}  // namespace qbox::ctl

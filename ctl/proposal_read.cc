// `qboxctl proposals list` and `proposals show`.
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ctl/admin_connection.h"
#include "ctl/charter_commands.h"
#include "ctl/guard_admin_client.h"
#include "ctl/proposal_narrative.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"
#include "node/guard/proposal_rules.h"

namespace qbox::ctl {

absl::Status RunProposalList(const ProposalListOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.read.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<v1::GetCharterResponse> charter = client->GetCharter();
  if (!charter.ok()) {
    return ExplainCallError(charter.status(), "reading the charter", {}, connection);
  }
  absl::StatusOr<std::vector<v1::ProposalRecord>> proposals = client->ListProposals(options.all);
  if (!proposals.ok()) {
    return ExplainCallError(proposals.status(), "listing proposals", {}, connection);
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  if (options.read.format == OutputFormat::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : *proposals) list.push_back(ProposalJson(p, charter->charter(), now_ms));
    std::cout << nlohmann::json{{"proposals", std::move(list)}}.dump(2) << "\n";
    return absl::OkStatus();
  }
  if (proposals->empty()) {
    std::cout << (options.all ? "no proposals\n" : "no open proposals (--all shows closed ones)\n");
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : *proposals) {
    rows.push_back({p.proposal_id(), std::string(guard::ProposalStateName(p.state())),
                    absl::StrCat(p.approved_sites_size(), "/", p.required_sites()),
                    guard::DescribeAction(charter->charter(), p.body().action()),
                    NextStep(p, charter->charter(), now_ms)});
  }
  PrintTable(std::cout, {"ID", "STATE", "SITES", "ACTION", "NEXT"}, rows);
  return absl::OkStatus();
}

absl::Status RunProposalShow(const ProposalShowOptions& options) {
  if (!guard::IsValidProposalId(options.id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ID: '", options.id, "' is not a proposal id (32 lowercase hex characters)"));
  }
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.read.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<v1::GetCharterResponse> charter = client->GetCharter();
  if (!charter.ok()) {
    return ExplainCallError(charter.status(), "reading the charter", {}, connection);
  }
  absl::StatusOr<v1::ProposalRecord> record = client->GetProposal(options.id);
  if (!record.ok()) {
    return ExplainCallError(record.status(), absl::StrCat("reading proposal ", options.id), {},
                            connection);
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  if (options.read.format == OutputFormat::kJson) {
    std::cout << ProposalJson(*record, charter->charter(), now_ms).dump(2) << "\n";
  } else {
    PrintProposalDetail(std::cout, *record, charter->charter(), now_ms);
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

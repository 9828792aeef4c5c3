// `qboxctl audit verify` and `audit log`.
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ctl/admin_connection.h"
#include "ctl/audit_verifier.h"
#include "ctl/charter_commands.h"
#include "ctl/guard_admin_client.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {

absl::Status RunAuditVerify(const ReadCommandOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<v1::GetCharterResponse> charter = client->GetCharter();
  if (!charter.ok()) {
    return ExplainCallError(charter.status(), "reading the charter", {}, connection);
  }
  // Executed proposals name the CAs that were added or replaced since
  // genesis, whose signatures must still verify.
  absl::StatusOr<std::vector<v1::ProposalRecord>> proposals =
      client->ListProposals(/*include_closed=*/true);
  if (!proposals.ok()) {
    return ExplainCallError(proposals.status(), "listing proposals", {}, connection);
  }
  absl::StatusOr<std::vector<v1::AuditRecord>> records = client->GetAuditLog(0);
  if (!records.ok()) {
    return ExplainCallError(records.status(), "reading the audit log", {}, connection);
  }
  AuditVerification result = VerifyAuditLog(*records, *proposals, charter->charter());
  if (options.format == OutputFormat::kJson) {
    nlohmann::json doc = {{"ok", !result.broken.has_value()},
                          {"records", result.records},
                          {"signatures_verified", result.signatures},
                          {"refused_attempts", result.refused},
                          {"head", result.head_hex}};
    if (result.broken) {
      doc["broken"] = {{"seq", result.broken->seq},
                       {"log_index", result.broken->log_index},
                       {"reason", result.broken->reason}};
    }
    std::cout << doc.dump(2) << "\n";
  } else {
    std::cout << DescribeVerification(result) << "\n";
  }
  if (result.broken) {
    return absl::DataLossError(absl::StrCat("the audit log is broken at seq ", result.broken->seq,
                                            "; keep this output and the nodes' data as evidence"));
  }
  return absl::OkStatus();
}

absl::Status RunAuditLog(const AuditLogOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.read.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<std::vector<v1::AuditRecord>> records = client->GetAuditLog(options.from_seq);
  if (!records.ok()) {
    return ExplainCallError(records.status(), "reading the audit log", {}, connection);
  }
  if (options.read.format == OutputFormat::kJson) {
    nlohmann::json list = nlohmann::json::array();
    for (const v1::AuditRecord& r : *records) {
      list.push_back({{"seq", r.seq()},
                      {"log_index", r.log_index()},
                      {"actor", r.actor()},
                      {"kind", r.kind()},
                      {"detail", r.detail()},
                      {"command_bytes", r.command().size()},
                      {"prev_hash", absl::BytesToHexString(r.prev_hash())},
                      {"hash", absl::BytesToHexString(r.hash())}});
    }
    std::cout << nlohmann::json{{"records", std::move(list)}}.dump(2) << "\n";
    return absl::OkStatus();
  }
  if (records->empty()) {
    std::cout << "no audit records from seq " << options.from_seq << "\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::AuditRecord& r : *records) {
    rows.push_back({std::to_string(r.seq()), std::to_string(r.log_index()),
                    r.actor().empty() ? "-" : r.actor(), r.kind(), r.detail()});
  }
  PrintTable(std::cout, {"SEQ", "INDEX", "ACTOR", "KIND", "DETAIL"}, rows);
  return absl::OkStatus();
}

}  // namespace qbox::ctl

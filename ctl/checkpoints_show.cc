// `qboxctl checkpoints`: which node of which site signed which state digest
// at each checkpoint index (G5). Sites that disagree are the alarm.
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ctl/admin_connection.h"
#include "ctl/charter_commands.h"
#include "ctl/guard_admin_client.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"

namespace qbox::ctl {

absl::Status RunCheckpoints(const CheckpointsOptions& options) {
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.read.connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<v1::GetCharterResponse> charter = client->GetCharter();
  if (!charter.ok()) {
    return ExplainCallError(charter.status(), "reading the charter", {}, connection);
  }
  absl::StatusOr<v1::GetCheckpointsResponse> answer = client->GetCheckpoints(options.min_index);
  if (!answer.ok()) {
    return ExplainCallError(answer.status(), "reading checkpoints", {}, connection);
  }
  nlohmann::json list = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  int mismatched_indexes = 0;
  for (const v1::CheckpointEntry& entry : answer->checkpoints()) {
    std::set<std::string> digests;
    if (!entry.local_digest().empty()) digests.insert(entry.local_digest());
    nlohmann::json signers = nlohmann::json::array();
    std::vector<std::vector<std::string>> entry_rows;
    for (const v1::SignedNodeStatement& signed_statement : entry.statements()) {
      v1::NodeStatement statement;
      std::string node = "(unparseable statement)";
      std::string digest;
      if (statement.ParseFromString(signed_statement.statement())) {
        const v1::CharterNode* n = guard::FindCharterNode(charter->charter(), statement.node_id());
        node = n == nullptr ? absl::StrCat("node ", statement.node_id())
                            : absl::StrCat(n->site(), "/", n->name());
        digest = statement.checkpoint().state_digest();
      }
      digests.insert(digest);
      std::string hex = absl::BytesToHexString(digest);
      signers.push_back({{"node", node}, {"digest", hex}});
      entry_rows.push_back({std::to_string(entry.index()), node, hex});
    }
    const bool mismatch = digests.size() > 1;
    if (mismatch) ++mismatched_indexes;
    for (auto& row : entry_rows) {
      row.push_back(mismatch ? "MISMATCH" : "ok");
      rows.push_back(std::move(row));
    }
    list.push_back({{"index", entry.index()},
                    {"signers", std::move(signers)},
                    {"local_digest", absl::BytesToHexString(entry.local_digest())},
                    {"mismatch", mismatch}});
  }
  if (options.read.format == OutputFormat::kJson) {
    std::cout << nlohmann::json{{"checkpoints", std::move(list)},
                                {"mismatched_indexes", mismatched_indexes}}
                     .dump(2)
              << "\n";
    return absl::OkStatus();
  }
  if (rows.empty()) {
    std::cout << "no checkpoints at or above index " << options.min_index << "\n";
    return absl::OkStatus();
  }
  PrintTable(std::cout, {"INDEX", "NODE", "STATE DIGEST", "AGREE"}, rows);
  if (mismatched_indexes > 0) {
    std::cout << "sites disagree at " << mismatched_indexes
              << " checkpoint index(es): see 'qboxctl alarms list'\n";
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

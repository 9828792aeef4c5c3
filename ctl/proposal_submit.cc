// `qboxctl propose KIND ...`.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "ctl/admin_connection.h"
#include "ctl/charter_commands.h"
#include "ctl/guard_admin_client.h"
#include "ctl/proposal_narrative.h"
#include "ctl/statement_signing.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"

namespace qbox::ctl {
namespace {

constexpr size_t kMaxReasonBytes = 1024;

}  // namespace

absl::Status RunPropose(const ProposeOptions& options) {
  // Everything local first: a mistyped command is refused before any
  // connection is made or anything is signed.
  ASSIGN_OR_RETURN(v1::ProposedAction action, BuildProposedAction(options.action));
  if (options.reason.empty()) {
    return absl::InvalidArgumentError("--reason: say why, for the other sites' admins");
  }
  if (options.reason.size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--reason: ", options.reason.size(), " bytes; at most ", kMaxReasonBytes));
  }
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(AdminSigner signer, LoadAdminSigner(connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<v1::GetCharterResponse> charter = client->GetCharter();
  if (!charter.ok()) {
    return ExplainCallError(charter.status(), "reading the charter", {}, connection);
  }
  // The nodes would refuse it too; refusing here names the problem without
  // putting a doomed proposal in the log.
  absl::Status valid = guard::ValidateAction(charter->charter(), action);
  if (!valid.ok()) {
    return absl::Status(valid.code(),
                        absl::StrCat("the charter refuses this proposal: ", valid.message()));
  }

  v1::ProposalBody body;
  body.set_cluster(charter->charter().cluster());
  ASSIGN_OR_RETURN(*body.mutable_proposal_id(), NewProposalId());
  *body.mutable_action() = action;
  body.set_reason(options.reason);
  body.set_created_at_ms(absl::ToUnixMillis(absl::Now()));
  ASSIGN_OR_RETURN(v1::SignedProposal signed_proposal, SignProposal(body, signer));

  absl::StatusOr<v1::ProposalRecord> record = client->SubmitProposal(signed_proposal);
  if (!record.ok()) {
    return ExplainCallError(
        record.status(), absl::StrCat("submitting proposal ", body.proposal_id()), {}, connection);
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  if (options.format == OutputFormat::kJson) {
    std::cout << ProposalJson(*record, charter->charter(), now_ms).dump(2) << "\n";
  } else {
    PrintProposalSummary(std::cout, *record, charter->charter(), now_ms);
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

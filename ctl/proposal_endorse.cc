// `qboxctl proposals approve` and `proposals veto`.
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
#include "node/guard/proposal_rules.h"

namespace qbox::ctl {
namespace {

constexpr size_t kMaxCommentBytes = 1024;

}  // namespace

absl::Status RunEndorse(const EndorseOptions& options) {
  if (!guard::IsValidProposalId(options.id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("ID: '", options.id, "' is not a proposal id (32 lowercase hex characters)"));
  }
  if (options.veto && options.comment.empty()) {
    return absl::InvalidArgumentError("--comment: a veto needs a comment saying why");
  }
  if (options.comment.size() > kMaxCommentBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--comment: ", options.comment.size(), " bytes; at most ", kMaxCommentBytes));
  }
  ASSIGN_OR_RETURN(Connection connection, ResolveConnection(options.connection));
  ASSIGN_OR_RETURN(AdminSigner signer, LoadAdminSigner(connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<v1::GetCharterResponse> charter = client->GetCharter();
  if (!charter.ok()) {
    return ExplainCallError(charter.status(), "reading the charter", {}, connection);
  }
  absl::StatusOr<v1::ProposalRecord> proposal = client->GetProposal(options.id);
  if (!proposal.ok()) {
    return ExplainCallError(proposal.status(), absl::StrCat("reading proposal ", options.id), {},
                            connection);
  }
  const char* verb = options.veto ? "veto" : "approval";
  if (options.format == OutputFormat::kTable) {
    // The admin sees what the signature binds before it is made.
    std::cout << "signing " << verb << " as " << connection.admin_identity << " of proposal "
              << options.id << ": "
              << guard::DescribeAction(charter->charter(), proposal->body().action())
              << " (reason: \"" << proposal->body().reason() << "\", proposed by "
              << proposal->proposer().name() << ")\n";
  }

  v1::Endorsement endorsement;
  endorsement.set_cluster(charter->charter().cluster());
  endorsement.set_proposal_id(options.id);
  // Binds the exact bytes the proposer signed, not the node's parse of them.
  endorsement.set_proposal_sha256(guard::ProposalDigest(proposal->signed_()));
  endorsement.set_decision(options.veto ? v1::ENDORSEMENT_DECISION_VETO
                                        : v1::ENDORSEMENT_DECISION_APPROVE);
  endorsement.set_signed_at_ms(absl::ToUnixMillis(absl::Now()));
  endorsement.set_comment(options.comment);
  ASSIGN_OR_RETURN(v1::SignedEndorsement signed_endorsement, SignEndorsement(endorsement, signer));

  absl::StatusOr<v1::ProposalRecord> record = client->EndorseProposal(signed_endorsement);
  if (!record.ok()) {
    return ExplainCallError(record.status(),
                            absl::StrCat("submitting the ", verb, " of proposal ", options.id), {},
                            connection);
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

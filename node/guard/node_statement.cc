// VerifyNodeStatement (proposal_rules.h): statements nodes sign about their
// own clock and state, and which charter node may make them.
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "node/guard/charter.h"
#include "node/guard/identity_names.h"
#include "node/guard/proposal_rules.h"
#include "node/guard/signed_statement.h"

namespace qbox::guard {

absl::StatusOr<VerifiedNodeStatement> VerifyNodeStatement(
    const v1::Charter& charter, const SiteTrustStore& trust,
    const v1::SignedNodeStatement& signed_statement) {
  VerifiedNodeStatement out;
  if (!out.statement.ParseFromString(signed_statement.statement())) {
    return absl::InvalidArgumentError("statement: does not parse as a NodeStatement");
  }
  const v1::NodeStatement& statement = out.statement;
  absl::StatusOr<PeerIdentity> signer = VerifyStatement(
      trust, StatementKind::kNodeStatement, signed_statement.statement(),
      signed_statement.signature(), absl::FromUnixMillis(statement.signed_at_ms()), kRoleNode);
  if (!signer.ok()) return signer.status();
  if (statement.cluster() != charter.cluster()) {
    return absl::InvalidArgumentError(absl::StrCat("statement.cluster: '", statement.cluster(),
                                                   "' is not this cluster ('", charter.cluster(),
                                                   "')"));
  }
  if (statement.statement_case() == v1::NodeStatement::STATEMENT_NOT_SET) {
    return absl::InvalidArgumentError("statement: unknown kind");
  }
  const v1::CharterNode* node = FindCharterNode(charter, statement.node_id());
  if (node == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("statement.node_id: ", statement.node_id(),
                                                    " is not a node of the charter (signed by ",
                                                    signer->ToString(), ")"));
  }
  if (node->removed()) {
    return absl::PermissionDeniedError(absl::StrCat("statement.node_id: node ", node->id(), " (",
                                                    node->site(), "/", node->name(),
                                                    ") was removed from the charter"));
  }
  // A node speaks only for itself: another node of the same site (or a
  // site's CA minting a look-alike) must not make statements in its name.
  if (signer->site != node->site() || signer->name != node->name()) {
    return absl::PermissionDeniedError(
        absl::StrCat("statement.node_id: node ", node->id(), " is ", node->site(), "/",
                     node->name(), " but the statement is signed by ", signer->ToString()));
  }
  out.signer = *std::move(signer);
  return out;
}

}  // namespace qbox::guard

// The rules of irreversible actions (DESIGN.md G2): a proposal signed by an
// admin; approvals and vetoes signed by admins of the sites; M distinct
// sites approve (the proposer's site counts); then the nodes of M sites each
// say by their OWN clock that T has passed since they applied the approval;
// only then does the action run, unless a site vetoed first (the site a
// remove-site or replace-site-ca proposal names has no veto over it). A
// proposal that the nodes of M sites each say, by their OWN clocks,
// outlived its lifetime before M sites approved expires and never runs.
// Nothing is approved by a timeout, and nothing is closed by one site.
//
// Pure and deterministic: the mailbox state machine calls these while it
// applies an entry, with the charter in force at that entry. Each function
// verifies every signature itself (signed_statement.h) at the statement's
// own signed time, and changes `record` only when it returns OK. Errors name
// the field from the signed message down: VerifyStatement's
// "signature.signature: ..." reads "proposal.signature.signature: ..." or
// "endorsement.signature.signature: ..." here. The signature is verified
// before the statement's content is judged, so a forged statement is
// UNAUTHENTICATED or PERMISSION_DENIED whatever else is wrong with it.
#ifndef QBOX_NODE_GUARD_PROPOSAL_RULES_H_
#define QBOX_NODE_GUARD_PROPOSAL_RULES_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "node/guard/peer_identity.h"
#include "node/guard/site_trust_store.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::guard {

// True for a proposal id of 32 lowercase hex characters.
bool IsValidProposalId(absl::string_view id);

// SHA-256 of a proposal's signed body bytes: what an endorsement binds.
std::string ProposalDigest(const v1::SignedProposal& proposal);

// A new proposal, verified: body parses (INVALID_ARGUMENT "proposal.body"),
// its cluster is the charter's, the id is valid, the reason is at most
// 1024 bytes, the action passes ValidateAction, and the signature is an
// admin's of a charter site at body.created_at_ms. Returns the record in
// state PENDING (or APPROVED at once if M is 1) with the proposer counted as
// its site's approval, M, T and the lifetime taken from the charter now.
// The caller checks that the id is not taken (ALREADY_EXISTS).
absl::StatusOr<v1::ProposalRecord> AcceptProposal(const v1::Charter& charter,
                                                  const SiteTrustStore& trust,
                                                  const v1::SignedProposal& proposal,
                                                  uint64_t log_index);

// The proposal id an endorsement names, after parsing it
// (INVALID_ARGUMENT "endorsement.endorsement" if it does not parse), so the
// caller can look the record up.
absl::StatusOr<std::string> EndorsedProposalId(const v1::SignedEndorsement& endorsement);

// What an entry did to a proposal.
enum class ProposalChange {
  kNone,      // recorded, no change of state (e.g. a second approval from one site)
  kApproved,  // M sites reached: the delay starts
  kVetoed,    // closed for good
  kExpired,   // closed for good
  kExecute,   // the caller must now run the action, then call FinishProposal
};

// An approval or veto, verified: cluster, proposal_sha256 equal to
// ProposalDigest(record.signed) (INVALID_ARGUMENT
// "endorsement.proposal_sha256" otherwise: the signer saw other bytes), a
// known decision, comment <= 1024 bytes, an admin's signature of a charter
// site at signed_at_ms. FAILED_PRECONDITION if the proposal is already
// closed (executed, vetoed, expired, failed). A veto by an admin of the
// site that a remove-site or replace-site-ca proposal names is
// PERMISSION_DENIED "endorsement.decision: ..." and changes nothing: a
// compromised site cannot block its own eviction. The same admin approving
// twice is ALREADY_EXISTS; another admin of a site that already approved is
// recorded but counts once. A veto is accepted while PENDING or APPROVED.
absl::StatusOr<ProposalChange> AcceptEndorsement(const v1::Charter& charter,
                                                 const SiteTrustStore& trust,
                                                 const v1::SignedEndorsement& endorsement,
                                                 uint64_t log_index, v1::ProposalRecord* record);

// A node statement, verified: parses (INVALID_ARGUMENT "statement"), names
// the charter's cluster and a node of the charter that is not removed, and
// is signed with a node certificate of that node's site whose name is that
// node's name, valid at signed_at_ms. Returns the statement and the signer.
struct VerifiedNodeStatement {
  v1::NodeStatement statement;
  PeerIdentity signer;  // site/node/name
};
absl::StatusOr<VerifiedNodeStatement> VerifyNodeStatement(
    const v1::Charter& charter, const SiteTrustStore& trust,
    const v1::SignedNodeStatement& signed_statement);

// A verified ProposalClock statement from a node of `site`:
// EVENT_DELAY_ELAPSED while APPROVED adds the site to delay_elapsed_sites
// and returns kExecute once M distinct sites said so (M = the record's
// required_sites); EVENT_EXPIRED while PENDING adds the site to
// expired_sites and closes the proposal as EXPIRED once M distinct sites
// said so (kNone before: one site's clock, which may lie, never closes a
// proposal). Either event in another state is FAILED_PRECONDITION naming
// the state; an unknown event is INVALID_ARGUMENT.
absl::StatusOr<ProposalChange> AcceptProposalClock(const v1::ProposalClock& clock,
                                                   absl::string_view site, uint64_t log_index,
                                                   v1::ProposalRecord* record);

// Closes an executed proposal: EXECUTED with `outcome`, or FAILED with the
// error's message if `result` is not OK.
void FinishProposal(const absl::Status& result, absl::string_view outcome, uint64_t log_index,
                    v1::ProposalRecord* record);

// The site a remove-site or replace-site-ca action names; empty for every
// other action.
std::string SiteTheActionTargets(const v1::ProposedAction& action);

// "PENDING", "APPROVED", ...
absl::string_view ProposalStateName(v1::ProposalState state);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_PROPOSAL_RULES_H_

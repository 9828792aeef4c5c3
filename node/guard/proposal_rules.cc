#include "node/guard/proposal_rules.h"

#include <openssl/evp.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "node/common/sha256.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"
#include "node/guard/identity_names.h"
#include "node/guard/signed_statement.h"

namespace qbox::guard {
namespace {

constexpr size_t kProposalIdLength = 32;
constexpr size_t kMaxFreeTextBytes = 1024;

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// The same status with the path of the message that held the signature put
// in front of the field it names ("proposal." + "signature.signature: ...").
absl::Status Prefixed(absl::string_view prefix, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(prefix, status.message()));
}

absl::Status CheckFreeText(absl::string_view text, absl::string_view field) {
  if (text.size() > kMaxFreeTextBytes) {
    return Invalid(field,
                   absl::StrCat("is ", text.size(), " bytes; the limit is ", kMaxFreeTextBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckCluster(const v1::Charter& charter, absl::string_view cluster,
                          absl::string_view field) {
  if (cluster != charter.cluster()) {
    return Invalid(field,
                   absl::StrCat("'", cluster, "' is not this cluster ('", charter.cluster(), "')"));
  }
  return absl::OkStatus();
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list,
              absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool IsClosed(v1::ProposalState state) {
  return state != v1::PROPOSAL_STATE_PENDING && state != v1::PROPOSAL_STATE_APPROVED;
}

v1::ProposalSigner SignerOf(const PeerIdentity& who, int64_t signed_at_ms, uint64_t log_index,
                            absl::string_view comment) {
  v1::ProposalSigner signer;
  signer.set_site(who.site);
  signer.set_name(who.ToString());
  signer.set_signed_at_ms(signed_at_ms);
  signer.set_log_index(log_index);
  signer.set_comment(std::string(comment));
  return signer;
}

// Counts `site`'s approval and starts the delay if that completes M.
bool CountApproval(const v1::Charter& charter, absl::string_view site, uint64_t log_index,
                   v1::ProposalRecord* record) {
  if (!Contains(record->approved_sites(), site)) record->add_approved_sites(std::string(site));
  if (record->state() != v1::PROPOSAL_STATE_PENDING ||
      static_cast<uint32_t>(record->approved_sites_size()) < record->required_sites()) {
    return false;
  }
  record->set_state(v1::PROPOSAL_STATE_APPROVED);
  record->set_approved_index(log_index);
  // T is the one in force when M was reached: a later change of T cannot
  // shorten the wait of a proposal that is already counting down.
  record->set_delay_ms(charter.delay_ms());
  return true;
}

}  // namespace

std::string SiteTheActionTargets(const v1::ProposedAction& action) {
  switch (action.action_case()) {
    case v1::ProposedAction::kRemoveSite:
      return action.remove_site().site();
    case v1::ProposedAction::kReplaceSiteCa:
      return action.replace_site_ca().site();
    default:
      return std::string();
  }
}

bool IsValidProposalId(absl::string_view id) {
  return id.size() == kProposalIdLength && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string ProposalDigest(const v1::SignedProposal& proposal) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(proposal.body().data(), proposal.body().size(), digest, &length, qbox::Sha256Md(),
                 nullptr) != 1) {
    return std::string();  // out of memory: matches no endorsement's 32 bytes
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

absl::StatusOr<v1::ProposalRecord> AcceptProposal(const v1::Charter& charter,
                                                  const SiteTrustStore& trust,
                                                  const v1::SignedProposal& proposal,
                                                  uint64_t log_index) {
  v1::ProposalBody body;
  if (!body.ParseFromString(proposal.body())) {
    return Invalid("proposal.body", "does not parse as a ProposalBody");
  }
  // Authenticate before looking at what the proposal asks for.
  absl::StatusOr<PeerIdentity> proposer =
      VerifyStatement(trust, StatementKind::kProposalBody, proposal.body(), proposal.signature(),
                      absl::FromUnixMillis(body.created_at_ms()), kRoleAdmin);
  if (!proposer.ok()) return Prefixed("proposal.", proposer.status());
  RETURN_IF_ERROR(CheckCluster(charter, body.cluster(), "proposal.body.cluster"));
  if (!IsValidProposalId(body.proposal_id())) {
    return Invalid("proposal.body.proposal_id",
                   absl::StrCat("'", body.proposal_id(), "' is not 32 lowercase hex characters"));
  }
  RETURN_IF_ERROR(CheckFreeText(body.reason(), "proposal.body.reason"));
  absl::Status action = ValidateAction(charter, body.action());
  if (!action.ok()) return Prefixed("proposal.body.", action);

  v1::ProposalRecord record;
  record.set_proposal_id(body.proposal_id());
  *record.mutable_signed_() = proposal;
  *record.mutable_proposer() = SignerOf(*proposer, body.created_at_ms(), log_index, body.reason());
  *record.add_approvals() = record.proposer();
  record.set_state(v1::PROPOSAL_STATE_PENDING);
  record.set_required_sites(charter.required_sites());
  record.set_ttl_ms(charter.proposal_ttl_ms());
  record.set_submitted_index(log_index);
  *record.mutable_body() = std::move(body);
  CountApproval(charter, proposer->site, log_index, &record);
  return record;
}

absl::StatusOr<std::string> EndorsedProposalId(const v1::SignedEndorsement& endorsement) {
  v1::Endorsement parsed;
  if (!parsed.ParseFromString(endorsement.endorsement())) {
    return Invalid("endorsement.endorsement", "does not parse as an Endorsement");
  }
  return parsed.proposal_id();
}

absl::StatusOr<ProposalChange> AcceptEndorsement(const v1::Charter& charter,
                                                 const SiteTrustStore& trust,
                                                 const v1::SignedEndorsement& endorsement,
                                                 uint64_t log_index, v1::ProposalRecord* record) {
  v1::Endorsement parsed;
  if (!parsed.ParseFromString(endorsement.endorsement())) {
    return Invalid("endorsement.endorsement", "does not parse as an Endorsement");
  }
  absl::StatusOr<PeerIdentity> signer = VerifyStatement(
      trust, StatementKind::kEndorsement, endorsement.endorsement(), endorsement.signature(),
      absl::FromUnixMillis(parsed.signed_at_ms()), kRoleAdmin);
  if (!signer.ok()) return Prefixed("endorsement.", signer.status());
  RETURN_IF_ERROR(CheckCluster(charter, parsed.cluster(), "endorsement.cluster"));
  if (parsed.proposal_id() != record->proposal_id()) {
    return Invalid("endorsement.proposal_id", absl::StrCat("names proposal '", parsed.proposal_id(),
                                                           "', not '", record->proposal_id(), "'"));
  }
  if (parsed.proposal_sha256() != ProposalDigest(record->signed_())) {
    return Invalid("endorsement.proposal_sha256",
                   "is not the SHA-256 of the proposal's body: the signer saw other bytes");
  }
  if (parsed.decision() != v1::ENDORSEMENT_DECISION_APPROVE &&
      parsed.decision() != v1::ENDORSEMENT_DECISION_VETO) {
    return Invalid("endorsement.decision", "must be APPROVE or VETO");
  }
  RETURN_IF_ERROR(CheckFreeText(parsed.comment(), "endorsement.comment"));
  if (IsClosed(record->state())) {
    return absl::FailedPreconditionError(absl::StrCat("proposal ", record->proposal_id(), " is ",
                                                      ProposalStateName(record->state()),
                                                      " and takes no more endorsements"));
  }

  const v1::ProposalSigner entry =
      SignerOf(*signer, parsed.signed_at_ms(), log_index, parsed.comment());
  if (parsed.decision() == v1::ENDORSEMENT_DECISION_VETO) {
    // A compromised site must not be able to keep itself in the cluster or
    // keep its CA: the site a remove-site or replace-site-ca proposal names
    // has no veto over it (the other sites still do).
    const std::string target = SiteTheActionTargets(record->body().action());
    if (!target.empty() && target == entry.site()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "endorsement.decision: ", entry.name(), " cannot veto proposal ", record->proposal_id(),
          ": it ", DescribeAction(charter, record->body().action()),
          ", and the site it names has no veto over it"));
    }
    record->set_state(v1::PROPOSAL_STATE_VETOED);
    record->set_closed_index(log_index);
    record->set_outcome(absl::StrCat("vetoed by ", entry.name(),
                                     parsed.comment().empty() ? "" : ": ", parsed.comment()));
    *record->add_vetoes() = entry;
    return ProposalChange::kVetoed;
  }
  for (const v1::ProposalSigner& approval : record->approvals()) {
    if (approval.name() == entry.name()) {
      return absl::AlreadyExistsError(absl::StrCat(entry.name(), " already approved proposal ",
                                                   record->proposal_id(), " at entry ",
                                                   approval.log_index()));
    }
  }
  // Another admin of a site that already approved is recorded (it is part
  // of the history) but the site still counts once.
  *record->add_approvals() = entry;
  return CountApproval(charter, entry.site(), log_index, record) ? ProposalChange::kApproved
                                                                 : ProposalChange::kNone;
}

absl::StatusOr<ProposalChange> AcceptProposalClock(const v1::ProposalClock& clock,
                                                   absl::string_view site, uint64_t log_index,
                                                   v1::ProposalRecord* record) {
  if (clock.proposal_id() != record->proposal_id()) {
    return Invalid("proposal_clock.proposal_id",
                   absl::StrCat("names proposal '", clock.proposal_id(), "', not '",
                                record->proposal_id(), "'"));
  }
  switch (clock.event()) {
    case v1::ProposalClock::EVENT_DELAY_ELAPSED: {
      if (record->state() != v1::PROPOSAL_STATE_APPROVED) {
        return absl::FailedPreconditionError(
            absl::StrCat("proposal ", record->proposal_id(), " is ",
                         ProposalStateName(record->state()), "; only an APPROVED one waits out T"));
      }
      if (!Contains(record->delay_elapsed_sites(), site)) {
        record->add_delay_elapsed_sites(std::string(site));
      }
      // M sites' own clocks, not one: a single site whose clock runs fast
      // (or lies) cannot cut the veto window short (G2).
      return static_cast<uint32_t>(record->delay_elapsed_sites_size()) >= record->required_sites()
                 ? ProposalChange::kExecute
                 : ProposalChange::kNone;
    }
    case v1::ProposalClock::EVENT_EXPIRED: {
      if (record->state() != v1::PROPOSAL_STATE_PENDING) {
        return absl::FailedPreconditionError(
            absl::StrCat("proposal ", record->proposal_id(), " is ",
                         ProposalStateName(record->state()), "; only a PENDING one can expire"));
      }
      if (!Contains(record->expired_sites(), site)) {
        record->add_expired_sites(std::string(site));
      }
      // M sites' own clocks, as for T: one site's statement (a compromised
      // site's clock can say anything) cannot close a proposal the others
      // are still approving, such as one that removes that site.
      if (static_cast<uint32_t>(record->expired_sites_size()) < record->required_sites()) {
        return ProposalChange::kNone;
      }
      record->set_state(v1::PROPOSAL_STATE_EXPIRED);
      record->set_closed_index(log_index);
      record->set_outcome(
          absl::StrCat("expired: approved by ", absl::StrJoin(record->approved_sites(), ", "), " (",
                       record->approved_sites_size(), " of ", record->required_sites(),
                       " sites) when the clocks of ", absl::StrJoin(record->expired_sites(), ", "),
                       " said its lifetime of ",
                       absl::FormatDuration(absl::Milliseconds(record->ttl_ms())), " had passed"));
      return ProposalChange::kExpired;
    }
    default:
      return Invalid("proposal_clock.event", "unknown event");
  }
}

void FinishProposal(const absl::Status& result, absl::string_view outcome, uint64_t log_index,
                    v1::ProposalRecord* record) {
  record->set_closed_index(log_index);
  if (result.ok()) {
    record->set_state(v1::PROPOSAL_STATE_EXECUTED);
    record->set_outcome(std::string(outcome));
  } else {
    record->set_state(v1::PROPOSAL_STATE_FAILED);
    record->set_outcome(std::string(result.message()));
  }
}

absl::string_view ProposalStateName(v1::ProposalState state) {
  switch (state) {
    case v1::PROPOSAL_STATE_PENDING:
      return "PENDING";
    case v1::PROPOSAL_STATE_APPROVED:
      return "APPROVED";
    case v1::PROPOSAL_STATE_EXECUTED:
      return "EXECUTED";
    case v1::PROPOSAL_STATE_VETOED:
      return "VETOED";
    case v1::PROPOSAL_STATE_EXPIRED:
      return "EXPIRED";
    case v1::PROPOSAL_STATE_FAILED:
      return "FAILED";
    default:
      return "UNSPECIFIED";
  }
}

}  // namespace qbox::guard

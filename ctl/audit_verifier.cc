#include "ctl/audit_verifier.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "node/guard/audit_chain.h"
#include "node/guard/charter.h"
#include "node/guard/identity_names.h"
#include "node/guard/signed_statement.h"
#include "node/guard/site_trust_store.h"
#include "qbox/v1/command.pb.h"

namespace qbox::ctl {
namespace {

using guard::SiteTrustStore;
using guard::StatementKind;

constexpr size_t kHashBytes = 32;

// Every set of CAs the charter ever had. A signature is good if any of them
// verifies it: a statement signed under a CA that was later replaced stays
// verifiable.
std::vector<SiteTrustStore> TrustStoresForAudit(
    const std::optional<v1::Charter>& genesis,
    const std::vector<v1::ProposalRecord>& executed_proposals, const v1::Charter& current) {
  std::vector<SiteTrustStore> stores;
  auto add_charter = [&stores](const v1::Charter& charter) {
    absl::StatusOr<SiteTrustStore> store = guard::TrustStoreOf(charter);
    if (store.ok()) stores.push_back(*std::move(store));
  };
  if (genesis) add_charter(*genesis);
  for (const v1::ProposalRecord& proposal : executed_proposals) {
    if (proposal.state() != v1::PROPOSAL_STATE_EXECUTED) continue;
    const v1::ProposedAction& action = proposal.body().action();
    std::optional<guard::SiteCaCertificate> ca;
    if (action.has_add_site()) {
      ca = guard::SiteCaCertificate{action.add_site().site(), action.add_site().ca_cert_pem()};
    } else if (action.has_replace_site_ca()) {
      ca = guard::SiteCaCertificate{action.replace_site_ca().site(),
                                    action.replace_site_ca().ca_cert_pem()};
    }
    if (!ca) continue;
    absl::StatusOr<SiteTrustStore> store = SiteTrustStore::Create({*ca});
    if (store.ok()) stores.push_back(*std::move(store));
  }
  add_charter(current);
  return stores;
}

class RecordChecker {
 public:
  explicit RecordChecker(const std::vector<SiteTrustStore>& stores) : stores_(stores) {}

  // OK if every signature in `record` verifies and its command parses as
  // its kind says; adds the signatures that verified to `*verified`.
  absl::Status Check(const v1::AuditRecord& record, uint64_t* verified) const {
    const std::string& kind = record.kind();
    if (kind == "charter.genesis") {
      v1::Charter charter;
      if (!charter.ParseFromString(record.command())) {
        return absl::DataLossError("the genesis record's command is not a Charter");
      }
      return absl::OkStatus();
    }
    if (absl::StartsWith(kind, "membership.")) {
      v1::CharterNode node;
      if (!record.command().empty() && !node.ParseFromString(record.command())) {
        return absl::DataLossError("the membership record's command is not a CharterNode");
      }
      return absl::OkStatus();
    }
    if (record.command().empty()) return absl::OkStatus();
    v1::MailboxCommand command;
    if (!command.ParseFromString(record.command())) {
      return absl::DataLossError(
          absl::StrCat("the ", kind, " record's command is not a MailboxCommand"));
    }
    switch (command.op_case()) {
      case v1::MailboxCommand::kSubmitProposal: {
        const v1::SignedProposal& p = command.submit_proposal();
        v1::ProposalBody body;
        if (!body.ParseFromString(p.body())) {
          return absl::DataLossError("the proposal's body does not parse");
        }
        return Verify("proposal " + body.proposal_id(), StatementKind::kProposalBody, p.body(),
                      p.signature(), body.created_at_ms(), guard::kRoleAdmin, verified);
      }
      case v1::MailboxCommand::kEndorseProposal: {
        const v1::SignedEndorsement& e = command.endorse_proposal();
        v1::Endorsement endorsement;
        if (!endorsement.ParseFromString(e.endorsement())) {
          return absl::DataLossError("the endorsement does not parse");
        }
        return Verify("endorsement of proposal " + endorsement.proposal_id(),
                      StatementKind::kEndorsement, e.endorsement(), e.signature(),
                      endorsement.signed_at_ms(), guard::kRoleAdmin, verified);
      }
      case v1::MailboxCommand::kNodeStatement: {
        const v1::SignedNodeStatement& s = command.node_statement();
        v1::NodeStatement statement;
        if (!statement.ParseFromString(s.statement())) {
          return absl::DataLossError("the node statement does not parse");
        }
        return Verify(absl::StrCat("statement of node ", statement.node_id()),
                      StatementKind::kNodeStatement, s.statement(), s.signature(),
                      statement.signed_at_ms(), guard::kRoleNode, verified);
      }
      case v1::MailboxCommand::kCreateAccount:
        return VerifyAdminActor(record, command.create_account().request().admin_signature(),
                                verified);
      case v1::MailboxCommand::kSetQuota:
        return VerifyAdminActor(record, command.set_quota().admin_signature(), verified);
      default:
        return absl::OkStatus();
    }
  }

 private:
  // An admin command's actor is either marked unverified or the admin whose
  // signature over the request verifies. A record without a signature and
  // without the mark predates signed admin commands and passes.
  absl::Status VerifyAdminActor(const v1::AuditRecord& record,
                                const v1::SignedAdminCommand& signature, uint64_t* verified) const {
    if (absl::StartsWith(record.actor(), "unverified:") || signature.body().empty()) {
      return absl::OkStatus();
    }
    v1::AdminCommandBody body;
    if (!body.ParseFromString(signature.body())) {
      return absl::DataLossError("the admin signature's body does not parse");
    }
    absl::Status first = absl::UnauthenticatedError("no CA of the charter is known");
    for (size_t i = 0; i < stores_.size(); ++i) {
      absl::StatusOr<guard::PeerIdentity> signer = guard::VerifyStatement(
          stores_[i], StatementKind::kAdminCommand, signature.body(), signature.signature(),
          absl::FromUnixMillis(body.signed_at_ms()), guard::kRoleAdmin);
      if (signer.ok()) {
        if (signer->ToString() != record.actor()) {
          return absl::DataLossError(absl::StrCat("the actor is ", record.actor(),
                                                  " but the admin signature is ",
                                                  signer->ToString(), "'s"));
        }
        ++*verified;
        return absl::OkStatus();
      }
      if (i == 0) first = signer.status();
    }
    return absl::Status(first.code(),
                        absl::StrCat("the actor ", record.actor(),
                                     " is not marked unverified, but the admin signature does "
                                     "not verify with any CA the charter ever had: ",
                                     first.message()));
  }

  absl::Status Verify(const std::string& what, StatementKind kind, const std::string& bytes,
                      const v1::Signature& signature, int64_t signed_at_ms, absl::string_view role,
                      uint64_t* verified) const {
    absl::Status first = absl::UnauthenticatedError("no CA of the charter is known");
    for (size_t i = 0; i < stores_.size(); ++i) {
      absl::StatusOr<guard::PeerIdentity> signer = guard::VerifyStatement(
          stores_[i], kind, bytes, signature, absl::FromUnixMillis(signed_at_ms), role);
      if (signer.ok()) {
        ++*verified;
        return absl::OkStatus();
      }
      if (i == 0) first = signer.status();
    }
    return absl::Status(first.code(), absl::StrCat("the signature of the ", what,
                                                   " does not verify with any CA "
                                                   "the charter ever had: ",
                                                   first.message()));
  }

  const std::vector<SiteTrustStore>& stores_;
};

std::optional<v1::Charter> GenesisCharter(const std::vector<v1::AuditRecord>& records) {
  for (const v1::AuditRecord& record : records) {
    if (record.kind() != "charter.genesis" || absl::StartsWith(record.detail(), "refused")) {
      continue;
    }
    v1::Charter charter;
    if (charter.ParseFromString(record.command())) return charter;
  }
  return std::nullopt;
}

}  // namespace

AuditVerification VerifyAuditLog(const std::vector<v1::AuditRecord>& records,
                                 const std::vector<v1::ProposalRecord>& executed_proposals,
                                 const v1::Charter& current_charter) {
  AuditVerification result;
  const std::vector<SiteTrustStore> stores =
      TrustStoresForAudit(GenesisCharter(records), executed_proposals, current_charter);
  RecordChecker checker(stores);
  std::string previous_hash(kHashBytes, '\0');
  uint64_t previous_index = 0;
  for (const v1::AuditRecord& record : records) {
    auto broken = [&](std::string reason) {
      result.broken = AuditBreak{record.seq(), record.log_index(), std::move(reason)};
    };
    const uint64_t expected_seq = result.records + 1;
    if (record.seq() != expected_seq) {
      broken(absl::StrCat("expected seq ", expected_seq, ", the log has seq ", record.seq()));
      return result;
    }
    if (record.prev_hash() != previous_hash) {
      broken(absl::StrCat("prev_hash ", absl::BytesToHexString(record.prev_hash()),
                          " is not the previous record's hash ",
                          absl::BytesToHexString(previous_hash)));
      return result;
    }
    const std::string recomputed = guard::AuditRecordHash(record);
    if (record.hash() != recomputed) {
      broken(absl::StrCat("the record's contents hash to ", absl::BytesToHexString(recomputed),
                          ", not to its recorded hash ", absl::BytesToHexString(record.hash()),
                          ": it was altered"));
      return result;
    }
    if (record.log_index() < previous_index) {
      broken(absl::StrCat("log index ", record.log_index(), " comes after ", previous_index));
      return result;
    }
    absl::Status contents = checker.Check(record, &result.signatures);
    if (absl::StartsWith(record.detail(), "refused")) {
      ++result.refused;
    } else if (!contents.ok()) {
      broken(absl::StrCat(record.kind(), " by ", record.actor(), ": ", contents.message()));
      return result;
    }
    ++result.records;
    previous_hash = record.hash();
    previous_index = record.log_index();
    result.head_hex = absl::BytesToHexString(record.hash());
  }
  return result;
}

std::string DescribeVerification(const AuditVerification& v) {
  if (v.broken) {
    return absl::StrCat("BROKEN at seq ", v.broken->seq, " (log index ", v.broken->log_index,
                        "): ", v.broken->reason);
  }
  return absl::StrCat("OK: ", v.records, " records, ", v.signatures, " signatures verified, ",
                      v.refused, " refused attempts, head ",
                      v.head_hex.empty() ? "(empty log)" : v.head_hex);
}

}  // namespace qbox::ctl

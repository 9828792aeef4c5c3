// A three-site charter with real CAs, admins and nodes, and helpers that
// sign proposals, endorsements and node statements the way qboxctl and the
// nodes do. Shared by the charter, proposal and signed statement tests.
#ifndef QBOX_TESTS_GUARD_CHARTER_FIXTURES_H_
#define QBOX_TESTS_GUARD_CHARTER_FIXTURES_H_

#include <string>
#include <utility>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "node/guard/charter.h"
#include "node/guard/proposal_rules.h"
#include "node/guard/signed_statement.h"
#include "tests/guard/test_sites.h"

namespace qbox::guard::testing {

inline constexpr char kCluster[] = "qbox-test";
inline constexpr char kProposalId[] = "0123456789abcdef0123456789abcdef";

inline int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

struct CharterWorld {
  ThreeSites sites;
  PemCredential alice = Issue(sites.a, "site-a", "admin", "alice");
  PemCredential alan = Issue(sites.a, "site-a", "admin", "alan");  // a second admin of site-a
  PemCredential bob = Issue(sites.b, "site-b", "admin", "bob");
  PemCredential carol = Issue(sites.c, "site-c", "admin", "carol");
  PemCredential frontend_b = Issue(sites.b, "site-b", "frontend", "imap1");
  PemCredential node_a = Issue(sites.a, "site-a", "node", "n1");
  PemCredential node_b = Issue(sites.b, "site-b", "node", "n1");
  PemCredential node_c = Issue(sites.c, "site-c", "node", "n1");

  v1::Charter charter = MakeCharter();
  SiteTrustStore trust = sites.TrustStore();

  v1::Charter MakeCharter() const {
    v1::Charter c;
    c.set_cluster(kCluster);
    const std::pair<const char*, const PemCredential*> all[] = {
        {"site-a", &sites.a}, {"site-b", &sites.b}, {"site-c", &sites.c}};
    uint64_t id = 1;
    for (const auto& [name, ca] : all) {
      v1::CharterSite* site = c.add_sites();
      site->set_name(name);
      site->set_ca_cert_pem(ca->certificate_pem);
      v1::CharterNode* node = c.add_nodes();
      node->set_id(id);
      node->set_site(name);
      node->set_name("n1");
      node->set_address(absl::StrCat("127.0.0.1:", 7000 + id));
      node->set_voter(true);
      ++id;
    }
    c.set_required_sites(kDefaultRequiredSites);
    c.set_delay_ms(kDefaultDelayMs);
    c.set_retention_ms(kDefaultRetentionMs);
    c.set_proposal_ttl_ms(kDefaultProposalTtlMs);
    c.set_checkpoint_every(kDefaultCheckpointEvery);
    c.set_version(1);
    return c;
  }
};

inline v1::ProposedAction PurgeVault(const std::string& account) {
  v1::ProposedAction action;
  action.mutable_purge_vault()->set_account(account);
  return action;
}

inline v1::ProposalBody Body(const v1::ProposedAction& action,
                             const std::string& id = kProposalId) {
  v1::ProposalBody body;
  body.set_cluster(kCluster);
  body.set_proposal_id(id);
  *body.mutable_action() = action;
  body.set_reason("the account owner asked, ticket 4711");
  body.set_created_at_ms(NowMs());
  return body;
}

// Signs the serialized `body` with `signer`.
inline v1::SignedProposal SignProposal(const PemCredential& signer, const v1::ProposalBody& body) {
  v1::SignedProposal proposal;
  proposal.set_body(body.SerializeAsString());
  absl::StatusOr<v1::Signature> signature =
      SignStatement(StatementKind::kProposalBody, proposal.body(), signer.certificate_pem,
                    signer.private_key_pem);
  EXPECT_TRUE(signature.ok()) << signature.status();
  if (signature.ok()) *proposal.mutable_signature() = *std::move(signature);
  return proposal;
}

inline v1::Endorsement EndorsementOf(const v1::SignedProposal& proposal,
                                     v1::EndorsementDecision decision,
                                     const std::string& comment = "") {
  v1::ProposalBody body;
  body.ParseFromString(proposal.body());
  v1::Endorsement e;
  e.set_cluster(kCluster);
  e.set_proposal_id(body.proposal_id());
  e.set_proposal_sha256(ProposalDigest(proposal));
  e.set_decision(decision);
  e.set_signed_at_ms(NowMs());
  e.set_comment(comment);
  return e;
}

inline v1::SignedEndorsement SignEndorsement(const PemCredential& signer,
                                             const v1::Endorsement& endorsement) {
  v1::SignedEndorsement out;
  out.set_endorsement(endorsement.SerializeAsString());
  absl::StatusOr<v1::Signature> signature =
      SignStatement(StatementKind::kEndorsement, out.endorsement(), signer.certificate_pem,
                    signer.private_key_pem);
  EXPECT_TRUE(signature.ok()) << signature.status();
  if (signature.ok()) *out.mutable_signature() = *std::move(signature);
  return out;
}

inline v1::SignedEndorsement Approve(const PemCredential& signer,
                                     const v1::SignedProposal& proposal,
                                     const std::string& comment = "") {
  return SignEndorsement(signer,
                         EndorsementOf(proposal, v1::ENDORSEMENT_DECISION_APPROVE, comment));
}

inline v1::SignedEndorsement Veto(const PemCredential& signer, const v1::SignedProposal& proposal,
                                  const std::string& comment) {
  return SignEndorsement(signer, EndorsementOf(proposal, v1::ENDORSEMENT_DECISION_VETO, comment));
}

inline v1::SignedNodeStatement SignNodeStatement(const PemCredential& signer,
                                                 const v1::NodeStatement& statement) {
  v1::SignedNodeStatement out;
  out.set_statement(statement.SerializeAsString());
  absl::StatusOr<v1::Signature> signature =
      SignStatement(StatementKind::kNodeStatement, out.statement(), signer.certificate_pem,
                    signer.private_key_pem);
  EXPECT_TRUE(signature.ok()) << signature.status();
  if (signature.ok()) *out.mutable_signature() = *std::move(signature);
  return out;
}

inline v1::ProposalClock Clock(v1::ProposalClock::Event event,
                               const std::string& id = kProposalId) {
  v1::ProposalClock clock;
  clock.set_proposal_id(id);
  clock.set_event(event);
  return clock;
}

}  // namespace qbox::guard::testing

#endif  // QBOX_TESTS_GUARD_CHARTER_FIXTURES_H_

// Shared tools of the compromised-site scenarios (issue 5): minting honest
// and hostile certificates from the sites' CA keys, signing proposals and
// endorsements as any key the attacker holds, calling the charter RPCs, and
// reading back what EACH node holds (proposals, audit log, checkpoints,
// every message byte for byte), so a test can assert that every honest node
// decided the same way.
#ifndef QBOX_TESTS_ATTACK_ATTACK_SUPPORT_H_
#define QBOX_TESTS_ATTACK_ATTACK_SUPPORT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/guard/certificate_signer.h"
#include "node/guard/site_ca.h"
#include "qbox/v1/admin.pb.h"
#include "qbox/v1/charter.pb.h"
#include "qbox/v1/mailstore.pb.h"
#include "qbox/client.h"
#include "tests/cluster/local_cluster.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace qbox::attack {

using guard::PemCredential;
using testing::LocalCluster;

// ---------------------------------------------------------------- cluster

// The policy every scenario runs with unless it says otherwise: tick 20 ms,
// M = 2, T = 3 s, proposal lifetime 8 s, a checkpoint every 20 entries.
testing::LocalClusterOptions AttackClusterOptions();

// Creates and starts the cluster, then waits for a leader and for every
// node to catch up (60 s).
absl::StatusOr<std::unique_ptr<LocalCluster>> StartCluster(testing::LocalClusterOptions options);

// The charter's cluster name, as node 0 reports it.
absl::StatusOr<std::string> ClusterName(const LocalCluster& cluster);

// ------------------------------------------------------------ credentials

// The credential of site i's `role` as the cluster issued it ("t1", "n1").
absl::StatusOr<PemCredential> IssuedCredential(const LocalCluster& cluster, int site,
                                               const std::string& role);

// Site i's CA (certificate and key): what an attacker holding site i has.
absl::StatusOr<PemCredential> SiteCaOf(const LocalCluster& cluster, int site);

// A new, honest leaf of site i (`role`, `name`), e.g. a second admin.
// `options` can put the validity window in the past (an expired one).
absl::StatusOr<PemCredential> MintLeaf(const LocalCluster& cluster, int site,
                                       const std::string& role, const std::string& name,
                                       const guard::LeafOptions& options = {});

// A leaf signed by `ca` whose SPIFFE URI is `spiffe_uri` verbatim, bypassing
// the rule that a CA mints only its own site's names: e.g. site-a's CA
// issuing "spiffe://site-b/admin/mallory".
absl::StatusOr<PemCredential> MintImpostor(const PemCredential& ca, const std::string& spiffe_uri);

// An admin of a CA that no site of the charter has.
absl::StatusOr<PemCredential> MintStrangerAdmin(const std::string& site);

// Client options for `role` of site-b (an honest site in every scenario),
// against `endpoints` (every node if empty).
ClientOptions HonestClientOptions(const LocalCluster& cluster, const std::string& role,
                                  std::vector<std::string> endpoints = {});

// Writes `content` to `path` through a rename, so that a node polling the
// file (a hostile node's trigger file) never reads half of it.
absl::Status WriteFileAtomically(const std::string& path, const std::string& content);

// A mutual-TLS channel to node i presenting `caller`.
std::shared_ptr<grpc::Channel> ChannelAs(const LocalCluster& cluster, int node,
                                         const PemCredential& caller);

// ---------------------------------------------------------------- signing

// 32 random lowercase hex characters.
std::string NewProposalId();

// A proposal body of `cluster` created now by the signer's clock.
v1::ProposalBody MakeProposalBody(const std::string& cluster, const v1::ProposedAction& action,
                                  const std::string& reason);

// Signs the serialized body with `signer`'s key (any role: the rules, not
// the signer, must refuse the wrong ones).
absl::StatusOr<v1::SignedProposal> SignProposal(const v1::ProposalBody& body,
                                                const PemCredential& signer);

// Signs `body_bytes` as they are (possibly no ProposalBody at all).
absl::StatusOr<v1::SignedProposal> SignProposalBytes(const std::string& body_bytes,
                                                     const PemCredential& signer);

// An endorsement of `proposal` (bound to its exact body bytes), signed now.
v1::Endorsement MakeEndorsement(const std::string& cluster, const v1::SignedProposal& proposal,
                                v1::EndorsementDecision decision);
absl::StatusOr<v1::SignedEndorsement> SignEndorsement(const v1::Endorsement& endorsement,
                                                      const PemCredential& signer);

// A node's clock statement about `proposal_id` naming `node_id` (1 for
// site-a's n1, 2 for site-b's, ...), signed now with `signer`'s key.
absl::StatusOr<v1::SignedNodeStatement> SignProposalClock(const std::string& cluster,
                                                          uint64_t node_id,
                                                          const std::string& proposal_id,
                                                          v1::ProposalClock::Event event,
                                                          const PemCredential& signer);

// Actions, one line each.
v1::ProposedAction PurgeVault(const std::string& account);
v1::ProposedAction DeleteAccount(const std::string& account);
v1::ProposedAction SetRetention(int64_t retention_ms);
v1::ProposedAction SetDelay(int64_t delay_ms);
v1::ProposedAction SetRequiredSites(uint32_t required_sites);
v1::ProposedAction RemoveSite(const std::string& site);
v1::ProposedAction ReplaceSiteCa(const std::string& site, const std::string& ca_cert_pem);

// ------------------------------------------------------ charter RPC calls

// Admin.SubmitProposal / EndorseProposal as `caller`, sent to the leader
// (re-found while the answer is UNAVAILABLE, within 20 s). Returns the
// record as applied, or the refusal's status with the node's message.
absl::StatusOr<v1::ProposalRecord> SubmitProposal(const LocalCluster& cluster,
                                                  const PemCredential& caller,
                                                  const v1::SignedProposal& proposal);
absl::StatusOr<v1::ProposalRecord> EndorseProposal(const LocalCluster& cluster,
                                                   const PemCredential& caller,
                                                   const v1::SignedEndorsement& endorsement);

// Raft.Submit of a node statement to the leader as node credential
// `caller`. Whether it was accepted is decided at apply: OK if it was, the
// refusal's status if not (it is in the log and the audit log either way).
absl::Status SubmitNodeStatement(const LocalCluster& cluster, const PemCredential& caller,
                                 const v1::SignedNodeStatement& statement);

// Reads answered by node i alone, as site i's admin.
absl::StatusOr<v1::ProposalRecord> GetProposalOn(const LocalCluster& cluster, int node,
                                                 const std::string& proposal_id);
absl::StatusOr<std::vector<v1::ProposalRecord>> ListProposalsOn(const LocalCluster& cluster,
                                                                int node);
absl::StatusOr<v1::GetCharterResponse> GetCharterOn(const LocalCluster& cluster, int node);
absl::StatusOr<std::vector<v1::AuditRecord>> AuditLogOn(const LocalCluster& cluster, int node);
absl::StatusOr<std::vector<v1::CheckpointEntry>> CheckpointsOn(const LocalCluster& cluster,
                                                               int node);

// OK if the records form one hash chain from seq 1 (audit_chain.h), else
// DATA_LOSS naming the first broken seq.
absl::Status VerifyAuditChain(const std::vector<v1::AuditRecord>& records);

// The audit record whose command carries `signature` (a signature's bytes
// are unique to one attempt), or nullptr.
const v1::AuditRecord* FindAuditRecord(const std::vector<v1::AuditRecord>& records,
                                       const v1::Signature& signature);

// Reads every node's audit log and checks, for each node: the hash chain
// verifies; every signature of `refused` is in a record whose detail starts
// with "refused" and every one of `accepted` in a record that does not; and
// all nodes hold the same records (by hash) over their common length.
// FAILED_PRECONDITION naming the node and the first miss otherwise.
absl::Status CheckAttemptsAudited(const LocalCluster& cluster,
                                  const std::vector<v1::Signature>& refused,
                                  const std::vector<v1::Signature>& accepted);

// Polls `condition` every 50 ms until it returns OK or `timeout` passes;
// returns its last status then.
absl::Status WaitFor(absl::Duration timeout, const std::function<absl::Status()>& condition);

// Waits until node i reports `proposal_id` in `state`.
absl::Status WaitForProposalState(const LocalCluster& cluster, int node,
                                  const std::string& proposal_id, v1::ProposalState state,
                                  absl::Duration timeout);

// ------------------------------------------------------------------- mail

// account -> mailbox -> uid -> body, as one node holds it.
using MailByUid = std::map<std::string, std::map<std::string, std::map<uint32_t, std::string>>>;

// Creates `accounts` (as site-a's admin), each with INBOX and "Archive",
// appends `per_mailbox` distinct messages to each, and returns what was
// appended (uids as acknowledged).
absl::StatusOr<MailByUid> SeedMail(const LocalCluster& cluster,
                                   const std::vector<std::string>& accounts, int per_mailbox);

// Every message of `accounts` with its body, read from node i alone as site
// i's front end (a linearizable read there).
absl::StatusOr<MailByUid> ReadAllMail(const LocalCluster& cluster, int node,
                                      const std::vector<std::string>& accounts);

// The bodies of `mail` per account, sorted: for comparisons across restores
// (which give messages new UIDs and may put them in other mailboxes).
std::map<std::string, std::vector<std::string>> BodiesByAccount(const MailByUid& mail);

// OK if every node holds exactly `expected` (same accounts, mailboxes,
// UIDs and bytes); otherwise FAILED_PRECONDITION naming the node and the
// first difference.
absl::Status CheckMailOnEveryNode(const LocalCluster& cluster, const MailByUid& expected);

// The accounts of `mail`.
std::vector<std::string> AccountsOf(const MailByUid& mail);

// Node i's vault of `account` (ListDeleted there alone).
absl::StatusOr<v1::ListDeletedResponse> VaultOn(const LocalCluster& cluster, int node,
                                                const std::string& account);

// Every node's log tail, for a failing test's output.
std::string AllLogTails(const LocalCluster& cluster, int lines = 40);

}  // namespace qbox::attack

#endif  // QBOX_TESTS_ATTACK_ATTACK_SUPPORT_H_

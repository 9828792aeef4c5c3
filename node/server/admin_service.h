// The Admin gRPC service (proto/qbox/v1/admin.proto): what operators
// (qboxctl) call. Only callers whose certificate carries the "admin" role
// are served (DESIGN.md G6).
//
// - GetClusterStatus answers from this node's own view. The answering node
//   reports itself in full (role, term, commit, applied, alarms). A leader
//   also reports every other member from its replication progress: lag =
//   its last index minus the member's match index, reachable = the member
//   answered recently, role FOLLOWER / LEARNER / RECOVERING; their term is
//   the leader's term when reachable and their commit/applied indexes are
//   unknown (0). A follower cannot see the others: it lists the members of
//   its configuration with role UNSPECIFIED (LEADER for the leader it
//   follows, LEARNER for configured learners), reachable=false and no lag.
//   Alarms (G1/G5 refusals) are the answering node's own, as narrative.
// - CreateAccount and SetQuota are proposed like MailStore writes.
// - TransferLeadership, AddLearner, PromoteLearner and RemoveNode name
//   nodes as "site/name" or by (site, node_id); the node must be listed in
//   the cluster configuration (NOT_FOUND otherwise). They must run on the
//   leader: elsewhere UNAVAILABLE with a qbox.v1.LeaderHint in the details.
// - SaveSnapshot streams a backup from this node (snapshot_export.h) after
//   a read barrier, so it holds everything committed when it was asked.
//
// Thread-safety: stateless beyond its context; all methods may run at once.
#ifndef QBOX_NODE_SERVER_ADMIN_SERVICE_H_
#define QBOX_NODE_SERVER_ADMIN_SERVICE_H_

#include "node/raft/types.h"
#include "node/server/service_context.h"
#include "qbox/v1/admin.grpc.pb.h"

namespace qbox::server {

class AdminService final : public v1::Admin::Service {
 public:
  // `context` (and everything it points to) must outlive the service.
  explicit AdminService(const ServiceContext* context) : ctx_(context) {}

  grpc::Status GetClusterStatus(grpc::ServerContext* call, const v1::GetClusterStatusRequest* req,
                                v1::GetClusterStatusResponse* resp) override;
  grpc::Status CreateAccount(grpc::ServerContext* call, const v1::CreateAccountRequest* req,
                             v1::CreateAccountResponse* resp) override;
  // Linearizable, like MailStore reads.
  grpc::Status ListAccounts(grpc::ServerContext* call, const v1::ListAccountsRequest* req,
                            v1::ListAccountsResponse* resp) override;
  grpc::Status SetQuota(grpc::ServerContext* call, const v1::SetQuotaRequest* req,
                        v1::SetQuotaResponse* resp) override;
  // Empty target: the other voter with the highest match index that is not
  // recovering. Answers once the target leads (or DEADLINE_EXCEEDED).
  grpc::Status TransferLeadership(grpc::ServerContext* call,
                                  const v1::TransferLeadershipRequest* req,
                                  v1::TransferLeadershipResponse* resp) override;
  // commit_index in the answers below is this node's applied index right
  // after the change was applied here: at or after the change's own index.
  grpc::Status AddLearner(grpc::ServerContext* call, const v1::AddLearnerRequest* req,
                          v1::AddLearnerResponse* resp) override;
  grpc::Status PromoteLearner(grpc::ServerContext* call, const v1::PromoteLearnerRequest* req,
                              v1::PromoteLearnerResponse* resp) override;
  grpc::Status RemoveNode(grpc::ServerContext* call, const v1::RemoveNodeRequest* req,
                          v1::RemoveNodeResponse* resp) override;
  // Data chunks of at most kSnapshotChunkBytes, then the manifest.
  // FAILED_PRECONDITION if this node has applied nothing; UNAVAILABLE (with
  // a LeaderHint) if no read barrier could be had here; DEADLINE_EXCEEDED.
  grpc::Status SaveSnapshot(grpc::ServerContext* call, const v1::SaveSnapshotRequest* req,
                            grpc::ServerWriter<v1::SnapshotChunk>* writer) override;

  // The charter and its proposals (admin_charter.cc; DESIGN.md G2, G5).
  // Reads are linearizable. Submit and Endorse check only the shape of the
  // signed statement here (INVALID_ARGUMENT naming the field) and propose
  // it; the signature, the signer's site and role, and the proposal rules
  // are checked by every node at apply time, and a refusal comes back with
  // the state machine's code (UNAUTHENTICATED, PERMISSION_DENIED,
  // INVALID_ARGUMENT, FAILED_PRECONDITION, ALREADY_EXISTS) — and is in the
  // audit log.
  grpc::Status GetCharter(grpc::ServerContext* call, const v1::GetCharterRequest* req,
                          v1::GetCharterResponse* resp) override;
  grpc::Status SubmitProposal(grpc::ServerContext* call, const v1::SubmitProposalRequest* req,
                              v1::SubmitProposalResponse* resp) override;
  grpc::Status EndorseProposal(grpc::ServerContext* call, const v1::EndorseProposalRequest* req,
                               v1::EndorseProposalResponse* resp) override;
  grpc::Status ListProposals(grpc::ServerContext* call, const v1::ListProposalsRequest* req,
                             v1::ListProposalsResponse* resp) override;
  grpc::Status GetProposal(grpc::ServerContext* call, const v1::GetProposalRequest* req,
                           v1::GetProposalResponse* resp) override;
  grpc::Status GetAuditLog(grpc::ServerContext* call, const v1::GetAuditLogRequest* req,
                           grpc::ServerWriter<v1::AuditRecord>* writer) override;
  grpc::Status GetCheckpoints(grpc::ServerContext* call, const v1::GetCheckpointsRequest* req,
                              v1::GetCheckpointsResponse* resp) override;

  static constexpr size_t kSnapshotChunkBytes = 1 << 20;

 private:
  // Checks the (site, node_id) pair, looks it up in the peer directory and
  // proposes the membership change; `*commit_index` as described above.
  grpc::Status ChangeMembership(const grpc::ServerContext& call, raft::ConfChange::Kind kind,
                                const std::string& site, const std::string& node_id,
                                const std::string& address, uint64_t* commit_index);

  // The charter's say on a membership change (G2, G7): an added learner is
  // recorded in the charter (its site, name and address ride in the
  // change's context); a promotion must leave no site with a majority of
  // voters; a voter is removed only after an executed proposal marked it
  // removed. FAILED_PRECONDITION with the reason otherwise.
  grpc::Status CheckAgainstCharter(const NodeConfig& node, raft::ConfChange* change) const;

  const ServiceContext* ctx_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_ADMIN_SERVICE_H_

#include "node/server/admin_service.h"

#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"
#include "node/guard/charter.h"
#include "node/mailbox/names.h"
#include "node/server/grpc_status.h"
#include "node/server/service_helpers.h"
#include "node/server/snapshot_export.h"

namespace qbox::server {
namespace {

using Result = v1::CommandResult;

constexpr absl::string_view kRole = "admin";

// "site-a/n1" for a node in the directory, "node 7" for one that is not.
std::string NameOf(const ServiceContext& ctx, raft::NodeId id) {
  if (id == ctx.self.id) return ctx.self.QualifiedName();
  std::optional<NodeConfig> node = ctx.peers ? ctx.peers->Find(id) : std::nullopt;
  return node ? node->QualifiedName() : absl::StrCat("node ", id);
}

v1::NodeStatus Describe(const ServiceContext& ctx, raft::NodeId id) {
  v1::NodeStatus status;
  std::optional<NodeConfig> node = ctx.peers ? ctx.peers->Find(id) : std::nullopt;
  if (id == ctx.self.id) node = ctx.self;
  if (node) {
    status.set_site(node->site);
    status.set_node_id(node->name);
    status.set_address(node->address);
  } else {
    status.set_node_id(absl::StrCat("node ", id));
  }
  return status;
}

v1::NodeRole RoleOf(raft::Role role) {
  switch (role) {
    case raft::Role::kLeader:
      return v1::NODE_ROLE_LEADER;
    case raft::Role::kCandidate:
    case raft::Role::kPreCandidate:
      return v1::NODE_ROLE_CANDIDATE;
    case raft::Role::kFollower:
      return v1::NODE_ROLE_FOLLOWER;
  }
  return v1::NODE_ROLE_UNSPECIFIED;
}

// Recovering (G4) and learner outrank the core's follower/candidate role:
// neither votes, and that is what an operator needs to see.
v1::NodeRole SelfRole(const RuntimeStatus& st, raft::NodeId self) {
  if (st.raft.hard_state.recovering) return v1::NODE_ROLE_RECOVERING;
  if (!st.raft.conf.IsVoter(self) && st.raft.conf.IsLearner(self)) return v1::NODE_ROLE_LEARNER;
  return RoleOf(st.raft.role);
}

std::string AlarmNarrative(const ServiceContext& ctx, const raft::Alarm& alarm) {
  return absl::StrCat(raft::AlarmKindName(alarm.kind), ": leader ", NameOf(ctx, alarm.from),
                      " in term ", alarm.term, " at index ", alarm.index, ": ", alarm.detail);
}

// Every member the configuration (and, on a leader, the progress map) knows.
// A node that holds no configuration yet (a recovering one) lists the
// cluster configuration's nodes instead.
std::set<raft::NodeId> Members(const ServiceContext& ctx, const RuntimeStatus& st) {
  std::set<raft::NodeId> ids(st.raft.conf.voters.begin(), st.raft.conf.voters.end());
  ids.insert(st.raft.conf.learners.begin(), st.raft.conf.learners.end());
  for (const auto& [id, progress] : st.raft.progress) ids.insert(id);
  if (ids.empty() && ctx.peers != nullptr) {
    for (const NodeConfig& node : ctx.peers->All()) ids.insert(node.id);
  }
  return ids;
}

absl::Status ValidateAccountRequest(const std::string& account, uint64_t max_message_bytes,
                                    uint64_t node_limit) {
  RETURN_IF_ERROR(mailbox::ValidateAccountName(account, "account"));
  if (max_message_bytes > node_limit) {
    return absl::InvalidArgumentError(absl::StrCat("max_message_bytes: ", max_message_bytes,
                                                   " exceeds this node's limit of ", node_limit,
                                                   " bytes"));
  }
  return absl::OkStatus();
}

// "site/name" -> (site, name); INVALID_ARGUMENT naming `target` otherwise.
absl::StatusOr<std::pair<std::string, std::string>> ParseQualifiedName(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, '/');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("target: expected \"site/name\" (e.g. \"site-a/n1\"), got \"", text, "\""));
  }
  return std::make_pair(parts[0], parts[1]);
}

}  // namespace

grpc::Status AdminService::GetClusterStatus(grpc::ServerContext* call,
                                            const v1::GetClusterStatusRequest*,
                                            v1::GetClusterStatusResponse* resp) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  const RuntimeStatus st = ctx_->runtime->Status();
  const raft::NodeId self = ctx_->self.id;
  const bool leading = st.raft.role == raft::Role::kLeader;
  if (st.raft.leader != raft::kNoNode) resp->set_leader(NameOf(*ctx_, st.raft.leader));
  resp->set_term(st.raft.hard_state.term);
  resp->set_reporter(ctx_->self.QualifiedName());
  const absl::Time now = absl::Now();

  v1::NodeStatus* me = resp->add_nodes();
  *me = Describe(*ctx_, self);
  me->set_role(SelfRole(st, self));
  me->set_term(st.raft.hard_state.term);
  me->set_commit_index(st.raft.hard_state.commit);
  me->set_applied_index(st.applied);
  me->set_reachable(true);
  if (st.no_space.active) {
    me->add_alarms(NoSpaceNarrative(st.no_space));
  }
  for (const raft::Alarm& alarm : st.alarms) me->add_alarms(AlarmNarrative(*ctx_, alarm));
  if (ctx_->guard_alarms) {
    for (std::string& alarm : ctx_->guard_alarms()) me->add_alarms(std::move(alarm));
  }
  if (ctx_->recovery_narrative) me->set_recovery(ctx_->recovery_narrative());

  for (raft::NodeId id : Members(*ctx_, st)) {
    if (id == self) continue;
    v1::NodeStatus* node = resp->add_nodes();
    *node = Describe(*ctx_, id);
    auto heard = st.last_heard.find(id);
    node->set_last_contact_ms_ago(heard == st.last_heard.end()
                                      ? -1
                                      : absl::ToInt64Milliseconds(now - heard->second));
    const bool learner = st.raft.conf.IsLearner(id);
    auto progress = st.raft.progress.find(id);
    if (leading && progress != st.raft.progress.end()) {
      const raft::PeerProgress& p = progress->second;
      node->set_role(p.recovering ? v1::NODE_ROLE_RECOVERING
                     : learner    ? v1::NODE_ROLE_LEARNER
                                  : v1::NODE_ROLE_FOLLOWER);
      node->set_reachable(p.recent_active);
      // A member that answered this leader recently has adopted its term.
      if (p.recent_active) node->set_term(st.raft.hard_state.term);
      node->set_lag_entries(st.raft.last_index > p.match ? st.raft.last_index - p.match : 0);
      continue;
    }
    // A follower only knows the configuration and whom it follows.
    if (id == st.raft.leader) {
      node->set_role(v1::NODE_ROLE_LEADER);
      node->set_term(st.raft.hard_state.term);
    } else if (learner) {
      node->set_role(v1::NODE_ROLE_LEARNER);
    }
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::CreateAccount(grpc::ServerContext* call,
                                         const v1::CreateAccountRequest* req,
                                         v1::CreateAccountResponse* resp) {
  guard::PeerIdentity caller;
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole, &caller); !s.ok()) return s;
  absl::Status valid =
      ValidateAccountRequest(req->account(), req->max_message_bytes(), ctx_->max_message_bytes);
  if (valid.ok() && req->has_idempotency_key()) {
    valid = mailbox::ValidateIdempotencyKey(req->idempotency_key(), "idempotency_key");
  }
  if (!valid.ok()) return ToGrpcStatus(valid);
  v1::MailboxCommand command;
  command.set_actor(caller.ToString());  // admin commands are audited (G5)
  v1::CreateAccountCommand* create = command.mutable_create_account();
  *create->mutable_request() = *req;
  create->set_inbox_uidvalidity(ProposerUidValidity());
  // retention_ms stays 0: the state machine's default (30 days) applies.
  Result result;
  grpc::Status s = ProposeCommand(*ctx_, std::move(command), CallDeadline(*ctx_, *call),
                                  Result::kCreateAccount, &result);
  if (s.ok()) *resp = std::move(*result.mutable_create_account());
  return s;
}

grpc::Status AdminService::ListAccounts(grpc::ServerContext* call, const v1::ListAccountsRequest*,
                                        v1::ListAccountsResponse* resp) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  if (grpc::Status s = ReadBarrierUnlessStale(*ctx_, CallDeadline(*ctx_, *call), false); !s.ok()) {
    return s;
  }
  auto listed = ctx_->mailbox->ListAccounts();
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  *resp = std::move(*listed);
  return grpc::Status::OK;
}

grpc::Status AdminService::SetQuota(grpc::ServerContext* call, const v1::SetQuotaRequest* req,
                                    v1::SetQuotaResponse* resp) {
  guard::PeerIdentity caller;
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole, &caller); !s.ok()) return s;
  absl::Status valid =
      ValidateAccountRequest(req->account(), req->max_message_bytes(), ctx_->max_message_bytes);
  if (!valid.ok()) return ToGrpcStatus(valid);
  v1::MailboxCommand command;
  command.set_actor(caller.ToString());
  *command.mutable_set_quota() = *req;
  Result result;
  grpc::Status s = ProposeCommand(*ctx_, std::move(command), CallDeadline(*ctx_, *call),
                                  Result::kSetQuota, &result);
  if (s.ok()) *resp = std::move(*result.mutable_set_quota());
  return s;
}

grpc::Status AdminService::TransferLeadership(grpc::ServerContext* call,
                                              const v1::TransferLeadershipRequest* req,
                                              v1::TransferLeadershipResponse* resp) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  raft::NodeId target = raft::kNoNode;
  if (!req->target().empty()) {
    auto name = ParseQualifiedName(req->target());
    if (!name.ok()) return ToGrpcStatus(name.status());
    std::optional<NodeConfig> node = ctx_->peers->Find(name->first, name->second);
    if (!node) {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          absl::StrCat("target: ", req->target(), " is not in the cluster configuration"));
    }
    target = node->id;
  }
  const RuntimeStatus st = ctx_->runtime->Status();
  if (st.raft.role != raft::Role::kLeader) {
    return RuntimeErrorToGrpc(
        *ctx_, absl::UnavailableError("leadership can only be transferred by the leader"));
  }
  if (target == raft::kNoNode) {
    // The most caught-up voter takes over with the shortest catch-up.
    uint64_t best_match = 0;
    for (const auto& [id, p] : st.raft.progress) {
      if (id == ctx_->self.id || !st.raft.conf.IsVoter(id) || p.recovering) continue;
      if (target == raft::kNoNode || p.match > best_match) {
        target = id;
        best_match = p.match;
      }
    }
    if (target == raft::kNoNode) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "target: no other voter can take over leadership");
    }
  }
  absl::Status moved = ctx_->runtime->TransferLeadership(target, CallDeadline(*ctx_, *call));
  if (moved.code() == absl::StatusCode::kInvalidArgument) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("target: ", moved.message()));
  }
  if (!moved.ok()) return RuntimeErrorToGrpc(*ctx_, moved);
  resp->set_leader(NameOf(*ctx_, target));
  if (ctx_->logger) {
    ctx_->logger(absl::StrCat("leadership moved to ", resp->leader(), " at an admin's request"));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::ChangeMembership(const grpc::ServerContext& call,
                                            raft::ConfChange::Kind kind, const std::string& site,
                                            const std::string& node_id, const std::string& address,
                                            uint64_t* commit_index) {
  guard::PeerIdentity caller;
  if (grpc::Status s = AuthorizeCall(*ctx_, call, kRole, &caller); !s.ok()) return s;
  if (site.empty())
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "site: must not be empty");
  if (node_id.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "node_id: must not be empty");
  }
  std::optional<NodeConfig> node = ctx_->peers->Find(site, node_id);
  if (!node) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        absl::StrCat(site, "/", node_id, " is not in the cluster configuration"));
  }
  // The address peers dial comes from the configuration; a request that
  // disagrees with it is a mistake worth stopping, not silently ignoring.
  if (!address.empty() && address != node->address) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("address: ", node->QualifiedName(), " is configured at ",
                                     node->address, ", not ", address));
  }
  raft::ConfChange change;
  change.kind = kind;
  change.node = node->id;
  if (grpc::Status s = CheckAgainstCharter(*node, &change); !s.ok()) {
    // A change the charter forbids (G2) is an attempt every site should
    // see: the guard agent signs a report of it for the audit log.
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION && ctx_->report_refusal) {
      const char* what = kind == raft::ConfChange::Kind::kRemoveNode       ? "the removal"
                         : kind == raft::ConfChange::Kind::kPromoteLearner ? "the promotion"
                         : kind == raft::ConfChange::Kind::kAddLearner     ? "the addition"
                                                                           : "a change";
      ctx_->report_refusal(absl::StrCat(caller.ToString(), " asked this node for ", what, " of ",
                                        node->QualifiedName(), ": refused: ", s.error_message()));
    }
    return s;
  }
  absl::Status changed = ctx_->runtime->ChangeMembership(change, CallDeadline(*ctx_, call));
  if (!changed.ok()) return RuntimeErrorToGrpc(*ctx_, changed);
  *commit_index = ctx_->runtime->applied_index();
  if (ctx_->logger) {
    ctx_->logger(absl::StrCat("membership change for ", node->QualifiedName(), " applied by index ",
                              *commit_index));
  }
  return grpc::Status::OK;
}

grpc::Status AdminService::CheckAgainstCharter(const NodeConfig& node,
                                               raft::ConfChange* change) const {
  auto charter = ctx_->mailbox->GetCharter();
  if (!charter.ok()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        absl::StrCat("the charter is not applied on this node yet: ",
                                     charter.status().message()));
  }
  const v1::CharterNode* known = guard::FindCharterNode(*charter, node.id);
  if (known != nullptr && known->removed()) {
    if (change->kind != raft::ConfChange::Kind::kRemoveNode) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          absl::StrCat(node.QualifiedName(), " (id ", node.id,
                                       ") was removed from the charter; ids are never reused"));
    }
    return grpc::Status::OK;  // the executed proposal authorised exactly this
  }
  switch (change->kind) {
    case raft::ConfChange::Kind::kAddLearner: {
      bool site_known = false;
      for (const v1::CharterSite& site : charter->sites()) site_known |= site.name() == node.site;
      if (!site_known) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            absl::StrCat("site: ", node.site, " is not a site of the charter"));
      }
      // The charter learns the node's site, name and address from the entry.
      v1::CharterNode added;
      added.set_id(node.id);
      added.set_site(node.site);
      added.set_name(node.name);
      added.set_address(node.address);
      added.set_voter(false);
      change->context = added.SerializeAsString();
      return grpc::Status::OK;
    }
    case raft::ConfChange::Kind::kPromoteLearner: {
      // No site may hold a majority of the voters after the change (G7).
      v1::Charter after = *charter;
      bool found = false;
      for (v1::CharterNode& n : *after.mutable_nodes()) {
        if (n.id() == node.id) {
          n.set_voter(true);
          found = true;
        }
      }
      if (!found) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            absl::StrCat(node.QualifiedName(), " is not in the charter; add it "
                                                               "as a learner first"));
      }
      absl::Status balanced = guard::CheckNoSiteMajority(after);
      if (!balanced.ok()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            absl::StrCat("promoting ", node.QualifiedName(), ": ",
                                         balanced.message()));
      }
      return grpc::Status::OK;
    }
    case raft::ConfChange::Kind::kRemoveNode:
      // A learner never held a vote; removing one is reversible (add it
      // again). Removing a voter is irreversible (G2): it needs an executed
      // proposal, which marks the node removed in the charter.
      if (known != nullptr && known->voter()) {
        return grpc::Status(
            grpc::StatusCode::FAILED_PRECONDITION,
            absl::StrCat("removing voter ", node.QualifiedName(),
                         " needs an approved proposal (qboxctl propose remove-node --node ",
                         node.QualifiedName(), "); once it has executed, remove it here"));
      }
      return grpc::Status::OK;
    case raft::ConfChange::Kind::kGenesis:
      break;
  }
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "kind: not a membership change");
}

grpc::Status AdminService::AddLearner(grpc::ServerContext* call, const v1::AddLearnerRequest* req,
                                      v1::AddLearnerResponse* resp) {
  uint64_t index = 0;
  grpc::Status s = ChangeMembership(*call, raft::ConfChange::Kind::kAddLearner, req->site(),
                                    req->node_id(), req->address(), &index);
  if (s.ok()) resp->set_commit_index(index);
  return s;
}

grpc::Status AdminService::PromoteLearner(grpc::ServerContext* call,
                                          const v1::PromoteLearnerRequest* req,
                                          v1::PromoteLearnerResponse* resp) {
  uint64_t index = 0;
  grpc::Status s = ChangeMembership(*call, raft::ConfChange::Kind::kPromoteLearner, req->site(),
                                    req->node_id(), "", &index);
  if (s.ok()) resp->set_commit_index(index);
  return s;
}

grpc::Status AdminService::RemoveNode(grpc::ServerContext* call, const v1::RemoveNodeRequest* req,
                                      v1::RemoveNodeResponse* resp) {
  uint64_t index = 0;
  grpc::Status s = ChangeMembership(*call, raft::ConfChange::Kind::kRemoveNode, req->site(),
                                    req->node_id(), "", &index);
  if (s.ok()) resp->set_commit_index(index);
  return s;
}

grpc::Status AdminService::SaveSnapshot(grpc::ServerContext* call, const v1::SaveSnapshotRequest*,
                                        grpc::ServerWriter<v1::SnapshotChunk>* writer) {
  if (grpc::Status s = AuthorizeCall(*ctx_, *call, kRole); !s.ok()) return s;
  const absl::Time deadline = CallDeadline(*ctx_, *call);
  if (grpc::Status s = ReadBarrierUnlessStale(*ctx_, deadline, false); !s.ok()) return s;
  auto exported = ExportedSnapshot::Write(*ctx_, SnapshotScratchDir(*ctx_), deadline);
  if (!exported.ok()) {
    if (absl::IsUnavailable(exported.status())) return RuntimeErrorToGrpc(*ctx_, exported.status());
    return ToGrpcStatus(exported.status());
  }
  absl::StatusOr<v1::SnapshotManifest> manifest =
      (*exported)->Stream(kSnapshotChunkBytes, [writer](std::string data) {
        v1::SnapshotChunk chunk;
        chunk.set_data(std::move(data));
        return writer->Write(chunk);
      });
  if (!manifest.ok()) return ToGrpcStatus(manifest.status());
  v1::SnapshotChunk last;
  *last.mutable_manifest() = *manifest;
  if (!writer->Write(last)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "the receiver of the snapshot went away");
  }
  if (ctx_->logger) {
    ctx_->logger(absl::StrCat("streamed a snapshot at index ", manifest->log_index(), " (",
                              manifest->data_bytes(), " bytes) to an admin"));
  }
  return grpc::Status::OK;
}

}  // namespace qbox::server

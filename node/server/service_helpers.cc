#include "node/server/service_helpers.h"

#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/guard/grpc_peer_identity.h"
#include "node/server/grpc_status.h"
#include "node/server/node_metrics.h"

namespace qbox::server {

grpc::Status AuthorizeCall(const ServiceContext& ctx, const grpc::ServerContextBase& call,
                           absl::string_view role) {
  guard::PeerIdentity ignored;
  return AuthorizeCall(ctx, call, role, &ignored);
}

grpc::Status AuthorizeCall(const ServiceContext& ctx, const grpc::ServerContextBase& call,
                           absl::string_view role, guard::PeerIdentity* caller) {
  std::shared_ptr<const grpc::AuthContext> auth = call.auth_context();
  if (auth == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "the call carries no TLS identity");
  }
  std::shared_ptr<const guard::SiteTrustStore> trust = ctx.trust.Current();
  if (trust == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "this node has no trusted site CAs yet");
  }
  absl::StatusOr<guard::PeerIdentity> identity = guard::IdentifyGrpcPeer(*auth, *trust);
  if (!identity.ok()) return ToGrpcStatus(identity.status());
  absl::Status allowed = guard::RequireRole(*identity, role);
  if (!allowed.ok()) {
    if (ctx.logger) {
      ctx.logger(absl::StrCat("refused a call from ", call.peer(), ": ", allowed.message()));
    }
    return ToGrpcStatus(allowed);
  }
  *caller = *std::move(identity);
  return grpc::Status::OK;
}

absl::Time CallDeadline(const ServiceContext& ctx, const grpc::ServerContextBase& call) {
  const std::chrono::system_clock::time_point deadline = call.deadline();
  // gRPC reports "no deadline" as the largest time point.
  if (deadline == std::chrono::system_clock::time_point::max()) {
    return absl::Now() + ctx.default_deadline;
  }
  return absl::FromChrono(deadline);
}

int64_t ProposerClockMs() { return absl::ToUnixMillis(absl::Now()); }

uint32_t ProposerUidValidity() {
  const int64_t seconds = absl::ToUnixSeconds(absl::Now());
  if (seconds <= 0) return 1;
  if (seconds > static_cast<int64_t>(UINT32_MAX)) return UINT32_MAX;
  return static_cast<uint32_t>(seconds);
}

v1::LeaderHint CurrentLeaderHint(const ServiceContext& ctx) {
  v1::LeaderHint hint;
  const raft::NodeId leader = ctx.runtime->leader();
  if (leader == raft::kNoNode) return hint;
  hint.set_leader_id(leader);
  if (leader == ctx.self.id) {
    hint.set_leader_name(ctx.self.QualifiedName());
    hint.set_leader_address(ctx.self.address);
    return hint;
  }
  if (ctx.peers == nullptr) return hint;
  std::optional<NodeConfig> node = ctx.peers->Find(leader);
  if (node.has_value()) {
    hint.set_leader_name(node->QualifiedName());
    hint.set_leader_address(node->address);
  }
  return hint;
}

grpc::Status RuntimeErrorToGrpc(const ServiceContext& ctx, const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (status.code() != absl::StatusCode::kUnavailable) return ToGrpcStatus(status);
  const v1::LeaderHint hint = CurrentLeaderHint(ctx);
  std::string where;
  if (hint.leader_id() == 0) {
    where = "no leader is known yet; retry after a back-off at any node";
  } else if (hint.leader_address().empty()) {
    where = absl::StrCat("the leader is node ", hint.leader_id(),
                         ", which is not in this node's peer directory");
  } else {
    where = absl::StrCat("the leader is ", hint.leader_name(), " at ", hint.leader_address());
  }
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      absl::StrCat(status.message(), " (", where, ")"), hint.SerializeAsString());
}

namespace {

// What ProposeCommand(Async) answer for the runtime's outcome `applied` of
// a command proposed at `start`.
grpc::Status DecodeApplied(const ServiceContext& ctx, const absl::StatusOr<std::string>& applied,
                           absl::Time start, v1::CommandResult::ResultCase expected,
                           v1::CommandResult* result) {
  if (!applied.ok()) {
    // No node may take the write, and retrying elsewhere cannot help until
    // a majority has room again: say so, naming the full nodes.
    if (absl::IsUnavailable(applied.status()) && ctx.cluster_out_of_space) {
      if (std::optional<std::string> full = ctx.cluster_out_of_space()) {
        return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, *full);
      }
    }
    return RuntimeErrorToGrpc(ctx, applied.status());
  }
  if (ctx.metrics != nullptr) {
    ctx.metrics->RecordAppendLatency(absl::ToDoubleSeconds(absl::Now() - start));
  }
  if (!result->ParseFromString(*applied)) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "the state machine's result does not decode as a CommandResult");
  }
  if (result->status_code() != 0) {
    // The state machine's codes are absl's, which share gRPC's numbering.
    return grpc::Status(static_cast<grpc::StatusCode>(result->status_code()),
                        result->status_message());
  }
  if (result->result_case() != expected) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        absl::StrCat("the state machine answered with result kind ",
                                     result->result_case(), " where ", expected, " was expected"));
  }
  return grpc::Status::OK;
}

// RESOURCE_EXHAUSTED if a command of `command_bytes` would push a majority
// of voters below their NOSPACE threshold: it is written to the raft log
// and, for a message, its body to the mailbox store, at every voter.
grpc::Status RefuseForSpace(const ServiceContext& ctx, size_t command_bytes) {
  if (!ctx.refuse_for_space) return grpc::Status::OK;
  std::optional<std::string> why = ctx.refuse_for_space(2 * uint64_t{command_bytes});
  if (!why.has_value()) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, *why);
}

}  // namespace

grpc::Status ProposeCommand(const ServiceContext& ctx, v1::MailboxCommand command,
                            absl::Time deadline, v1::CommandResult::ResultCase expected,
                            v1::CommandResult* result) {
  command.set_leader_time_ms(ProposerClockMs());
  const absl::Time start = absl::Now();
  std::string serialized = command.SerializeAsString();
  if (grpc::Status refused = RefuseForSpace(ctx, serialized.size()); !refused.ok()) return refused;
  absl::StatusOr<std::string> applied = ctx.runtime->Propose(std::move(serialized), deadline);
  return DecodeApplied(ctx, applied, start, expected, result);
}

void ProposeCommandAsync(const ServiceContext& ctx, v1::MailboxCommand command,
                         absl::Time deadline, v1::CommandResult::ResultCase expected,
                         ProposeCommandDone done) {
  command.set_leader_time_ms(ProposerClockMs());
  const absl::Time start = absl::Now();
  std::string serialized = command.SerializeAsString();
  if (grpc::Status refused = RefuseForSpace(ctx, serialized.size()); !refused.ok()) {
    done(std::move(refused), v1::CommandResult());
    return;
  }
  ctx.runtime->ProposeAsync(
      std::move(serialized), deadline,
      [&ctx, start, expected, done = std::move(done)](absl::StatusOr<std::string> applied) {
        v1::CommandResult result;
        grpc::Status status = DecodeApplied(ctx, applied, start, expected, &result);
        done(std::move(status), std::move(result));
      });
}

grpc::Status ReadBarrierUnlessStale(const ServiceContext& ctx, absl::Time deadline,
                                    bool stale_read_ok) {
  if (stale_read_ok) return grpc::Status::OK;
  return RuntimeErrorToGrpc(ctx, ctx.runtime->ReadBarrier(deadline));
}

}  // namespace qbox::server

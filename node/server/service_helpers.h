// What the MailStore and Admin services share: who may call, how long a
// call may take, how a write travels through the consensus core, and how a
// node that is not the leader tells the client where to go instead
// (DESIGN.md "The path of one append").
#ifndef QBOX_NODE_SERVER_SERVICE_HELPERS_H_
#define QBOX_NODE_SERVER_SERVICE_HELPERS_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "node/guard/peer_identity.h"
#include "node/server/service_context.h"
#include "qbox/v1/command.pb.h"
#include "qbox/v1/errors.pb.h"

namespace qbox::server {

// Identifies the caller from its mutual-TLS certificate and checks that it
// holds `role` ("frontend", "admin"). UNAUTHENTICATED when the channel
// carries no verified certificate; PERMISSION_DENIED naming the caller's
// identity and the role required; OK otherwise.
// Synchronous and callback calls alike.
grpc::Status AuthorizeCall(const ServiceContext& ctx, const grpc::ServerContextBase& call,
                           absl::string_view role);
// The same, also returning who the caller is (for the audit log's actor).
grpc::Status AuthorizeCall(const ServiceContext& ctx, const grpc::ServerContextBase& call,
                           absl::string_view role, guard::PeerIdentity* caller);

// The time by which the call must be answered: the client's deadline, or
// now + ctx.default_deadline when the client sent none.
absl::Time CallDeadline(const ServiceContext& ctx, const grpc::ServerContextBase& call);

// This node's wall clock in ms since the epoch: the "leader's clock" that
// proposals carry (command.proto). Only ever read while proposing, never
// while applying, so replicas stay deterministic.
int64_t ProposerClockMs();

// A UIDVALIDITY candidate from this node's clock (seconds since the epoch,
// as IMAP servers traditionally choose it). The state machine takes
// max(candidate, last + 1), so a clock that went backwards is harmless.
uint32_t ProposerUidValidity();

// Where this node believes the leader is, from runtime->leader() and the
// peer directory. All fields empty / zero when no leader is known; name and
// address empty when the leader's id is not in the directory.
v1::LeaderHint CurrentLeaderHint(const ServiceContext& ctx);

// Converts an error from the runtime (Propose, ReadBarrier,
// ChangeMembership, TransferLeadership) into a gRPC status. Every
// UNAVAILABLE (not the leader, no leader known, leadership changed before
// the entry committed) carries a serialized v1::LeaderHint in
// error_details() and names the leader in its message, so the client can
// retry there; an empty hint means "retry later at any node". Other codes
// (DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ...) pass
// through with their message.
grpc::Status RuntimeErrorToGrpc(const ServiceContext& ctx, const absl::Status& status);

// Stamps `command` with this node's clock (leader_time_ms), proposes it,
// waits until it is applied here and decodes the state machine's answer
// into `*result`. Returns OK only if the command was applied successfully
// and its result is of the `expected` kind. Errors:
//  - the command's own deterministic error (INVALID_ARGUMENT, NOT_FOUND,
//    FAILED_PRECONDITION, RESOURCE_EXHAUSTED for quota, ...) with its
//    message; the state machine changed nothing;
//  - RuntimeErrorToGrpc's errors: UNAVAILABLE with a LeaderHint, or
//    DEADLINE_EXCEEDED (the outcome is then unknown: retry with the same
//    idempotency key);
//  - INTERNAL if the result does not decode or is of another kind.
grpc::Status ProposeCommand(const ServiceContext& ctx, v1::MailboxCommand command,
                            absl::Time deadline, v1::CommandResult::ResultCase expected,
                            v1::CommandResult* result);

// ProposeCommand without holding the caller's thread: `done` gets the same
// status and result once the command was applied here (or failed), on the
// runtime's reply thread (RaftRuntime::ProposeAsync).
using ProposeCommandDone = std::function<void(grpc::Status, v1::CommandResult)>;
void ProposeCommandAsync(const ServiceContext& ctx, v1::MailboxCommand command,
                         absl::Time deadline, v1::CommandResult::ResultCase expected,
                         ProposeCommandDone done);

// Makes a following local read linearizable (ReadIndex through the leader,
// then waiting until this node applied up to it), unless the caller opted
// into a possibly stale read. Errors as RuntimeErrorToGrpc.
grpc::Status ReadBarrierUnlessStale(const ServiceContext& ctx, absl::Time deadline,
                                    bool stale_read_ok);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_SERVICE_HELPERS_H_

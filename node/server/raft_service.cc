#include "node/server/raft_service.h"

#include "absl/strings/str_cat.h"
#include "node/guard/grpc_peer_identity.h"
#include "node/server/grpc_status.h"
#include "node/server/raft_proto_convert.h"
#include "qbox/v1/command.pb.h"

namespace qbox::server {

RaftService::RaftService(RaftRuntime* runtime, raft::LogStorage* storage, TrustHandle trust,
                         const PeerDirectory* peers, uint64_t self_id,
                         std::function<void(std::string_view)> logger)
    : runtime_(runtime),
      storage_(storage),
      trust_(trust),
      peers_(peers),
      self_id_(self_id),
      logger_(std::move(logger)) {}

grpc::Status RaftService::Authenticate(grpc::ServerContext* context, uint64_t* node_id) {
  return Authenticate(context, *trust_.Current(), node_id);
}

grpc::Status RaftService::Authenticate(grpc::ServerContext* context,
                                       const guard::SiteTrustStore& trust, uint64_t* node_id) {
  auto identity = guard::IdentifyGrpcPeer(*context->auth_context(), trust);
  if (!identity.ok()) return ToGrpcStatus(identity.status());
  if (absl::Status s = guard::RequireRole(*identity, "node"); !s.ok()) return ToGrpcStatus(s);
  auto node = peers_->Find(identity->site, identity->name);
  if (!node) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        absl::StrCat(identity->ToString(), " is not a node of this cluster"));
  }
  *node_id = node->id;
  return grpc::Status::OK;
}

grpc::Status RaftService::DeliverBatch(const v1::RaftBatch& batch, uint64_t sender) {
  std::vector<raft::Message> messages;
  messages.reserve(batch.messages_size());
  for (int i = 0; i < batch.messages_size(); ++i) {
    auto m = FromProto(batch.messages(i));
    if (!m.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("messages[", i, "].", m.status().message()));
    }
    if (m->from != sender) {
      std::string why = absl::StrCat("messages[", i, "].from is node ", m->from,
                                     " but the certificate belongs to node ", sender);
      if (logger_) logger_(absl::StrCat("refused raft stream: ", why));
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, why);
    }
    if (m->to != self_id_) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("messages[", i, "].to is node ", m->to, ", not this node (",
                                       self_id_, ")"));
    }
    messages.push_back(std::move(*m));
  }
  runtime_->Deliver(std::move(messages));
  return grpc::Status::OK;
}

grpc::Status RaftService::Send(grpc::ServerContext* context,
                               grpc::ServerReader<v1::RaftBatch>* reader, v1::RaftAck*) {
  uint64_t sender = 0;
  std::shared_ptr<const guard::SiteTrustStore> trust = trust_.Current();
  if (grpc::Status s = Authenticate(context, *trust, &sender); !s.ok()) return s;
  v1::RaftBatch batch;
  while (reader->Read(&batch)) {
    // A stream outlives trust changes: once the node's CAs change (an
    // executed CA replacement), the sender is identified again, so a peer
    // whose CA was replaced is cut off mid-stream, not at its next connect.
    if (std::shared_ptr<const guard::SiteTrustStore> now = trust_.Current(); now != trust) {
      trust = std::move(now);
      uint64_t again = 0;
      if (grpc::Status s = Authenticate(context, *trust, &again); !s.ok()) {
        if (logger_) {
          logger_(absl::StrCat(
              "closed the raft stream from node ", sender,
              ": the site CAs changed and they no longer accept it: ", s.error_message()));
        }
        return s;
      }
      if (again != sender) {
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                            "the certificate names another node under the new site CAs");
      }
    }
    if (grpc::Status s = DeliverBatch(batch, sender); !s.ok()) return s;
  }
  return grpc::Status::OK;
}

grpc::Status RaftService::SendOne(grpc::ServerContext* context, const v1::RaftBatch* batch,
                                  v1::RaftAck*) {
  uint64_t sender = 0;
  if (grpc::Status s = Authenticate(context, &sender); !s.ok()) return s;
  return DeliverBatch(*batch, sender);
}

grpc::Status RaftService::Probe(grpc::ServerContext* context, const v1::ProbeRequest*,
                                v1::ProbeResponse* response) {
  uint64_t sender = 0;
  if (grpc::Status s = Authenticate(context, &sender); !s.ok()) return s;
  uint64_t last = storage_->LastIndex();
  auto term = storage_->Term(last);
  response->set_node_id(self_id_);
  response->set_empty(last == 0 && storage_->Snapshot().index == 0);
  response->set_last_index(last);
  response->set_term(term.ok() ? *term : 0);
  const NoSpaceStatus space = runtime_->Status().no_space;
  response->set_no_space(space.active);
  response->set_free_bytes(space.measured ? space.volume.free_bytes : 0);
  response->set_resume_free_bytes(space.resume_free_bytes);
  response->set_required_free_bytes(space.measured ? space.required_free_bytes : 0);
  return grpc::Status::OK;
}

grpc::Status RaftService::Submit(grpc::ServerContext* context, const v1::SubmitRequest* request,
                                 v1::SubmitResponse* response) {
  uint64_t sender = 0;
  if (grpc::Status s = Authenticate(context, &sender); !s.ok()) return s;
  v1::MailboxCommand command;
  if (request->command().empty() || request->command().size() > (64 << 10) ||
      !command.ParseFromString(request->command())) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "command: not a serialized MailboxCommand of at most 64 KiB");
  }
  // A node may hand the leader only what it signed itself; everything else
  // a node does travels as Raft messages.
  if (command.op_case() != v1::MailboxCommand::kNodeStatement) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "command: only a node_statement may be submitted");
  }
  auto node = peers_->Find(sender);
  command.set_actor(node ? absl::StrCat(node->site, "/node/", node->name)
                         : absl::StrCat("node ", sender));
  command.set_leader_time_ms(absl::ToUnixMillis(absl::Now()));
  std::chrono::system_clock::time_point deadline = context->deadline();
  absl::Time until = deadline == std::chrono::system_clock::time_point::max()
                         ? absl::Now() + absl::Seconds(10)
                         : absl::FromChrono(deadline);
  auto applied = runtime_->Propose(command.SerializeAsString(), until);
  if (!applied.ok()) return ToGrpcStatus(applied.status());
  response->set_log_index(runtime_->applied_index());
  // The statement is in the log either way (and in the audit log); tell the
  // node whether the state machine accepted it.
  v1::CommandResult result;
  if (result.ParseFromString(*applied) && result.status_code() != 0) {
    return grpc::Status(static_cast<grpc::StatusCode>(result.status_code()),
                        result.status_message());
  }
  return grpc::Status::OK;
}

}  // namespace qbox::server

#include "node/guard/admin_command.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "node/common/status_macros.h"
#include "node/guard/identity_names.h"
#include "node/guard/signed_statement.h"

namespace qbox::guard {
namespace {

// A copy of `request` without the fields the signature does not cover.
std::unique_ptr<google::protobuf::Message> Covered(const google::protobuf::Message& request) {
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  const google::protobuf::Descriptor* descriptor = copy->GetDescriptor();
  const google::protobuf::Reflection* reflection = copy->GetReflection();
  for (const char* name : {"admin_signature", "idempotency_key"}) {
    if (const google::protobuf::FieldDescriptor* field = descriptor->FindFieldByName(name)) {
      reflection->ClearField(copy.get(), field);
    }
  }
  return copy;
}

}  // namespace

absl::StatusOr<v1::SignedAdminCommand> SignAdminCommand(absl::string_view cluster,
                                                        const google::protobuf::Message& request,
                                                        int64_t now_ms,
                                                        absl::string_view certificate_pem,
                                                        absl::string_view private_key_pem) {
  v1::AdminCommandBody body;
  body.set_cluster(std::string(cluster));
  body.set_signed_at_ms(now_ms);
  if (!Covered(request)->SerializeToString(body.mutable_request())) {
    return absl::InternalError("cannot serialize the request");
  }
  v1::SignedAdminCommand out;
  if (!body.SerializeToString(out.mutable_body())) {
    return absl::InternalError("cannot serialize the admin command");
  }
  ASSIGN_OR_RETURN(*out.mutable_signature(), SignStatement(StatementKind::kAdminCommand, out.body(),
                                                           certificate_pem, private_key_pem));
  return out;
}

absl::StatusOr<PeerIdentity> VerifyAdminCommand(const v1::Charter& charter,
                                                const SiteTrustStore& trust,
                                                const v1::SignedAdminCommand& signed_command,
                                                const google::protobuf::Message& request) {
  v1::AdminCommandBody body;
  if (!body.ParseFromString(signed_command.body())) {
    return absl::InvalidArgumentError(
        "admin_signature.body: does not parse as an AdminCommandBody");
  }
  absl::StatusOr<PeerIdentity> signer = VerifyStatement(
      trust, StatementKind::kAdminCommand, signed_command.body(), signed_command.signature(),
      absl::FromUnixMillis(body.signed_at_ms()), kRoleAdmin);
  if (!signer.ok()) {
    return absl::Status(signer.status().code(),
                        absl::StrCat("admin_signature.", signer.status().message()));
  }
  if (body.cluster() != charter.cluster()) {
    return absl::InvalidArgumentError(absl::StrCat("admin_signature.body.cluster: '",
                                                   body.cluster(), "' is not this cluster ('",
                                                   charter.cluster(), "')"));
  }
  std::unique_ptr<google::protobuf::Message> signed_request(request.New());
  if (!signed_request->ParseFromString(body.request()) ||
      !google::protobuf::util::MessageDifferencer::Equals(*signed_request, *Covered(request))) {
    return absl::InvalidArgumentError(
        absl::StrCat("admin_signature.body.request: ", signer->ToString(),
                     " signed another request than the one applied"));
  }
  return signer;
}

}  // namespace qbox::guard

#include "ctl/statement_signing.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ctl/admin_connection.h"
#include "ctl/guard_admin_client.h"
#include "node/common/status_macros.h"
#include "node/guard/admin_command.h"
#include "node/guard/credential_directory.h"
#include "node/guard/signed_statement.h"

namespace qbox::ctl {

absl::StatusOr<std::string> NewProposalId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("OpenSSL could not supply random bytes for a proposal id");
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

absl::StatusOr<AdminSigner> LoadAdminSigner(const Connection& connection) {
  AdminSigner signer;
  ASSIGN_OR_RETURN(signer.certificate_pem, guard::ReadTextFile(connection.certificate_file));
  ASSIGN_OR_RETURN(signer.private_key_pem, guard::ReadTextFile(connection.private_key_file));
  return signer;
}

absl::StatusOr<v1::SignedProposal> SignProposal(const v1::ProposalBody& body,
                                                const AdminSigner& signer) {
  v1::SignedProposal signed_proposal;
  if (!body.SerializeToString(signed_proposal.mutable_body())) {
    return absl::InternalError("cannot serialize the proposal");
  }
  ASSIGN_OR_RETURN(*signed_proposal.mutable_signature(),
                   guard::SignStatement(guard::StatementKind::kProposalBody, signed_proposal.body(),
                                        signer.certificate_pem, signer.private_key_pem));
  return signed_proposal;
}

absl::StatusOr<v1::SignedEndorsement> SignEndorsement(const v1::Endorsement& endorsement,
                                                      const AdminSigner& signer) {
  v1::SignedEndorsement signed_endorsement;
  if (!endorsement.SerializeToString(signed_endorsement.mutable_endorsement())) {
    return absl::InternalError("cannot serialize the endorsement");
  }
  ASSIGN_OR_RETURN(
      *signed_endorsement.mutable_signature(),
      guard::SignStatement(guard::StatementKind::kEndorsement, signed_endorsement.endorsement(),
                           signer.certificate_pem, signer.private_key_pem));
  return signed_endorsement;
}

absl::StatusOr<v1::SignedAdminCommand> SignAdminRequest(const Connection& connection,
                                                        const google::protobuf::Message& request,
                                                        absl::string_view action) {
  ASSIGN_OR_RETURN(AdminSigner signer, LoadAdminSigner(connection));
  ASSIGN_OR_RETURN(std::unique_ptr<GuardAdminClient> client, GuardAdminClient::Open(connection));
  absl::StatusOr<v1::GetCharterResponse> charter = client->GetCharter();
  if (!charter.ok()) {
    return ExplainCallError(charter.status(),
                            absl::StrCat(action, " (reading the charter to sign the request)"), {},
                            connection);
  }
  return guard::SignAdminCommand(charter->charter().cluster(), request,
                                 absl::ToUnixMillis(absl::Now()), signer.certificate_pem,
                                 signer.private_key_pem);
}

}  // namespace qbox::ctl

// Signing what an admin states about proposals (charter.proto): the
// proposal itself and approvals or vetoes. The admin signs with the same
// certificate and key the connection authenticates with, so the signer the
// nodes verify is the caller they see.
#ifndef QBOX_CTL_STATEMENT_SIGNING_H_
#define QBOX_CTL_STATEMENT_SIGNING_H_

#include <string>

#include "absl/status/statusor.h"
#include "ctl/connection_flags.h"
#include "google/protobuf/message.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::ctl {

// A fresh proposal id: 16 random bytes from OpenSSL as 32 lowercase hex
// characters. INTERNAL if OpenSSL has no randomness to give.
absl::StatusOr<std::string> NewProposalId();

struct AdminSigner {
  std::string certificate_pem;
  std::string private_key_pem;
};

// Reads the connection's admin certificate and key (already checked by
// ResolveConnection to belong together). Errors name the file.
absl::StatusOr<AdminSigner> LoadAdminSigner(const Connection& connection);

// Serializes `body` and signs those exact bytes (domain
// "qbox.v1.ProposalBody"). Errors as guard::SignStatement.
absl::StatusOr<v1::SignedProposal> SignProposal(const v1::ProposalBody& body,
                                                const AdminSigner& signer);

// Serializes `endorsement` and signs those bytes (domain
// "qbox.v1.Endorsement"). Errors as guard::SignStatement.
absl::StatusOr<v1::SignedEndorsement> SignEndorsement(const v1::Endorsement& endorsement,
                                                      const AdminSigner& signer);

// Signs an audited admin request (CreateAccountRequest, SetQuotaRequest)
// with the connection's admin certificate and key for the cluster whose
// charter the connection's nodes hold, so that every node records this
// admin as the verified actor (node/guard/admin_command.h). Errors name the
// key file, or say that the charter could not be read while `action`
// ("creating account 'carol'").
absl::StatusOr<v1::SignedAdminCommand> SignAdminRequest(const Connection& connection,
                                                        const google::protobuf::Message& request,
                                                        absl::string_view action);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_STATEMENT_SIGNING_H_

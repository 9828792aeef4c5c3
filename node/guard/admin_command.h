// Who asked for an audited admin command (DESIGN.md G5): the admin signs
// the request it sends (charter.proto SignedAdminCommand), and every node
// verifies that signature when it applies the command, so that the audit
// log names a signer that verifies instead of the leader's word. Pure: the
// mailbox state machine calls it while applying.
#ifndef QBOX_NODE_GUARD_ADMIN_COMMAND_H_
#define QBOX_NODE_GUARD_ADMIN_COMMAND_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "node/guard/peer_identity.h"
#include "node/guard/site_trust_store.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::guard {

// Signs `request` (a CreateAccountRequest or SetQuotaRequest; its
// admin_signature and idempotency_key are left out of what is signed) for
// cluster `cluster` at `now_ms` with an admin's certificate and key. Errors
// as SignStatement.
absl::StatusOr<v1::SignedAdminCommand> SignAdminCommand(absl::string_view cluster,
                                                        const google::protobuf::Message& request,
                                                        int64_t now_ms,
                                                        absl::string_view certificate_pem,
                                                        absl::string_view private_key_pem);

// The admin who signed `signed_command`, once: the body parses
// (INVALID_ARGUMENT "admin_signature.body"), the signature is an admin's of
// a charter site at body.signed_at_ms (errors as VerifyStatement, prefixed
// "admin_signature."), body.cluster is the charter's, and body.request is
// `request` apart from admin_signature and idempotency_key
// (INVALID_ARGUMENT "admin_signature.body.request: ...": the admin signed
// another request).
absl::StatusOr<PeerIdentity> VerifyAdminCommand(const v1::Charter& charter,
                                                const SiteTrustStore& trust,
                                                const v1::SignedAdminCommand& signed_command,
                                                const google::protobuf::Message& request);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_ADMIN_COMMAND_H_

// The Admin RPCs of the guard (DESIGN.md G2, G5): the charter, proposals,
// the audit log and checkpoints. They go through the client library's retry
// loop (deadline, leader hints, back-off) like every other qboxctl call;
// qbox::AdminClient does not offer them yet, so this wraps them here.
#ifndef QBOX_CTL_GUARD_ADMIN_CLIENT_H_
#define QBOX_CTL_GUARD_ADMIN_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/connection_flags.h"
#include "qbox/options.h"
#include "qbox/v1/admin.pb.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::internal {
class RetryingCaller;
}  // namespace qbox::internal

namespace qbox::ctl {

class GuardAdminClient {
 public:
  // Reads the connection's TLS files; no network traffic. Errors as
  // AdminClient::Open.
  static absl::StatusOr<std::unique_ptr<GuardAdminClient>> Open(const Connection& connection);
  ~GuardAdminClient();

  // Each returns the node's answer or the call's error (gRPC code and
  // message kept), within the connection's --timeout.
  absl::StatusOr<v1::GetCharterResponse> GetCharter();
  absl::StatusOr<v1::ProposalRecord> SubmitProposal(const v1::SignedProposal& proposal);
  absl::StatusOr<v1::ProposalRecord> EndorseProposal(const v1::SignedEndorsement& endorsement);
  absl::StatusOr<std::vector<v1::ProposalRecord>> ListProposals(bool include_closed);
  absl::StatusOr<v1::ProposalRecord> GetProposal(const std::string& proposal_id);
  // The whole audit log from `from_seq` (0 = the start), collected in
  // memory. A stream broken half-way is retried from the start.
  absl::StatusOr<std::vector<v1::AuditRecord>> GetAuditLog(uint64_t from_seq);
  absl::StatusOr<v1::GetCheckpointsResponse> GetCheckpoints(uint64_t min_index);

 private:
  GuardAdminClient(std::unique_ptr<internal::RetryingCaller> caller, CallOptions options);

  std::unique_ptr<internal::RetryingCaller> caller_;
  CallOptions options_;
};

}  // namespace qbox::ctl

#endif  // QBOX_CTL_GUARD_ADMIN_CLIENT_H_

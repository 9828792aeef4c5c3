// The operators' side of the client library: the Admin service of
// proto/qbox/v1/admin.proto (cluster status, accounts, quotas, leadership,
// membership, snapshots).
//
// Open it exactly like a Client (see qbox/client.h), but with an admin
// certificate: nodes accept Admin calls only from certificates carrying the
// admin role, and answer PERMISSION_DENIED otherwise.
//
// Every promise of qbox/client.h holds here too: a deadline on every call
// covering all retries, leader hints followed and remembered, jittered
// back-off after UNAVAILABLE without a hint, an idempotency key generated
// once per call (CreateAccount) when the caller left it empty, gRPC codes
// and messages kept, and the same codes never retried.
//
// Thread safety: an AdminClient may be used from many threads at once.
#ifndef QBOX_CLIENT_INCLUDE_QBOX_ADMIN_CLIENT_H_
#define QBOX_CLIENT_INCLUDE_QBOX_ADMIN_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "qbox/options.h"
#include "qbox/v1/admin.pb.h"

namespace qbox {

namespace internal {
class RetryingCaller;
}  // namespace internal

class AdminClient {
 public:
  // As Client::Open: reads the TLS files, no network traffic. INVALID_ARGUMENT
  // / NOT_FOUND / PERMISSION_DENIED naming the bad option or file.
  static absl::StatusOr<std::unique_ptr<AdminClient>> Open(const ClientOptions& options);

  // Calls still running on other threads must have returned first.
  ~AdminClient();

  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // Answered by whichever node is reached (it reports what it knows of
  // every member); a follower's answer is as fresh as its own view.
  absl::StatusOr<v1::GetClusterStatusResponse> GetClusterStatus(
      const v1::GetClusterStatusRequest& request, const CallOptions& options = {});

  // ALREADY_EXISTS if the account exists and the key is not the one that
  // created it.
  absl::StatusOr<v1::CreateAccountResponse> CreateAccount(const v1::CreateAccountRequest& request,
                                                          const CallOptions& options = {});
  absl::StatusOr<v1::ListAccountsResponse> ListAccounts(const v1::ListAccountsRequest& request,
                                                        const CallOptions& options = {});
  absl::StatusOr<v1::SetQuotaResponse> SetQuota(const v1::SetQuotaRequest& request,
                                                const CallOptions& options = {});

  // Returns once the transfer finished (or failed); the client then sends
  // its later calls to the new leader after at most one more hint.
  absl::StatusOr<v1::TransferLeadershipResponse> TransferLeadership(
      const v1::TransferLeadershipRequest& request, const CallOptions& options = {});

  // Membership: one change at a time, each returns its commit index.
  absl::StatusOr<v1::AddLearnerResponse> AddLearner(const v1::AddLearnerRequest& request,
                                                    const CallOptions& options = {});
  absl::StatusOr<v1::PromoteLearnerResponse> PromoteLearner(
      const v1::PromoteLearnerRequest& request, const CallOptions& options = {});
  absl::StatusOr<v1::RemoveNodeResponse> RemoveNode(const v1::RemoveNodeRequest& request,
                                                    const CallOptions& options = {});

  // Streams a backup of all mailbox data from whichever node answers
  // (Admin.SaveSnapshot): `on_data` gets each piece of the node's state
  // machine snapshot file, in order, and the call returns the manifest that
  // ends the stream (log index, term, hash chain, membership, size and
  // SHA-256 of the data, state digest). The node first makes the read
  // linearizable, so the backup holds everything committed when it was
  // asked. The deadline covers the whole transfer.
  //
  // Retried like other calls only until the first piece reached `on_data`;
  // after that a broken stream returns its error and the caller must start
  // over (discarding what it received). If `on_data` returns an error the
  // stream is cancelled and that error is returned. DATA_LOSS if the stream
  // ends without a manifest, or sends data after it, or the data received
  // differs in size from what the manifest says.
  using SnapshotDataCallback = std::function<absl::Status(const std::string& data)>;
  absl::StatusOr<v1::SnapshotManifest> SaveSnapshot(const v1::SaveSnapshotRequest& request,
                                                    const SnapshotDataCallback& on_data,
                                                    const CallOptions& options = {});

  // As Client::PreferredEndpoint.
  std::string PreferredEndpoint() const;

 private:
  explicit AdminClient(std::unique_ptr<internal::RetryingCaller> caller);

  std::unique_ptr<internal::RetryingCaller> caller_;
};

}  // namespace qbox

#endif  // QBOX_CLIENT_INCLUDE_QBOX_ADMIN_CLIENT_H_

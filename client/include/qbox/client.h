// The quorumbox client library: what front ends (IMAP, JMAP, LMTP servers)
// link to keep their mail in a quorumbox cluster.
//
// Usage
// -----
//   #include "qbox/client.h"
//
//   qbox::ClientOptions options;
//   options.endpoints = {"10.0.0.1:7101", "10.0.1.1:7101", "10.0.2.1:7101"};
//   options.ca_bundle_file = "/etc/qbox/all-sites-ca.pem";   // every site's CA
//   options.certificate_file = "/etc/qbox/frontends/imap1.crt";
//   options.private_key_file = "/etc/qbox/frontends/imap1.key";
//   absl::StatusOr<std::unique_ptr<qbox::Client>> client = qbox::Client::Open(options);
//   if (!client.ok()) return client.status();      // names the bad option/file
//
//   qbox::v1::AppendMessageRequest append;
//   append.set_account("alice");
//   append.set_mailbox("INBOX");
//   append.set_body(rfc5322_bytes);
//   absl::StatusOr<qbox::v1::AppendMessageResponse> appended =
//       (*client)->AppendMessage(append);           // retried safely, 10 s deadline
//
//   qbox::v1::FetchMessagesRequest fetch;
//   fetch.set_account("alice");
//   fetch.set_mailbox("INBOX");
//   fetch.set_uid_set("1:*");
//   qbox::CallOptions slow;
//   slow.timeout = absl::Minutes(2);                // a big mailbox takes longer
//   absl::Status fetched = (*client)->FetchMessages(
//       fetch,
//       [](const qbox::v1::FetchMessagesResponse& m) {
//         Deliver(m.message());                     // one message at a time
//         return absl::OkStatus();
//       },
//       slow);
//
// Requests and responses are the qbox.v1 protocol buffers of
// proto/qbox/v1/mailstore.proto, whose comments define each field.
//
// What every call promises
// ------------------------
// - Deadline. Every call has one (CallOptions::timeout, default
//   ClientOptions::default_timeout) covering all its attempts and back-off;
//   the call returns by then.
// - Finding the leader. A node that cannot serve a call answers UNAVAILABLE
//   with a leader hint; the client retries at the hinted address (adding it
//   to its endpoints) and sends later calls there first. UNAVAILABLE
//   without a usable hint (no leader yet, node down, connection refused,
//   connect timeout) makes the client back off (jittered, exponential) and
//   try the next endpoint, until the deadline.
// - No duplicates. Requests with an `idempotency_key` field that the caller
//   left unset or empty get a fresh random key (128 bits, hex), generated
//   once per call and sent unchanged on every retry, so the server applies
//   a retried create/append/copy/move/restore at most once. A caller that
//   retries a call itself should set the key itself and reuse it, with the
//   same request, within 24 hours: the server remembers a key per account
//   that long, and refuses (INVALID_ARGUMENT naming `idempotency_key`) a
//   key reused for a different request.
// - Calls without a key (rename, delete, flags, expunge, sieve) are retried
//   after UNAVAILABLE too. UNAVAILABLE usually means the request was not
//   applied (a follower's refusal, a refused connection), but a connection
//   lost mid-call leaves the outcome unknown, so a retry may find the change
//   already made (e.g. NOT_FOUND for a rename that had in fact been done).
// - Errors keep the server's gRPC code and message (which names the bad
//   field). Never retried: INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION,
//   RESOURCE_EXHAUSTED, PERMISSION_DENIED, ALREADY_EXISTS, UNAUTHENTICATED,
//   or anything other than UNAVAILABLE. When the deadline ends the retries,
//   the last attempt's code (UNAVAILABLE or DEADLINE_EXCEEDED) is returned,
//   its message extended with the node it came from and the attempt count.
//   A write that returns UNAVAILABLE or DEADLINE_EXCEEDED may or may not
//   have been applied; repeating it with the same idempotency key is safe.
// - Reads are linearizable unless the request sets `stale_read_ok`
//   (FetchMessages, GetChanges), which lets a follower answer from its own,
//   possibly older, state.
//
// Thread safety: a Client may be used from any number of threads at once
// without external locking; calls do not block each other (apart from
// briefly sharing the endpoint list). Callbacks run on the calling thread.
#ifndef QBOX_CLIENT_INCLUDE_QBOX_CLIENT_H_
#define QBOX_CLIENT_INCLUDE_QBOX_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "qbox/options.h"
#include "qbox/v1/mailstore.pb.h"

namespace qbox {

namespace internal {
class RetryingCaller;
}  // namespace internal

// Called once per fetched message, in the order the server sends them
// (ascending UID). Returning a non-OK status stops the fetch: the stream is
// cancelled and FetchMessages returns that status unchanged.
using FetchCallback = std::function<absl::Status(const v1::FetchMessagesResponse& message)>;

// Called once per page of changes, oldest changes first (see
// GetAllChanges). Returning a non-OK status stops the loop: no further page
// is requested and GetAllChanges returns that status unchanged.
using ChangesCallback = std::function<absl::Status(const v1::GetChangesResponse& page)>;

class Client {
 public:
  // Reads the TLS files and prepares (lazily connecting) channels to the
  // endpoints; no network traffic happens here. On error returns:
  //  - INVALID_ARGUMENT naming the option ("endpoints", "endpoints[2]",
  //    "default_timeout", ...) or the file that is not PEM;
  //  - NOT_FOUND / PERMISSION_DENIED naming the option and the file that
  //    is missing or unreadable.
  static absl::StatusOr<std::unique_ptr<Client>> Open(const ClientOptions& options);

  // Closes the channels. Calls still running on other threads must have
  // returned first.
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Mailboxes. Errors beyond those above: see mailstore.proto.
  absl::StatusOr<v1::CreateMailboxResponse> CreateMailbox(const v1::CreateMailboxRequest& request,
                                                          const CallOptions& options = {});
  absl::StatusOr<v1::ListMailboxesResponse> ListMailboxes(const v1::ListMailboxesRequest& request,
                                                          const CallOptions& options = {});
  absl::StatusOr<v1::RenameMailboxResponse> RenameMailbox(const v1::RenameMailboxRequest& request,
                                                          const CallOptions& options = {});
  absl::StatusOr<v1::DeleteMailboxResponse> DeleteMailbox(const v1::DeleteMailboxRequest& request,
                                                          const CallOptions& options = {});

  // Messages.
  // Quota exceeded: RESOURCE_EXHAUSTED, nothing stored (never retried).
  absl::StatusOr<v1::AppendMessageResponse> AppendMessage(const v1::AppendMessageRequest& request,
                                                          const CallOptions& options = {});

  // Streams the selected messages to `on_message` one at a time; memory use
  // does not grow with the mailbox. Returns OK after the last message, the
  // callback's status if it stopped the fetch, or the call's error.
  //
  // A fetch is retried (like any call) only while no message has been
  // delivered; a stream that breaks after delivering some returns its
  // error, and the caller decides how to resume (e.g. from the next UID).
  // The deadline covers the whole stream: set CallOptions::timeout for
  // large fetches.
  absl::Status FetchMessages(const v1::FetchMessagesRequest& request,
                             const FetchCallback& on_message, const CallOptions& options = {});

  absl::StatusOr<v1::StoreFlagsResponse> StoreFlags(const v1::StoreFlagsRequest& request,
                                                    const CallOptions& options = {});
  absl::StatusOr<v1::CopyMessagesResponse> CopyMessages(const v1::CopyMessagesRequest& request,
                                                        const CallOptions& options = {});
  absl::StatusOr<v1::MoveMessagesResponse> MoveMessages(const v1::MoveMessagesRequest& request,
                                                        const CallOptions& options = {});
  absl::StatusOr<v1::ExpungeMessagesResponse> ExpungeMessages(
      const v1::ExpungeMessagesRequest& request, const CallOptions& options = {});

  // ONE PAGE of what changed after request.since_modseq: at most
  // request.max_changes entries (0 = the server's default). The reply may
  // be incomplete: a caller that needs every change must call again with
  // since_modseq = changes_through_modseq while has_more_changes is true,
  // or use GetAllChanges. Paging by hand suits a JMAP Email/changes, whose
  // own maxChanges maps onto max_changes.
  absl::StatusOr<v1::GetChangesResponse> GetChanges(const v1::GetChangesRequest& request,
                                                    const CallOptions& options = {});

  // Every change after request.since_modseq, delivered page by page to
  // `on_page` (each page as GetChanges returns it). Requests pages of
  // request.max_changes entries until a page says has_more_changes is
  // false, each from the previous page's changes_through_modseq. Returns
  // OK after the last page was delivered, the callback's status if it
  // stopped the loop, or the error of the page that failed (the pages
  // delivered before it stand: resume from the last one's
  // changes_through_modseq). Each page is retried like
  // any call (UNAVAILABLE, leader hints); ONE deadline (options.timeout, or
  // the default) covers all pages together.
  //
  // Pages are handed over as they arrive rather than merged, so memory
  // stays at one page however large the mailbox: a QRESYNC front end can
  // send each page on as VANISHED (EARLIER) and FETCH responses. The same
  // UID may appear in more than one page when it changed while the loop
  // ran; a later page is always newer, so applying pages in order (a later
  // listing of a UID replaces an earlier one, vanished wins over changed)
  // gives the mailbox's state as of the last page.
  //
  // Errors besides those of GetChanges:
  //  - ABORTED if a page's uidvalidity differs from the first page's: the
  //    mailbox was deleted and re-created under its name while the loop
  //    ran, so what was delivered belongs to a mailbox that is gone; the
  //    caller must resync from scratch.
  //  - DEADLINE_EXCEEDED if the deadline ends between pages; the pages
  //    delivered so far stand, and the caller can resume from the last
  //    delivered page's changes_through_modseq.
  //  - INTERNAL if the server claims more changes without advancing
  //    changes_through_modseq (a server bug; looping would never end).
  absl::Status GetAllChanges(const v1::GetChangesRequest& request, const ChangesCallback& on_page,
                             const CallOptions& options = {});

  // The retention vault (deleted mailboxes and expunged messages).
  absl::StatusOr<v1::ListDeletedResponse> ListDeleted(const v1::ListDeletedRequest& request,
                                                      const CallOptions& options = {});
  absl::StatusOr<v1::RestoreDeletedResponse> RestoreDeleted(
      const v1::RestoreDeletedRequest& request, const CallOptions& options = {});

  // Sieve scripts.
  absl::StatusOr<v1::PutSieveScriptResponse> PutSieveScript(
      const v1::PutSieveScriptRequest& request, const CallOptions& options = {});
  absl::StatusOr<v1::GetSieveScriptResponse> GetSieveScript(
      const v1::GetSieveScriptRequest& request, const CallOptions& options = {});
  absl::StatusOr<v1::ListSieveScriptsResponse> ListSieveScripts(
      const v1::ListSieveScriptsRequest& request, const CallOptions& options = {});
  absl::StatusOr<v1::DeleteSieveScriptResponse> DeleteSieveScript(
      const v1::DeleteSieveScriptRequest& request, const CallOptions& options = {});
  absl::StatusOr<v1::SetActiveSieveScriptResponse> SetActiveSieveScript(
      const v1::SetActiveSieveScriptRequest& request, const CallOptions& options = {});

  absl::StatusOr<v1::GetQuotaResponse> GetQuota(const v1::GetQuotaRequest& request,
                                                const CallOptions& options = {});

  // The endpoint the next call will try first: the node that last answered
  // a call successfully or was named as leader, else the first configured
  // endpoint. For diagnostics; it may change as soon as it is returned.
  std::string PreferredEndpoint() const;

 private:
  explicit Client(std::unique_ptr<internal::RetryingCaller> caller);

  std::unique_ptr<internal::RetryingCaller> caller_;
};

}  // namespace qbox

#endif  // QBOX_CLIENT_INCLUDE_QBOX_CLIENT_H_

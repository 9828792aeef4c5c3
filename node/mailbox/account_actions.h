// Internal: the two irreversible account actions an executed proposal runs
// (DESIGN.md G2). They are never commands of their own: only
// apply_proposals.cc calls them, after M sites approved and T passed.
#ifndef QBOX_NODE_MAILBOX_ACCOUNT_ACTIONS_H_
#define QBOX_NODE_MAILBOX_ACCOUNT_ACTIONS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/mailbox/store.h"

namespace qbox::mailbox {

// Purges the whole retention vault of `account` now, freeing bodies that
// nothing references any more. Returns a narrative ("purged 3 vault entries
// of account alice"). NOT_FOUND naming "account" if there is no such
// account; then nothing was written.
absl::StatusOr<std::string> PurgeAccountVault(StoreTxn& txn, absl::string_view account);

// Deletes `account` for good: its record, mailboxes, messages, change
// index, vault, sieve scripts, idempotency results and bodies. Returns a
// narrative. NOT_FOUND naming "account" if there is no such account; then
// nothing was written.
absl::StatusOr<std::string> DeleteAccountForGood(StoreTxn& txn, absl::string_view account);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_ACCOUNT_ACTIONS_H_

// Loading and saving the state machine's records, with the errors clients
// see when something they named does not exist. Used by apply and reads.
#ifndef QBOX_NODE_MAILBOX_RECORDS_H_
#define QBOX_NODE_MAILBOX_RECORDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/mailbox/store.h"
#include "node/mailbox/uid_set.h"
#include "qbox/v1/mailbox_records.pb.h"
#include "qbox/v1/mailstore.pb.h"

namespace qbox::mailbox {

// Validates `name` and loads its account; INVALID_ARGUMENT or NOT_FOUND
// naming `field`.
absl::StatusOr<v1::AccountRecord> LoadAccount(const StoreTxn& txn, absl::string_view name,
                                              absl::string_view field = "account");
void SaveAccount(StoreTxn& txn, const v1::AccountRecord& account);

// The mailbox called `name` (canonicalised) in `account_id`, if any.
absl::StatusOr<std::optional<v1::MailboxRecord>> FindMailbox(const StoreTxn& txn,
                                                             uint64_t account_id,
                                                             absl::string_view name);
// Validates `name` and loads the mailbox; INVALID_ARGUMENT or NOT_FOUND
// naming `field`.
absl::StatusOr<v1::MailboxRecord> LoadMailbox(const StoreTxn& txn, const v1::AccountRecord& account,
                                              absl::string_view name, absl::string_view field);
// Writes the record under its id (the name index is written by callers that
// create or rename).
void SaveMailbox(StoreTxn& txn, const v1::MailboxRecord& mailbox);

absl::StatusOr<v1::IdCounters> LoadCounters(const StoreTxn& txn);
void SaveCounters(StoreTxn& txn, const v1::IdCounters& counters);

// The largest UID in use in the mailbox (0 if it is empty): what "*" means.
absl::StatusOr<uint32_t> LargestUid(const StoreTxn& txn, uint64_t mailbox_id);

// The messages whose UIDs fall in `ranges`, ascending.
absl::StatusOr<std::vector<v1::MessageRecord>> LoadMessages(const StoreTxn& txn,
                                                            uint64_t mailbox_id,
                                                            const std::vector<UidRange>& ranges);

// Parses `uid_set` (INVALID_ARGUMENT naming `field`) and loads its messages.
absl::StatusOr<std::vector<v1::MessageRecord>> LoadUidSet(const StoreTxn& txn, uint64_t mailbox_id,
                                                          absl::string_view uid_set,
                                                          absl::string_view field);

v1::MailboxInfo ToMailboxInfo(const v1::MailboxRecord& mailbox);
v1::MessageInfo ToMessageInfo(const v1::MessageRecord& message);

// SHA-256 of `data` as 32 raw bytes.
std::string Sha256(absl::string_view data);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_RECORDS_H_

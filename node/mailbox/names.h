// Validation of the names clients choose: accounts, mailboxes, sieve
// scripts. Shared by the state machine (which must reject bad input
// deterministically) and the server (which rejects it before proposing).
// Every error is INVALID_ARGUMENT and starts with the field name it was
// given, e.g. "name: mailbox name must not end with '/'".
#ifndef QBOX_NODE_MAILBOX_NAMES_H_
#define QBOX_NODE_MAILBOX_NAMES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace qbox::mailbox {

// Separates levels of the mailbox hierarchy ("Archive/2019").
inline constexpr char kHierarchySeparator = '/';
// The one mailbox every account has; it cannot be renamed or deleted.
inline constexpr absl::string_view kInbox = "INBOX";

inline constexpr size_t kMaxMailboxNameBytes = 512;
inline constexpr size_t kMaxAccountNameBytes = 255;
inline constexpr size_t kMaxSieveScriptNameBytes = 128;
inline constexpr size_t kMaxSieveScriptBytes = 1 << 20;
inline constexpr size_t kMaxIdempotencyKeyBytes = 128;

// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Mailbox names: non-empty, at most kMaxMailboxNameBytes, valid UTF-8, no
// control characters, no IMAP LIST wildcards ('*', '%'), no separator at
// either end and no empty level ("a//b").
absl::Status ValidateMailboxName(absl::string_view name, absl::string_view field);

// IMAP treats INBOX case-insensitively: "inbox" and "Inbox" become "INBOX".
// Every other name is returned unchanged.
std::string CanonicalMailboxName(absl::string_view name);

// The name one level up ("Archive" for "Archive/2019"); "" at the top.
std::string ParentMailboxName(absl::string_view name);

// Account names: 1-255 bytes of UTF-8 without control characters or '/'.
absl::Status ValidateAccountName(absl::string_view name, absl::string_view field);

// Sieve script names: 1-128 bytes of UTF-8 without control characters.
absl::Status ValidateSieveScriptName(absl::string_view name, absl::string_view field);

// Idempotency keys: 1-128 bytes (any bytes; they are compared exactly).
absl::Status ValidateIdempotencyKey(absl::string_view key, absl::string_view field);

}  // namespace qbox::mailbox

#endif  // QBOX_NODE_MAILBOX_NAMES_H_

// Local purging of the retention vault (DESIGN.md G3). Runs on this node's
// own clock, never through the log, so a lying leader cannot back-date a
// deletion: each node counts from when it applied the deletion itself.
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/guard_records.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/message_ops.h"
#include "node/mailbox/state_machine.h"

namespace qbox::mailbox {

absl::StatusOr<uint64_t> MailboxStateMachine::PurgeExpired(int64_t now_ms) {
  absl::MutexLock lock(&mu_);
  StoreTxn txn(store_.get());
  // With a charter, its R decides (G3): shortening it takes an executed
  // proposal, and then applies to every entry, earlier ones too.
  ASSIGN_OR_RETURN(std::optional<v1::Charter> charter, LoadCharter(txn));
  struct Expired {
    std::string key;
    uint64_t account_id;
    v1::VaultRecord record;
  };
  std::vector<Expired> expired;
  bool corrupt = false;
  RETURN_IF_ERROR(
      txn.ScanPrefix(Cf::kVault, "", [&](absl::string_view key, absl::string_view value) {
        v1::VaultRecord record;
        if (key.size() != 16 || !record.ParseFromString(std::string(value))) {
          corrupt = true;
          return false;
        }
        const int64_t retention_ms =
            charter.has_value() ? charter->retention_ms() : record.retention_ms();
        if (now_ms - record.local_applied_ms() >= retention_ms) {
          expired.push_back({std::string(key), keys::ReadBigEndian64(key), std::move(record)});
        }
        return true;
      }));
  if (corrupt) {
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": bad vault record"));
  }
  for (const Expired& e : expired) {
    for (const v1::VaultedMessage& m : e.record.messages()) {
      RETURN_IF_ERROR(DropBodyRef(txn, e.account_id, m.content_sha256(), BodyRef::kVault));
    }
    txn.Delete(Cf::kVault, e.key);
  }
  if (!expired.empty()) RETURN_IF_ERROR(txn.Commit());
  return expired.size();
}

}  // namespace qbox::mailbox

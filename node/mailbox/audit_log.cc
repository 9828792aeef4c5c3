// G5: reading the hash-chained audit log.
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/state_machine.h"

namespace qbox::mailbox {

absl::Status MailboxStateMachine::ReadAuditLog(
    uint64_t from_seq, const std::function<bool(const v1::AuditRecord&)>& sink) const {
  // The lock is held only to pin a RocksDB snapshot: a slow reader (a
  // streaming client) must not hold up the apply thread.
  const rocksdb::Snapshot* snapshot;
  {
    absl::ReaderMutexLock lock(&mu_);
    snapshot = store_->db()->GetSnapshot();
  }
  StoreTxn txn(store_.get(), snapshot);
  bool corrupt = false;
  absl::Status status =
      txn.Scan(Cf::kGuard, keys::Audit(from_seq), keys::PrefixEnd(keys::kAuditPrefix),
               [&](absl::string_view, absl::string_view value) {
                 v1::AuditRecord record;
                 if (!record.ParseFromString(std::string(value))) {
                   corrupt = true;
                   return false;
                 }
                 return sink(record);
               });
  store_->db()->ReleaseSnapshot(snapshot);
  RETURN_IF_ERROR(status);
  if (corrupt) {
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": bad audit record"));
  }
  return absl::OkStatus();
}

}  // namespace qbox::mailbox

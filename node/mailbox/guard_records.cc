#include "node/mailbox/guard_records.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/audit_chain.h"
#include "node/mailbox/keys.h"

namespace qbox::mailbox {
namespace {

// A stamp on disk: 8 big-endian bytes, the smallest int64 meaning "none".
constexpr int64_t kNoStamp = std::numeric_limits<int64_t>::min();

std::string EncodeStamp(std::optional<int64_t> stamp) {
  return keys::BigEndian64(static_cast<uint64_t>(stamp.value_or(kNoStamp)));
}

std::optional<int64_t> DecodeStamp(absl::string_view bytes) {
  const int64_t value = static_cast<int64_t>(keys::ReadBigEndian64(bytes));
  if (value == kNoStamp) return std::nullopt;
  return value;
}

}  // namespace

absl::StatusOr<std::optional<v1::Charter>> LoadCharter(const StoreTxn& txn) {
  v1::Charter charter;
  ASSIGN_OR_RETURN(bool found, txn.GetProto(Cf::kGuard, keys::kCharter, &charter));
  if (!found) return std::nullopt;
  return charter;
}

void SaveCharter(StoreTxn& txn, const v1::Charter& charter) {
  txn.PutProto(Cf::kGuard, keys::kCharter, charter);
}

absl::StatusOr<std::optional<v1::ProposalRecord>> LoadProposal(const StoreTxn& txn,
                                                               absl::string_view proposal_id) {
  v1::ProposalRecord record;
  ASSIGN_OR_RETURN(bool found, txn.GetProto(Cf::kGuard, keys::Proposal(proposal_id), &record));
  if (!found) return std::nullopt;
  return record;
}

void SaveProposal(StoreTxn& txn, v1::ProposalRecord record) {
  record.clear_local_submitted_ms();
  record.clear_local_approved_ms();
  txn.PutProto(Cf::kGuard, keys::Proposal(record.proposal_id()), record);
}

absl::StatusOr<LocalProposalStamps> LoadLocalStamps(const StoreTxn& txn,
                                                    absl::string_view proposal_id) {
  ASSIGN_OR_RETURN(auto value, txn.Get(Cf::kLocal, keys::Proposal(proposal_id)));
  LocalProposalStamps stamps;
  if (!value.has_value()) return stamps;
  if (value->size() != 16) {
    return absl::DataLossError(absl::StrCat("mailbox store ", txn.store()->dir(),
                                            ": local stamps of proposal ", proposal_id,
                                            " are not 16 bytes"));
  }
  stamps.submitted_ms = DecodeStamp(*value);
  stamps.approved_ms = DecodeStamp(value->substr(8));
  return stamps;
}

void SaveLocalStamps(StoreTxn& txn, absl::string_view proposal_id,
                     const LocalProposalStamps& stamps) {
  txn.Put(Cf::kLocal, keys::Proposal(proposal_id),
          absl::StrCat(EncodeStamp(stamps.submitted_ms), EncodeStamp(stamps.approved_ms)));
}

absl::Status AddLocalStamps(const StoreTxn& txn, v1::ProposalRecord* record) {
  ASSIGN_OR_RETURN(LocalProposalStamps stamps, LoadLocalStamps(txn, record->proposal_id()));
  record->set_local_submitted_ms(stamps.submitted_ms.value_or(0));
  record->set_local_approved_ms(stamps.approved_ms.value_or(0));
  return absl::OkStatus();
}

absl::Status AppendAudit(StoreTxn& txn, uint64_t log_index, absl::string_view actor,
                         absl::string_view kind, absl::string_view command,
                         absl::string_view detail) {
  ASSIGN_OR_RETURN(std::optional<std::string> last_key,
                   txn.LastKeyWithPrefix(Cf::kGuard, keys::kAuditPrefix));
  std::optional<v1::AuditRecord> previous;
  if (last_key.has_value()) {
    previous.emplace();
    ASSIGN_OR_RETURN(bool found, txn.GetProto(Cf::kGuard, *last_key, &*previous));
    if (!found) {
      return absl::DataLossError(
          absl::StrCat("mailbox store ", txn.store()->dir(), ": audit record vanished"));
    }
  }
  v1::AuditRecord record;
  record.set_log_index(log_index);
  record.set_actor(std::string(actor));
  record.set_kind(std::string(kind));
  record.set_command(std::string(command));
  record.set_detail(std::string(detail));
  guard::SealAuditRecord(previous.has_value() ? &*previous : nullptr, &record);
  txn.PutProto(Cf::kGuard, keys::Audit(record.seq()), record);
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::array<uint8_t, 32>>> LoadOwnCheckpoint(const StoreTxn& txn,
                                                                         uint64_t index) {
  ASSIGN_OR_RETURN(auto value, txn.Get(Cf::kLocal, keys::CheckpointIndex(index)));
  if (!value.has_value()) return std::nullopt;
  if (value->size() != 32) {
    return absl::DataLossError(absl::StrCat("mailbox store ", txn.store()->dir(),
                                            ": own checkpoint at ", index, " is not 32 bytes"));
  }
  std::array<uint8_t, 32> digest{};
  std::copy(value->begin(), value->end(), digest.begin());
  return digest;
}

void SaveOwnCheckpoint(StoreTxn& txn, uint64_t index, const std::array<uint8_t, 32>& digest) {
  txn.Put(Cf::kLocal, keys::CheckpointIndex(index),
          absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool IsClosed(v1::ProposalState state) {
  return state == v1::PROPOSAL_STATE_EXECUTED || state == v1::PROPOSAL_STATE_VETOED ||
         state == v1::PROPOSAL_STATE_EXPIRED || state == v1::PROPOSAL_STATE_FAILED;
}

}  // namespace qbox::mailbox

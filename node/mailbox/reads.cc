// Read-only queries. Each runs on one RocksDB snapshot, so it sees the
// state as of a single applied index.
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/mailbox/change_pages.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/names.h"
#include "node/mailbox/records.h"
#include "node/mailbox/state_machine.h"

namespace qbox::mailbox {
namespace {

// A consistent read view released on destruction.
class ReadView {
 public:
  explicit ReadView(const Store* store)
      : store_(store), snapshot_(store->db()->GetSnapshot()), txn_(store, snapshot_) {}
  ~ReadView() { store_->db()->ReleaseSnapshot(snapshot_); }
  const StoreTxn& txn() const { return txn_; }

 private:
  const Store* store_;
  const rocksdb::Snapshot* snapshot_;
  StoreTxn txn_;
};

}  // namespace

absl::StatusOr<v1::ListMailboxesResponse> MailboxStateMachine::ListMailboxes(
    const v1::ListMailboxesRequest& req) const {
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(view.txn(), req.account()));
  std::vector<uint64_t> ids;
  RETURN_IF_ERROR(view.txn().ScanPrefix(Cf::kMailboxes,
                                        keys::MailboxNamePrefix(account.account_id()),
                                        [&](absl::string_view, absl::string_view value) {
                                          ids.push_back(keys::ReadBigEndian64(value));
                                          return true;
                                        }));
  v1::ListMailboxesResponse out;
  for (uint64_t id : ids) {
    v1::MailboxRecord record;
    ASSIGN_OR_RETURN(bool found,
                     view.txn().GetProto(Cf::kMailboxes, keys::MailboxById(id), &record));
    if (!found) return absl::DataLossError(absl::StrCat("mailbox store: missing mailbox ", id));
    *out.add_mailboxes() = ToMailboxInfo(record);
  }
  return out;
}

absl::Status MailboxStateMachine::FetchMessages(
    const v1::FetchMessagesRequest& req,
    const std::function<bool(v1::FetchMessagesResponse)>& sink) const {
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(view.txn(), req.account()));
  ASSIGN_OR_RETURN(v1::MailboxRecord mailbox,
                   LoadMailbox(view.txn(), account, req.mailbox(), "mailbox"));
  ASSIGN_OR_RETURN(auto messages,
                   LoadUidSet(view.txn(), mailbox.mailbox_id(), req.uid_set(), "uid_set"));
  for (const v1::MessageRecord& m : messages) {
    if (req.changed_since() != 0 && m.modseq() <= req.changed_since()) continue;
    v1::FetchMessagesResponse response;
    response.set_uidvalidity(mailbox.uidvalidity());
    *response.mutable_message() = ToMessageInfo(m);
    if (req.include_body()) {
      ASSIGN_OR_RETURN(auto body, view.txn().Get(Cf::kBodies, keys::BodyData(account.account_id(),
                                                                             m.content_sha256())));
      if (!body.has_value()) {
        return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": body of UID ", m.uid(),
                                                " in \"", mailbox.name(), "\" is missing"));
      }
      response.mutable_message()->set_body(*std::move(body));
    }
    if (!sink(std::move(response))) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::GetChangesResponse> MailboxStateMachine::GetChanges(
    const v1::GetChangesRequest& req) const {
  ASSIGN_OR_RETURN(const uint32_t max_changes, ResolveMaxChanges(req.max_changes(), "max_changes"));
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(view.txn(), req.account()));
  ASSIGN_OR_RETURN(v1::MailboxRecord mailbox,
                   LoadMailbox(view.txn(), account, req.mailbox(), "mailbox"));
  v1::GetChangesResponse out;
  out.set_highest_modseq(mailbox.highest_modseq());
  out.set_uidvalidity(mailbox.uidvalidity());
  // The change index keeps only each UID's latest change, one record per
  // MODSEQ, so one scan from since+1 yields every changed message once and
  // every vanished UID. A page stops after max_changes records: it then
  // covers exactly the MODSEQs up to the last record taken, and the next
  // page starts after it. Whatever changes in between moves to a MODSEQ
  // above this mailbox's current highest, so a later page still sees it.
  std::vector<v1::ChangeRecord> changes;
  uint64_t last_modseq = 0;
  bool has_more = false;
  bool corrupt = false;
  const uint64_t from = req.since_modseq() == UINT64_MAX ? UINT64_MAX : req.since_modseq() + 1;
  const std::string prefix = keys::MessagePrefix(mailbox.mailbox_id());
  RETURN_IF_ERROR(view.txn().Scan(
      Cf::kChanges, keys::Change(mailbox.mailbox_id(), from), keys::PrefixEnd(prefix),
      [&](absl::string_view key, absl::string_view value) {
        if (changes.size() == max_changes) {
          has_more = true;
          return false;
        }
        const std::optional<uint64_t> modseq = keys::ChangeModseq(key, prefix);
        if (!modseq.has_value() || !changes.emplace_back().ParseFromString(std::string(value))) {
          corrupt = true;
          return false;
        }
        last_modseq = *modseq;
        return true;
      }));
  if (corrupt)
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": bad change record"));
  out.set_has_more_changes(has_more);
  // Records up to the floor were pruned: some vanished UIDs after `since`
  // are no longer in the index.
  out.set_vanished_incomplete(req.since_modseq() < mailbox.vanished_floor_modseq());
  out.set_changes_through_modseq(has_more ? last_modseq : mailbox.highest_modseq());
  std::vector<uint32_t> vanished;
  std::vector<UidRange> changed;
  for (const v1::ChangeRecord& c : changes) {
    if (c.vanished()) {
      vanished.push_back(c.uid());
    } else {
      changed.push_back(UidRange{c.uid(), c.uid()});
    }
  }
  std::sort(vanished.begin(), vanished.end());
  std::sort(changed.begin(), changed.end(),
            [](const UidRange& a, const UidRange& b) { return a.first < b.first; });
  ASSIGN_OR_RETURN(auto messages, LoadMessages(view.txn(), mailbox.mailbox_id(), changed));
  for (const v1::MessageRecord& m : messages) *out.add_changed() = ToMessageInfo(m);
  for (uint32_t uid : vanished) out.add_vanished(uid);
  return out;
}

absl::StatusOr<v1::ListDeletedResponse> MailboxStateMachine::ListDeleted(
    const v1::ListDeletedRequest& req) const {
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(view.txn(), req.account()));
  v1::ListDeletedResponse out;
  bool corrupt = false;
  RETURN_IF_ERROR(view.txn().ScanPrefix(Cf::kVault, keys::AccountPrefix(account.account_id()),
                                        [&](absl::string_view, absl::string_view value) {
                                          v1::VaultRecord record;
                                          if (!record.ParseFromString(std::string(value))) {
                                            corrupt = true;
                                            return false;
                                          }
                                          v1::DeletedItem* item = out.add_items();
                                          item->set_vault_id(record.vault_id());
                                          item->set_whole_mailbox(record.whole_mailbox());
                                          item->set_mailbox(record.mailbox());
                                          item->set_message_count(record.messages_size());
                                          uint64_t bytes = 0;
                                          for (const auto& m : record.messages()) bytes += m.size();
                                          item->set_size_bytes(bytes);
                                          item->set_deleted_at_ms(record.deleted_at_ms());
                                          item->set_restorable_until_ms(
                                              record.restorable_until_ms());
                                          item->set_sieve_script(record.sieve_script());
                                          return true;
                                        }));
  if (corrupt)
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": bad vault record"));
  return out;
}

absl::StatusOr<v1::GetQuotaResponse> MailboxStateMachine::GetQuota(
    const v1::GetQuotaRequest& req) const {
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(view.txn(), req.account()));
  v1::GetQuotaResponse out;
  out.set_used_bytes(account.used_bytes());
  out.set_limit_bytes(account.quota_bytes());
  out.set_used_messages(account.used_messages());
  out.set_limit_messages(account.quota_messages());
  out.set_max_message_bytes(account.max_message_bytes());
  return out;
}

absl::StatusOr<v1::GetSieveScriptResponse> MailboxStateMachine::GetSieveScript(
    const v1::GetSieveScriptRequest& req) const {
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(view.txn(), req.account()));
  RETURN_IF_ERROR(ValidateSieveScriptName(req.name(), "name"));
  ASSIGN_OR_RETURN(auto content,
                   view.txn().Get(Cf::kSieve, keys::Sieve(account.account_id(), req.name())));
  if (!content.has_value()) {
    return absl::NotFoundError(absl::StrCat("name: no sieve script named \"", req.name(), "\""));
  }
  v1::GetSieveScriptResponse out;
  out.set_content(*std::move(content));
  out.set_active(account.active_sieve() == req.name());
  return out;
}

absl::StatusOr<v1::ListSieveScriptsResponse> MailboxStateMachine::ListSieveScripts(
    const v1::ListSieveScriptsRequest& req) const {
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(view.txn(), req.account()));
  v1::ListSieveScriptsResponse out;
  const std::string prefix = keys::AccountPrefix(account.account_id());
  RETURN_IF_ERROR(view.txn().ScanPrefix(Cf::kSieve, prefix,
                                        [&](absl::string_view key, absl::string_view value) {
                                          v1::SieveScriptInfo* info = out.add_scripts();
                                          info->set_name(std::string(key.substr(prefix.size())));
                                          info->set_active(info->name() == account.active_sieve());
                                          info->set_size(value.size());
                                          return true;
                                        }));
  return out;
}

absl::StatusOr<v1::ListAccountsResponse> MailboxStateMachine::ListAccounts() const {
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  v1::ListAccountsResponse out;
  bool corrupt = false;
  RETURN_IF_ERROR(view.txn().ScanPrefix(Cf::kAccounts, keys::kAccountPrefix,
                                        [&](absl::string_view, absl::string_view value) {
                                          v1::AccountRecord record;
                                          if (!record.ParseFromString(std::string(value))) {
                                            corrupt = true;
                                            return false;
                                          }
                                          v1::AccountInfo* info = out.add_accounts();
                                          info->set_account(record.name());
                                          info->set_used_bytes(record.used_bytes());
                                          info->set_used_messages(record.used_messages());
                                          info->set_quota_bytes(record.quota_bytes());
                                          info->set_quota_messages(record.quota_messages());
                                          return true;
                                        }));
  if (corrupt)
    return absl::DataLossError(absl::StrCat("mailbox store ", dir(), ": bad account record"));
  return out;
}

absl::StatusOr<MailboxStateMachine::BodyRefs> MailboxStateMachine::GetBodyRefs(
    absl::string_view account_name, absl::string_view sha256) const {
  absl::ReaderMutexLock lock(&mu_);
  ReadView view(store_.get());
  ASSIGN_OR_RETURN(v1::AccountRecord account, LoadAccount(view.txn(), account_name));
  BodyRefs refs;
  ASSIGN_OR_RETURN(auto live,
                   view.txn().Get(Cf::kBodies, keys::BodyLiveRefs(account.account_id(), sha256)));
  ASSIGN_OR_RETURN(auto vault,
                   view.txn().Get(Cf::kBodies, keys::BodyVaultRefs(account.account_id(), sha256)));
  ASSIGN_OR_RETURN(auto body,
                   view.txn().Get(Cf::kBodies, keys::BodyData(account.account_id(), sha256)));
  if (live.has_value() && live->size() == 8) refs.live = keys::ReadBigEndian64(*live);
  if (vault.has_value() && vault->size() == 8) refs.vault = keys::ReadBigEndian64(*vault);
  refs.stored = body.has_value();
  return refs;
}

}  // namespace qbox::mailbox

#include "node/mailbox/state_machine.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/common/thread_name.h"
#include "node/guard/admin_command.h"
#include "node/mailbox/apply_guard.h"
#include "node/mailbox/apply_ops.h"
#include "node/mailbox/guard_records.h"
#include "node/mailbox/idempotency.h"
#include "node/mailbox/keys.h"
#include "node/mailbox/names.h"

namespace qbox::mailbox {
namespace {

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct IdempotencyScope {
  std::string account;
  std::string key;
  const google::protobuf::MessageLite* request;  // what the key answers for
};

// The account and key of a command that creates something, if it has one.
std::optional<IdempotencyScope> IdempotencyOf(const v1::MailboxCommand& cmd) {
  auto scope = [](const auto& request) -> std::optional<IdempotencyScope> {
    if (!request.has_idempotency_key()) return std::nullopt;
    return IdempotencyScope{request.account(), request.idempotency_key(), &request};
  };
  switch (cmd.op_case()) {
    case v1::MailboxCommand::kCreateAccount: {
      const auto& r = cmd.create_account().request();
      return scope(r);
    }
    case v1::MailboxCommand::kCreateMailbox: {
      const auto& r = cmd.create_mailbox().request();
      return scope(r);
    }
    case v1::MailboxCommand::kAppendMessage: {
      const auto& r = cmd.append_message().request();
      return scope(r);
    }
    case v1::MailboxCommand::kCopyMessages: {
      const auto& r = cmd.copy_messages();
      return scope(r);
    }
    case v1::MailboxCommand::kMoveMessages: {
      const auto& r = cmd.move_messages();
      return scope(r);
    }
    case v1::MailboxCommand::kRestoreDeleted: {
      const auto& r = cmd.restore_deleted();
      return scope(r);
    }
    default:
      return std::nullopt;
  }
}

absl::Status CheckCommandBytes(const v1::MailboxCommand& command, uint64_t limit) {
  const size_t bytes = command.ByteSizeLong();
  if (bytes > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("command: ", bytes, " bytes; the limit at apply is ", limit, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status Dispatch(ApplyContext& ctx, const v1::MailboxCommand& cmd, v1::CommandResult* r) {
  using C = v1::MailboxCommand;
  switch (cmd.op_case()) {
    case C::kCreateAccount:
      return ApplyCreateAccount(ctx, cmd.create_account(), r->mutable_create_account());
    case C::kSetQuota:
      return ApplySetQuota(ctx, cmd.set_quota(), r->mutable_set_quota());
    case C::kCreateMailbox:
      return ApplyCreateMailbox(ctx, cmd.create_mailbox(), r->mutable_create_mailbox());
    case C::kRenameMailbox:
      return ApplyRenameMailbox(ctx, cmd.rename_mailbox(), r->mutable_rename_mailbox());
    case C::kDeleteMailbox:
      return ApplyDeleteMailbox(ctx, cmd.delete_mailbox(), r->mutable_delete_mailbox());
    case C::kAppendMessage:
      return ApplyAppendMessage(ctx, cmd.append_message(), r->mutable_append_message());
    case C::kStoreFlags:
      return ApplyStoreFlags(ctx, cmd.store_flags(), r->mutable_store_flags());
    case C::kCopyMessages:
      return ApplyCopyMessages(ctx, cmd.copy_messages(), r->mutable_copy_messages());
    case C::kMoveMessages:
      return ApplyMoveMessages(ctx, cmd.move_messages(), r->mutable_move_messages());
    case C::kExpungeMessages:
      return ApplyExpungeMessages(ctx, cmd.expunge_messages(), r->mutable_expunge_messages());
    case C::kRestoreDeleted:
      return ApplyRestoreDeleted(ctx, cmd.restore_deleted(), r->mutable_restore_deleted());
    case C::kPutSieveScript:
      return ApplyPutSieveScript(ctx, cmd.put_sieve_script(), r->mutable_put_sieve_script());
    case C::kDeleteSieveScript:
      return ApplyDeleteSieveScript(ctx, cmd.delete_sieve_script(),
                                    r->mutable_delete_sieve_script());
    case C::kSetActiveSieveScript:
      return ApplySetActiveSieveScript(ctx, cmd.set_active_sieve_script(),
                                       r->mutable_set_active_sieve_script());
    case C::kSubmitProposal:
    case C::kEndorseProposal:
    case C::kNodeStatement:
      // Applied by ApplyGuardCommand, which audits refusals too.
      return absl::InternalError("op: a guard command reached the mailbox dispatch");
    case C::OP_NOT_SET:
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("op: unknown operation");
}

// G5: admin commands are audited, refused ones too; front-end mail
// commands are not.
// Who asked for an audited admin command (G5), and why that is not known
// for sure when it is not: the admin's signature over the request, verified
// here, names the actor; without one that verifies, the leader's word is
// recorded as "unverified:" + what the leader said.
struct AuditedActor {
  std::string actor;
  std::string unverified_because;  // empty when the signature verified
};
AuditedActor ActorOfAdminCommand(const v1::MailboxCommand& cmd,
                                 const google::protobuf::Message& request,
                                 const v1::SignedAdminCommand& signature,
                                 const v1::Charter* charter, const guard::SiteTrustStore* trust) {
  const std::string unverified = absl::StrCat(kUnverifiedActorPrefix, cmd.actor());
  if (signature.body().empty()) return {unverified, "the request carries no admin signature"};
  if (charter == nullptr || trust == nullptr) {
    return {unverified, "no charter to verify the admin signature against"};
  }
  absl::StatusOr<guard::PeerIdentity> signer =
      guard::VerifyAdminCommand(*charter, *trust, signature, request);
  if (!signer.ok()) return {unverified, std::string(signer.status().message())};
  return {signer->ToString(), ""};
}

absl::Status AuditAdminCommand(StoreTxn& txn, uint64_t log_index, const v1::MailboxCommand& cmd,
                               const absl::Status& status, bool replayed,
                               const v1::Charter* charter, const guard::SiteTrustStore* trust) {
  std::string kind;
  std::string what;
  AuditedActor actor;
  if (cmd.has_create_account()) {
    const v1::CreateAccountRequest& req = cmd.create_account().request();
    kind = "admin.create_account";
    what = absl::StrCat("create account ", req.account());
    actor = ActorOfAdminCommand(cmd, req, req.admin_signature(), charter, trust);
  } else if (cmd.has_set_quota()) {
    kind = "admin.set_quota";
    what = absl::StrCat("set the quota of account ", cmd.set_quota().account());
    actor = ActorOfAdminCommand(cmd, cmd.set_quota(), cmd.set_quota().admin_signature(), charter,
                                trust);
  } else {
    return absl::OkStatus();
  }
  std::string detail = !status.ok() ? absl::StrCat(what, ": refused: ", status.message())
                       : replayed   ? absl::StrCat(what, ": repeated; the first result stands")
                                    : absl::StrCat(what, ": done");
  if (!actor.unverified_because.empty()) {
    absl::StrAppend(&detail, " (actor unverified: ", actor.unverified_because, ")");
  }
  return AppendAudit(txn, log_index, actor.actor, kind, cmd.SerializeAsString(), detail);
}

absl::StatusOr<v1::CommandResult> AsStatusOr(v1::CommandResult result) {
  if (result.status_code() != 0) {
    return absl::Status(static_cast<absl::StatusCode>(result.status_code()),
                        result.status_message());
  }
  return result;
}

}  // namespace

bool IsStorageFailure(const absl::Status& status) {
  return absl::IsDataLoss(status) || absl::IsUnavailable(status) || absl::IsInternal(status);
}

absl::StatusOr<std::unique_ptr<MailboxStateMachine>> MailboxStateMachine::Open(
    const std::string& dir) {
  return Open(dir, Options());
}

absl::StatusOr<std::unique_ptr<MailboxStateMachine>> MailboxStateMachine::Open(
    const std::string& dir, Options options) {
  if (!options.local_clock_ms) options.local_clock_ms = SystemClockMs;
  ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(dir));
  const bool rebuilt_digest = store->rebuilt_state_digest();
  StoreTxn txn(store.get());
  ASSIGN_OR_RETURN(auto restoring, txn.Get(Cf::kMeta, keys::kRestoring));
  if (restoring.has_value()) {
    // Part old state, part snapshot: nothing of it may be read or applied
    // to. Drop it all (the marker stays) and open empty; the raft log
    // storage kept the snapshot and the runtime installs it again at start,
    // as for a store that was lost.
    rocksdb::WriteBatch clear;
    store->DeleteEverything(&clear);
    clear.Put(store->cf(Cf::kMeta), std::string(keys::kRestoring), "1");
    RETURN_IF_ERROR(store->ReplaceStateDigest(DigestAccumulator(), &clear));
    RETURN_IF_ERROR(store->MakeDurable());
    std::unique_ptr<MailboxStateMachine> machine(new MailboxStateMachine(
        std::move(store), std::move(options), /*applied=*/0, /*check_stored_state=*/false));
    {
      absl::MutexLock lock(&machine->mu_);
      machine->restore_interrupted_ = true;
    }
    machine->Log(absl::StrCat("mailbox store ", dir,
                              ": a snapshot restore was interrupted; dropped the incomplete "
                              "state, waiting for the snapshot to be installed again"));
    return machine;
  }
  ASSIGN_OR_RETURN(auto applied, txn.Get(Cf::kMeta, keys::kAppliedIndex));
  uint64_t applied_index = 0;
  if (applied.has_value()) {
    if (applied->size() != 8) {
      return absl::DataLossError(
          absl::StrCat("mailbox store ", dir, ": applied index is not 8 bytes"));
    }
    applied_index = keys::ReadBigEndian64(*applied);
  }
  std::unique_ptr<MailboxStateMachine> machine(new MailboxStateMachine(
      std::move(store), std::move(options), applied_index, /*check_stored_state=*/!rebuilt_digest));
  if (rebuilt_digest) {
    machine->Log(absl::StrCat("mailbox store ", dir,
                              " kept no state digest accumulator (written by an older version): "
                              "computed it from the stored records with one full pass"));
  }
  return machine;
}

MailboxStateMachine::MailboxStateMachine(std::unique_ptr<Store> store, Options options,
                                         uint64_t applied, bool check_stored_state)
    : store_(std::move(store)), options_(std::move(options)), applied_index_(applied) {
  if (check_stored_state) {
    // Records changed while the node was stopped left the accumulator as
    // it was: the worker compares the two before any checkpoint.
    absl::MutexLock lock(&worker_mu_);
    CapturedCheckpoint check;
    check.index = applied;
    check.is_checkpoint = false;
    check.at_open = true;
    check.snapshot = store_->db()->GetSnapshot();
    waiting_.push_back(check);
    ++captured_count_;
  }
  worker_ = std::thread([this] {
    NameThisThread("qbox-checkpoint");
    CheckpointWorker();
  });
  checker_ = std::thread([this] {
    NameThisThread("qbox-digestchk");
    PeriodicChecker();
  });
}

MailboxStateMachine::~MailboxStateMachine() {
  {
    absl::MutexLock lock(&worker_mu_);
    stopping_ = true;
  }
  worker_.join();  // it finishes what was captured first; the store closes after
  checker_.join();
  // Closing flushes the unlogged writes too (store.h), but says nothing if
  // that fails; the restart would then apply them again from the raft log.
  const absl::Status durable = store_->MakeDurable();
  if (!durable.ok()) {
    Log(absl::StrCat("could not flush the mailbox store at close: ", durable.ToString()));
  }
}

uint64_t MailboxStateMachine::applied_index() const {
  absl::ReaderMutexLock lock(&mu_);
  return applied_index_;
}

absl::StatusOr<uint64_t> MailboxStateMachine::MakeDurable() const {
  uint64_t applied = 0;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (restore_interrupted_) {
      return absl::FailedPreconditionError(
          absl::StrCat("mailbox store ", store_->dir(),
                       ": a snapshot restore was interrupted; nothing is durable until a "
                       "snapshot is installed again"));
    }
    applied = applied_index_;
  }
  // Every write up to `applied` is in the memtables this flush writes out
  // (with the applied index itself, in the same batches), and all column
  // families flush together.
  RETURN_IF_ERROR(store_->MakeDurable());
  return applied;
}

absl::StatusOr<v1::CommandResult> MailboxStateMachine::Apply(uint64_t log_index,
                                                             const v1::MailboxCommand& command) {
  const BatchCommand one{log_index, &command};
  ASSIGN_OR_RETURN(std::vector<absl::StatusOr<v1::CommandResult>> results,
                   ApplyBatch(absl::MakeConstSpan(&one, 1)));
  return std::move(results.front());
}

absl::StatusOr<std::vector<absl::StatusOr<v1::CommandResult>>> MailboxStateMachine::ApplyBatch(
    absl::Span<const BatchCommand> commands) {
  PendingCallbacks pending;
  std::vector<absl::StatusOr<v1::CommandResult>> results;
  results.reserve(commands.size());
  absl::Status status;
  {
    absl::MutexLock lock(&mu_);
    if (restore_interrupted_) {
      return absl::DataLossError(absl::StrCat(
          "mailbox store ", store_->dir(),
          ": a snapshot restore was interrupted and no snapshot was installed again; nothing "
          "can be applied until one is"));
    }
    status = ApplyBatchLocked(commands, &results, &pending);
  }
  // Checkpoints captured before a failure are kept all the same.
  RunCallbacks(pending);
  RETURN_IF_ERROR(status);
  return results;
}

absl::Status MailboxStateMachine::ResumeWrites() {
  const rocksdb::Status resumed = store_->db()->Resume();
  if (resumed.ok()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("resuming writes to the mailbox store ", dir(), ": ", resumed.ToString()));
}

absl::Status MailboxStateMachine::ApplyBatchLocked(
    absl::Span<const BatchCommand> commands,
    std::vector<absl::StatusOr<v1::CommandResult>>* results, PendingCallbacks* pending) {
  // Mail commands go into one transaction, each reading what the ones
  // before it wrote; it is committed, with the applied index, where the
  // state must be in the store: before a re-applied index is looked up,
  // before a guard command, at a checkpoint index and at the end.
  std::optional<StoreTxn> open;
  uint64_t last_written = 0;  // the last index in `open`
  auto commit = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    if (!open.has_value()) return absl::OkStatus();
    open->Put(Cf::kMeta, keys::kAppliedIndex, keys::BigEndian64(last_written));
    RETURN_IF_ERROR(open->Commit());
    applied_index_ = last_written;
    open.reset();
    return absl::OkStatus();
  };
  for (const BatchCommand& c : commands) {
    if (c.log_index == 0) return absl::InvalidArgumentError("log_index: must be at least 1");
    if (c.command == nullptr) return absl::InvalidArgumentError("command: missing");
    if (c.log_index <= std::max(applied_index_, last_written)) {
      RETURN_IF_ERROR(commit());
      absl::StatusOr<v1::CommandResult> stored = StoredResultLocked(c.log_index, *c.command);
      if (IsStorageFailure(stored.status())) return stored.status();
      results->push_back(std::move(stored));
      continue;
    }
    if (IsGuardCommand(*c.command)) {
      RETURN_IF_ERROR(commit());
      ASSIGN_OR_RETURN(v1::CommandResult result,
                       ApplyGuardLocked(c.log_index, *c.command, pending));
      results->push_back(std::move(result));
      continue;
    }
    if (!open.has_value()) open.emplace(store_.get());
    ASSIGN_OR_RETURN(v1::CommandResult result, ApplyMailLocked(*open, c.log_index, *c.command));
    last_written = c.log_index;
    results->push_back(AsStatusOr(std::move(result)));
    // The charter is read through the open transaction (only guard commands,
    // which are never in it, change it): no second one per command.
    ASSIGN_OR_RETURN(bool checkpoint_due, CheckpointDue(*open, c.log_index));
    if (checkpoint_due) {
      RETURN_IF_ERROR(commit());
      RETURN_IF_ERROR(CheckpointIfDue(c.log_index, /*requested=*/true, pending));
    }
  }
  return commit();
}

absl::StatusOr<v1::CommandResult> MailboxStateMachine::StoredResultLocked(
    uint64_t log_index, const v1::MailboxCommand& command) {
  StoreTxn txn(store_.get());
  v1::CommandResult stored;
  ASSIGN_OR_RETURN(bool found, txn.GetProto(Cf::kMeta, keys::Result(log_index), &stored));
  if (!found) {
    return absl::OutOfRangeError(absl::StrCat("log_index: ", log_index,
                                              " was applied long ago (applied index ",
                                              applied_index_, "); its result is not kept"));
  }
  // Guard commands answer refusals inside the result, as on first apply.
  if (IsGuardCommand(command)) return stored;
  return AsStatusOr(std::move(stored));
}

absl::StatusOr<v1::CommandResult> MailboxStateMachine::ApplyGuardLocked(
    uint64_t log_index, const v1::MailboxCommand& command, PendingCallbacks* pending) {
  StoreTxn txn(store_.get());
  // A copy: the command may replace the charter while it reads this one.
  ASSIGN_OR_RETURN(std::optional<v1::Charter> charter, CurrentCharter(txn));
  const guard::SiteTrustStore* trust = nullptr;
  absl::Status trust_status;
  if (charter.has_value()) {
    absl::StatusOr<const guard::SiteTrustStore*> built = TrustStoreFor(*charter);
    if (built.ok()) {
      trust = *built;
    } else {
      trust_status = built.status();
    }
  }
  GuardApplyContext gctx{
      txn,   log_index, options_.local_clock_ms(),       command, charter, trust, trust_status,
      false, {},        options_.max_guard_command_bytes};
  // Whatever the outcome, the command may have rewritten the charter.
  ForgetCharter();
  ASSIGN_OR_RETURN(v1::CommandResult result, ApplyGuardCommand(gctx));
  RETURN_IF_ERROR(FinishEntry(txn, log_index, result));
  ForgetCharter();
  for (CheckpointComparison& c : gctx.comparisons) {
    pending->comparisons.push_back(std::move(c));
  }
  RETURN_IF_ERROR(CheckpointIfDue(log_index, gctx.checkpoint_requested, pending));
  return result;
}

absl::StatusOr<v1::CommandResult> MailboxStateMachine::ApplyMailLocked(
    StoreTxn& txn, uint64_t log_index, const v1::MailboxCommand& command) {
  // Every mail command passes here: read the charter in place, no copy.
  ASSIGN_OR_RETURN(const v1::Charter* charter, CharterInForce(txn));
  ApplyContext ctx{txn,
                   log_index,
                   command.leader_time_ms(),
                   options_.local_clock_ms(),
                   charter != nullptr ? charter->retention_ms() : 0,
                   options_.max_vanished_records};
  // A failed command keeps none of its writes: only its result and (for an
  // admin command) the audit record of the attempt. The commands before it
  // in `txn` stay.
  txn.SetSavePoint();
  v1::CommandResult result;
  // Whatever the leader checked: it may be hostile (apply_limits.h).
  absl::Status status = CheckCommandBytes(command, options_.max_mail_command_bytes);
  bool replayed = false;
  const std::optional<IdempotencyScope> idempotency = IdempotencyOf(command);
  std::string fingerprint;
  if (status.ok() && idempotency.has_value()) {
    status = ValidateIdempotencyKey(idempotency->key, "idempotency_key");
    if (status.ok()) {
      fingerprint = RequestFingerprint(*idempotency->request);
      absl::StatusOr<std::optional<v1::CommandResult>> found =
          FindIdempotentResult(txn, idempotency->account, idempotency->key, fingerprint,
                               command.leader_time_ms(), "idempotency_key");
      if (!found.ok()) {
        if (IsStorageFailure(found.status())) return found.status();
        status = found.status();  // a key reused for another request
      } else if (found->has_value()) {
        result = std::move(**found);
        replayed = true;
      }
    }
  }
  if (status.ok() && !replayed) status = Dispatch(ctx, command, &result);
  if (IsStorageFailure(status)) return status;

  if (!status.ok()) {
    RETURN_IF_ERROR(txn.RollbackToSavePoint());
    result.Clear();
    result.set_status_code(static_cast<int>(status.code()));
    result.set_status_message(std::string(status.message()));
  } else {
    RETURN_IF_ERROR(txn.PopSavePoint());
    if (idempotency.has_value() && !replayed) {
      RememberIdempotentResult(txn, idempotency->account, idempotency->key, fingerprint,
                               command.leader_time_ms(), result);
    }
  }
  if (log_index % kIdempotencyForgetEvery == 0) {
    RETURN_IF_ERROR(ForgetExpiredIdempotencyKeys(txn, command.leader_time_ms()).status());
  }
  const guard::SiteTrustStore* trust = nullptr;
  if (charter != nullptr && (command.has_create_account() || command.has_set_quota())) {
    absl::StatusOr<const guard::SiteTrustStore*> built = TrustStoreFor(*charter);
    if (built.ok()) trust = *built;
  }
  RETURN_IF_ERROR(AuditAdminCommand(txn, log_index, command, status, replayed, charter, trust));
  KeepResult(txn, log_index, result);
  return result;
}

absl::StatusOr<std::optional<v1::Charter>> MailboxStateMachine::CurrentCharter(
    const StoreTxn& txn) {
  ASSIGN_OR_RETURN(const v1::Charter* charter, CharterInForce(txn));
  if (charter == nullptr) return std::nullopt;
  return *charter;
}

absl::StatusOr<const v1::Charter*> MailboxStateMachine::CharterInForce(const StoreTxn& txn) {
  if (!charter_.has_value()) {
    ASSIGN_OR_RETURN(std::optional<v1::Charter> loaded, LoadCharter(txn));
    charter_ = std::move(loaded);
  }
  return charter_->has_value() ? &**charter_ : nullptr;
}

void MailboxStateMachine::KeepResult(StoreTxn& txn, uint64_t log_index,
                                     const v1::CommandResult& result) {
  txn.PutProto(Cf::kMeta, keys::Result(log_index), result);
  if (log_index > options_.retained_results) {
    // Exactly one result falls out of the window per applied index. A point
    // delete, not a range delete: one range tombstone per entry made every
    // iterator (snapshots above all) sort ever more tombstones.
    txn.raw_batch()->Delete(store_->cf(Cf::kMeta),
                            keys::Result(log_index - options_.retained_results));
  }
}

absl::Status MailboxStateMachine::FinishEntry(StoreTxn& txn, uint64_t log_index,
                                              const v1::CommandResult& result) {
  KeepResult(txn, log_index, result);
  txn.Put(Cf::kMeta, keys::kAppliedIndex, keys::BigEndian64(log_index));
  RETURN_IF_ERROR(txn.Commit());
  applied_index_ = log_index;
  return absl::OkStatus();
}

}  // namespace qbox::mailbox

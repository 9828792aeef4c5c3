// Fixture for the charter, proposal, audit and checkpoint tests of the
// mailbox state machine: a real RocksDB store in a temporary directory, a
// three-site charter with real CAs and certificates (tests/guard), signed
// proposals, endorsements and node statements, and a fake local clock.
#ifndef QBOX_TESTS_MAILBOX_GUARD_TEST_UTIL_H_
#define QBOX_TESTS_MAILBOX_GUARD_TEST_UTIL_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/guard/charter_fixtures.h"
#include "tests/mailbox/mailbox_test_util.h"

namespace qbox::mailbox::testing {

namespace gt = ::qbox::guard::testing;

// Holds the checkpoint worker before it digests (the state machine's
// before_checkpoint_digest hook) until Open(), so a test can act while a
// digest is still pending.
class CheckpointGate {
 public:
  // The hook: notes that the worker reached `index`, then waits for Open().
  void Hold(uint64_t index) {
    absl::MutexLock lock(&mu_);
    reached_.push_back(index);
    mu_.Await(absl::Condition(&open_));
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  // True once the worker waits at `index` (false after 10 s).
  bool WaitUntilHeldAt(uint64_t index) {
    absl::MutexLock lock(&mu_);
    auto held = [&] {
      mu_.AssertReaderHeld();
      return !reached_.empty() && reached_.back() == index;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&held), absl::Seconds(10));
  }

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<uint64_t> reached_ ABSL_GUARDED_BY(mu_);
};

class GuardMailboxTest : public MailboxTest {
 protected:
  static constexpr int64_t kHour = 3600ll * 1000;

  void SetUp() override {
    dir_ = MakeTempDir();
    sm_ = OpenMachine("sm", &local_now_ms_);
    index_ = 0;
  }

  // A state machine in dir_/sub whose clock reads *clock and whose
  // callbacks record into checkpoints_ / comparisons_ / events_ (they run
  // on the apply thread and the checkpoint worker). `customize` may change
  // the options further.
  std::unique_ptr<MailboxStateMachine> OpenMachine(
      const std::string& sub, const int64_t* clock,
      const std::function<void(MailboxStateMachine::Options&)>& customize = nullptr) {
    MailboxStateMachine::Options options;
    options.local_clock_ms = [clock] { return *clock; };
    options.on_checkpoint_captured = [this](uint64_t index) {
      absl::MutexLock lock(&callbacks_mu_);
      events_.push_back(absl::StrCat("captured ", index));
    };
    options.on_checkpoint = [this](const OwnCheckpoint& c) {
      absl::MutexLock lock(&callbacks_mu_);
      checkpoints_.push_back(c);
      events_.push_back(absl::StrCat("checkpoint ", c.index));
    };
    options.on_checkpoint_compared = [this](const CheckpointComparison& c) {
      absl::MutexLock lock(&callbacks_mu_);
      comparisons_.push_back(c);
      events_.push_back(absl::StrCat("compared ", c.index, " ", c.peer_node));
    };
    if (customize) customize(options);
    auto opened = MailboxStateMachine::Open(dir_ + "/" + sub, options);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? *std::move(opened) : nullptr;
  }

  // The world's charter with T = 1 h and a lifetime of 5 h, so tests move
  // the fake clock in hours.
  v1::Charter TestCharter() const {
    v1::Charter charter = world_.charter;
    charter.set_delay_ms(1 * kHour);
    charter.set_proposal_ttl_ms(5 * kHour);
    return charter;
  }

  // Replaces sm_ with a machine whose checkpoint worker waits at `gate`
  // before each digest, then applies a genesis charter with a checkpoint
  // every 4 entries (index 1) and creates "alice" (index 2).
  void StartGatedEvery4(CheckpointGate* gate) {
    sm_.reset();
    sm_ = OpenMachine("gated", &local_now_ms_, [gate](MailboxStateMachine::Options& o) {
      o.before_checkpoint_digest = [gate](uint64_t index) { gate->Hold(index); };
    });
    v1::Charter charter = TestCharter();
    charter.set_checkpoint_every(4);
    ASSERT_TRUE(Genesis(charter).ok());
    MustApply(CreateAccountCmd("alice"));
  }

  absl::Status Genesis(const v1::Charter& charter) { return Genesis(sm_.get(), ++index_, charter); }
  static absl::Status Genesis(MailboxStateMachine* sm, uint64_t index, const v1::Charter& charter) {
    MembershipChange change;
    change.kind = MembershipChange::Kind::kGenesis;
    change.context = charter.SerializeAsString();
    return sm->ApplyMembership(index, change);
  }

  static v1::MailboxCommand SubmitCmd(const v1::SignedProposal& proposal) {
    v1::MailboxCommand cmd;
    cmd.set_actor("site-a/admin/alice");
    *cmd.mutable_submit_proposal() = proposal;
    return cmd;
  }
  static v1::MailboxCommand EndorseCmd(const v1::SignedEndorsement& endorsement) {
    v1::MailboxCommand cmd;
    cmd.set_actor("site-b/admin/bob");
    *cmd.mutable_endorse_proposal() = endorsement;
    return cmd;
  }
  static v1::MailboxCommand StatementCmd(const v1::SignedNodeStatement& statement) {
    v1::MailboxCommand cmd;
    *cmd.mutable_node_statement() = statement;
    return cmd;
  }

  // Node `id` (1 = site-a, 2 = site-b, 3 = site-c) signs `statement`.
  v1::SignedNodeStatement NodeSigned(uint64_t id, v1::NodeStatement statement) const {
    const guard::PemCredential* nodes[] = {&world_.node_a, &world_.node_b, &world_.node_c};
    statement.set_cluster(gt::kCluster);
    statement.set_node_id(id);
    statement.set_signed_at_ms(gt::NowMs());
    return gt::SignNodeStatement(*nodes[id - 1], statement);
  }
  v1::MailboxCommand ClockCmd(uint64_t node_id, v1::ProposalClock::Event event,
                              const std::string& id = gt::kProposalId) const {
    v1::NodeStatement statement;
    *statement.mutable_proposal_clock() = gt::Clock(event, id);
    return StatementCmd(NodeSigned(node_id, statement));
  }
  v1::MailboxCommand CheckpointCmd(uint64_t node_id, uint64_t index,
                                   const std::array<uint8_t, 32>& digest) const {
    v1::NodeStatement statement;
    statement.mutable_checkpoint()->set_index(index);
    statement.mutable_checkpoint()->set_state_digest(
        std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
    statement.mutable_checkpoint()->set_chain(std::string(32, 'c'));
    return StatementCmd(NodeSigned(node_id, statement));
  }
  v1::MailboxCommand CheckpointRequestCmd(uint64_t node_id) const {
    v1::NodeStatement statement;
    statement.mutable_checkpoint_request()->set_reason("rebuilt from the other sites");
    return StatementCmd(NodeSigned(node_id, statement));
  }

  // Applies a guard command; the StatusOr is OK even for a refusal.
  v1::CommandResult MustApplyGuard(const v1::MailboxCommand& cmd) {
    auto result = Apply(cmd);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : v1::CommandResult();
  }

  std::vector<v1::AuditRecord> AuditLog(MailboxStateMachine* sm = nullptr) {
    std::vector<v1::AuditRecord> out;
    absl::Status s = (sm ? sm : sm_.get())->ReadAuditLog(0, [&](const v1::AuditRecord& r) {
      out.push_back(r);
      return true;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }
  std::vector<std::string> AuditKinds() {
    std::vector<std::string> kinds;
    for (const v1::AuditRecord& r : AuditLog()) kinds.push_back(r.kind());
    return kinds;
  }

  // What the callbacks recorded so far. Read after WaitForCheckpoints for
  // everything up to the last checkpoint applied.
  std::vector<OwnCheckpoint> Checkpoints() {
    absl::MutexLock lock(&callbacks_mu_);
    return checkpoints_;
  }
  std::vector<CheckpointComparison> Comparisons() {
    absl::MutexLock lock(&callbacks_mu_);
    return comparisons_;
  }
  std::vector<std::string> Events() {
    absl::MutexLock lock(&callbacks_mu_);
    return events_;
  }

  gt::CharterWorld world_;
  absl::Mutex callbacks_mu_;
  std::vector<OwnCheckpoint> checkpoints_ ABSL_GUARDED_BY(callbacks_mu_);
  std::vector<CheckpointComparison> comparisons_ ABSL_GUARDED_BY(callbacks_mu_);
  std::vector<std::string> events_ ABSL_GUARDED_BY(callbacks_mu_);  // in callback order
};

}  // namespace qbox::mailbox::testing

#endif  // QBOX_TESTS_MAILBOX_GUARD_TEST_UTIL_H_

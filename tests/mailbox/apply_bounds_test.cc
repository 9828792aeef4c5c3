// Bounds every node re-checks at apply (node/mailbox/apply_limits.h): a
// hostile leader can put anything in the log, so sizes a front end or an
// admin is refused at the RPC are refused again when the entry is applied,
// and the refused entry changes nothing. Real RocksDB store, real signed
// proposals.
#include <string>

#include "tests/mailbox/guard_test_util.h"

namespace qbox::mailbox::testing {
namespace {

constexpr uint64_t kSmallMailCommand = 4096;
constexpr uint64_t kSmallGuardCommand = 512;

class ApplyBoundsTest : public GuardMailboxTest {
 protected:
  void SetUp() override {
    GuardMailboxTest::SetUp();
    sm_.reset();
    sm_ = OpenMachine("bounded", &local_now_ms_, [](MailboxStateMachine::Options& o) {
      o.max_mail_command_bytes = kSmallMailCommand;
      o.max_guard_command_bytes = kSmallGuardCommand;
    });
    index_ = 0;
    ASSERT_TRUE(Genesis(TestCharter()).ok());
    MustApply(CreateAccountCmd("alice"));
  }

  static void ExpectInvalid(const absl::StatusOr<v1::CommandResult>& result,
                            const std::string& text) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
    EXPECT_NE(result.status().message().find(text), absl::string_view::npos) << result.status();
  }
};

TEST_F(ApplyBoundsTest, AMailCommandLargerThanTheBoundIsRefusedAtApplyAndChangesNothing) {
  // Well below the account's own limit (64 MiB), above the apply bound.
  absl::StatusOr<v1::CommandResult> refused =
      Apply(AppendCmd("alice", "INBOX", std::string(kSmallMailCommand, 'x')));
  ExpectInvalid(refused, "command: ");
  ExpectInvalid(refused, "the limit at apply is 4096 bytes");
  EXPECT_TRUE(Fetch("INBOX").empty());
  // Something that fits is applied as usual.
  EXPECT_EQ(MustApply(AppendCmd("alice", "INBOX", "Subject: small\r\n\r\nfits\r\n"))
                .append_message()
                .uid(),
            1u);
}

TEST_F(ApplyBoundsTest, AnAccountLimitAboveWhatAnyNodeAcceptsIsRefusedAtApply) {
  ExpectInvalid(Apply(CreateAccountCmd("bob", 0, 0, kMaxMessageBytesCeiling + 1)),
                "max_message_bytes: ");
  v1::ListMailboxesRequest req;
  req.set_account("bob");
  EXPECT_EQ(sm_->ListMailboxes(req).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Apply(CreateAccountCmd("bob", 0, 0, kMaxMessageBytesCeiling)).ok());

  v1::MailboxCommand quota;
  quota.mutable_set_quota()->set_account("alice");
  quota.mutable_set_quota()->set_max_message_bytes(kMaxMessageBytesCeiling + 1);
  ExpectInvalid(Apply(quota), "max_message_bytes: ");
}

TEST_F(ApplyBoundsTest, AGuardCommandLargerThanTheBoundIsRefusedAndAuditedByItsDigest) {
  // A signed proposal carries its signer's certificate: more than 512 bytes.
  v1::SignedProposal proposal = gt::SignProposal(world_.alice, gt::Body(gt::PurgeVault("alice")));
  const v1::MailboxCommand cmd = SubmitCmd(proposal);
  ASSERT_GT(cmd.ByteSizeLong(), kSmallGuardCommand);
  v1::CommandResult refused = MustApplyGuard(cmd);
  EXPECT_EQ(refused.status_code(), static_cast<int>(absl::StatusCode::kInvalidArgument));
  EXPECT_NE(refused.status_message().find("the limit at apply is 512 bytes"), std::string::npos)
      << refused.status_message();
  EXPECT_EQ(sm_->GetProposal(gt::kProposalId).status().code(), absl::StatusCode::kNotFound);
  const v1::AuditRecord last = AuditLog().back();
  EXPECT_EQ(last.kind(), "proposal.submit");
  EXPECT_EQ(last.detail().rfind("refused: command: ", 0), 0u) << last.detail();
  EXPECT_EQ(last.command().size(), 32u) << "the audit log keeps the digest, not the command";
}

}  // namespace
}  // namespace qbox::mailbox::testing

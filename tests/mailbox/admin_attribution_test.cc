// Who asked for an audited admin command (DESIGN.md G5): every
// node verifies the admin's signature over the request when it applies it,
// and records the signer as the actor; without a signature that verifies,
// the actor the leader claimed is recorded as explicitly unverified. Real
// RocksDB store, real site CAs and admin certificates.
#include <string>

#include "node/guard/admin_command.h"
#include "tests/mailbox/guard_test_util.h"

namespace qbox::mailbox::testing {
namespace {

class AdminAttributionTest : public GuardMailboxTest {
 protected:
  void SetUp() override {
    GuardMailboxTest::SetUp();
    ASSERT_TRUE(Genesis(TestCharter()).ok());
  }

  // CreateAccount of `account` as the leader proposes it, claiming
  // `claimed` as the actor, signed by `signer` unless it is null.
  static v1::MailboxCommand CreateAs(const std::string& account, const std::string& claimed,
                                     const guard::PemCredential* signer) {
    v1::MailboxCommand cmd = CreateAccountCmd(account);
    cmd.set_actor(claimed);
    if (signer != nullptr) {
      v1::CreateAccountRequest* req = cmd.mutable_create_account()->mutable_request();
      absl::StatusOr<v1::SignedAdminCommand> signature = guard::SignAdminCommand(
          gt::kCluster, *req, gt::NowMs(), signer->certificate_pem, signer->private_key_pem);
      EXPECT_TRUE(signature.ok()) << signature.status();
      if (signature.ok()) *req->mutable_admin_signature() = *signature;
    }
    return cmd;
  }

  v1::AuditRecord LastAudit() { return AuditLog().back(); }
};

TEST_F(AdminAttributionTest, ASignedRequestIsAttributedToItsSignerWhateverTheLeaderClaims) {
  v1::MailboxCommand cmd = CreateAs("carol", "site-b/admin/bob", &world_.alice);
  // The front-end library adds an idempotency key after signing.
  cmd.mutable_create_account()->mutable_request()->set_idempotency_key("retry-1");
  MustApply(cmd);
  EXPECT_EQ(LastAudit().kind(), "admin.create_account");
  EXPECT_EQ(LastAudit().actor(), "site-a/admin/alice");
  EXPECT_EQ(LastAudit().detail(), "create account carol: done");

  v1::MailboxCommand quota;
  quota.set_actor("site-b/admin/bob");
  quota.mutable_set_quota()->set_account("carol");
  quota.mutable_set_quota()->set_quota_bytes(1 << 20);
  absl::StatusOr<v1::SignedAdminCommand> signature =
      guard::SignAdminCommand(gt::kCluster, quota.set_quota(), gt::NowMs(),
                              world_.bob.certificate_pem, world_.bob.private_key_pem);
  ASSERT_TRUE(signature.ok()) << signature.status();
  *quota.mutable_set_quota()->mutable_admin_signature() = *signature;
  MustApply(quota);
  EXPECT_EQ(LastAudit().kind(), "admin.set_quota");
  EXPECT_EQ(LastAudit().actor(), "site-b/admin/bob");
}

TEST_F(AdminAttributionTest, WithoutASignatureThatVerifiesTheActorIsMarkedUnverified) {
  MustApply(CreateAs("dave", "site-a/admin/alice", nullptr));
  EXPECT_EQ(LastAudit().actor(), "unverified:site-a/admin/alice");
  EXPECT_EQ(LastAudit().detail(),
            "create account dave: done (actor unverified: the request carries no admin signature)");

  // Alice signed a request for another account than the one applied.
  v1::MailboxCommand swapped = CreateAs("erin", "site-a/admin/alice", &world_.alice);
  swapped.mutable_create_account()->mutable_request()->set_account("frank");
  MustApply(swapped);
  EXPECT_EQ(LastAudit().actor(), "unverified:site-a/admin/alice");
  EXPECT_NE(LastAudit().detail().find("admin_signature.body.request: site-a/admin/alice signed "
                                      "another request"),
            std::string::npos)
      << LastAudit().detail();

  // A front end's certificate is not an admin's.
  MustApply(CreateAs("gina", "site-b/frontend/imap1", &world_.frontend_b));
  EXPECT_EQ(LastAudit().actor(), "unverified:site-b/frontend/imap1");
  EXPECT_NE(LastAudit().detail().find("(actor unverified: admin_signature."), std::string::npos)
      << LastAudit().detail();

  // An admin of a CA the charter does not hold.
  guard::PemCredential rogue = gt::Issue(gt::NewSiteCa("site-b"), "site-b", "admin", "bob");
  MustApply(CreateAs("hank", "site-b/admin/bob", &rogue));
  EXPECT_EQ(LastAudit().actor(), "unverified:site-b/admin/bob");
}

TEST_F(AdminAttributionTest, GuardCommandsNameTheirVerifiedSignerOrAreMarkedUnverified) {
  v1::SignedProposal proposal = gt::SignProposal(world_.alice, gt::Body(gt::PurgeVault("alice")));
  v1::MailboxCommand submit = SubmitCmd(proposal);
  submit.set_actor("site-c/admin/carol");  // the leader's word differs from the signature
  ASSERT_EQ(MustApplyGuard(submit).status_code(), 0);
  EXPECT_EQ(LastAudit().kind(), "proposal.submit");
  EXPECT_EQ(LastAudit().actor(), "site-a/admin/alice");

  // A signature that does not verify names nobody: the claim is recorded
  // as unverified.
  v1::SignedEndorsement tampered = gt::Approve(world_.bob, proposal);
  tampered.mutable_endorsement()->back() ^= 1;
  v1::MailboxCommand endorse = EndorseCmd(tampered);
  endorse.set_actor("site-b/admin/bob");
  EXPECT_NE(MustApplyGuard(endorse).status_code(), 0);
  EXPECT_EQ(LastAudit().actor(), "unverified:site-b/admin/bob");
}

}  // namespace
}  // namespace qbox::mailbox::testing

#include "node/guard/signed_statement.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/guard/charter_fixtures.h"

namespace qbox::guard {
namespace {

using ::testing::HasSubstr;
using testing::Issue;
using testing::NewSiteCa;
using testing::SignRawLeaf;

constexpr char kBytes[] = "serialized statement bytes";

class SignedStatementTest : public ::testing::Test {
 protected:
  v1::Signature Sign(const PemCredential& signer, absl::string_view bytes = kBytes,
                     StatementKind kind = StatementKind::kEndorsement) {
    absl::StatusOr<v1::Signature> signature =
        SignStatement(kind, bytes, signer.certificate_pem, signer.private_key_pem);
    EXPECT_TRUE(signature.ok()) << signature.status();
    return signature.ok() ? *signature : v1::Signature();
  }
  absl::StatusOr<PeerIdentity> Verify(const v1::Signature& signature,
                                      absl::string_view bytes = kBytes, absl::Time at = absl::Now(),
                                      StatementKind kind = StatementKind::kEndorsement,
                                      absl::string_view role = "admin") {
    return VerifyStatement(trust_, kind, bytes, signature, at, role);
  }

  testing::ThreeSites sites_;
  SiteTrustStore trust_ = sites_.TrustStore();
  PemCredential alice_ = Issue(sites_.a, "site-a", "admin", "alice");
};

TEST_F(SignedStatementTest, DomainsNameTheMessageTypes) {
  EXPECT_EQ(DomainOf(StatementKind::kProposalBody), "qbox.v1.ProposalBody");
  EXPECT_EQ(DomainOf(StatementKind::kEndorsement), "qbox.v1.Endorsement");
  EXPECT_EQ(DomainOf(StatementKind::kNodeStatement), "qbox.v1.NodeStatement");
}

TEST_F(SignedStatementTest, SignsAndVerifiesRoundTrip) {
  v1::Signature signature = Sign(alice_);
  EXPECT_EQ(signature.certificate_pem(), alice_.certificate_pem);
  absl::StatusOr<PeerIdentity> who = Verify(signature);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(*who, (PeerIdentity{"site-a", "admin", "alice"}));

  PemCredential node = Issue(sites_.b, "site-b", "node", "n2");
  absl::StatusOr<PeerIdentity> signer =
      Verify(Sign(node, kBytes, StatementKind::kNodeStatement), kBytes, absl::Now(),
             StatementKind::kNodeStatement, "node");
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(*signer, (PeerIdentity{"site-b", "node", "n2"}));
}

TEST_F(SignedStatementTest, SignatureOverOneKindNeverVerifiesAsAnother) {
  v1::Signature signature = Sign(alice_, kBytes, StatementKind::kProposalBody);
  absl::StatusOr<PeerIdentity> who =
      Verify(signature, kBytes, absl::Now(), StatementKind::kEndorsement);
  EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(SignedStatementTest, RefusesOtherBytes) {
  absl::StatusOr<PeerIdentity> who = Verify(Sign(alice_), "other bytes");
  EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(who.status().message(),
              HasSubstr("signature.signature: does not verify over these bytes"));
}

TEST_F(SignedStatementTest, RefusesAFrontEndKeyWhereAnAdminIsRequired) {
  PemCredential frontend = Issue(sites_.b, "site-b", "frontend", "imap1");
  absl::StatusOr<PeerIdentity> who = Verify(Sign(frontend));
  EXPECT_EQ(who.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(who.status().message(), HasSubstr("frontend"));
}

TEST_F(SignedStatementTest, RefusesAnUnknownCa) {
  PemCredential stranger_ca = NewSiteCa("site-a");  // same name, not the charter's CA
  PemCredential mallory = Issue(stranger_ca, "site-a", "admin", "alice");
  absl::StatusOr<PeerIdentity> who = Verify(Sign(mallory));
  EXPECT_EQ(who.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(who.status().message(), HasSubstr("signature.certificate_pem"));
}

TEST_F(SignedStatementTest, RefusesSiteACaVouchingForSiteB) {
  PemCredential forged = SignRawLeaf(sites_.a, {"spiffe://site-b/admin/bob"});
  absl::StatusOr<PeerIdentity> who = Verify(Sign(forged));
  EXPECT_EQ(who.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(who.status().message(), HasSubstr("impersonation"));
}

TEST_F(SignedStatementTest, ChecksValidityAtTheSignedTimeNotNow) {
  // A CA that already existed two days ago, so that only the leaf's own
  // window decides.
  SiteCaOptions old_ca_options;
  old_ca_options.not_before = absl::Now() - absl::Hours(72);
  absl::StatusOr<PemCredential> old_ca = CreateSiteCa("site-a", old_ca_options);
  ASSERT_TRUE(old_ca.ok()) << old_ca.status();
  absl::StatusOr<SiteTrustStore> old_trust =
      SiteTrustStore::Create({{"site-a", old_ca->certificate_pem}});
  ASSERT_TRUE(old_trust.ok()) << old_trust.status();

  LeafOptions past;
  past.not_before = absl::Now() - absl::Hours(48);
  past.validity = absl::Hours(24);
  PemCredential expired = Issue(*old_ca, "site-a", "admin", "old", past);
  v1::Signature signature = Sign(expired);
  absl::StatusOr<PeerIdentity> now = VerifyStatement(*old_trust, StatementKind::kEndorsement,
                                                     kBytes, signature, absl::Now(), "admin");
  EXPECT_EQ(now.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(now.status().message(), HasSubstr("expired"));
  // Signed while the certificate was valid: every node, whenever it applies
  // the entry, decides the same.
  absl::StatusOr<PeerIdentity> then =
      VerifyStatement(*old_trust, StatementKind::kEndorsement, kBytes, signature,
                      absl::Now() - absl::Hours(36), "admin");
  EXPECT_TRUE(then.ok()) << then.status();

  LeafOptions future;
  future.not_before = absl::Now() + absl::Hours(24);
  PemCredential early = Issue(sites_.a, "site-a", "admin", "early", future);
  absl::StatusOr<PeerIdentity> before = Verify(Sign(early));
  EXPECT_EQ(before.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(before.status().message(), HasSubstr("not yet valid"));
}

TEST_F(SignedStatementTest, MalformedInputIsInvalidArgumentNamingTheField) {
  v1::Signature good = Sign(alice_);

  v1::Signature bad_pem = good;
  bad_pem.set_certificate_pem(
      "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(Verify(bad_pem).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Verify(bad_pem).status().message(), HasSubstr("signature.certificate_pem"));

  v1::Signature no_pem = good;
  no_pem.clear_certificate_pem();
  EXPECT_EQ(Verify(no_pem).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Verify(no_pem).status().message(), HasSubstr("signature.certificate_pem"));

  v1::Signature two = good;
  two.set_certificate_pem(alice_.certificate_pem + sites_.a.certificate_pem);
  EXPECT_EQ(Verify(two).status().code(), absl::StatusCode::kInvalidArgument);

  v1::Signature empty = good;
  empty.clear_signature();
  EXPECT_EQ(Verify(empty).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Verify(empty).status().message(), HasSubstr("signature.signature: is empty"));

  v1::Signature garbage = good;
  garbage.set_signature("not DER at all");
  EXPECT_EQ(Verify(garbage).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Verify(garbage).status().message(), HasSubstr("signature.signature: malformed"));

  v1::Signature trailing = good;
  trailing.mutable_signature()->push_back('\0');
  EXPECT_EQ(Verify(trailing).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(SignedStatementTest, FlippedSignatureBitDoesNotVerify) {
  v1::Signature signature = Sign(alice_);
  // The last byte is inside the DER integer s: still well-formed, now wrong.
  std::string* bytes = signature.mutable_signature();
  bytes->back() = static_cast<char>(bytes->back() ^ 0x01);
  EXPECT_EQ(Verify(signature).status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(SignedStatementTest, SigningRefusesAKeyThatIsNotTheCertificates) {
  PemCredential bob = Issue(sites_.b, "site-b", "admin", "bob");
  absl::StatusOr<v1::Signature> mixed = SignStatement(StatementKind::kEndorsement, kBytes,
                                                      alice_.certificate_pem, bob.private_key_pem);
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mixed.status().message(), HasSubstr("private key: does not belong"));

  absl::StatusOr<v1::Signature> no_key =
      SignStatement(StatementKind::kEndorsement, kBytes, alice_.certificate_pem, "junk");
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_key.status().message(), HasSubstr("private key"));

  absl::StatusOr<v1::Signature> no_cert =
      SignStatement(StatementKind::kEndorsement, kBytes, "junk", alice_.private_key_pem);
  EXPECT_EQ(no_cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(no_cert.status().message(), HasSubstr("certificate"));
}

}  // namespace
}  // namespace qbox::guard

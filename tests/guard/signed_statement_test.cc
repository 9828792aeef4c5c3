#include "node/guard/signed_statement.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

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

// A leaf with an Ed25519 key for `uri`, signed by the EC site CA `ca`.
// site_ca.h only issues EC keys; this builds the certificate by hand.
PemCredential Ed25519Leaf(const PemCredential& ca, const std::string& uri) {
  auto pem_bio = [](const std::string& pem) {
    return BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  };
  BIO* ca_cert_bio = pem_bio(ca.certificate_pem);
  BIO* ca_key_bio = pem_bio(ca.private_key_pem);
  X509* ca_cert = PEM_read_bio_X509(ca_cert_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* ca_key = PEM_read_bio_PrivateKey(ca_key_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert), -300);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("ed25519 leaf"), -1, -1, 0);
  X509_set_issuer_name(cert, X509_get_subject_name(ca_cert));
  X509_set_pubkey(cert, key);
  const std::string san = "URI:" + uri;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  EXPECT_GT(X509_sign(cert, ca_key, EVP_sha256()), 0);

  PemCredential out;
  BIO* cert_out = BIO_new(BIO_s_mem());
  BIO* key_out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_out, cert);
  PEM_write_bio_PrivateKey(key_out, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  out.certificate_pem.assign(data, BIO_get_mem_data(cert_out, &data));
  long n = BIO_get_mem_data(key_out, &data);
  out.private_key_pem.assign(data, n);
  BIO_free(cert_out);
  BIO_free(key_out);
  X509_free(cert);
  EVP_PKEY_free(key);
  EVP_PKEY_free(ca_key);
  X509_free(ca_cert);
  BIO_free(ca_key_bio);
  BIO_free(ca_cert_bio);
  return out;
}

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

TEST_F(SignedStatementTest, SignsAndVerifiesWithAnEd25519Key) {
  PemCredential ed = Ed25519Leaf(sites_.c, "spiffe://site-c/admin/ed");
  v1::Signature signature = Sign(ed);
  EXPECT_EQ(signature.signature().size(), 64u);
  absl::StatusOr<PeerIdentity> who = Verify(signature);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(*who, (PeerIdentity{"site-c", "admin", "ed"}));
  EXPECT_EQ(Verify(signature, "other bytes").status().code(), absl::StatusCode::kUnauthenticated);

  v1::Signature truncated = signature;
  truncated.mutable_signature()->pop_back();
  EXPECT_EQ(Verify(truncated).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Verify(truncated).status().message(), HasSubstr("signature.signature: malformed"));
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

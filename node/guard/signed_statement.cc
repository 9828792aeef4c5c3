#include "node/guard/signed_statement.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/openssl_handles.h"
#include "node/guard/pem_codec.h"

namespace qbox::guard {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

constexpr size_t kEd25519SignatureBytes = 64;

// What is actually signed: the domain keeps a signature over one kind of
// statement from ever verifying as another kind with the same bytes.
std::string SigningInput(StatementKind kind, absl::string_view bytes) {
  return absl::StrCat(DomainOf(kind), absl::string_view("\0", 1), bytes);
}

bool IsEd25519(EVP_PKEY* key) { return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519; }
bool IsEc(EVP_PKEY* key) { return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC; }

// Ed25519 hashes internally and takes no digest; ECDSA signs a SHA-256.
const EVP_MD* DigestFor(EVP_PKEY* key) { return IsEd25519(key) ? nullptr : EVP_sha256(); }

// A structural check before verifying, so that garbage is reported as
// malformed input rather than as a signature that merely does not match.
absl::Status CheckSignatureShape(EVP_PKEY* key, absl::string_view signature) {
  if (signature.empty()) {
    return absl::InvalidArgumentError("signature.signature: is empty");
  }
  if (IsEd25519(key)) {
    if (signature.size() != kEd25519SignatureBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("signature.signature: malformed: an Ed25519 signature is ",
                       kEd25519SignatureBytes, " bytes, got ", signature.size()));
    }
    return absl::OkStatus();
  }
  // ECDSA: exactly one DER-encoded ECDSA-Sig-Value and nothing after it.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(signature.data());
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
  const bool whole =
      parsed != nullptr &&
      p == reinterpret_cast<const unsigned char*>(signature.data()) + signature.size();
  ECDSA_SIG_free(parsed);
  if (!whole) {
    ERR_clear_error();  // a failed check leaves errors behind
    return absl::InvalidArgumentError(
        "signature.signature: malformed: not a DER-encoded ECDSA signature");
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view DomainOf(StatementKind kind) {
  switch (kind) {
    case StatementKind::kProposalBody:
      return "qbox.v1.ProposalBody";
    case StatementKind::kEndorsement:
      return "qbox.v1.Endorsement";
    case StatementKind::kNodeStatement:
      return "qbox.v1.NodeStatement";
    case StatementKind::kAdminCommand:
      return "qbox.v1.AdminCommandBody";
  }
  return "qbox.v1.Unknown";
}

absl::StatusOr<v1::Signature> SignStatement(StatementKind kind, absl::string_view bytes,
                                            absl::string_view certificate_pem,
                                            absl::string_view private_key_pem) {
  ASSIGN_OR_RETURN(std::vector<X509Ptr> certs,
                   ParseCertificatesPem(certificate_pem, "certificate"));
  if (certs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate: must hold exactly the signer's certificate, got ", certs.size(),
                     " certificates"));
  }
  ASSIGN_OR_RETURN(EvpPkeyPtr key, ParsePrivateKeyPem(private_key_pem, "private key"));
  if (!IsEc(key.get()) && !IsEd25519(key.get())) {
    return absl::InvalidArgumentError("private key: only EC and Ed25519 keys can sign statements");
  }
  // A signature made with a key that is not the certificate's would never
  // verify; refusing here tells the signer at once which file is wrong.
  if (EVP_PKEY_eq(key.get(), X509_get0_pubkey(certs.front().get())) != 1) {
    ERR_clear_error();  // a failed check leaves errors behind
    return absl::InvalidArgumentError("private key: does not belong to the certificate");
  }

  const std::string input = SigningInput(kind, bytes);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(key.get()), nullptr, key.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting up the signature");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  size_t length = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &length, in, input.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "sizing the signature");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, in,
                     input.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "signing");
  }
  signature.resize(length);

  v1::Signature out;
  out.set_certificate_pem(std::string(certificate_pem));
  out.set_signature(std::move(signature));
  return out;
}

absl::StatusOr<PeerIdentity> VerifyStatement(const SiteTrustStore& trust, StatementKind kind,
                                             absl::string_view bytes,
                                             const v1::Signature& signature, absl::Time at,
                                             absl::string_view required_role) {
  ASSIGN_OR_RETURN(std::vector<X509Ptr> certs,
                   ParseCertificatesPem(signature.certificate_pem(), "signature.certificate_pem"));
  if (certs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("signature.certificate_pem: must hold exactly the signer's certificate, got ",
                     certs.size(), " certificates"));
  }
  EVP_PKEY* key = X509_get0_pubkey(certs.front().get());
  if (key == nullptr || (!IsEc(key) && !IsEd25519(key))) {
    ERR_clear_error();  // a failed check leaves errors behind
    return absl::InvalidArgumentError(
        "signature.certificate_pem: the certificate's key is neither EC nor Ed25519");
  }
  RETURN_IF_ERROR(CheckSignatureShape(key, signature.signature()));

  // Who signed is decided by the charter's CAs alone (G6), at the
  // statement's own time so that every node decides alike.
  absl::StatusOr<PeerIdentity> signer = trust.Identify(signature.certificate_pem(), at);
  if (!signer.ok()) {
    return absl::Status(signer.status().code(),
                        absl::StrCat("signature.certificate_pem: ", signer.status().message()));
  }

  const std::string input = SigningInput(kind, bytes);
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(key), nullptr, key) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting up signature verification");
  }
  const int verified = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.signature().data()),
      signature.signature().size(), reinterpret_cast<const unsigned char*>(input.data()),
      input.size());
  if (verified != 1) {
    ERR_clear_error();  // a failed check leaves errors behind
    return absl::UnauthenticatedError(
        absl::StrCat("signature.signature: does not verify over these bytes (signer ",
                     signer->ToString(), ", domain ", DomainOf(kind), ")"));
  }
  RETURN_IF_ERROR(RequireRole(*signer, required_role));
  return *std::move(signer);
}

}  // namespace qbox::guard

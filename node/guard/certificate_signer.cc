#include "node/guard/certificate_signer.h"

#include <openssl/bn.h>
#include <openssl/rand.h>

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/openssl_handles.h"
#include "node/guard/pem_codec.h"

namespace qbox::guard {
namespace {

absl::Status Internal(absl::string_view what) {
  return OpenSslError(absl::StatusCode::kInternal, what);
}

absl::StatusOr<EvpPkeyPtr> GenerateP256Key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (key == nullptr) return Internal("generating EC P-256 key");
  return key;
}

absl::Status SetRandomSerial(X509* cert) {
  // RFC 5280 allows up to 20 octets; 127 random bits with the top bit clear
  // keep the integer positive and collisions out of reach.
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return Internal("drawing random serial");
  bytes[0] &= 0x7f;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(bytes, sizeof(bytes), nullptr), BN_free);
  if (bn == nullptr || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return Internal("setting serial number");
  }
  return absl::OkStatus();
}

absl::Status AddConfExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) return Internal(absl::StrCat("building extension ", OBJ_nid2sn(nid)));
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return Internal(absl::StrCat("adding extension ", OBJ_nid2sn(nid)));
  return absl::OkStatus();
}

absl::Status PushIa5Name(GENERAL_NAMES* names, int type, const std::string& value) {
  ASN1_IA5STRING* s = ASN1_IA5STRING_new();
  GENERAL_NAME* gn = GENERAL_NAME_new();
  if (s == nullptr || gn == nullptr ||
      !ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()))) {
    ASN1_IA5STRING_free(s);
    GENERAL_NAME_free(gn);
    return Internal("building subject alternative name");
  }
  GENERAL_NAME_set0_value(gn, type, s);
  sk_GENERAL_NAME_push(names, gn);
  return absl::OkStatus();
}

// Built name by name rather than from an OpenSSL config string, so that a
// comma or colon inside a value can never be read as a second entry.
absl::Status AddSubjectAltNames(X509* cert, const CertificateTemplate& tmpl) {
  if (tmpl.uris.empty() && tmpl.dns_names.empty() && tmpl.ip_addresses.empty()) {
    return absl::OkStatus();
  }
  GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
  for (const std::string& uri : tmpl.uris) RETURN_IF_ERROR(PushIa5Name(names.get(), GEN_URI, uri));
  for (const std::string& dns : tmpl.dns_names) {
    RETURN_IF_ERROR(PushIa5Name(names.get(), GEN_DNS, dns));
  }
  for (const std::string& ip : tmpl.ip_addresses) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (octets == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("ip address: '", ip, "' does not parse"));
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(gn, GEN_IPADD, octets);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  // Critical when the subject is empty is not our case (we always set CN),
  // so the extension stays non-critical as RFC 5280 recommends.
  if (!X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT)) {
    return Internal("adding subjectAltName");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PemCredential> SignCertificate(const CertificateTemplate& tmpl,
                                              const PemCredential* issuer) {
  if (tmpl.not_after <= tmpl.not_before) {
    return absl::InvalidArgumentError("validity: not_after must be later than not_before");
  }
  X509Ptr issuer_cert;
  EvpPkeyPtr issuer_key;
  if (issuer != nullptr) {
    ASSIGN_OR_RETURN(issuer_cert, ParseCertificatePem(issuer->certificate_pem, "CA certificate"));
    ASSIGN_OR_RETURN(issuer_key, ParsePrivateKeyPem(issuer->private_key_pem, "CA private key"));
    if (X509_check_private_key(issuer_cert.get(), issuer_key.get()) != 1) {
      return OpenSslError(absl::StatusCode::kInvalidArgument,
                          "CA private key does not match the CA certificate");
    }
  }
  ASSIGN_OR_RETURN(EvpPkeyPtr key, GenerateP256Key());

  X509Ptr cert(X509_new());
  if (cert == nullptr || !X509_set_version(cert.get(), X509_VERSION_3)) {
    return Internal("allocating certificate");
  }
  RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(tmpl.common_name.c_str()),
                                  -1, -1, 0)) {
    return Internal("setting subject common name");
  }
  X509_set_issuer_name(cert.get(),
                       issuer_cert ? X509_get_subject_name(issuer_cert.get()) : subject);
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(tmpl.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(tmpl.not_after)) == nullptr) {
    return Internal("setting validity period");
  }
  if (!X509_set_pubkey(cert.get(), key.get())) return Internal("setting public key");

  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert.get() : cert.get(), cert.get(), nullptr, nullptr,
                 0);
  if (tmpl.is_ca) {
    RETURN_IF_ERROR(
        AddConfExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    RETURN_IF_ERROR(
        AddConfExtension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  } else {
    RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
    RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
    RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(AddConfExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  RETURN_IF_ERROR(AddSubjectAltNames(cert.get(), tmpl));

  EVP_PKEY* signing_key = issuer_key ? issuer_key.get() : key.get();
  if (X509_sign(cert.get(), signing_key, EVP_sha256()) == 0) {
    return Internal("signing certificate");
  }
  PemCredential out;
  ASSIGN_OR_RETURN(out.certificate_pem, CertificateToPem(cert.get()));
  ASSIGN_OR_RETURN(out.private_key_pem, PrivateKeyToPem(key.get()));
  return out;
}

}  // namespace qbox::guard

#include "node/guard/certificate_info.h"

#include <openssl/bn.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/pem_codec.h"

namespace qbox::guard {
namespace {

absl::StatusOr<absl::Time> ToAbslTime(const ASN1_TIME* t, absl::string_view what) {
  struct tm tm;
  if (!ASN1_TIME_to_tm(t, &tm)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": unreadable validity time"));
  }
  return absl::FromTM(tm, absl::UTCTimeZone());
}

std::string KeyAlgorithm(EVP_PKEY* key) {
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1) {
    std::string name(group, len);
    if (name == "prime256v1") name = "P-256";
    return absl::StrCat(EVP_PKEY_get0_type_name(key), " ", name);
  }
  return absl::StrCat(EVP_PKEY_get0_type_name(key), " ", EVP_PKEY_get_bits(key), " bits");
}

}  // namespace

absl::StatusOr<CertificateInfo> DescribeCertificate(absl::string_view pem, absl::string_view what) {
  ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificatePem(pem, what));
  CertificateInfo info;
  info.subject = NameToString(X509_get_subject_name(cert.get()));
  info.issuer = NameToString(X509_get_issuer_name(cert.get()));
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr), BN_free);
  if (serial != nullptr) {
    char* hex = BN_bn2hex(serial.get());
    info.serial_hex = hex;
    OPENSSL_free(hex);
  }
  SubjectAltNames sans = GetSubjectAltNames(cert.get());
  info.uris = std::move(sans.uris);
  info.dns_names = std::move(sans.dns_names);
  info.ip_addresses = std::move(sans.ip_addresses);
  ASSIGN_OR_RETURN(info.not_before, ToAbslTime(X509_get0_notBefore(cert.get()), what));
  ASSIGN_OR_RETURN(info.not_after, ToAbslTime(X509_get0_notAfter(cert.get()), what));
  info.is_ca = X509_check_ca(cert.get()) > 0;
  info.path_length = static_cast<int>(X509_get_pathlen(cert.get()));
  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key != nullptr) {
    info.key_algorithm = KeyAlgorithm(key);
    unsigned char* der = nullptr;
    int len = i2d_PUBKEY(key, &der);
    if (len > 0) {
      unsigned char digest[SHA256_DIGEST_LENGTH];
      SHA256(der, static_cast<size_t>(len), digest);
      info.public_key_sha256_hex = absl::BytesToHexString(
          absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
      OPENSSL_free(der);
    }
  }
  return info;
}

}  // namespace qbox::guard

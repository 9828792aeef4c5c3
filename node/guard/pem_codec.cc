#include "node/guard/pem_codec.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"

namespace qbox::guard {
namespace {

BioPtr ReadOnlyBio(absl::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string Asn1StringToString(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

std::string IpToString(const ASN1_OCTET_STRING* ip) {
  const unsigned char* bytes = ASN1_STRING_get0_data(ip);
  char buf[INET6_ADDRSTRLEN] = {};
  int len = ASN1_STRING_length(ip);
  if (len == 4)
    inet_ntop(AF_INET, bytes, buf, sizeof(buf));
  else if (len == 16)
    inet_ntop(AF_INET6, bytes, buf, sizeof(buf));
  else
    return absl::StrCat("<", len, "-byte address>");
  return buf;
}

}  // namespace

absl::StatusOr<std::vector<X509Ptr>> ParseCertificatesPem(absl::string_view pem,
                                                          absl::string_view what) {
  ERR_clear_error();
  BioPtr bio = ReadOnlyBio(pem);
  std::vector<X509Ptr> certs;
  while (true) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) break;
    certs.push_back(std::move(cert));
  }
  // Reading stops with "no start line" at a clean end of input; any other
  // error means a block was present but damaged.
  unsigned long err = ERR_peek_last_error();
  bool clean_end =
      err == 0 || (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE);
  if (!clean_end) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(what, ": malformed PEM certificate"));
  }
  ERR_clear_error();
  if (certs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": no PEM certificate found"));
  }
  return certs;
}

absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem, absl::string_view what) {
  absl::StatusOr<std::vector<X509Ptr>> certs = ParseCertificatesPem(pem, what);
  if (!certs.ok()) return certs.status();
  return std::move(certs->front());
}

absl::StatusOr<EvpPkeyPtr> ParsePrivateKeyPem(absl::string_view pem, absl::string_view what) {
  ERR_clear_error();
  BioPtr bio = ReadOnlyBio(pem);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(what, ": malformed or encrypted PEM private key"));
  }
  return key;
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509(bio.get(), cert)) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding certificate as PEM");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding private key as PEM");
  }
  return BioContents(bio.get());
}

SubjectAltNames GetSubjectAltNames(X509* cert) {
  SubjectAltNames result;
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return result;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    switch (gn->type) {
      case GEN_URI:
        result.uris.push_back(Asn1StringToString(gn->d.uniformResourceIdentifier));
        break;
      case GEN_DNS:
        result.dns_names.push_back(Asn1StringToString(gn->d.dNSName));
        break;
      case GEN_IPADD:
        result.ip_addresses.push_back(IpToString(gn->d.iPAddress));
        break;
      default:
        break;
    }
  }
  return result;
}

std::string NameToString(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  return BioContents(bio.get());
}

}  // namespace qbox::guard

#include "node/guard/site_ca.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/identity_names.h"
#include "node/guard/pem_codec.h"

namespace qbox::guard {
namespace {

absl::Status ValidateValidity(absl::Duration validity) {
  if (validity > absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("validity: ", absl::FormatDuration(validity), " is not positive"));
}

absl::Time DefaultNotBefore() { return absl::Now() - kClockSkewAllowance; }

}  // namespace

absl::StatusOr<PemCredential> CreateSiteCa(absl::string_view site, const SiteCaOptions& options) {
  RETURN_IF_ERROR(ValidateSiteName(site, "site"));
  RETURN_IF_ERROR(ValidateValidity(options.validity));
  CertificateTemplate tmpl;
  tmpl.common_name = absl::StrCat("quorumbox ", site, " CA");
  tmpl.uris = {TrustDomainUri(site)};
  tmpl.not_before = options.not_before.value_or(DefaultNotBefore());
  tmpl.not_after = tmpl.not_before + options.validity;
  tmpl.is_ca = true;
  return SignCertificate(tmpl, /*issuer=*/nullptr);
}

absl::StatusOr<PemCredential> IssueLeafCertificate(const PemCredential& ca,
                                                   const PeerIdentity& identity,
                                                   const LeafOptions& options) {
  // Re-validate: a PeerIdentity is a plain struct and may have been filled
  // in by hand.
  RETURN_IF_ERROR(MakePeerIdentity(identity.site, identity.role, identity.name).status());
  RETURN_IF_ERROR(ValidateValidity(options.validity));
  for (const std::string& dns : options.dns_names) RETURN_IF_ERROR(ValidateDnsName(dns));
  for (const std::string& ip : options.ip_addresses) RETURN_IF_ERROR(ValidateIpAddress(ip));

  ASSIGN_OR_RETURN(std::string ca_site, SiteOfCaCertificate(ca.certificate_pem));
  if (ca_site != identity.site) {
    return absl::InvalidArgumentError(
        absl::StrCat("site: '", identity.site, "' does not match the CA's site '", ca_site,
                     "'; a CA only issues its own site's identities"));
  }
  ASSIGN_OR_RETURN(X509Ptr ca_cert, ParseCertificatePem(ca.certificate_pem, "CA certificate"));
  absl::Time ca_not_after;
  {
    struct tm tm_after;
    if (!ASN1_TIME_to_tm(X509_get0_notAfter(ca_cert.get()), &tm_after)) {
      return absl::InvalidArgumentError("CA certificate: unreadable notAfter");
    }
    ca_not_after = absl::FromTM(tm_after, absl::UTCTimeZone());
  }

  CertificateTemplate tmpl;
  tmpl.common_name = identity.ToString();
  tmpl.uris = {identity.SpiffeUri()};
  tmpl.dns_names = options.dns_names;
  tmpl.ip_addresses = options.ip_addresses;
  tmpl.not_before = options.not_before.value_or(DefaultNotBefore());
  tmpl.not_after = std::min(tmpl.not_before + options.validity, ca_not_after);
  tmpl.is_ca = false;
  return SignCertificate(tmpl, &ca);
}

absl::StatusOr<std::string> SiteOfCaCertificate(absl::string_view ca_certificate_pem) {
  ASSIGN_OR_RETURN(X509Ptr cert, ParseCertificatePem(ca_certificate_pem, "CA certificate"));
  if (X509_check_ca(cert.get()) <= 0) {
    return absl::InvalidArgumentError("CA certificate: is not a CA (basicConstraints CA:FALSE)");
  }
  SubjectAltNames sans = GetSubjectAltNames(cert.get());
  constexpr absl::string_view kScheme = "spiffe://";
  if (sans.uris.size() != 1 || !absl::StartsWith(sans.uris[0], kScheme)) {
    return absl::InvalidArgumentError(
        "CA certificate: does not carry exactly one spiffe://<site> URI naming its site");
  }
  std::string site = sans.uris[0].substr(kScheme.size());
  RETURN_IF_ERROR(ValidateSiteName(site, "CA certificate site"));
  return site;
}

}  // namespace qbox::guard

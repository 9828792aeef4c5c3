// `qboxctl site issue`: one more certificate from an existing site CA.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "ctl/site_commands.h"
#include "ctl/site_hosts.h"
#include "node/common/status_macros.h"
#include "node/guard/credential_directory.h"
#include "node/guard/identity_names.h"
#include "node/guard/site_ca.h"

namespace qbox::ctl {
namespace {

// Loading the CA fails most often because --site-dir points at the wrong
// place; say so, and keep the file path the guard reported.
absl::Status ExplainSiteDirError(const absl::Status& status) {
  std::string hint;
  if (absl::IsNotFound(status)) {
    hint = "; point --site-dir at a directory made by 'qboxctl site init'";
  } else if (absl::IsPermissionDenied(status)) {
    hint = "; run as the user that owns the site's CA key";
  }
  return absl::Status(status.code(), absl::StrCat("--site-dir: ", status.message(), hint));
}

}  // namespace

absl::Status RunSiteIssue(const SiteIssueOptions& options) {
  RETURN_IF_ERROR(guard::ValidateRole(options.role, "--role"));
  RETURN_IF_ERROR(guard::ValidateEntityName(options.name, "NAME"));
  if (options.validity_days <= 0) {
    return absl::InvalidArgumentError("--days: must be at least 1");
  }
  std::vector<std::string> hosts = options.hosts;
  if (hosts.empty() && options.role == guard::kRoleNode) hosts = DefaultNodeHosts();
  ASSIGN_OR_RETURN(guard::LeafOptions leaf_options, LeafOptionsForHosts(hosts, "--host"));
  leaf_options.validity = absl::Hours(24) * options.validity_days;

  absl::StatusOr<guard::SiteCaFiles> ca = guard::LoadSiteCa(options.site_dir);
  if (!ca.ok()) return ExplainSiteDirError(ca.status());
  guard::PeerIdentity identity{ca->site, options.role, options.name};
  ASSIGN_OR_RETURN(guard::PemCredential credential,
                   guard::IssueLeafCertificate(ca->ca, identity, leaf_options));
  absl::Status written =
      guard::WriteIdentityCredential(options.site_dir, identity, credential, options.force);
  if (absl::IsAlreadyExists(written)) {
    return absl::AlreadyExistsError(
        absl::StrCat(written.message(), "; pass --force to replace it, or choose another NAME"));
  }
  RETURN_IF_ERROR(written);
  std::cout << "issued " << identity.SpiffeUri() << "\n"
            << "  certificate: "
            << guard::CertificatePath(options.site_dir, options.role, options.name)
            << "\n  key:         " << guard::KeyPath(options.site_dir, options.role, options.name)
            << " (mode 0600)\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl

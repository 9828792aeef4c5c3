// `qboxctl site init`: a new, independent site CA and its first
// certificates, written all at once (see CreateCredentialDirectory).
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "ctl/site_commands.h"
#include "ctl/site_hosts.h"
#include "node/common/status_macros.h"
#include "node/guard/credential_directory.h"
#include "node/guard/identity_names.h"
#include "node/guard/site_ca.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;

struct RoleNames {
  absl::string_view role;
  absl::string_view flag;
  const std::vector<std::string>* names;
};

absl::Status ValidateNames(const RoleNames& group) {
  std::set<std::string> seen;
  for (const std::string& name : *group.names) {
    RETURN_IF_ERROR(guard::ValidateEntityName(name, group.flag));
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat(group.flag, ": '", name, "' is given twice"));
    }
  }
  return absl::OkStatus();
}

bool IsNonEmptyDirectoryOrFile(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return false;
  if (!fs::is_directory(path, ec)) return true;
  return !fs::is_empty(path, ec);
}

}  // namespace

absl::Status RunSiteInit(const SiteInitOptions& options) {
  // Everything the operator typed is checked before any key is made or any
  // file touched.
  RETURN_IF_ERROR(guard::ValidateSiteName(options.site, "SITE"));
  if (options.out_dir.empty()) return absl::InvalidArgumentError("--out: must not be empty");
  const std::vector<RoleNames> groups = {{guard::kRoleNode, "--node", &options.nodes},
                                         {guard::kRoleAdmin, "--admin", &options.admins},
                                         {guard::kRoleFrontend, "--frontend", &options.frontends}};
  for (const RoleNames& group : groups) RETURN_IF_ERROR(ValidateNames(group));
  ASSIGN_OR_RETURN(
      guard::LeafOptions node_hosts,
      LeafOptionsForHosts(options.node_hosts.empty() ? DefaultNodeHosts() : options.node_hosts,
                          "--node-host"));
  const bool replacing = IsNonEmptyDirectoryOrFile(options.out_dir);
  if (replacing && !options.force) {
    return absl::AlreadyExistsError(absl::StrCat(
        "--out: '", options.out_dir,
        "' already exists and is not empty; choose a new directory, or pass --force to move it "
        "aside and create a new site CA"));
  }

  ASSIGN_OR_RETURN(guard::PemCredential ca, guard::CreateSiteCa(options.site));
  std::vector<guard::IssuedIdentity> leaves;
  for (const RoleNames& group : groups) {
    for (const std::string& name : *group.names) {
      guard::PeerIdentity identity{options.site, std::string(group.role), name};
      guard::LeafOptions leaf_options =
          group.role == guard::kRoleNode ? node_hosts : guard::LeafOptions{};
      ASSIGN_OR_RETURN(guard::PemCredential credential,
                       guard::IssueLeafCertificate(ca, identity, leaf_options));
      leaves.push_back({identity, std::move(credential)});
    }
  }

  std::string moved_to;
  if (replacing) {
    // Never delete an old CA key: it may be the only copy. Move it aside.
    std::string dir = options.out_dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    moved_to = absl::StrCat(dir, ".replaced-",
                            absl::FormatTime("%Y%m%dT%H%M%S", absl::Now(), absl::LocalTimeZone()));
    if (std::rename(dir.c_str(), moved_to.c_str()) != 0) {
      return absl::FailedPreconditionError(absl::StrCat("--out: cannot move '", dir, "' aside to '",
                                                        moved_to, "': ", std::strerror(errno)));
    }
  }
  absl::Status created = guard::CreateCredentialDirectory(options.out_dir, ca, leaves);
  if (!created.ok()) {
    if (!moved_to.empty()) std::rename(moved_to.c_str(), options.out_dir.c_str());
    return created;
  }

  std::cout << "created site " << options.site << " in " << options.out_dir << "\n";
  std::cout << "  CA:       " << guard::CaCertificatePath(options.out_dir) << " (key "
            << guard::CaKeyPath(options.out_dir) << ", mode 0600)\n";
  for (const guard::IssuedIdentity& leaf : leaves) {
    std::cout << "  " << leaf.identity.role << ":"
              << std::string(9 - leaf.identity.role.size(), ' ')
              << guard::CertificatePath(options.out_dir, leaf.identity.role, leaf.identity.name)
              << "  " << leaf.identity.SpiffeUri() << "\n";
  }
  if (!moved_to.empty()) std::cout << "  previous contents moved to " << moved_to << "\n";
  std::cout << "keep ca.key off the nodes; only this site's operators should hold it\n";
  return absl::OkStatus();
}

}  // namespace qbox::ctl

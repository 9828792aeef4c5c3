#include "node/guard/credential_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"
#include "node/guard/identity_names.h"
#include "node/guard/pem_codec.h"
#include "node/guard/site_ca.h"

namespace qbox::guard {
namespace {

namespace fs = std::filesystem;

constexpr unsigned kPrivateMode = 0600;
constexpr unsigned kPublicMode = 0644;

absl::Status ErrnoError(const std::string& path, absl::string_view action, int err) {
  std::string message = absl::StrCat(path, ": cannot ", action, " (", std::strerror(err), ")");
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EEXIST:
    case ENOTEMPTY:
      return absl::AlreadyExistsError(message);
    default:
      return absl::FailedPreconditionError(message);
  }
}

absl::Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(dir, "open directory", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError(dir, "fsync directory", err);
  return absl::OkStatus();
}

std::string ParentOf(const std::string& path) {
  std::string parent = fs::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

absl::Status MakeDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return absl::OkStatus();
  return ErrnoError(dir, "create directory", errno);
}

std::string PluralRole(absl::string_view role) { return absl::StrCat(role, "s"); }

}  // namespace

std::string CaCertificatePath(absl::string_view dir) { return absl::StrCat(dir, "/ca.crt"); }
std::string CaKeyPath(absl::string_view dir) { return absl::StrCat(dir, "/ca.key"); }
std::string RoleDirectory(absl::string_view dir, absl::string_view role) {
  return absl::StrCat(dir, "/", PluralRole(role));
}
std::string CertificatePath(absl::string_view dir, absl::string_view role, absl::string_view name) {
  return absl::StrCat(RoleDirectory(dir, role), "/", name, ".crt");
}
std::string KeyPath(absl::string_view dir, absl::string_view role, absl::string_view name) {
  return absl::StrCat(RoleDirectory(dir, role), "/", name, ".key");
}

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return ErrnoError(path, "read", errno);
  }
  std::string contents;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return ErrnoError(path, "read", err);
    }
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return contents;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, unsigned mode,
                                 bool overwrite) {
  if (!overwrite && Exists(path)) {
    return absl::AlreadyExistsError(absl::StrCat(path, ": already exists"));
  }
  // The temporary file is created with its final mode, so a private key is
  // never readable by others, not even for a moment.
  std::string tmp = absl::StrCat(path, ".tmp-", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError(tmp, "create", errno);
  ::fchmod(fd, mode);  // umask may have narrowed it; never widened beyond `mode`.
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError(tmp, "write", err);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError(tmp, "fsync", err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(path, "rename into place", err);
  }
  return SyncDirectory(ParentOf(path));
}

absl::StatusOr<SiteCaFiles> LoadSiteCa(absl::string_view dir) {
  SiteCaFiles out;
  std::string cert_path = CaCertificatePath(dir);
  std::string key_path = CaKeyPath(dir);
  ASSIGN_OR_RETURN(out.ca.certificate_pem, ReadTextFile(cert_path));
  ASSIGN_OR_RETURN(out.ca.private_key_pem, ReadTextFile(key_path));
  absl::StatusOr<std::string> site = SiteOfCaCertificate(out.ca.certificate_pem);
  if (!site.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_path, ": ", site.status().message()));
  }
  out.site = *std::move(site);
  absl::StatusOr<X509Ptr> cert = ParseCertificatePem(out.ca.certificate_pem, cert_path);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<EvpPkeyPtr> key = ParsePrivateKeyPem(out.ca.private_key_pem, key_path);
  if (!key.ok()) return key.status();
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        absl::StrCat(key_path, ": does not belong to ", cert_path));
  }
  return out;
}

absl::Status WriteIdentityCredential(absl::string_view dir, const PeerIdentity& identity,
                                     const PemCredential& credential, bool overwrite) {
  RETURN_IF_ERROR(MakePeerIdentity(identity.site, identity.role, identity.name).status());
  std::string cert_path = CertificatePath(dir, identity.role, identity.name);
  std::string key_path = KeyPath(dir, identity.role, identity.name);
  if (!overwrite) {
    for (const std::string& path : {cert_path, key_path}) {
      if (Exists(path)) return absl::AlreadyExistsError(absl::StrCat(path, ": already exists"));
    }
  }
  RETURN_IF_ERROR(MakeDirectory(RoleDirectory(dir, identity.role)));
  RETURN_IF_ERROR(
      WriteFileAtomically(key_path, credential.private_key_pem, kPrivateMode, overwrite));
  return WriteFileAtomically(cert_path, credential.certificate_pem, kPublicMode, overwrite);
}

absl::Status CreateCredentialDirectory(const std::string& dir_arg, const PemCredential& ca,
                                       const std::vector<IssuedIdentity>& leaves) {
  // "out/site-a/" must stage next to "out/site-a", never inside it.
  std::string dir = dir_arg;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::error_code ec;
  if (Exists(dir)) {
    if (!fs::is_directory(dir, ec)) {
      return absl::AlreadyExistsError(absl::StrCat(dir, ": exists and is not a directory"));
    }
    if (!fs::is_empty(dir, ec) || ec) {
      return absl::AlreadyExistsError(absl::StrCat(dir, ": directory is not empty"));
    }
  }
  std::string parent = ParentOf(dir);
  fs::create_directories(parent, ec);
  if (ec) return ErrnoError(parent, "create directory", ec.value());

  std::string staging_template = absl::StrCat(dir, ".staging-XXXXXX");
  if (::mkdtemp(staging_template.data()) == nullptr) {
    return ErrnoError(staging_template, "create staging directory", errno);
  }
  const std::string staging = staging_template;
  auto write_all = [&]() -> absl::Status {
    ::chmod(staging.c_str(), 0755);
    RETURN_IF_ERROR(WriteFileAtomically(CaKeyPath(staging), ca.private_key_pem, kPrivateMode,
                                        /*overwrite=*/false));
    RETURN_IF_ERROR(WriteFileAtomically(CaCertificatePath(staging), ca.certificate_pem, kPublicMode,
                                        /*overwrite=*/false));
    for (const IssuedIdentity& leaf : leaves) {
      RETURN_IF_ERROR(
          WriteIdentityCredential(staging, leaf.identity, leaf.credential, /*overwrite=*/false));
    }
    // rename(2) replaces an empty directory atomically and fails if it has
    // become non-empty since the check above.
    if (::rename(staging.c_str(), dir.c_str()) != 0) return ErrnoError(dir, "create", errno);
    return SyncDirectory(parent);
  };
  absl::Status status = write_all();
  if (!status.ok()) fs::remove_all(staging, ec);
  return status;
}

absl::StatusOr<CredentialListing> ListCredentialDirectory(absl::string_view dir_view) {
  const std::string dir(dir_view);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir, ": no such directory"));
  }
  CredentialListing listing;
  listing.ca_certificate_path = CaCertificatePath(dir);
  ASSIGN_OR_RETURN(listing.ca_certificate_pem, ReadTextFile(listing.ca_certificate_path));
  listing.ca_key_present = Exists(CaKeyPath(dir));

  for (const fs::directory_entry& top : fs::directory_iterator(dir, ec)) {
    std::string file = top.path().filename().string();
    if (file == "ca.crt" || file == "ca.key") continue;
    bool is_role_dir = false;
    for (absl::string_view role : kAllRoles) is_role_dir |= (file == PluralRole(role));
    if (!is_role_dir || !top.is_directory()) listing.unrecognised_files.push_back(top.path());
  }
  if (ec) return ErrnoError(dir, "list", ec.value());

  for (absl::string_view role : kAllRoles) {
    std::string role_dir = RoleDirectory(dir, role);
    if (!fs::is_directory(role_dir, ec)) continue;
    std::vector<std::string> names;
    for (const fs::directory_entry& e : fs::directory_iterator(role_dir, ec)) {
      fs::path p = e.path();
      std::string stem = p.stem().string();
      bool known_ext = p.extension() == ".crt" || p.extension() == ".key";
      if (!known_ext || !ValidateEntityName(stem).ok()) {
        listing.unrecognised_files.push_back(p.string());
        continue;
      }
      if (std::find(names.begin(), names.end(), stem) == names.end()) names.push_back(stem);
    }
    if (ec) return ErrnoError(role_dir, "list", ec.value());
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      CredentialFileEntry entry;
      entry.role = std::string(role);
      entry.name = name;
      std::string cert_path = CertificatePath(dir, role, name);
      std::string key_path = KeyPath(dir, role, name);
      if (Exists(cert_path)) {
        entry.certificate_path = cert_path;
        ASSIGN_OR_RETURN(entry.certificate_pem, ReadTextFile(cert_path));
      }
      if (Exists(key_path)) entry.key_path = key_path;
      listing.entries.push_back(std::move(entry));
    }
  }
  std::sort(listing.unrecognised_files.begin(), listing.unrecognised_files.end());
  return listing;
}

}  // namespace qbox::guard

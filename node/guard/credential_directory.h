// A site's credential directory on disk: what `qboxctl site init` writes and
// what nodes, front ends and admins read their TLS files from.
//
// Layout (one directory per site; nothing in it concerns any other site):
//
//   DIR/ca.crt                    the site CA certificate (mode 0644)
//   DIR/ca.key                    the site CA private key (mode 0600)
//   DIR/nodes/<name>.crt|.key     storage nodes     spiffe://<site>/node/<name>
//   DIR/frontends/<name>.crt|.key front ends        spiffe://<site>/frontend/<name>
//   DIR/admins/<name>.crt|.key    administrators    spiffe://<site>/admin/<name>
//
// The site's name is not stored separately: it is the spiffe://<site> URI in
// ca.crt, so the directory can never disagree with its own CA. Every private
// key is written with mode 0600, every file via a temporary file, fsync and
// rename, so a crash leaves either the old file or the new one.
//
// In production ca.key should then be moved off the nodes to wherever the
// site's operators keep it; nothing on a node needs it.
#ifndef QBOX_NODE_GUARD_CREDENTIAL_DIRECTORY_H_
#define QBOX_NODE_GUARD_CREDENTIAL_DIRECTORY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/guard/certificate_signer.h"
#include "node/guard/peer_identity.h"

namespace qbox::guard {

std::string CaCertificatePath(absl::string_view dir);
std::string CaKeyPath(absl::string_view dir);
// DIR/<role>s, e.g. DIR/nodes.
std::string RoleDirectory(absl::string_view dir, absl::string_view role);
std::string CertificatePath(absl::string_view dir, absl::string_view role, absl::string_view name);
std::string KeyPath(absl::string_view dir, absl::string_view role, absl::string_view name);

// Reads a whole file. NOT_FOUND "<path>: no such file", PERMISSION_DENIED or
// FAILED_PRECONDITION with the path and the system's reason otherwise.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// Writes `contents` to `path` atomically with the given mode. The parent
// directory must exist. If `overwrite` is false and `path` exists, returns
// ALREADY_EXISTS naming the path and writes nothing.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view contents, unsigned mode,
                                 bool overwrite);

// The CA of the directory: certificate, key and the site it names.
// NOT_FOUND / PERMISSION_DENIED naming the missing or unreadable file;
// INVALID_ARGUMENT naming the file if it does not parse or the key does not
// belong to the certificate.
struct SiteCaFiles {
  std::string site;
  PemCredential ca;
};
absl::StatusOr<SiteCaFiles> LoadSiteCa(absl::string_view dir);

// Writes `credential` for `identity` into DIR/<role>s/ (created if needed):
// key (0600) first, then certificate, so a certificate never appears
// without its key. ALREADY_EXISTS naming the file if either exists and
// `overwrite` is false; nothing is written then.
absl::Status WriteIdentityCredential(absl::string_view dir, const PeerIdentity& identity,
                                     const PemCredential& credential, bool overwrite);

// Creates a complete credential directory at `dir` holding `ca` and
// `leaves`. `dir` must not exist, or be an empty directory: everything is
// first written to a staging directory next to it and then renamed into
// place, so on any error nothing at `dir` has changed. ALREADY_EXISTS
// naming `dir` if it is a non-empty directory or not a directory.
struct IssuedIdentity {
  PeerIdentity identity;
  PemCredential credential;
};
absl::Status CreateCredentialDirectory(const std::string& dir, const PemCredential& ca,
                                       const std::vector<IssuedIdentity>& leaves);

// What a credential directory holds, for `qboxctl site show`.
struct CredentialFileEntry {
  std::string role;  // "node", "frontend" or "admin"
  std::string name;
  std::string certificate_path;  // empty if only the key is there
  std::string key_path;          // empty if the key is missing
  std::string certificate_pem;   // contents of certificate_path
};
struct CredentialListing {
  std::string ca_certificate_path;
  std::string ca_certificate_pem;
  bool ca_key_present = false;
  std::vector<CredentialFileEntry> entries;  // by role, then name
  std::vector<std::string> unrecognised_files;
};
// NOT_FOUND if `dir` or DIR/ca.crt is missing; PERMISSION_DENIED /
// FAILED_PRECONDITION with the path if something cannot be read.
absl::StatusOr<CredentialListing> ListCredentialDirectory(absl::string_view dir);

}  // namespace qbox::guard

#endif  // QBOX_NODE_GUARD_CREDENTIAL_DIRECTORY_H_

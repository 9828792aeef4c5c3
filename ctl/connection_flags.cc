#include "ctl/connection_flags.h"

#include <CLI/CLI.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "ctl/key_pair_check.h"
#include "ctl/node_spec.h"
#include "node/common/status_macros.h"
#include "node/guard/certificate_info.h"
#include "node/guard/credential_directory.h"
#include "node/guard/identity_names.h"
#include "node/guard/site_ca.h"
#include "node/guard/site_trust_store.h"

namespace qbox::ctl {
namespace {

constexpr char kEndCertificate[] = "-----END CERTIFICATE-----";

// Prefixes `status` with the flag it concerns, keeping its code.
absl::Status ForFlag(absl::string_view flag, const absl::Status& status,
                     absl::string_view hint = "") {
  return absl::Status(status.code(), absl::StrCat(flag, ": ", status.message(), hint));
}

absl::StatusOr<std::string> ReadFlagFile(absl::string_view flag, const std::string& path,
                                         absl::string_view hint = "") {
  absl::StatusOr<std::string> text = guard::ReadTextFile(path);
  if (!text.ok()) return ForFlag(flag, text.status(), hint);
  return text;
}

// The CA certificates of a bundle, one PEM block each.
std::vector<std::string> SplitCertificates(const std::string& bundle) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t begin = bundle.find("-----BEGIN CERTIFICATE-----", pos);
    if (begin == std::string::npos) break;
    size_t end = bundle.find(kEndCertificate, begin);
    if (end == std::string::npos) break;
    end += sizeof(kEndCertificate) - 1;
    out.push_back(bundle.substr(begin, end - begin) + "\n");
    pos = end;
  }
  return out;
}

// The sites' CAs as a trust store: the same judgement a node makes of the
// admin certificate, made here first for a clear message.
absl::StatusOr<guard::SiteTrustStore> TrustStoreFromBundle(const std::string& bundle,
                                                           absl::string_view source) {
  std::vector<guard::SiteCaCertificate> cas;
  std::vector<std::string> pems = SplitCertificates(bundle);
  if (pems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, " holds no PEM certificate"));
  }
  for (size_t i = 0; i < pems.size(); ++i) {
    absl::StatusOr<std::string> site = guard::SiteOfCaCertificate(pems[i]);
    if (!site.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": certificate ", i + 1,
                                                     " is not a quorumbox site CA (",
                                                     site.status().message(), ")"));
    }
    cas.push_back({*site, pems[i]});
  }
  absl::StatusOr<guard::SiteTrustStore> store = guard::SiteTrustStore::Create(cas);
  if (!store.ok())
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", store.status().message()));
  return store;
}

struct CredentialFiles {
  std::string cert_flag;  // the flag to blame for the certificate
  std::string key_flag;
  std::string cert_file;
  std::string key_file;
};

absl::StatusOr<CredentialFiles> ChooseCredentials(const ConnectionFlags& flags) {
  const bool by_files = !flags.cert.empty() || !flags.key.empty();
  const bool by_dir = !flags.site_dir.empty() || !flags.admin.empty();
  if (by_files && by_dir) {
    return absl::InvalidArgumentError(
        "--site-dir: give either --site-dir DIR --admin NAME or --cert FILE --key FILE, not both");
  }
  if (by_files) {
    if (flags.cert.empty()) return absl::InvalidArgumentError("--cert: needed with --key");
    if (flags.key.empty()) return absl::InvalidArgumentError("--key: needed with --cert");
    return CredentialFiles{"--cert", "--key", flags.cert, flags.key};
  }
  if (by_dir) {
    if (flags.site_dir.empty())
      return absl::InvalidArgumentError("--site-dir: needed with --admin");
    if (flags.admin.empty()) {
      return absl::InvalidArgumentError(
          "--admin: needed with --site-dir: the admin NAME whose certificate is in "
          "DIR/admins/NAME.crt");
    }
    RETURN_IF_ERROR(guard::ValidateEntityName(flags.admin, "--admin"));
    return CredentialFiles{"--site-dir", "--site-dir",
                           guard::CertificatePath(flags.site_dir, guard::kRoleAdmin, flags.admin),
                           guard::KeyPath(flags.site_dir, guard::kRoleAdmin, flags.admin)};
  }
  return absl::InvalidArgumentError(
      "--cert: no admin credentials; pass --cert FILE --key FILE, or --site-dir DIR --admin NAME "
      "(or set QBOX_CERT/QBOX_KEY, QBOX_SITE_DIR/QBOX_ADMIN, or a context: 'qboxctl context')");
}

absl::StatusOr<ConnectionSettings>& Fallback() {
  static absl::StatusOr<ConnectionSettings>* fallback =
      new absl::StatusOr<ConnectionSettings>(ConnectionSettings{});
  return *fallback;
}

absl::StatusOr<std::vector<std::string>> ParseEndpoints(const std::string& text) {
  std::vector<std::string> endpoints;
  for (absl::string_view e : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    RETURN_IF_ERROR(ValidateHostPort(e, "--endpoints"));
    endpoints.emplace_back(e);
  }
  return endpoints;
}

}  // namespace

void AddConnectionFlags(CLI::App* command, ConnectionFlags* flags) {
  const std::string group = "Connection";
  command
      ->add_option("--endpoints", flags->endpoints,
                   "Nodes to talk to, host:port,... (default: every node in --cluster)")
      ->group(group);
  command
      ->add_option("--cacert", flags->cacert,
                   "Every site's CA certificate, concatenated (PEM); or use --cluster")
      ->group(group);
  command
      ->add_option("--cluster", flags->cluster_file,
                   "Cluster configuration from 'qboxctl cluster init': the CA bundle and, "
                   "unless --endpoints is given, the endpoints")
      ->group(group);
  command->add_option("--cert", flags->cert, "Your admin certificate (PEM)")->group(group);
  command->add_option("--key", flags->key, "Your admin private key (PEM)")->group(group);
  command
      ->add_option("--site-dir", flags->site_dir,
                   "Your site's credential directory (from 'qboxctl site init'); with --admin "
                   "instead of --cert/--key")
      ->group(group);
  command->add_option("--admin", flags->admin, "Admin NAME in --site-dir (admins/NAME.crt|.key)")
      ->group(group);
  command->add_option("--timeout", flags->timeout, "Deadline of each call, e.g. 5s or 1m")
      ->default_str("10s")
      ->group(group);
}

void SetConnectionFallback(absl::StatusOr<ConnectionSettings> fallback) {
  Fallback() = std::move(fallback);
}

ConnectionSettings ToSettings(const ConnectionFlags& flags) {
  ConnectionSettings s;
  s.endpoints = flags.endpoints;
  s.cacert = flags.cacert;
  s.cluster = flags.cluster_file;
  s.cert = flags.cert;
  s.key = flags.key;
  s.site_dir = flags.site_dir;
  s.admin = flags.admin;
  s.timeout = flags.timeout;
  return s;
}

ConnectionFlags FromSettings(const ConnectionSettings& s) {
  ConnectionFlags flags;
  flags.endpoints = s.endpoints;
  flags.cacert = s.cacert;
  flags.cluster_file = s.cluster;
  flags.cert = s.cert;
  flags.key = s.key;
  flags.site_dir = s.site_dir;
  flags.admin = s.admin;
  flags.timeout = s.timeout;
  return flags;
}

absl::StatusOr<Connection> ResolveConnection(const ConnectionFlags& given) {
  if (!Fallback().ok()) return Fallback().status();
  ConnectionSettings settings = ToSettings(given);
  FillUnset(&settings, *Fallback());
  ConnectionFlags flags = FromSettings(settings);
  if (flags.timeout.empty()) flags.timeout = given.default_timeout;
  Connection connection;
  if (!absl::ParseDuration(flags.timeout, &connection.timeout) ||
      connection.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--timeout: '", flags.timeout, "' is not a positive duration like 5s, 500ms or 1m"));
  }
  ASSIGN_OR_RETURN(connection.endpoints, ParseEndpoints(flags.endpoints));

  // The CA bundle: --cacert if given, else the cluster file's sites.
  if (!flags.cluster_file.empty()) {
    absl::StatusOr<server::ClusterConfig> cluster = server::LoadClusterConfig(flags.cluster_file);
    if (!cluster.ok()) {
      // The loader says "cannot read PATH" for a missing file; keep its
      // message and code-neutral wording, but name the flag.
      return ForFlag("--cluster", cluster.status(),
                     "; point --cluster at the file 'qboxctl cluster init' wrote");
    }
    connection.cluster = *std::move(cluster);
  }
  std::string bundle_source;
  if (!flags.cacert.empty()) {
    ASSIGN_OR_RETURN(connection.ca_bundle_pem, ReadFlagFile("--cacert", flags.cacert));
    connection.ca_bundle_file = flags.cacert;
    bundle_source = absl::StrCat("--cacert ", flags.cacert);
  } else if (connection.cluster) {
    connection.ca_bundle_pem = connection.cluster->RootBundlePem();
    bundle_source = absl::StrCat("--cluster ", flags.cluster_file);
  } else {
    return absl::InvalidArgumentError(
        "--cacert: no CA bundle; pass --cacert FILE (every site's ca.crt concatenated) or "
        "--cluster FILE (or QBOX_CACERT, QBOX_CLUSTER, or a context: 'qboxctl context')");
  }
  if (connection.endpoints.empty()) {
    if (!connection.cluster) {
      return absl::InvalidArgumentError(
          "--endpoints: no endpoints; pass --endpoints host:port,... or --cluster FILE (or "
          "QBOX_ENDPOINTS, QBOX_CLUSTER, or a context: 'qboxctl context')");
    }
    for (const server::NodeConfig& node : connection.cluster->nodes) {
      connection.endpoints.push_back(node.address);
    }
  }
  ASSIGN_OR_RETURN(guard::SiteTrustStore trust,
                   TrustStoreFromBundle(connection.ca_bundle_pem, bundle_source));

  ASSIGN_OR_RETURN(CredentialFiles files, ChooseCredentials(flags));
  connection.certificate_file = files.cert_file;
  connection.private_key_file = files.key_file;
  const std::string issue_hint =
      files.cert_flag == "--site-dir"
          ? absl::StrCat("; issue it with 'qboxctl site issue --site-dir ", flags.site_dir,
                         " --role admin ", flags.admin, "'")
          : "";
  ASSIGN_OR_RETURN(std::string cert_pem,
                   ReadFlagFile(files.cert_flag, files.cert_file, issue_hint));
  ASSIGN_OR_RETURN(std::string key_pem, ReadFlagFile(files.key_flag, files.key_file, issue_hint));
  if (!guard::DescribeCertificate(cert_pem).ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(files.cert_flag, ": ", files.cert_file, " is not a PEM certificate"));
  }
  absl::Status pair = CheckKeyMatchesCertificate(cert_pem, key_pem);
  if (!pair.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(files.key_flag, ": ", files.key_file, " ",
                                                   pair.message(), " ", files.cert_file));
  }
  absl::StatusOr<guard::PeerIdentity> identity = trust.Identify(cert_pem);
  if (!identity.ok()) {
    return absl::Status(
        identity.status().code(),
        absl::StrCat(files.cert_flag, ": ", files.cert_file,
                     " is not accepted by the CA bundle from ", bundle_source, " (sites ",
                     absl::StrJoin(trust.Sites(), ", "), "): ", identity.status().message(),
                     "; use an admin certificate issued by one of those sites' CAs"));
  }
  if (identity->role != guard::kRoleAdmin) {
    return absl::InvalidArgumentError(
        absl::StrCat(files.cert_flag, ": ", files.cert_file, " is ", identity->ToString(),
                     ", not an admin; issue one with 'qboxctl site issue --role admin NAME'"));
  }
  connection.admin_identity = identity->ToString();
  return connection;
}

}  // namespace qbox::ctl

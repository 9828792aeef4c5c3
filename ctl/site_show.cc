// `qboxctl site show`: what a credential directory holds. Read only.
#include <sys/stat.h>

#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "ctl/site_commands.h"
#include "node/common/status_macros.h"
#include "node/guard/certificate_info.h"
#include "node/guard/credential_directory.h"
#include "node/guard/site_ca.h"
#include "node/guard/site_trust_store.h"

namespace qbox::ctl {
namespace {

using nlohmann::json;

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

int64_t DaysLeft(absl::Time not_after, absl::Time now) {
  return static_cast<int64_t>(std::floor(absl::ToDoubleHours(not_after - now) / 24.0));
}

// "0600", or "" if the file does not exist.
std::string FileMode(const std::string& path) {
  struct stat st;
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return "";
  return absl::StrFormat("%04o", st.st_mode & 07777);
}

bool ModeIsPrivate(const std::string& mode) {
  return !mode.empty() && (std::stoi(mode, nullptr, 8) & 077) == 0;
}

// Problems shared by the CA and leaves: expiry and key file permissions.
void AddCommonProblems(const guard::CertificateInfo& info, const std::string& key_path,
                       absl::Time now, std::vector<std::string>* problems) {
  if (info.not_after <= now) problems->push_back("expired");
  if (info.not_before > now) problems->push_back("not yet valid");
  std::string mode = FileMode(key_path);
  if (!mode.empty() && !ModeIsPrivate(mode)) {
    problems->push_back(absl::StrCat("key file mode ", mode, " lets others read it; chmod 600"));
  }
}

json DescribeJson(const guard::CertificateInfo& info, absl::Time now) {
  return json{{"subject", info.subject},
              {"issuer", info.issuer},
              {"serial", info.serial_hex},
              {"uris", info.uris},
              {"dns_names", info.dns_names},
              {"ip_addresses", info.ip_addresses},
              {"not_before", Rfc3339(info.not_before)},
              {"not_after", Rfc3339(info.not_after)},
              {"days_left", DaysLeft(info.not_after, now)},
              {"key_algorithm", info.key_algorithm},
              {"public_key_sha256", info.public_key_sha256_hex}};
}

absl::StatusOr<json> BuildReport(const std::string& dir, absl::Time now) {
  ASSIGN_OR_RETURN(guard::CredentialListing listing, guard::ListCredentialDirectory(dir));
  absl::StatusOr<std::string> site = guard::SiteOfCaCertificate(listing.ca_certificate_pem);
  if (!site.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(listing.ca_certificate_path, ": ", site.status().message()));
  }
  ASSIGN_OR_RETURN(
      guard::CertificateInfo ca_info,
      guard::DescribeCertificate(listing.ca_certificate_pem, listing.ca_certificate_path));
  ASSIGN_OR_RETURN(guard::SiteTrustStore trust,
                   guard::SiteTrustStore::Create({{*site, listing.ca_certificate_pem}}));

  json ca = DescribeJson(ca_info, now);
  std::string ca_key_path = listing.ca_key_present ? guard::CaKeyPath(dir) : "";
  std::vector<std::string> ca_problems;
  AddCommonProblems(ca_info, ca_key_path, now, &ca_problems);
  ca["identity"] = guard::TrustDomainUri(*site);
  ca["certificate_path"] = listing.ca_certificate_path;
  ca["key_path"] = ca_key_path;
  ca["key_present"] = listing.ca_key_present;
  ca["key_mode"] = FileMode(ca_key_path);
  ca["problems"] = ca_problems;

  json certificates = json::array();
  for (const guard::CredentialFileEntry& entry : listing.entries) {
    std::vector<std::string> problems;
    json cert = json::object();
    if (entry.certificate_path.empty()) {
      problems.push_back("key without a certificate");
    } else {
      absl::StatusOr<guard::CertificateInfo> info =
          guard::DescribeCertificate(entry.certificate_pem, entry.certificate_path);
      if (!info.ok()) {
        problems.push_back(std::string(info.status().message()));
      } else {
        cert = DescribeJson(*info, now);
        AddCommonProblems(*info, entry.key_path, now, &problems);
        // Judge it exactly as a node would, at the current time.
        absl::StatusOr<guard::PeerIdentity> id = trust.Identify(entry.certificate_pem, now);
        if (!id.ok()) {
          // An expired certificate fails verification too; say it once.
          bool already_explained = absl::IsUnauthenticated(id.status()) && !problems.empty();
          if (!already_explained) problems.push_back(std::string(id.status().message()));
        } else if (id->role != entry.role || id->name != entry.name) {
          problems.push_back(
              absl::StrCat("identity ", id->SpiffeUri(), " does not match its file name"));
        }
      }
      if (entry.key_path.empty()) problems.push_back("private key missing");
    }
    cert["role"] = entry.role;
    cert["name"] = entry.name;
    cert["identity"] = guard::PeerIdentity{*site, entry.role, entry.name}.SpiffeUri();
    cert["certificate_path"] = entry.certificate_path;
    cert["key_path"] = entry.key_path;
    cert["key_present"] = !entry.key_path.empty();
    cert["key_mode"] = FileMode(entry.key_path);
    cert["problems"] = problems;
    certificates.push_back(std::move(cert));
  }
  return json{{"site", *site},
              {"directory", dir},
              {"generated_at", Rfc3339(now)},
              {"ca", std::move(ca)},
              {"certificates", std::move(certificates)},
              {"unrecognised_files", listing.unrecognised_files}};
}

std::string StatusCell(const json& item) {
  const json& problems = item["problems"];
  if (problems.empty()) return "ok";
  return problems.size() == 1
             ? problems[0].get<std::string>()
             : absl::StrCat(problems[0].get<std::string>(), " (+", problems.size() - 1, " more)");
}

std::string HostsCell(const json& item) {
  std::vector<std::string> hosts;
  for (const char* field : {"dns_names", "ip_addresses"}) {
    if (!item.contains(field)) continue;
    for (const json& h : item[field]) hosts.push_back(h.get<std::string>());
  }
  return hosts.empty() ? "-" : absl::StrJoin(hosts, ",");
}

std::vector<std::string> Row(const json& item, const std::string& role, const std::string& name) {
  bool described = item.contains("not_after");
  return {role,
          name,
          item["identity"].get<std::string>(),
          HostsCell(item),
          described ? item["not_after"].get<std::string>() : "-",
          described ? std::to_string(item["days_left"].get<int64_t>()) : "-",
          item["key_present"].get<bool>() ? item["key_mode"].get<std::string>() : "missing",
          StatusCell(item)};
}

void PrintTableReport(const json& report) {
  std::cout << "site " << report["site"].get<std::string>() << " in "
            << report["directory"].get<std::string>() << "\n\n";
  std::vector<std::vector<std::string>> rows;
  rows.push_back(Row(report["ca"], "ca", "-"));
  for (const json& cert : report["certificates"]) {
    rows.push_back(Row(cert, cert["role"].get<std::string>(), cert["name"].get<std::string>()));
  }
  PrintTable(std::cout,
             {"ROLE", "NAME", "IDENTITY", "HOSTS", "EXPIRES (UTC)", "DAYS LEFT", "KEY", "STATUS"},
             rows);
  for (const json& file : report["unrecognised_files"]) {
    std::cout << "unrecognised file: " << file.get<std::string>() << "\n";
  }
}

}  // namespace

absl::Status RunSiteShow(const SiteShowOptions& options) {
  absl::StatusOr<json> report = BuildReport(options.site_dir, absl::Now());
  if (!report.ok()) {
    std::string hint = absl::IsNotFound(report.status())
                           ? "; point --site-dir at a directory made by 'qboxctl site init'"
                           : "";
    return absl::Status(report.status().code(),
                        absl::StrCat("--site-dir: ", report.status().message(), hint));
  }
  if (options.format == OutputFormat::kJson) {
    std::cout << report->dump(2) << "\n";
  } else {
    PrintTableReport(*report);
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

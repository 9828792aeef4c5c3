// The connection flags and their resolution into ClientOptions. Errors are
// reported by flag, not by the library's option names, because the flag is
// what the user typed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/examples/qbox_mail.h"
#include "ctl/connection_settings.h"
#include "node/common/status_macros.h"

namespace qbox::mail {
namespace {

// The layout scripts/dev-cluster.sh creates, relative to the repository root.
constexpr char kDevEndpoints[] = "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103";
constexpr char kDevCaBundle[] = ".dev-cluster/ca-bundle.crt";
constexpr char kDevCert[] = ".dev-cluster/site-a/frontends/imap.crt";
constexpr char kDevKey[] = ".dev-cluster/site-a/frontends/imap.key";

std::string CurrentDirectory() {
  char buffer[4096];
  return getcwd(buffer, sizeof(buffer)) != nullptr ? std::string(buffer) : std::string(".");
}

// --dev fills only what was not given, so `--dev --account bob --cert x`
// works, and checks the files exist so that running from the wrong
// directory is named as such rather than as a missing certificate.
absl::Status ApplyDevDefaults(ConnectionFlags* flags) {
  if (!flags->dev) return absl::OkStatus();
  for (const char* path : {kDevCaBundle, kDevCert, kDevKey}) {
    if (access(path, R_OK) != 0) {
      return absl::NotFoundError(absl::StrCat(
          "--dev: ", path, " not found in ", CurrentDirectory(),
          "; run qbox-mail from the repository root after 'scripts/dev-cluster.sh up'"));
    }
  }
  if (flags->endpoints.empty()) flags->endpoints = kDevEndpoints;
  if (flags->cacert.empty()) flags->cacert = kDevCaBundle;
  if (flags->cert.empty()) flags->cert = kDevCert;
  if (flags->key.empty()) flags->key = kDevKey;
  return absl::OkStatus();
}

// QBOX_* variables, then the context file, for what neither the line nor
// --dev gave. The context's credentials are taken only if the line and
// --dev gave none.
absl::Status ApplyFallback(ConnectionFlags* flags) {
  ASSIGN_OR_RETURN(ctl::ConnectionSettings fallback,
                   ctl::FallbackSettings(flags->context, ctl::ProcessEnvironment()));
  ctl::ConnectionSettings settings;
  settings.endpoints = flags->endpoints;
  settings.cacert = flags->cacert;
  settings.cert = flags->cert;
  settings.key = flags->key;
  settings.account = flags->account;
  settings.timeout = flags->timeout;
  ctl::FillUnset(&settings, fallback);
  flags->endpoints = settings.endpoints;
  flags->cacert = settings.cacert;
  flags->cert = settings.cert;
  flags->key = settings.key;
  flags->account = settings.account;
  flags->timeout = settings.timeout.empty() ? "10s" : settings.timeout;
  return absl::OkStatus();
}

absl::Status RequireFlag(const std::string& value, const std::string& flag,
                         const std::string& what) {
  if (!value.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(flag, ": required: ", what));
}

// Client::Open names its options ("certificate_file /x: no such file");
// the user knows them by flag.
absl::Status RenameOptionToFlag(const absl::Status& status) {
  static constexpr std::pair<const char*, const char*> kNames[] = {
      {"ca_bundle_file", "--cacert"}, {"certificate_file", "--cert"},
      {"private_key_file", "--key"},  {"default_timeout", "--timeout"},
      {"endpoints", "--endpoints"},
  };
  const std::string message(status.message());
  for (const auto& [option, flag] : kNames) {
    if (absl::StartsWith(message, option)) {
      return absl::Status(status.code(),
                          absl::StrCat(flag, message.substr(std::string(option).size())));
    }
  }
  return status;
}

}  // namespace

void AddConnectionFlags(CLI::App* app, ConnectionFlags* flags) {
  const std::string group = "Connection (allowed after the command too)";
  app->add_option("--endpoints", flags->endpoints, "Nodes to talk to, host:port,...")->group(group);
  app->add_option("--cacert", flags->cacert, "Every site's CA certificate, concatenated (PEM)")
      ->group(group);
  app->add_option("--cert", flags->cert, "This front end's certificate (PEM)")->group(group);
  app->add_option("--key", flags->key, "This front end's private key (PEM)")->group(group);
  app->add_option("--account", flags->account, "The mail account to act on")->group(group);
  app->add_option("--timeout", flags->timeout, "Deadline of each call, e.g. 5s, 500ms, 1m")
      ->default_str("10s")
      ->group(group);
  app->add_option("--context", flags->context,
                  "Connection settings from this context of qboxctl's context file; default "
                  "QBOX_CONTEXT, else its current context (QBOX_* variables come first)")
      ->group(group);
  app->add_flag("--dev", flags->dev,
                "Use the dev cluster in ./.dev-cluster: endpoints 127.0.0.1:7101-7103, its CA "
                "bundle and site-a's front-end certificate 'imap' (flags given win)")
      ->group(group);
}

absl::StatusOr<std::unique_ptr<Client>> OpenClient(const ConnectionFlags& given, Session* session) {
  ConnectionFlags flags = given;
  RETURN_IF_ERROR(ApplyDevDefaults(&flags));
  RETURN_IF_ERROR(ApplyFallback(&flags));
  RETURN_IF_ERROR(
      RequireFlag(flags.account, "--account", "the mail account to act on, e.g. alice"));
  constexpr char kOrDev[] = " (or --dev for the local dev cluster)";
  RETURN_IF_ERROR(RequireFlag(flags.endpoints, "--endpoints",
                              absl::StrCat("the nodes, host:port,...", kOrDev)));
  RETURN_IF_ERROR(
      RequireFlag(flags.cacert, "--cacert", absl::StrCat("every site's CA certificate", kOrDev)));
  RETURN_IF_ERROR(
      RequireFlag(flags.cert, "--cert", absl::StrCat("a front-end certificate", kOrDev)));
  RETURN_IF_ERROR(RequireFlag(flags.key, "--key", absl::StrCat("the certificate's key", kOrDev)));

  absl::Duration timeout;
  if (!absl::ParseDuration(flags.timeout, &timeout) || timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--timeout: '", flags.timeout, "' is not a positive duration like 10s, 500ms or 1m"));
  }

  ClientOptions options;
  options.endpoints = absl::StrSplit(flags.endpoints, ',', absl::SkipWhitespace());
  options.ca_bundle_file = flags.cacert;
  options.certificate_file = flags.cert;
  options.private_key_file = flags.key;
  options.default_timeout = timeout;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Open(options);
  if (!client.ok()) return RenameOptionToFlag(client.status());

  session->account = flags.account;
  session->call.timeout = timeout;
  return client;
}

}  // namespace qbox::mail

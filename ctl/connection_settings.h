// Where the tools' connection settings come from when a flag does not give
// them, shared by qboxctl and qbox-mail (like kubectl's kubeconfig and
// etcdctl's ETCDCTL_* variables). In order, the first that sets a value
// wins:
//   1. the flag on the command line (before or after the command);
//   2. a QBOX_* environment variable: QBOX_ENDPOINTS, QBOX_CACERT,
//      QBOX_CLUSTER, QBOX_CERT, QBOX_KEY, QBOX_SITE_DIR, QBOX_ADMIN,
//      QBOX_TIMEOUT (and QBOX_ACCOUNT for qbox-mail);
//   3. the selected context of the context file: --context NAME, else
//      QBOX_CONTEXT, else the file's current context. The file is
//      QBOX_CONFIG, else $XDG_CONFIG_HOME/quorumbox/contexts.json, else
//      ~/.config/quorumbox/contexts.json; a missing file is no context.
// Credentials are one setting: --cert/--key and --site-dir/--admin are
// taken together from the first source that sets any of them, so a context
// with a site directory never mixes with a --cert on the line.
#ifndef QBOX_CTL_CONNECTION_SETTINGS_H_
#define QBOX_CTL_CONNECTION_SETTINGS_H_

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace qbox::ctl {

// Every value as text; empty = not set.
struct ConnectionSettings {
  std::string endpoints;  // host:port,...
  std::string cacert;
  std::string cluster;
  std::string cert;
  std::string key;
  std::string site_dir;
  std::string admin;
  std::string account;  // qbox-mail only
  std::string timeout;

  bool operator==(const ConnectionSettings& other) const;
};

// Fills every value `*into` lacks from `from` (credentials as one group).
void FillUnset(ConnectionSettings* into, const ConnectionSettings& from);

// The QBOX_* variables, read through `getenv` (tests pass their own).
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvironmentLookup ProcessEnvironment();
ConnectionSettings SettingsFromEnvironment(const EnvironmentLookup& env);

// The context file: named sets of settings and which one is current.
struct ContextFile {
  std::string current;
  std::map<std::string, ConnectionSettings> contexts;
};

// Where the context file is (see above). Empty if neither QBOX_CONFIG,
// XDG_CONFIG_HOME nor HOME is set.
std::string ContextFilePath(const EnvironmentLookup& env);

// Reads `path`. A missing file is an empty ContextFile; anything else that
// is wrong (unreadable, not JSON, an unknown key, a value that is not a
// string, a current context that does not exist) is INVALID_ARGUMENT or
// the read error, naming the path.
absl::StatusOr<ContextFile> LoadContextFile(const std::string& path);

// Writes `file` to `path` atomically, mode 0600 (it names key files),
// creating its directory.
absl::Status SaveContextFile(const std::string& path, const ContextFile& file);

// A context name: [a-z0-9][a-z0-9._-]{0,62}. INVALID_ARGUMENT naming
// `field` otherwise.
absl::Status ValidateContextName(const std::string& name, const std::string& field);

// The settings the environment and the context file give, for a command
// line that set `context_flag` (--context, may be empty): environment
// first, then the selected context. NOT_FOUND naming --context or
// QBOX_CONTEXT if the selected context is not in the file; errors of
// LoadContextFile.
absl::StatusOr<ConnectionSettings> FallbackSettings(const std::string& context_flag,
                                                    const EnvironmentLookup& env);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_CONNECTION_SETTINGS_H_

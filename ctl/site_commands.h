// `qboxctl site ...`: a site's own credentials (issue 4; DESIGN.md G6).
//
//   qboxctl site init SITE --out DIR [--node N[,N]] [--admin N] [--frontend N]
//                         [--node-host H]... [--force]
//   qboxctl site issue --site-dir DIR --role node|frontend|admin NAME [--host H]...
//   qboxctl site show --site-dir DIR [-o table|json]
//
// The directory layout is documented in node/guard/credential_directory.h.
#ifndef QBOX_CTL_SITE_COMMANDS_H_
#define QBOX_CTL_SITE_COMMANDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ctl/command_runner.h"
#include "ctl/output_format.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

// Registers the `site` noun and its verbs on `root`.
void AddSiteCommands(CLI::App* root, CommandRunner* runner);

struct SiteInitOptions {
  std::string site;
  std::string out_dir;
  std::vector<std::string> nodes;
  std::vector<std::string> admins;
  std::vector<std::string> frontends;
  // DNS names and IPs put into every node certificate; if empty, nodes get
  // "localhost" and "127.0.0.1" so a loopback dev cluster works.
  std::vector<std::string> node_hosts;
  bool force = false;
};
// Creates the CA and the requested certificates in a new directory. Bad
// names or hosts: INVALID_ARGUMENT naming the flag. A non-empty --out
// without --force: ALREADY_EXISTS and nothing is touched. With --force the
// old directory is moved aside to DIR.replaced-<time> (never deleted: it
// holds a CA key), and its new path is printed.
absl::Status RunSiteInit(const SiteInitOptions& options);

struct SiteIssueOptions {
  std::string site_dir;
  std::string role;
  std::string name;
  std::vector<std::string> hosts;  // for nodes, defaults as above
  int validity_days = 365;
  bool force = false;
};
// Issues one more certificate from the directory's CA into its layout.
// Refuses (ALREADY_EXISTS) to replace an existing one without --force.
absl::Status RunSiteIssue(const SiteIssueOptions& options);

struct SiteShowOptions {
  std::string site_dir;
  OutputFormat format = OutputFormat::kTable;
};
// Prints what the directory holds: the CA and each certificate's identity,
// hosts, expiry and days left, whether its key is present and private, and
// any problem (expired, not signed by this CA, identity not matching its
// file name). Read only.
absl::Status RunSiteShow(const SiteShowOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_SITE_COMMANDS_H_

// `qboxctl cluster ...`: the cluster's genesis configuration.
//
//   qboxctl cluster init --out FILE --site-ca SITE=CAFILE [--site-ca ...]
//                        --node ID=SITE/NAME@HOST:PORT [--node ...]
//                        [--spare ID=SITE/NAME@HOST:PORT ...]
//                        [--retention-days N | --retention 720h]
//                        [--required-sites M] [--delay 72h] [--proposal-ttl 168h]
//                        [--checkpoint-every N] [--name CLUSTER] [--force]
//
// The file format is node/server/cluster_config.h's; qbox-node reads it with
// --cluster.
#ifndef QBOX_CTL_CLUSTER_COMMANDS_H_
#define QBOX_CTL_CLUSTER_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "ctl/command_runner.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

// Registers the `cluster` noun and its verbs on `root`.
void AddClusterCommands(CLI::App* root, CommandRunner* runner);

struct ClusterInitOptions {
  std::string out_file;
  std::string cluster_name = "quorumbox";
  std::vector<std::string> site_cas;  // SITE=CAFILE
  std::vector<std::string> voters;    // ID=SITE/NAME@HOST:PORT
  std::vector<std::string> spares;    // same, joining later as learners
  uint32_t retention_days = 30;
  bool retention_days_given = false;
  // The charter's policy (DESIGN.md G2, G5); empty = not given, the node's
  // default applies and the key is left out of the file.
  std::string required_sites;    // M
  std::string delay;             // T, "72h"
  std::string retention;         // R, "720h"; replaces retention_days
  std::string proposal_ttl;      // "168h"
  std::string checkpoint_every;  // log entries
  bool force = false;
};

// Writes the genesis configuration with every site's CA certificate inline
// (certificates only: a file holding a private key is refused, never
// copied). Everything is checked before anything is written; on error
// returns INVALID_ARGUMENT / NOT_FOUND / PERMISSION_DENIED whose message
// starts with the flag at fault, or ALREADY_EXISTS for an existing --out
// without --force, and leaves the file system unchanged. Refused: a
// malformed value, an unknown site in --node/--spare, a node id, SITE/NAME
// or address given twice, a site given twice or two sites with one CA, a
// file that is not exactly one CA certificate of the site it is given for,
// no voter, or a site holding a majority of the voters (one compromised
// site could then commit alone; DESIGN.md G2, G7); --required-sites not a
// whole number from 1 to the number of sites; --delay not a duration of
// zero or more; --retention or --proposal-ttl not a positive duration;
// --retention together with --retention-days; --checkpoint-every not a
// whole number above 0.
absl::Status RunClusterInit(const ClusterInitOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_CLUSTER_COMMANDS_H_

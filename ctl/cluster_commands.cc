// CLI wiring for `qboxctl cluster ...`; the work is in cluster_init.cc.
#include "ctl/cluster_commands.h"

#include <CLI/CLI.hpp>
#include <memory>

namespace qbox::ctl {

void AddClusterCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* cluster = root->add_subcommand(
      "cluster", "The cluster's genesis configuration for qbox-node --cluster");

  auto init = std::make_shared<ClusterInitOptions>();
  CLI::App* init_cmd = cluster->add_subcommand(
      "init",
      "Write the genesis configuration: every site with its CA certificate (inline), every "
      "node with its id, site and address, and the retention period. No single site may hold "
      "a majority of the voters.");
  init_cmd->add_option("--out", init->out_file, "File to write (refused if it exists)")->required();
  init_cmd
      ->add_option("--site-ca", init->site_cas,
                   "SITE=CAFILE: a site and its CA certificate (the site's ca.crt, never ca.key); "
                   "repeat once per site")
      ->required();
  init_cmd
      ->add_option("--node", init->voters,
                   "ID=SITE/NAME@HOST:PORT: a genesis voter, e.g. 1=site-a/n1@10.0.0.1:7101; "
                   "repeat once per node. ID is the node's permanent consensus id (from 1, "
                   "never reused)")
      ->required();
  init_cmd->add_option("--spare", init->spares,
                       "ID=SITE/NAME@HOST:PORT: a node that is not a voter at genesis; add it "
                       "later with 'member add-learner' and 'member promote'");
  init_cmd
      ->add_option("--retention-days", init->retention_days,
                   "Days deleted mail stays in each account's retention vault")
      ->default_str("30")
      ->check(CLI::Range(1, 36500))
      ->each([init](const std::string&) { init->retention_days_given = true; });
  init_cmd->add_option("--retention", init->retention,
                       "Vault retention R as a duration, e.g. 720h (instead of --retention-days)");
  init_cmd->add_option("--required-sites", init->required_sites,
                       "M: sites whose approval an irreversible action needs (default 2, or "
                       "the number of sites if fewer)");
  init_cmd->add_option("--delay", init->delay,
                       "T: wait between approval and execution, e.g. 72h (default 72h)");
  init_cmd->add_option("--proposal-ttl", init->proposal_ttl,
                       "How long a proposal may wait for approvals, e.g. 168h (default 168h)");
  init_cmd->add_option("--checkpoint-every", init->checkpoint_every,
                       "Sites sign state digests at multiples of this log index (default 10000)");
  init_cmd->add_option("--name", init->cluster_name, "Cluster name")->default_str("quorumbox");
  init_cmd->add_flag("--force", init->force, "Replace an existing --out file");
  init_cmd->callback([runner, init] { runner->Select([init] { return RunClusterInit(*init); }); });
}

}  // namespace qbox::ctl

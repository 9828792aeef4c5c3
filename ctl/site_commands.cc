// CLI wiring for `qboxctl site ...`; the work is in site_init.cc,
// site_issue.cc and site_show.cc.
#include "ctl/site_commands.h"

#include <CLI/CLI.hpp>
#include <memory>

namespace qbox::ctl {

void AddSiteCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* site = root->add_subcommand(
      "site", "A site's own credentials: its CA and the certificates it issues");

  auto init = std::make_shared<SiteInitOptions>();
  CLI::App* init_cmd = site->add_subcommand(
      "init",
      "Create a new site CA and certificates in a new directory. Run it once per site, on that "
      "site's own machine: nothing is shared between sites.");
  init_cmd->add_option("SITE", init->site, "Site name, e.g. site-a ([a-z0-9][a-z0-9-]{0,62})")
      ->required();
  init_cmd->add_option("--out", init->out_dir, "Directory to create (must not exist or be empty)")
      ->required();
  init_cmd
      ->add_option("--node", init->nodes,
                   "Node names to issue certificates for (n1,n2 or repeated)")
      ->delimiter(',');
  init_cmd->add_option("--admin", init->admins, "Admin names to issue certificates for")
      ->delimiter(',');
  init_cmd->add_option("--frontend", init->frontends, "Front-end names to issue certificates for")
      ->delimiter(',');
  init_cmd
      ->add_option("--node-host", init->node_hosts,
                   "Host name or IP put into every node certificate (repeatable; default: "
                   "localhost and 127.0.0.1)")
      ->delimiter(',');
  init_cmd->add_flag("--force", init->force,
                     "Replace a non-empty --out; the old directory is moved to "
                     "DIR.replaced-<time>, never deleted");
  init_cmd->callback([runner, init] { runner->Select([init] { return RunSiteInit(*init); }); });

  auto issue = std::make_shared<SiteIssueOptions>();
  CLI::App* issue_cmd =
      site->add_subcommand("issue", "Issue one more certificate from a site's CA");
  issue_cmd->add_option("NAME", issue->name, "Name of the node, admin or front end")->required();
  issue_cmd->add_option("--site-dir", issue->site_dir, "The site's credential directory")
      ->required();
  issue_cmd->add_option("--role", issue->role, "node, frontend or admin")->required();
  issue_cmd
      ->add_option("--host", issue->hosts,
                   "Host name or IP for the certificate (repeatable; nodes default to "
                   "localhost and 127.0.0.1)")
      ->delimiter(',');
  issue_cmd->add_option("--days", issue->validity_days, "Validity in days")
      ->default_str("365")
      ->check(CLI::Range(1, 3650));
  issue_cmd->add_flag("--force", issue->force, "Replace an existing certificate of that name");
  issue_cmd->callback(
      [runner, issue] { runner->Select([issue] { return RunSiteIssue(*issue); }); });

  auto show = std::make_shared<SiteShowOptions>();
  CLI::App* show_cmd =
      site->add_subcommand("show", "Show what a credential directory holds and when it expires");
  show_cmd->add_option("--site-dir", show->site_dir, "The site's credential directory")->required();
  AddOutputFlag(show_cmd, &show->format);
  show_cmd->callback([runner, show] { runner->Select([show] { return RunSiteShow(*show); }); });
}

}  // namespace qbox::ctl

// CLI wiring for the guard's commands; the work is in charter_show.cc,
// proposal_submit.cc, proposal_read.cc, proposal_endorse.cc,
// audit_commands.cc and checkpoints_show.cc.
#include "ctl/charter_commands.h"

#include <CLI/CLI.hpp>
#include <memory>

#include "absl/strings/str_join.h"

namespace qbox::ctl {
namespace {

void AddReadFlags(CLI::App* command, ReadCommandOptions* options) {
  AddConnectionFlags(command, &options->connection);
  AddOutputFlag(command, &options->format);
}

void AddProposeCommand(CLI::App* root, CommandRunner* runner) {
  auto propose = std::make_shared<ProposeOptions>();
  CLI::App* cmd = root->add_subcommand(
      "propose",
      "Propose an irreversible action, signed with your admin key. It runs only after M sites "
      "approved (yours counts), T passed, and no site vetoed");
  cmd->add_option("KIND", propose->action.kind, "One of: " + absl::StrJoin(ProposalKinds(), ", "))
      ->required();
  ProposeActionFlags& a = propose->action;
  cmd->add_option("--account", a.account, "purge-vault, delete-account: the account");
  cmd->add_option("--retention", a.retention, "set-retention: new R, e.g. 720h");
  cmd->add_option("--delay", a.delay, "set-delay: new T, e.g. 72h (0s allowed)");
  cmd->add_option("--sites", a.sites, "set-required-sites: new M, e.g. 2");
  cmd->add_option("--ttl", a.ttl, "set-proposal-ttl: new proposal lifetime, e.g. 168h");
  cmd->add_option("--node", a.node, "remove-node: SITE/NAME, e.g. site-b/n2");
  cmd->add_option("--site", a.site, "remove-site, add-site, replace-site-ca: the site");
  cmd->add_option("--ca-cert", a.ca_cert,
                  "add-site, replace-site-ca: the site's (new) CA certificate file");
  cmd->add_option("--reason", propose->reason,
                  "Why, for the other sites' admins (at most 1024 bytes)")
      ->required();
  AddConnectionFlags(cmd, &propose->connection);
  AddOutputFlag(cmd, &propose->format);
  cmd->callback([runner, propose] { runner->Select([propose] { return RunPropose(*propose); }); });
}

void AddProposalsCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* proposals = root->add_subcommand("proposals",
                                             "Proposals for irreversible actions: list, show, "
                                             "approve, veto");

  auto list = std::make_shared<ProposalListOptions>();
  CLI::App* list_cmd = proposals->add_subcommand("list", "Open proposals, oldest first");
  list_cmd->add_flag("--all", list->all, "Also executed, vetoed, expired and failed ones");
  AddReadFlags(list_cmd, &list->read);
  list_cmd->callback([runner, list] { runner->Select([list] { return RunProposalList(*list); }); });

  auto show = std::make_shared<ProposalShowOptions>();
  CLI::App* show_cmd = proposals->add_subcommand(
      "show", "Everything about one proposal: signers, approved sites, delay, outcome");
  show_cmd->add_option("ID", show->id, "Proposal id (32 hex characters)")->required();
  AddReadFlags(show_cmd, &show->read);
  show_cmd->callback([runner, show] { runner->Select([show] { return RunProposalShow(*show); }); });

  auto approve = std::make_shared<EndorseOptions>();
  CLI::App* approve_cmd = proposals->add_subcommand(
      "approve", "Approve a proposal for your site, signed with your admin key");
  approve_cmd->add_option("ID", approve->id, "Proposal id")->required();
  approve_cmd->add_option("--comment", approve->comment, "Note for the record (<= 1024 bytes)");
  AddConnectionFlags(approve_cmd, &approve->connection);
  AddOutputFlag(approve_cmd, &approve->format);
  approve_cmd->callback(
      [runner, approve] { runner->Select([approve] { return RunEndorse(*approve); }); });

  auto veto = std::make_shared<EndorseOptions>();
  veto->veto = true;
  CLI::App* veto_cmd = proposals->add_subcommand(
      "veto", "Veto a proposal for good (any one site may), signed with your admin key");
  veto_cmd->add_option("ID", veto->id, "Proposal id")->required();
  veto_cmd->add_option("--comment", veto->comment, "Why (required, <= 1024 bytes)")->required();
  AddConnectionFlags(veto_cmd, &veto->connection);
  AddOutputFlag(veto_cmd, &veto->format);
  veto_cmd->callback([runner, veto] { runner->Select([veto] { return RunEndorse(*veto); }); });
}

void AddAuditCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* audit = root->add_subcommand("audit", "The hash-chained audit log (G5)");

  auto verify = std::make_shared<ReadCommandOptions>();
  CLI::App* verify_cmd = audit->add_subcommand(
      "verify",
      "Recompute the chain and verify every signature in it against every CA the charter ever "
      "had. Prints OK or BROKEN at the first problem (exit 1)");
  AddReadFlags(verify_cmd, verify.get());
  verify_cmd->callback(
      [runner, verify] { runner->Select([verify] { return RunAuditVerify(*verify); }); });

  auto log = std::make_shared<AuditLogOptions>();
  CLI::App* log_cmd =
      audit->add_subcommand("log", "Print the audit log: seq, log index, actor, kind, detail");
  log_cmd->add_option("--from", log->from_seq, "First record (seq) to print")->default_str("1");
  AddReadFlags(log_cmd, &log->read);
  log_cmd->callback([runner, log] { runner->Select([log] { return RunAuditLog(*log); }); });
}

}  // namespace

void AddCharterCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* charter =
      root->add_subcommand("charter", "The cluster's trust configuration as replicated state");
  auto show = std::make_shared<ReadCommandOptions>();
  CLI::App* show_cmd = charter->add_subcommand(
      "show", "Sites and their CAs, nodes, M of N, T, R, proposal lifetime, version");
  AddReadFlags(show_cmd, show.get());
  show_cmd->callback([runner, show] { runner->Select([show] { return RunCharterShow(*show); }); });

  AddProposeCommand(root, runner);
  AddProposalsCommands(root, runner);
  AddAuditCommands(root, runner);

  auto checkpoints = std::make_shared<CheckpointsOptions>();
  CLI::App* checkpoints_cmd = root->add_subcommand(
      "checkpoints", "Signed state digests per log index and site; mismatches are flagged");
  checkpoints_cmd->add_option("--from", checkpoints->min_index, "Lowest log index to show");
  AddReadFlags(checkpoints_cmd, &checkpoints->read);
  checkpoints_cmd->callback([runner, checkpoints] {
    runner->Select([checkpoints] { return RunCheckpoints(*checkpoints); });
  });
}

}  // namespace qbox::ctl

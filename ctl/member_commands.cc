// CLI wiring for `qboxctl member ...` and `qboxctl leader ...`; the work is
// in member_list.cc, member_change.cc and leader_transfer.cc.
#include "ctl/member_commands.h"

#include <CLI/CLI.hpp>
#include <memory>

namespace qbox::ctl {
namespace {

void AddMemberChange(CLI::App* member, CommandRunner* runner, const std::string& verb,
                     MemberChangeOptions::Change change, const std::string& description) {
  auto options = std::make_shared<MemberChangeOptions>();
  options->change = change;
  CLI::App* cmd = member->add_subcommand(verb, description);
  cmd->add_option("NODE", options->node, "The node as SITE/NAME, e.g. site-a/n2")->required();
  if (change == MemberChangeOptions::Change::kAddLearner) {
    cmd->add_option("--address", options->address,
                    "HOST:PORT peers reach it at; must match the cluster configuration "
                    "(default: the configuration's)");
  }
  AddConnectionFlags(cmd, &options->connection);
  cmd->callback(
      [runner, options] { runner->Select([options] { return RunMemberChange(*options); }); });
}

}  // namespace

void AddMemberCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* member =
      root->add_subcommand("member", "The consensus group's members: voters and learners");

  auto list = std::make_shared<ReadCommandOptions>();
  CLI::App* list_cmd = member->add_subcommand("list", "List the voters and learners");
  AddConnectionFlags(list_cmd, &list->connection);
  AddOutputFlag(list_cmd, &list->format);
  list_cmd->callback([runner, list] { runner->Select([list] { return RunMemberList(*list); }); });

  AddMemberChange(member, runner, "add-learner", MemberChangeOptions::Change::kAddLearner,
                  "Add a node of the cluster configuration as a non-voting learner; it catches "
                  "up before it can be promoted");
  AddMemberChange(member, runner, "promote", MemberChangeOptions::Change::kPromote,
                  "Make a caught-up learner a voter");
  AddMemberChange(member, runner, "remove", MemberChangeOptions::Change::kRemove,
                  "Remove a voter or learner from the consensus group");

  CLI::App* leader = root->add_subcommand("leader", "The consensus group's leadership");
  auto transfer = std::make_shared<LeaderTransferOptions>();
  CLI::App* transfer_cmd = leader->add_subcommand(
      "transfer", "Hand leadership to another voter and wait until it has taken over");
  transfer_cmd->add_option("NODE", transfer->target, "The new leader as SITE/NAME")->required();
  AddConnectionFlags(transfer_cmd, &transfer->connection);
  transfer_cmd->callback(
      [runner, transfer] { runner->Select([transfer] { return RunLeaderTransfer(*transfer); }); });
}

}  // namespace qbox::ctl

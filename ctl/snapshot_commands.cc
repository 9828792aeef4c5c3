// CLI wiring for `qboxctl snapshot ...`; the work is in snapshot_save.cc,
// snapshot_verify.cc and snapshot_restore.cc.
#include "ctl/snapshot_commands.h"

#include <CLI/CLI.hpp>
#include <memory>

namespace qbox::ctl {

void AddSnapshotCommands(CLI::App* root, CommandRunner* runner) {
  CLI::App* snapshot = root->add_subcommand(
      "snapshot", "Backups of all mailbox data: save from a node, verify and restore offline");

  auto save = std::make_shared<SnapshotSaveOptions>();
  // A whole backup streams in one call: give it longer than a status call.
  save->connection.default_timeout = "10m";
  CLI::App* save_cmd = snapshot->add_subcommand(
      "save",
      "Stream a consistent backup from a node into FILE, ending in a manifest with the log "
      "index, its term and hash-chain value, the membership and digests of the contents");
  save_cmd->add_option("FILE", save->file, "Where to write the backup (via FILE.tmp)")->required();
  save_cmd->add_flag("--force", save->force, "Replace FILE if it exists");
  AddConnectionFlags(save_cmd, &save->connection);
  save_cmd->get_option("--timeout")
      ->description("Deadline of the whole transfer, e.g. 30s or 1h")
      ->default_str("10m");
  AddOutputFlag(save_cmd, &save->format);
  save_cmd->callback([runner, save] { runner->Select([save] { return RunSnapshotSave(*save); }); });

  auto verify = std::make_shared<SnapshotVerifyOptions>();
  CLI::App* verify_cmd = snapshot->add_subcommand(
      "verify",
      "Check FILE offline: structure, checksums, and that its data opens as a mailbox state "
      "whose digest is the manifest's. Prints OK or the first problem");
  verify_cmd->add_option("FILE", verify->file, "The backup to check")->required();
  AddOutputFlag(verify_cmd, &verify->format);
  verify_cmd->callback(
      [runner, verify] { runner->Select([verify] { return RunSnapshotVerify(*verify); }); });

  auto restore = std::make_shared<SnapshotRestoreOptions>();
  CLI::App* restore_cmd = snapshot->add_subcommand(
      "restore",
      "Prepare a node data directory from FILE offline (verifies FILE first); start qbox-node "
      "with --data-dir DIR afterwards");
  restore_cmd->add_option("FILE", restore->file, "The backup to restore")->required();
  restore_cmd
      ->add_option("--data-dir", restore->data_dir,
                   "The node data directory to create; must not exist or be empty")
      ->required();
  restore_cmd->callback(
      [runner, restore] { runner->Select([restore] { return RunSnapshotRestore(*restore); }); });
}

}  // namespace qbox::ctl

// `qboxctl snapshot ...`: backups of all mailbox data (issue 4).
//
//   qboxctl snapshot save FILE [connection flags] [--force] [-o table|json]
//   qboxctl snapshot verify FILE [-o table|json]
//   qboxctl snapshot restore FILE --data-dir DIR
//
// `save` streams a consistent snapshot from a node into FILE (format in
// snapshot_file.h and ctl/README.md); `verify` and `restore` are offline.
#ifndef QBOX_CTL_SNAPSHOT_COMMANDS_H_
#define QBOX_CTL_SNAPSHOT_COMMANDS_H_

#include <string>

#include "absl/status/status.h"
#include "ctl/command_runner.h"
#include "ctl/connection_flags.h"
#include "ctl/output_format.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

// Registers the `snapshot` noun and its verbs on `root`.
void AddSnapshotCommands(CLI::App* root, CommandRunner* runner);

struct SnapshotSaveOptions {
  std::string file;
  bool force = false;  // replace an existing FILE
  ConnectionFlags connection;
  OutputFormat format = OutputFormat::kTable;
};
// Streams a snapshot from whichever node answers into FILE (via FILE.tmp,
// fsync'd and renamed), with progress on a terminal in table mode.
// ALREADY_EXISTS if FILE exists without --force; connection errors as
// ResolveConnection / ExplainCallError; DATA_LOSS if what arrived does not
// match the node's manifest. FILE is untouched on any error.
absl::Status RunSnapshotSave(const SnapshotSaveOptions& options);

struct SnapshotVerifyOptions {
  std::string file;
  OutputFormat format = OutputFormat::kTable;
};
// Checks FILE offline: its structure and checksums (snapshot_file.h), then
// that its data opens as a state machine whose index and digest are the
// manifest's (snapshot_state.h). Prints OK and the manifest; otherwise
// returns the first problem (DATA_LOSS "FILE: byte N: ...", or NOT_FOUND /
// PERMISSION_DENIED naming FILE). Writes only to a temporary directory.
absl::Status RunSnapshotVerify(const SnapshotVerifyOptions& options);

struct SnapshotRestoreOptions {
  std::string file;
  std::string data_dir;
};
// Prepares DIR so that `qbox-node --data-dir DIR` starts with exactly the
// snapshot's state: DIR/mailbox holds the restored state machine, DIR/raft
// a log whose snapshot is the backup (index, term, chain, membership) with
// commit = that index. FAILED_PRECONDITION naming --data-dir if DIR exists
// and is not an empty directory (nothing is written); FILE is verified as
// by RunSnapshotVerify first. On any error, what was written is removed.
absl::Status RunSnapshotRestore(const SnapshotRestoreOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_SNAPSHOT_COMMANDS_H_

// The deepest check of a backup: its data opened as a real mailbox state
// machine, whose own checksum, applied index and Digest() must agree with
// the manifest. `snapshot verify` does this in a temporary directory;
// `snapshot restore` does it in the node's future mailbox directory.
#ifndef QBOX_CTL_SNAPSHOT_STATE_H_
#define QBOX_CTL_SNAPSHOT_STATE_H_

#include <string>

#include "absl/status/status.h"
#include "qbox/v1/admin.pb.h"

namespace qbox::ctl {

// Creates a state machine in `mailbox_dir` (which must not hold one), fills
// it from the state machine snapshot file `data_path` (RestoreSnapshot
// verifies that file's own trailing SHA-256), and compares its applied
// index and Digest() with `manifest`. DATA_LOSS naming `source` (the
// backup file, for messages) if they differ or the data is damaged; the
// directory is left as it is for the caller to remove.
absl::Status RestoreAndCheckState(const std::string& data_path, const std::string& mailbox_dir,
                                  const v1::SnapshotManifest& manifest, const std::string& source);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_SNAPSHOT_STATE_H_

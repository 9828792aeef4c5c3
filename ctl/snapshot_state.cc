#include "ctl/snapshot_state.h"

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "ctl/snapshot_sha256.h"
#include "node/mailbox/state_machine.h"

namespace qbox::ctl {

absl::Status RestoreAndCheckState(const std::string& data_path, const std::string& mailbox_dir,
                                  const v1::SnapshotManifest& manifest, const std::string& source) {
  mailbox::MailboxStateMachine::Options options;
  // Vault records get the restoring clock (G3): retention counts from the
  // restore, as for any snapshot install.
  options.local_clock_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto machine = mailbox::MailboxStateMachine::Open(mailbox_dir, options);
  if (!machine.ok()) return machine.status();
  absl::Status restored = (*machine)->RestoreSnapshot(data_path);
  if (!restored.ok()) {
    return absl::DataLossError(absl::StrCat(source,
                                            ": the state machine snapshot inside is "
                                            "damaged: ",
                                            restored.message()));
  }
  if ((*machine)->applied_index() != manifest.log_index()) {
    return absl::DataLossError(
        absl::StrCat(source, ": the state machine snapshot inside is at index ",
                     (*machine)->applied_index(), ", the manifest says ", manifest.log_index()));
  }
  auto digest = (*machine)->Digest();
  if (!digest.ok()) return digest.status();
  const std::string actual(reinterpret_cast<const char*>(digest->data()), digest->size());
  if (actual != manifest.state_digest()) {
    return absl::DataLossError(absl::StrCat(source, ": the restored state's digest ", ToHex(actual),
                                            " differs from the manifest's ",
                                            ToHex(manifest.state_digest())));
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

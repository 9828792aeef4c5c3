// A backup of this node's mailbox state for an operator (Admin.SaveSnapshot,
// `qboxctl snapshot save`): a state machine snapshot in a scratch file, and
// the manifest that says what it is — the log index it includes, that
// entry's term and hash-chain value, the membership there, and digests of
// the data and of the replicated state — so that `snapshot verify` can
// check it offline and `snapshot restore` can seed a data directory.
//
// The caller makes the export linearizable first (a read barrier): the
// snapshot then includes everything committed when the operator asked.
//
// Thread-safety: an ExportedSnapshot is used by one thread; any number may
// exist at once (each has its own scratch file).
#ifndef QBOX_NODE_SERVER_SNAPSHOT_EXPORT_H_
#define QBOX_NODE_SERVER_SNAPSHOT_EXPORT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "node/server/service_context.h"
#include "qbox/v1/admin.pb.h"

namespace qbox::server {

class ExportedSnapshot {
 public:
  // Writes a state machine snapshot of ctx.mailbox into a new scratch file
  // in `scratch_dir` and fills in the manifest (all but data_bytes and
  // data_sha256, which Stream computes). The state digest is of exactly the
  // state in the file. Needs ctx.mailbox, ctx.log and ctx.runtime.
  // Errors: UNAVAILABLE when the log no longer holds the snapshot's entry
  // (a snapshot from the leader replaced it meanwhile: retry);
  // DEADLINE_EXCEEDED at `deadline`; storage errors (naming the path)
  // otherwise. Nothing is left behind on error.
  static absl::StatusOr<std::unique_ptr<ExportedSnapshot>> Write(const ServiceContext& ctx,
                                                                 const std::string& scratch_dir,
                                                                 absl::Time deadline);

  // Removes the scratch file.
  ~ExportedSnapshot();
  ExportedSnapshot(const ExportedSnapshot&) = delete;
  ExportedSnapshot& operator=(const ExportedSnapshot&) = delete;

  // Reads the file from the start in pieces of at most `chunk_bytes` and
  // hands each to `send`, in order. Returns the complete manifest (with the
  // size and SHA-256 of what was sent). CANCELLED if `send` returns false
  // (the receiver went away); DATA_LOSS naming the path if the file cannot
  // be read.
  absl::StatusOr<v1::SnapshotManifest> Stream(size_t chunk_bytes,
                                              const std::function<bool(std::string)>& send) const;

  uint64_t log_index() const { return manifest_.log_index(); }
  const std::string& path() const { return path_; }

 private:
  ExportedSnapshot(std::string path, v1::SnapshotManifest manifest)
      : path_(std::move(path)), manifest_(std::move(manifest)) {}

  std::string path_;
  v1::SnapshotManifest manifest_;  // without data_bytes / data_sha256
};

// Where a node keeps its export scratch files: the parent of its mailbox
// directory (the node's --data-dir), or "." when that has no parent.
std::string SnapshotScratchDir(const ServiceContext& ctx);

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_SNAPSHOT_EXPORT_H_

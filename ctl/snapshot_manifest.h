// The manifest of a backup file (snapshot_file.h) as JSON, the form it has
// inside the file and in `-o json` output:
//
//   { "cluster": "prod",
//     "log_index": N, "log_term": N,
//     "chain": "64 hex digits: hash-chain value of the entry at log_index",
//     "members": [ {"id": N, "node": "site-a/n1", "voter": true} ],
//     "data_bytes": N, "data_sha256": "64 hex digits",
//     "state_digest": "64 hex digits: the state machine's Digest()",
//     "node": "site-a/n1" (the node that produced it),
//     "created_at": "RFC 3339 UTC", "created_at_ms": N }
#ifndef QBOX_CTL_SNAPSHOT_MANIFEST_H_
#define QBOX_CTL_SNAPSHOT_MANIFEST_H_

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "qbox/v1/admin.pb.h"

namespace qbox::ctl {

nlohmann::json ManifestToJson(const v1::SnapshotManifest& manifest);

// Parses the JSON above. INVALID_ARGUMENT naming the field that is missing,
// of the wrong type or (for the hex fields) not 64 hex digits.
absl::StatusOr<v1::SnapshotManifest> ManifestFromJson(const std::string& text);

// "  log index   1234" lines for people.
void PrintManifest(std::ostream& out, const v1::SnapshotManifest& manifest);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_SNAPSHOT_MANIFEST_H_

// The storage interface behind the consensus core, in the style of
// LogCabin's Storage/Log.h: MemoryLogStorage (memory_log_storage.h) serves
// unit tests and the simulation, RocksDbLogStorage (node/storage/) serves the
// node. The core only reads through it; the runtime writes what the core's
// Ready asks it to persist, then calls Raft::Advance.
//
// Index conventions: the log holds entries [FirstIndex(), LastIndex()].
// Entries at or below the snapshot index have been compacted away; the
// snapshot's (index, term, chain) stands in for the entry at FirstIndex()-1.
// An empty log with no snapshot has FirstIndex() == 1, LastIndex() == 0.
//
// Thread-safety: implementations must allow the core's reads to run
// concurrently with the runtime's writes of *later* entries (the leader
// appends to its own log while it keeps stepping). Both implementations here
// guard their state with a mutex.
#ifndef QBOX_NODE_RAFT_LOG_STORAGE_H_
#define QBOX_NODE_RAFT_LOG_STORAGE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/raft/types.h"

namespace qbox::raft {

// What a node finds in its storage when it starts.
struct InitialState {
  HardState hard_state;
  SnapshotMeta snapshot;  // index 0 if there is no snapshot
  // True when the storage held nothing at all: no hard state, no entries, no
  // snapshot. A node that is listed as a voter but starts empty has lost its
  // disk and must rejoin as a non-voter (DESIGN.md G4).
  bool empty = true;
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  // ---- Read side (the core) ----

  // Reads what was persisted. Fails with DATA_LOSS naming the path and index
  // if a record is torn or corrupt.
  virtual absl::StatusOr<InitialState> LoadInitialState() = 0;

  virtual uint64_t FirstIndex() const = 0;
  virtual uint64_t LastIndex() const = 0;

  // Term of the entry at `index`, for index in [FirstIndex()-1, LastIndex()]
  // (FirstIndex()-1 answers from the snapshot; 0 answers 0). OUT_OF_RANGE
  // outside that range; DATA_LOSS if the record is corrupt.
  virtual absl::StatusOr<uint64_t> Term(uint64_t index) const = 0;

  // Chain value of the entry at `index`, same range and errors as Term().
  virtual absl::StatusOr<ChainHash> Chain(uint64_t index) const = 0;

  // Entries [lo, hi), at least one if lo < hi, then as many as fit in
  // `max_bytes` (by Entry::ByteSize()). OUT_OF_RANGE if lo < FirstIndex() or
  // hi > LastIndex()+1.
  virtual absl::StatusOr<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi,
                                                     uint64_t max_bytes) const = 0;

  // The current snapshot's metadata (index 0 if none).
  virtual SnapshotMeta Snapshot() const = 0;

  // Up to `max_len` bytes of the current snapshot's data from `offset`.
  // FAILED_PRECONDITION if the current snapshot has no data (it is held by
  // the state machine).
  virtual absl::StatusOr<std::string> ReadSnapshotChunk(uint64_t offset,
                                                        uint64_t max_len) const = 0;

  // ---- Size (the runtime, not the core) ----

  // Roughly how many bytes of entry data (Entry::data, what --keep-log-bytes
  // counts) the entries [first, last] carry, found without reading them: a
  // runtime asks at start how much log it already keeps. last == first - 1
  // is an empty range and answers 0 (an empty log's [FirstIndex(),
  // LastIndex()] is one). INVALID_ARGUMENT if last < first - 1; OUT_OF_RANGE
  // if first < FirstIndex() or last > LastIndex().
  //
  // An estimate that may be too high or too low: MemoryLogStorage answers
  // exactly, RocksDbLogStorage from RocksDB's size estimates (see there). A
  // caller that decides from it what to delete must allow for the error on
  // the side of keeping.
  virtual absl::StatusOr<uint64_t> ApproximateEntryBytes(uint64_t first, uint64_t last) const = 0;

  // ---- Write side (the runtime) ----

  // Durably writes `entries` (contiguous, ascending) and, if set, the hard
  // state, as one atomic, synced batch. Existing entries at or after
  // entries.front().index are replaced. Fails with INVALID_ARGUMENT if the
  // entries would leave a gap or start at or below the snapshot index.
  virtual absl::Status Persist(const std::vector<Entry>& entries, const HardState* hard_state) = 0;

  // Writes one received chunk of an incoming snapshot to a staging area.
  // Offset 0 starts a new staging area. Synced.
  virtual absl::Status WriteSnapshotChunk(uint64_t offset, std::string_view data) = 0;

  // Makes the staged snapshot current: its metadata replaces the old
  // snapshot, and log entries at or below meta.index are discarded (all
  // entries, if the log's entry at meta.index does not match meta.term).
  // Fails with DATA_LOSS if the staged data's size or digest differ from meta.
  virtual absl::Status InstallStagedSnapshot(const SnapshotMeta& meta) = 0;

  // Records a snapshot the local state machine produced at meta.index, which
  // must be within the log. Entries are kept until Compact().
  virtual absl::Status SaveSnapshot(const SnapshotMeta& meta, std::string_view data) = 0;

  // SaveSnapshot with the data in the file at `path`, for snapshots too big
  // to hold in memory. The file must already be durable (fsync'd) and on the
  // storage's own file system: on success it is moved into the storage (the
  // name `path` is gone); on failure it stays where it is and nothing
  // changed. Writers (Persist above all) are not held up while it is hashed.
  virtual absl::Status SaveSnapshotFile(const SnapshotMeta& meta, const std::string& path) = 0;
  // The same for a file whose SHA-256 the caller computed over exactly the
  // bytes it wrote and made durable (the state machine does, in the pass
  // that writes it): a storage may take it instead of reading and hashing
  // a file of many GB again. By default the file is hashed anyway.
  virtual absl::Status SaveSnapshotFileHashed(const SnapshotMeta& meta, const std::string& path,
                                              const ChainHash& file_sha256) {
    (void)file_sha256;
    return SaveSnapshotFile(meta, path);
  }

  // Records that the local state machine holds the state at meta.index
  // durably: meta (with held_by_state_machine set, no data) becomes the
  // current snapshot, so the log can be compacted up to it without copying
  // the state, and the previous snapshot's data is dropped. Same checks on
  // meta.index and meta.term as SaveSnapshot. A follower that needs a
  // snapshot gets one only after a snapshot with data is saved again.
  virtual absl::Status SaveStateMachineSnapshot(const SnapshotMeta& meta) = 0;

  // Discards log entries at or below `up_to`, which must not exceed the
  // snapshot index (the snapshot stands in for them). Log compaction.
  virtual absl::Status Compact(uint64_t up_to) = 0;
};

}  // namespace qbox::raft

#endif  // QBOX_NODE_RAFT_LOG_STORAGE_H_

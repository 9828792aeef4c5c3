// How many bytes the log holds, estimated from RocksDB's own bookkeeping
// instead of by reading the entries.
#include "absl/strings/str_cat.h"
#include "node/storage/rocksdb_log_storage.h"

namespace qbox::storage {

absl::StatusOr<uint64_t> RocksDbLogStorage::ApproximateEntryBytes(uint64_t first,
                                                                  uint64_t last) const {
  {
    absl::ReaderMutexLock lock(&mu_);
    if (first > last && first - last != 1) {
      return absl::InvalidArgumentError(absl::StrCat("entry range [", first, ", ", last, "] of ",
                                                     data_dir_, ": first is after last + 1"));
    }
    const uint64_t log_first = log_start_.index + 1;
    if (first < log_first || last > last_index_) {
      return absl::OutOfRangeError(absl::StrCat("entries [", first, ", ", last,
                                                "] are outside the log [", log_first, ", ",
                                                last_index_, "] in ", data_dir_));
    }
  }
  if (first > last) return 0;
  const std::string start = LogKey(first);
  const std::string limit = LogKey(last + 1);
  const rocksdb::Range range(start, limit);
  // Files only: see the header for why memtables are left out.
  rocksdb::SizeApproximationOptions options;
  options.include_memtables = false;
  options.include_files = true;
  uint64_t stored = 0;
  rocksdb::Status estimated = db_->GetApproximateSizes(options, log_cf_, &range, 1, &stored);
  if (!estimated.ok()) return FromRocks(estimated, "estimating the size of raft log entries");
  const uint64_t framing = (last - first + 1) * kStoredBytesPerEntry;
  return stored > framing ? stored - framing : 0;
}

}  // namespace qbox::storage

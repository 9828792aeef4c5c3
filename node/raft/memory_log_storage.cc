#include "node/raft/memory_log_storage.h"

#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "node/common/sha256.h"
#include "node/common/status_macros.h"

namespace qbox::raft {

ChainHash Sha256(std::string_view data) {
  ChainHash out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, qbox::Sha256Md(), nullptr);
  return out;
}

absl::StatusOr<InitialState> MemoryLogStorage::LoadInitialState() {
  absl::MutexLock lock(&mu_);
  InitialState state;
  state.hard_state = hard_state_;
  state.snapshot = snapshot_;
  state.empty = !written_;
  return state;
}

uint64_t MemoryLogStorage::FirstIndexLocked() const { return first_index_; }
uint64_t MemoryLogStorage::LastIndexLocked() const { return first_index_ + entries_.size() - 1; }

uint64_t MemoryLogStorage::FirstIndex() const {
  absl::MutexLock lock(&mu_);
  return FirstIndexLocked();
}

uint64_t MemoryLogStorage::LastIndex() const {
  absl::MutexLock lock(&mu_);
  return LastIndexLocked();
}

absl::StatusOr<const Entry*> MemoryLogStorage::EntryAtLocked(uint64_t index) const {
  if (index < first_index_ || index > LastIndexLocked()) {
    return absl::OutOfRangeError(absl::StrCat("index ", index, " is outside the log [",
                                              first_index_, ", ", LastIndexLocked(), "]"));
  }
  return &entries_[index - first_index_];
}

absl::StatusOr<uint64_t> MemoryLogStorage::Term(uint64_t index) const {
  absl::MutexLock lock(&mu_);
  if (index == first_index_ - 1) return prev_term_;
  auto entry = EntryAtLocked(index);
  if (!entry.ok()) return entry.status();
  return (*entry)->term;
}

absl::StatusOr<ChainHash> MemoryLogStorage::Chain(uint64_t index) const {
  absl::MutexLock lock(&mu_);
  if (index == first_index_ - 1) return prev_chain_;
  auto entry = EntryAtLocked(index);
  if (!entry.ok()) return entry.status();
  return (*entry)->chain;
}

absl::StatusOr<std::vector<Entry>> MemoryLogStorage::Entries(uint64_t lo, uint64_t hi,
                                                             uint64_t max_bytes) const {
  absl::MutexLock lock(&mu_);
  if (lo < first_index_ || hi > LastIndexLocked() + 1 || lo > hi) {
    return absl::OutOfRangeError(absl::StrCat("entries [", lo, ", ", hi, ") are outside the log [",
                                              first_index_, ", ", LastIndexLocked(), "]"));
  }
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - first_index_];
    if (!out.empty() && bytes + e.ByteSize() > max_bytes) break;
    bytes += e.ByteSize();
    out.push_back(e);
  }
  return out;
}

SnapshotMeta MemoryLogStorage::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return snapshot_;
}

absl::StatusOr<std::string> MemoryLogStorage::ReadSnapshotChunk(uint64_t offset,
                                                                uint64_t max_len) const {
  absl::MutexLock lock(&mu_);
  if (snapshot_.held_by_state_machine) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the snapshot at index ", snapshot_.index, " has no data: the state machine holds it"));
  }
  if (offset > snapshot_data_.size()) {
    return absl::OutOfRangeError(absl::StrCat("snapshot offset ", offset, " beyond its size ",
                                              snapshot_data_.size()));
  }
  return snapshot_data_.substr(offset, max_len);
}

absl::StatusOr<uint64_t> MemoryLogStorage::ApproximateEntryBytes(uint64_t first,
                                                                 uint64_t last) const {
  absl::MutexLock lock(&mu_);
  if (first > last && first - last != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("entry range [", first, ", ", last, "]: first is after last + 1"));
  }
  if (first < first_index_ || last > LastIndexLocked()) {
    return absl::OutOfRangeError(absl::StrCat("entries [", first, ", ", last,
                                              "] are outside the log [", first_index_, ", ",
                                              LastIndexLocked(), "]"));
  }
  uint64_t bytes = 0;
  for (uint64_t i = first; i <= last; ++i) bytes += entries_[i - first_index_].data.size();
  return bytes;
}

absl::Status MemoryLogStorage::Persist(const std::vector<Entry>& entries,
                                       const HardState* hard_state) {
  absl::MutexLock lock(&mu_);
  if (!entries.empty()) {
    uint64_t start = entries.front().index;
    if (start <= snapshot_.index || start < first_index_) {
      return absl::InvalidArgumentError(absl::StrCat("entries start at ", start,
                                                     ", at or below the snapshot index ",
                                                     snapshot_.index));
    }
    if (start > LastIndexLocked() + 1) {
      return absl::InvalidArgumentError(absl::StrCat("entries start at ", start,
                                                     ", leaving a gap after the last index ",
                                                     LastIndexLocked()));
    }
    for (size_t i = 1; i < entries.size(); ++i) {
      if (entries[i].index != start + i) {
        return absl::InvalidArgumentError(absl::StrCat("entries are not contiguous at ",
                                                       entries[i].index));
      }
    }
    entries_.resize(start - first_index_);
    entries_.insert(entries_.end(), entries.begin(), entries.end());
  }
  if (hard_state != nullptr) hard_state_ = *hard_state;
  if (!entries.empty() || hard_state != nullptr) written_ = true;
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::WriteSnapshotChunk(uint64_t offset, std::string_view data) {
  absl::MutexLock lock(&mu_);
  if (offset == 0) staged_data_.clear();
  if (offset != staged_data_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot chunk at offset ", offset,
                                                   " does not follow the staged ",
                                                   staged_data_.size(), " bytes"));
  }
  staged_data_.append(data);
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::InstallStagedSnapshot(const SnapshotMeta& meta) {
  if (meta.held_by_state_machine) {
    return absl::InvalidArgumentError(
        "meta.held_by_state_machine: a received snapshot must carry its data");
  }
  absl::MutexLock lock(&mu_);
  if (staged_data_.size() != meta.data_size || Sha256(staged_data_) != meta.data_digest) {
    return absl::DataLossError(absl::StrCat("staged snapshot at index ", meta.index,
                                            " does not match its size or digest"));
  }
  bool keep_suffix = meta.index >= first_index_ && meta.index <= LastIndexLocked() &&
                     entries_[meta.index - first_index_].term == meta.term;
  if (keep_suffix) {
    entries_.erase(entries_.begin(), entries_.begin() + (meta.index - first_index_ + 1));
  } else {
    entries_.clear();
  }
  first_index_ = meta.index + 1;
  prev_term_ = meta.term;
  prev_chain_ = meta.chain;
  snapshot_ = meta;
  snapshot_data_ = std::move(staged_data_);
  staged_data_.clear();
  written_ = true;
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::SaveSnapshot(const SnapshotMeta& meta, std::string_view data) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckLocalSnapshotLocked(meta));
  snapshot_ = meta;
  snapshot_.held_by_state_machine = false;
  snapshot_.data_size = data.size();
  snapshot_.data_digest = Sha256(data);
  snapshot_data_ = std::string(data);
  written_ = true;
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::SaveStateMachineSnapshot(const SnapshotMeta& meta) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(CheckLocalSnapshotLocked(meta));
  snapshot_ = meta;
  snapshot_.held_by_state_machine = true;
  snapshot_.data_size = 0;
  snapshot_.data_digest = ChainHash{};
  snapshot_data_.clear();
  written_ = true;
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::CheckLocalSnapshotLocked(const SnapshotMeta& meta) const {
  if (meta.index < snapshot_.index) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot at ", meta.index,
                                                      " is older than the current one at ",
                                                      snapshot_.index));
  }
  if (meta.index > LastIndexLocked()) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot index ", meta.index,
                                                   " is beyond the last index ",
                                                   LastIndexLocked()));
  }
  // As RocksDbLogStorage: the snapshot must describe the entry the log has.
  if (meta.index > snapshot_.index) {
    absl::StatusOr<const Entry*> entry = EntryAtLocked(meta.index);
    if (entry.ok() && (*entry)->term != meta.term) {
      return absl::InvalidArgumentError(absl::StrCat("meta.term ", meta.term, " differs from term ",
                                                     (*entry)->term, " of the entry at index ",
                                                     meta.index));
    }
  }
  return absl::OkStatus();
}

absl::Status MemoryLogStorage::SaveSnapshotFile(const SnapshotMeta& meta, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("snapshot file ", path, ": cannot be opened"));
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("snapshot file ", path, ": read failed"));
  absl::Status saved = SaveSnapshot(meta, data.str());
  if (saved.ok()) std::remove(path.c_str());
  return saved;
}

absl::Status MemoryLogStorage::Compact(uint64_t up_to) {
  absl::MutexLock lock(&mu_);
  if (up_to > snapshot_.index) {
    return absl::FailedPreconditionError(absl::StrCat("cannot compact to ", up_to,
                                                      " beyond the snapshot index ",
                                                      snapshot_.index));
  }
  while (first_index_ <= up_to && !entries_.empty()) {
    prev_term_ = entries_.front().term;
    prev_chain_ = entries_.front().chain;
    entries_.pop_front();
    ++first_index_;
  }
  return absl::OkStatus();
}

std::string MemoryLogStorage::SnapshotData() const {
  absl::MutexLock lock(&mu_);
  return snapshot_data_;
}

}  // namespace qbox::raft

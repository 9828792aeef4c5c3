#include "node/raft/raft_log.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace qbox::raft {

RaftLog::RaftLog(LogStorage* storage) : storage_(storage) {}

void RaftLog::Init(const SnapshotMeta& snapshot, uint64_t commit) {
  snapshot_ = snapshot;
  unstable_offset_ = storage_->LastIndex() + 1;
  // The storage may have been compacted past the snapshot's index only by a
  // broken runtime; the snapshot always stands in for FirstIndex()-1.
  commit_ = std::max(commit, snapshot.index);
  applied_ = snapshot.index;
}

uint64_t RaftLog::FirstIndex() const {
  if (pending_snapshot_) return pending_snapshot_->index + 1;
  return storage_->FirstIndex();
}

uint64_t RaftLog::LastIndex() const {
  if (!unstable_.empty()) return unstable_.back().index;
  return unstable_offset_ - 1;
}

uint64_t RaftLog::LastTerm() const {
  auto term = Term(LastIndex());
  return term.ok() ? *term : 0;
}

absl::StatusOr<uint64_t> RaftLog::Term(uint64_t index) const {
  if (index >= unstable_offset_) {
    if (index - unstable_offset_ < unstable_.size()) return unstable_[index - unstable_offset_].term;
    return absl::OutOfRangeError(absl::StrCat("index ", index, " is beyond the last index ",
                                              LastIndex()));
  }
  if (pending_snapshot_) {
    if (index == pending_snapshot_->index) return pending_snapshot_->term;
    return absl::OutOfRangeError(absl::StrCat("index ", index, " is below the pending snapshot"));
  }
  if (index == snapshot_.index) return snapshot_.term;
  return storage_->Term(index);
}

absl::StatusOr<ChainHash> RaftLog::Chain(uint64_t index) const {
  if (index >= unstable_offset_) {
    if (index - unstable_offset_ < unstable_.size()) return unstable_[index - unstable_offset_].chain;
    return absl::OutOfRangeError(absl::StrCat("index ", index, " is beyond the last index ",
                                              LastIndex()));
  }
  if (pending_snapshot_) {
    if (index == pending_snapshot_->index) return pending_snapshot_->chain;
    return absl::OutOfRangeError(absl::StrCat("index ", index, " is below the pending snapshot"));
  }
  if (index == snapshot_.index) return snapshot_.chain;
  return storage_->Chain(index);
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  auto t = Term(index);
  return t.ok() && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t last_index, uint64_t last_term) const {
  uint64_t my_term = LastTerm();
  return last_term > my_term || (last_term == my_term && last_index >= LastIndex());
}

absl::StatusOr<std::vector<Entry>> RaftLog::Slice(uint64_t lo, uint64_t hi,
                                                  uint64_t max_bytes) const {
  if (lo < FirstIndex() || hi > LastIndex() + 1 || lo > hi) {
    return absl::OutOfRangeError(absl::StrCat("entries [", lo, ", ", hi,
                                              ") are outside the log [", FirstIndex(), ", ",
                                              LastIndex(), "]"));
  }
  std::vector<Entry> out;
  uint64_t bytes = 0;
  if (lo < unstable_offset_) {
    auto stored = storage_->Entries(lo, std::min(hi, unstable_offset_), max_bytes);
    if (!stored.ok()) return stored.status();
    out = std::move(*stored);
    for (const Entry& e : out) bytes += e.ByteSize();
    if (out.empty() || out.back().index + 1 < std::min(hi, unstable_offset_)) return out;
  }
  for (uint64_t i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const Entry& e = unstable_[i - unstable_offset_];
    if (!out.empty() && bytes + e.ByteSize() > max_bytes) break;
    bytes += e.ByteSize();
    out.push_back(e);
  }
  return out;
}

void RaftLog::Append(std::vector<Entry> entries) {
  if (entries.empty()) return;
  uint64_t start = entries.front().index;
  if (start >= unstable_offset_) {
    unstable_.resize(start - unstable_offset_);
  } else {
    // Replaces a stored suffix; Persist() overwrites it on disk.
    unstable_.clear();
    unstable_offset_ = start;
  }
  for (Entry& e : entries) unstable_.push_back(std::move(e));
}

uint64_t RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  index = std::min(index, LastIndex());
  while (index > 0) {
    auto t = Term(index);
    if (!t.ok() || *t <= term) break;
    --index;
  }
  return index;
}

void RaftLog::CommitTo(uint64_t index) {
  if (index > commit_) commit_ = std::min(index, LastIndex());
}

bool RaftLog::HasCommittedToHandOut() const {
  return !pending_snapshot_ && commit_ > applied_;
}

std::vector<Entry> RaftLog::TakeCommitted(uint64_t max_bytes) {
  if (!HasCommittedToHandOut()) return {};
  auto entries = Slice(applied_ + 1, commit_ + 1, max_bytes);
  if (!entries.ok() || entries->empty()) return {};
  applied_ = entries->back().index;
  return std::move(*entries);
}

void RaftLog::StableAll() {
  unstable_offset_ = LastIndex() + 1;
  unstable_.clear();
}

void RaftLog::RestoreSnapshot(const SnapshotMeta& meta) {
  pending_snapshot_ = meta;
  snapshot_ = meta;
  unstable_.clear();
  unstable_offset_ = meta.index + 1;
  commit_ = std::max(commit_, meta.index);
  applied_ = meta.index;
}

}  // namespace qbox::raft

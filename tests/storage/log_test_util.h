// Entry builders shared by the storage tests.
#ifndef QBOX_TESTS_STORAGE_LOG_TEST_UTIL_H_
#define QBOX_TESTS_STORAGE_LOG_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "node/raft/types.h"

namespace qbox::testing {

// `count` entries from index `first` in `term`, with payloads that name their
// index (so a mix-up is visible in a failure) and chain values computed from
// `prev_chain`. Types cycle through all three so the type byte round-trips.
inline std::vector<raft::Entry> MakeEntries(uint64_t first, uint64_t count, uint64_t term,
                                            raft::ChainHash prev_chain = {},
                                            size_t extra_bytes = 0) {
  std::vector<raft::Entry> entries;
  for (uint64_t index = first; index < first + count; ++index) {
    raft::Entry entry;
    entry.term = term;
    entry.index = index;
    entry.type = static_cast<raft::EntryType>(index % 3);
    entry.data = absl::StrCat("entry ", index, " of term ", term, std::string(extra_bytes, 'x'));
    entry.chain = raft::ComputeChain(prev_chain, entry.term, entry.index, entry.type, entry.data);
    prev_chain = entry.chain;
    entries.push_back(std::move(entry));
  }
  return entries;
}

inline bool SameEntry(const raft::Entry& a, const raft::Entry& b) {
  return a.term == b.term && a.index == b.index && a.type == b.type && a.data == b.data &&
         a.chain == b.chain;
}

}  // namespace qbox::testing

#endif  // QBOX_TESTS_STORAGE_LOG_TEST_UTIL_H_

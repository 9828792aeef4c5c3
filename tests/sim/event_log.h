// The last events of a simulated schedule, kept as human-readable lines in a
// ring buffer. When an invariant fails, the tail is what a person reads to see
// how the cluster got there; older events are dropped so that long schedules
// cost constant memory.
#ifndef QBOX_TESTS_SIM_EVENT_LOG_H_
#define QBOX_TESTS_SIM_EVENT_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace qbox::sim {

class EventLog {
 public:
  explicit EventLog(size_t capacity = 60) : ring_(capacity) {}

  // Records `line` as happening at simulated time `now_ms`.
  void Add(uint64_t now_ms, absl::string_view line) {
    ring_[total_ % ring_.size()] = absl::StrCat("t=", now_ms, " ", line);
    ++total_;
  }

  // The retained events, oldest first, one per line.
  std::string Tail() const {
    std::string out;
    size_t kept = total_ < ring_.size() ? total_ : ring_.size();
    for (uint64_t i = total_ - kept; i < total_; ++i) {
      absl::StrAppend(&out, "  ", ring_[i % ring_.size()], "\n");
    }
    return out;
  }

  uint64_t total() const { return total_; }

 private:
  std::vector<std::string> ring_;
  uint64_t total_ = 0;
};

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_EVENT_LOG_H_

// Names the calling thread, so that `top -H`, `ps -L`, perf and
// /proc/<pid>/task/*/comm tell an operator which part of a node uses the
// CPU (the apply thread, the consensus loop, a peer sender...). Linux
// keeps at most 15 bytes; longer names are cut. Failures are ignored:
// a name is a diagnostic aid, never needed for correctness.
#ifndef QBOX_NODE_COMMON_THREAD_NAME_H_
#define QBOX_NODE_COMMON_THREAD_NAME_H_

#include <pthread.h>

#include <string>

#include "absl/strings/string_view.h"

namespace qbox {

inline void NameThisThread(absl::string_view name) {
  const std::string cut(name.substr(0, 15));
  (void)pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace qbox

#endif  // QBOX_NODE_COMMON_THREAD_NAME_H_

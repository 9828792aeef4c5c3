// Lowers the calling thread's CPU priority, for background work (a
// snapshot's full pass over the store) that must not take the CPU from
// serving and replicating on a busy node. On Linux the nice value belongs
// to the thread (setpriority with its thread id); raising it needs no
// privilege, also in a container. Failures are ignored: priority is an
// optimisation, never needed for correctness.
#ifndef QBOX_NODE_COMMON_THREAD_PRIORITY_H_
#define QBOX_NODE_COMMON_THREAD_PRIORITY_H_

#include <sys/resource.h>
#include <unistd.h>

namespace qbox {

// `nice`: 1 (slightly lower) to 19 (lowest); the thread keeps it until it ends.
inline void LowerThisThreadsPriority(int nice) {
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice);
}

}  // namespace qbox

#endif  // QBOX_NODE_COMMON_THREAD_PRIORITY_H_

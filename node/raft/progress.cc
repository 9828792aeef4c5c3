#include "node/raft/progress.h"

#include <algorithm>

namespace qbox::raft {

void Progress::BecomeProbe() {
  // After a snapshot, probe from just past it: the follower has at least that.
  if (state == State::kSnapshot) {
    next = std::max(match + 1, snapshot_index + 1);
  } else {
    next = match + 1;
  }
  state = State::kProbe;
  probe_sent = false;
  snapshot_index = 0;
  inflights.Reset();
}

void Progress::BecomeReplicate() {
  state = State::kReplicate;
  next = match + 1;
  probe_sent = false;
  snapshot_index = 0;
  inflights.Reset();
}

void Progress::BecomeSnapshot(uint64_t index) {
  state = State::kSnapshot;
  snapshot_index = index;
  snapshot_acked = 0;
  snapshot_sent = 0;
  snapshot_acked_at_heartbeat = 0;
  probe_sent = false;
  inflights.Reset();
}

bool Progress::MaybeUpdate(uint64_t index) {
  bool updated = false;
  if (index > match) {
    match = index;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return updated;
}

bool Progress::IsPaused() const {
  switch (state) {
    case State::kProbe: return probe_sent;
    case State::kReplicate: return inflights.Full();
    case State::kSnapshot: return true;
  }
  return true;
}

}  // namespace qbox::raft

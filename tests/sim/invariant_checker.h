// The safety invariants of the consensus core, checked against observations
// the simulation makes after every step (in the style of LogCabin's
// RaftConsensusInvariants). The checker holds no pointers into the cluster: it
// is fed plain observations, so a test can also feed it a fabricated history
// and assert that a broken one is reported.
//
// Invariants (the name in brackets is what a violation report starts with):
//   [one leader per term]   no two node lives lead the same term;
//   [hash chain]            stored entries chain from their predecessor;
//   [log matching]          the same (index, term) is the same entry everywhere;
//   [committed entry changed] an index once committed never holds another entry;
//   [leader completeness]   a leader holds every entry committed in earlier terms;
//   [commit decreased]      a node's commit index never goes down, and after a
//                           restart it does not fall below what was persisted;
//   [applied prefix]        every node applies the same sequence, without gaps,
//                           and reaches the same state digest at each index;
//   [stale read]            a ReadIndex answer covers everything committed
//                           before the read was asked.
// Harness-level failures (a storage write the core asked for was refused, an
// alarm in an honest cluster, a vote granted by a recovering node) are
// reported through ReportViolation.
#ifndef QBOX_TESTS_SIM_INVARIANT_CHECKER_H_
#define QBOX_TESTS_SIM_INVARIANT_CHECKER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "node/raft/raft.h"
#include "node/raft/types.h"

namespace qbox::sim {

using raft::ChainHash;
using raft::Entry;
using raft::NodeId;
using raft::Role;

// Where an entry sits in a log and what it is: the chain value stands for the
// entry's payload and everything before it.
struct LogPosition {
  uint64_t index = 0;
  uint64_t term = 0;
  ChainHash chain{};
};

LogPosition PositionOf(const Entry& entry);

class InvariantChecker {
 public:
  // `node` is in `role` at `term`.
  void ObserveRole(NodeId node, uint64_t term, Role role);

  // `entries` are stored contiguously on `node` right after `prev` (the stored
  // entry or snapshot before them; index 0 with a zero chain at the start of
  // the log). Entries at or below `node_commit` count as committed by `node`,
  // whose current term is `node_term`.
  void ObserveStoredEntries(NodeId node, const LogPosition& prev, const std::vector<Entry>& entries,
                            uint64_t node_commit, uint64_t node_term);

  // `node`, in term `node_term`, considers `position` committed (an entry it
  // applied, holds at or below its commit index, or a snapshot it holds).
  void ObserveCommitted(NodeId node, const LogPosition& position, uint64_t node_term);

  // `node`'s in-memory commit index now.
  void ObserveCommitIndex(NodeId node, uint64_t commit);
  // `node` durably wrote a hard state with this commit index.
  void ObservePersistedCommit(NodeId node, uint64_t commit);
  // `node` crashed and restarts from its storage: its commit index must not
  // fall below the highest one it persisted, and its applied state restarts.
  void ObserveRestart(NodeId node);
  // `node` lost its storage: it starts a new life with nothing persisted.
  void ObserveWipe(NodeId node);

  // `node` leads `term`. `lookup(i)` answers the (term, chain) `node` stores
  // at index i (the snapshot position at snapshot_index included), nullopt if
  // it holds nothing there.
  void ObserveLeaderLog(NodeId node, uint64_t term, uint64_t snapshot_index,
                        const std::function<std::optional<LogPosition>(uint64_t)>& lookup);

  // `node`'s state machine (re)starts at `applied_index` with `digest` (empty
  // state, its own snapshot after a restart, or an installed snapshot).
  void ObserveStateMachineStart(NodeId node, uint64_t applied_index, uint64_t digest);
  // `node` applied `position` and its state digest became `digest_after`.
  void ObserveApplied(NodeId node, const LogPosition& position, uint64_t digest_after);

  // A linearizable read tagged `context` was asked for now.
  void ObserveReadRequested(const std::string& context);
  // A read tagged `context` was answered with `index` on `node`.
  void ObserveReadState(NodeId node, const std::string& context, uint64_t index);

  // Records a violation found outside the checker.
  void ReportViolation(absl::string_view invariant, absl::string_view detail);

  bool ok() const { return violations_.empty(); }
  // The first violation ("[invariant] detail"), or "" if none.
  std::string first_violation() const { return ok() ? "" : violations_.front(); }
  const std::vector<std::string>& violations() const { return violations_; }

  uint64_t max_committed_index() const {
    return committed_.empty() ? 0 : committed_.rbegin()->first;
  }
  // Committed (index -> position) as recorded so far.
  const std::map<uint64_t, LogPosition>& committed() const { return committed_; }

 private:
  struct StoredEntry {
    ChainHash chain{};
    raft::EntryType type = raft::EntryType::kNormal;
    std::string data;
  };
  struct NodeRecord {
    uint64_t life = 0;  // incremented by every wipe
    uint64_t commit_seen = 0;
    uint64_t persisted_commit = 0;
    bool state_machine_started = false;
    uint64_t applied_index = 0;
  };

  void CheckCommitted(NodeId node, const LogPosition& position, uint64_t node_term);
  void CheckStored(NodeId node, const Entry& entry);

  std::vector<std::string> violations_;
  std::map<NodeId, NodeRecord> nodes_;
  // term -> (node, life) that led it.
  std::map<uint64_t, std::pair<NodeId, uint64_t>> leaders_;
  // index -> term -> the entry stored there (any node, any time).
  std::map<uint64_t, std::map<uint64_t, StoredEntry>> stored_;
  std::map<uint64_t, LogPosition> committed_;
  // Lowest term in which some node knew each committed index was committed.
  std::map<uint64_t, uint64_t> commit_term_;
  // term -> highest index first known committed in that term.
  std::map<uint64_t, uint64_t> highest_committed_in_term_;
  std::map<uint64_t, uint64_t> digest_at_;
  std::map<std::string, uint64_t> reads_;  // context -> committed index when asked
};

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_INVARIANT_CHECKER_H_

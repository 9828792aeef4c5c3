// The consensus core: a deterministic Raft state machine in the style of
// etcd's raft library. It has no threads, clocks, sockets or files. Input is
// messages (Step), clock ticks (Tick) and client requests (Propose,
// ProposeConfChange, TransferLeadership, ReadIndex); output is a Ready that
// says what to persist, what to send and what to apply.
//
// The runtime's loop, one Ready at a time:
//   Step/Tick/Propose ...;
//   if (raft.HasReady()) {
//     Ready rd = raft.GetReady();
//     send rd.messages_now;                  // leader: in parallel with its own fsync
//     storage.WriteSnapshotChunk(...) for rd.snapshot_chunks;
//     if (rd.install_snapshot) storage.InstallStagedSnapshot(...), restore the state machine;
//     storage.Persist(rd.entries, rd.hard_state ? &*rd.hard_state : nullptr);  // one fsync
//     send rd.messages_after_persist;
//     hand rd.committed_entries to the apply loop;  // in order, never blocks appending
//     serve rd.read_states once applied >= their index;
//     if (rd.snapshot_wanted) save a snapshot with data, in the background;
//     raft.Advance(rd);
//   }
// No Step/Tick/Propose may happen between GetReady and Advance.
//
// Features: pre-vote, check-quorum, batching and pipelining with bounded
// in-flight bytes, fast conflict back-off, chunked InstallSnapshot, one-server
// membership changes with learners and a catch-up rule for promotion,
// leadership transfer, ReadIndex. Hardening (DESIGN.md G1, G4, G5): entries at
// or below the commit index are never truncated or overwritten (refused and
// reported as an alarm), every appended entry's hash chain is verified, and a
// node whose storage was empty starts as a recovering non-voter until it has
// caught up to a leader-confirmed commit index.
#ifndef QBOX_NODE_RAFT_RAFT_H_
#define QBOX_NODE_RAFT_RAFT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/raft/log_storage.h"
#include "node/raft/types.h"

namespace qbox::raft {

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role role);

struct RaftConfig {
  NodeId id = kNoNode;
  // The election timeout is drawn uniformly from [election_ticks,
  // 2*election_ticks) each time it is reset; the leader sends heartbeats every
  // heartbeat_ticks. Requires election_ticks > heartbeat_ticks >= 1.
  int election_ticks = 10;
  int heartbeat_ticks = 1;
  // Seeds the core's own random generator (election timeouts), so a
  // simulation replays exactly.
  uint64_t random_seed = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  // Batching and flow control: at most max_append_bytes of entries per
  // AppendEntries, at most max_inflight_messages unacknowledged AppendEntries
  // and max_inflight_bytes of entries in flight per follower.
  uint64_t max_append_bytes = 1 << 20;
  int max_inflight_messages = 64;
  uint64_t max_inflight_bytes = 32 << 20;
  // Proposals are refused (RESOURCE_EXHAUSTED) while more than this many
  // bytes are appended but not committed.
  uint64_t max_uncommitted_bytes = 256 << 20;
  uint64_t snapshot_chunk_bytes = 1 << 20;
  // A learner is promoted only if it is at most this many entries behind the
  // leader's last index.
  uint64_t promote_max_lag = 1000;
  // G7: a leader that makes no progress is replaced. 0 turns this off.
  // A voting follower that hears a leader but sees its own commit index stand
  // still for stall_ticks stops following that leader for the rest of its
  // term and campaigns even though the leader lease would otherwise keep it
  // quiet. An honest leader appends an empty entry whenever it has appended
  // nothing for stall_ticks/3 ticks, so a stalled commit index is evidence
  // against any leader, idle or not. Must be 0 or above 2*election_ticks
  // (a shorter window would mistake ordinary elections for stalls).
  int stall_ticks = 0;
  // G4: when true, a recovering node that has caught up to its confirmed
  // target stays a non-voter "awaiting attestation" until ConfirmRecovery()
  // (the layer above compares state digests that other sites attest).
  bool recovery_needs_attestation = false;
  // G2: asked before a follower appends a membership change, with the
  // configuration it would change. A non-OK answer refuses the whole
  // AppendEntries (the leader retries later) and raises an alarm naming the
  // leader: the layer above refuses, e.g., removing a voter that no executed
  // proposal removed, so a hostile leader cannot shrink the group on its
  // own. Empty = every change that fits is accepted.
  std::function<absl::Status(const ConfChange& change, const ConfState& before)> membership_guard;
  // G1/G4 against a hostile leader: asked before a node replaces its state
  // with a snapshot from `leader` above its commit index (`recovering`:
  // the node is rebuilding after storage loss and has no state of its own
  // to lose). Nothing in a snapshot lets the node check its contents
  // against its own log, so an honest node takes one only when the layer
  // above vouches for it (a site other than the sender's and its own
  // attested that state). A non-OK answer refuses the snapshot before any
  // chunk is stored: the node keeps its state, raises an alarm (once per
  // snapshot index) and waits. Empty = every snapshot that matches our
  // committed log is accepted.
  std::function<absl::Status(const SnapshotMeta& meta, NodeId leader, bool recovering)>
      snapshot_guard;
  // Messages whose term is further than this above ours are refused as
  // malformed: honest terms grow by one per election, and a node that
  // adopted a term near the top of the range could never campaign again.
  uint64_t max_term_jump = uint64_t{1} << 32;
  // Narrative log lines ("became leader for term 7 with votes from 1, 3").
  std::function<void(std::string_view)> logger;
};

// Something an honest node refused and wants an operator to see.
struct Alarm {
  enum class Kind : uint8_t {
    kRefusedTruncation,  // G1: a leader tried to overwrite committed entries
    kChainMismatch,      // G5: an entry's hash chain did not verify
    kSnapshotMismatch,   // a snapshot contradicted our committed log
    kLeaderStalled,      // G7: the leader committed nothing for stall_ticks
    kRefusedMembership,  // G2: a membership change the charter does not allow
    kTwoLeaders,         // G7: two nodes acted as leader of the same term
    kRefusedSnapshot,    // G1: a snapshot over our state that nobody vouched for
  };
  Kind kind;
  NodeId from = kNoNode;  // the offending leader
  uint64_t term = 0;
  uint64_t index = 0;
  std::string detail;
};
const char* AlarmKindName(Alarm::Kind kind);

// A confirmed read index: once the state machine has applied `index`, a
// read tagged `context` is linearizable.
struct ReadState {
  uint64_t index = 0;
  std::string context;
};

struct SnapshotChunkWrite {
  uint64_t offset = 0;
  std::string data;
};

struct Ready {
  std::optional<HardState> hard_state;
  std::vector<Entry> entries;
  std::vector<SnapshotChunkWrite> snapshot_chunks;
  std::optional<SnapshotMeta> install_snapshot;
  std::vector<Message> messages_now;
  std::vector<Message> messages_after_persist;
  std::vector<Entry> committed_entries;
  std::vector<ReadState> read_states;
  std::vector<Alarm> alarms;
  // A follower needs a snapshot, and the storage's current one is held by
  // the state machine (no data): the runtime should save a snapshot with
  // data (LogStorage::SaveSnapshotFile); the core tries again at the
  // follower's next heartbeat answer.
  bool snapshot_wanted = false;
};

struct PeerProgress {
  uint64_t match = 0;
  uint64_t next = 0;
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot } state = State::kProbe;
  bool recent_active = false;
  bool recovering = false;
  bool learner = false;
  int inflight_messages = 0;
  uint64_t inflight_bytes = 0;
};

struct RaftStatus {
  NodeId id = kNoNode;
  NodeId leader = kNoNode;
  Role role = Role::kFollower;
  HardState hard_state;
  uint64_t first_index = 0;
  uint64_t last_index = 0;
  uint64_t last_term = 0;           // term of the entry at last_index
  uint64_t applied_handed_out = 0;  // last index given out in committed_entries
  // The highest commit index the current leader has reported (followers), or
  // our own commit index (leader): what "caught up" is measured against.
  uint64_t leader_commit = 0;
  ConfState conf;
  NodeId transferring_to = kNoNode;
  std::map<NodeId, PeerProgress> progress;  // leader only
  uint64_t refused_truncations = 0;
  uint64_t chain_mismatches = 0;
  // G4: recovering after storage loss (hard_state.recovering), the
  // leader-confirmed commit index to reach (0 = not known yet), and whether
  // the target is reached and only ConfirmRecovery() is missing.
  uint64_t recovery_target = 0;
  bool awaiting_attestation = false;
  // G7: leaders this node stopped following for stalling (with their term).
  uint64_t stalled_leaders_left = 0;
};

class Raft {
 public:
  // Builds a core over `storage`, which must outlive it. Reads the initial
  // state; if the storage is empty, the node starts recovering (G4) unless
  // `bootstrap` is given, in which case `bootstrap` is the genesis
  // membership and the caller must already have persisted it with
  // Bootstrap(). Fails on invalid config or unreadable storage.
  static absl::StatusOr<std::unique_ptr<Raft>> Create(const RaftConfig& config,
                                                      LogStorage* storage);

  // Writes the genesis state into empty storage: a snapshot at index 0 term 0
  // is implicit, and index 1 holds a config entry naming `voters`. Every
  // genesis node writes the identical entry, so their chains agree.
  // FAILED_PRECONDITION if the storage is not empty.
  static absl::Status Bootstrap(LogStorage* storage, const std::vector<NodeId>& voters);
  // The same, with `context` carried in the genesis entry (the charter; see
  // ConfChange::context). Every genesis node must pass identical bytes.
  static absl::Status Bootstrap(LogStorage* storage, const std::vector<NodeId>& voters,
                                std::string context);

  ~Raft();
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // Advances the logical clock by one tick.
  void Tick();

  // Feeds one message from a peer. A malformed or out-of-range message is
  // refused with INVALID_ARGUMENT (or FAILED_PRECONDITION for a refused
  // truncation) naming what is wrong, and changes nothing.
  absl::Status Step(const Message& message);

  // Appends a command; returns the index it will have if committed.
  // UNAVAILABLE (with the known leader in the message) if not leader or a
  // leadership transfer is under way; RESOURCE_EXHAUSTED if too many bytes
  // are uncommitted.
  absl::StatusOr<uint64_t> Propose(std::string data);

  // Proposes one membership change. FAILED_PRECONDITION while another change
  // is uncommitted, before the leader committed an entry of its own term, for
  // a promotion of a lagging or recovering learner, or for a change that does
  // not fit the current membership.
  absl::StatusOr<uint64_t> ProposeConfChange(const ConfChange& change);

  // Hands leadership to voter `to` once its log is caught up.
  absl::Status TransferLeadership(NodeId to);

  // Asks for a linearizable read index; answered in a later Ready's
  // read_states with the same context (possibly never, if leadership is
  // lost or the request is lost on the way: the caller asks again with the
  // same context, and ignores a second answer). A new leader answers once
  // its first entry has committed. UNAVAILABLE if no leader is known.
  absl::Status ReadIndex(std::string context);

  // G4: ends recovery of a node that is awaiting attestation (caught up to
  // its confirmed target with config.recovery_needs_attestation set); it
  // votes and counts toward commit from the next Ready on, which also
  // persists the change. OK and a no-op if the node is not recovering.
  // FAILED_PRECONDITION (nothing changes) while it is still recovering
  // but has not reached its target yet.
  absl::Status ConfirmRecovery();

  // Starts an election now (tests; the runtime relies on ticks).
  absl::Status Campaign();

  bool HasReady() const;
  Ready GetReady();
  // Tells the core that everything in `ready` was persisted and sent.
  void Advance(const Ready& ready);

  RaftStatus Status() const;
  // The current term: what Status().hard_state.term says, without copying
  // the whole status (the runtime asks once per proposal).
  uint64_t Term() const;

  // Membership as of log index `index` (for a snapshot taken at `index`).
  // OUT_OF_RANGE below the current snapshot or beyond the last index.
  absl::StatusOr<ConfState> ConfStateAt(uint64_t index) const;

 private:
  class Impl;
  explicit Raft(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qbox::raft

#endif  // QBOX_NODE_RAFT_RAFT_H_

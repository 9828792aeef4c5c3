// Plain data types of the consensus core: log entries, hard state,
// membership, snapshots and the messages nodes exchange. The core is a pure
// state machine (see raft.h); these types are what goes in and out of it.
// The runtime maps them to protobuf on the wire and to RocksDB records on
// disk; the core never sees either.
#ifndef QBOX_NODE_RAFT_TYPES_H_
#define QBOX_NODE_RAFT_TYPES_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qbox::raft {

// A node's id inside the consensus core. 0 means "none". The runtime maps
// ids to site-qualified names such as "site-a/n1".
using NodeId = uint64_t;
inline constexpr NodeId kNoNode = 0;

// SHA-256 hash-chain value (DESIGN.md G5). chain(i) covers chain(i-1) and
// entry i's term, index, type and payload; chain(0) is all zeroes.
using ChainHash = std::array<uint8_t, 32>;

enum class EntryType : uint8_t {
  kNormal = 0,      // an application command (a mailbox change)
  kConfChange = 1,  // a membership change; data is an encoded ConfChange
  kNoop = 2,        // appended by a new leader to commit entries of past terms
};

struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;
  ChainHash chain{};

  // Bytes this entry accounts for in flow control and batching.
  uint64_t ByteSize() const { return data.size() + 48; }
};

// What must be durable before any message that depends on it is sent.
struct HardState {
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t commit = 0;
  // G4: set while this node rebuilds after losing its storage. A recovering
  // node neither votes nor counts toward commit. `recovery_target` is the
  // leader-confirmed commit index it must reach before it votes again
  // (0 = not yet known).
  bool recovering = false;
  uint64_t recovery_target = 0;

  bool operator==(const HardState& o) const {
    return term == o.term && vote == o.vote && commit == o.commit && recovering == o.recovering &&
           recovery_target == o.recovery_target;
  }
  bool operator!=(const HardState& o) const { return !(*this == o); }
};

// Cluster membership. Voters elect leaders and form commit quorums; learners
// only receive the log.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool IsVoter(NodeId id) const;
  bool IsLearner(NodeId id) const;
  bool Contains(NodeId id) const { return IsVoter(id) || IsLearner(id); }
  bool operator==(const ConfState& o) const;
};

// One membership change; changes are applied one server at a time. The
// genesis entry (index 1) is the one exception: it sets the first voters.
struct ConfChange {
  enum class Kind : uint8_t {
    kAddLearner = 0,
    kPromoteLearner = 1,
    kRemoveNode = 2,
    kGenesis = 3,
  };
  Kind kind = Kind::kAddLearner;
  NodeId node = kNoNode;
  std::vector<NodeId> genesis_voters;  // kGenesis only
  // Opaque bytes for the layers above the core (at most 1 MiB): the genesis
  // entry carries the cluster's charter, an added learner its site, name
  // and address. Covered by the entry's hash chain like the rest.
  std::string context;

  // Applies this change to `conf`; false if it does not fit (adding a known
  // node, promoting a non-learner, removing an unknown node).
  bool ApplyTo(ConfState* conf) const;

  std::string Encode() const;
  // Returns nullopt if `data` is not a valid encoding.
  static std::optional<ConfChange> Decode(std::string_view data);
};

struct SnapshotMeta {
  uint64_t index = 0;  // last log index the snapshot includes
  uint64_t term = 0;   // term of that entry
  ChainHash chain{};   // hash-chain value of that entry
  ConfState conf;      // membership as of `index`
  uint64_t data_size = 0;
  ChainHash data_digest{};  // SHA-256 of the snapshot data
  // True when there is no data: the local state machine holds the state at
  // `index` durably itself (it was flushed there), which is all that log
  // compaction needs. Such a snapshot is never sent; a follower that needs
  // one waits until a snapshot with data is saved (Ready::snapshot_wanted).
  // data_size is 0 and data_digest zero.
  bool held_by_state_machine = false;
};

enum class MessageType : uint8_t {
  kPreVote = 0,
  kPreVoteResp,
  kVote,
  kVoteResp,
  kAppend,  // AppendEntries (also an empty one as a probe)
  kAppendResp,
  kHeartbeat,
  kHeartbeatResp,
  kSnapshotChunk,  // one chunk of InstallSnapshot
  kSnapshotResp,
  kTimeoutNow,  // leadership transfer: campaign now, skipping pre-vote
  kReadIndex,   // a follower asks the leader for a confirmed read index
  kReadIndexResp,
};

const char* MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint64_t term = 0;

  // kAppend: index/log_term of the entry preceding `entries` and its chain.
  // kHeartbeat: `index` is the leader's own commit index (`commit` is capped
  // at what the follower is known to hold), so a follower can tell whether
  // it has caught up.
  // kVote/kPreVote: the candidate's last log index and term.
  uint64_t index = 0;
  uint64_t log_term = 0;
  ChainHash prev_chain{};
  std::vector<Entry> entries;
  uint64_t commit = 0;

  // Responses. kAppendResp: `index` is the last index now matching (accept)
  // or the rejected probe index (reject); `reject_hint`/`hint_term` let the
  // leader skip a whole conflicting term at once. kHeartbeatResp: `index` is
  // the sender's last log index (a leader notices a follower that lost it).
  bool reject = false;
  uint64_t reject_hint = 0;
  uint64_t hint_term = 0;
  // Set by a recovering node on its responses so that the leader does not
  // count it toward commit or quorum (G4).
  bool recovering = false;

  // kSnapshotChunk: meta of the snapshot being sent, this chunk's offset and
  // bytes, and whether it is the last. kSnapshotResp: `index` = snapshot
  // index, `chunk_offset` = next offset wanted; `reject` = give up.
  SnapshotMeta snapshot;
  uint64_t chunk_offset = 0;
  std::string chunk_data;
  bool chunk_last = false;

  // kReadIndex / kReadIndexResp / kHeartbeat(Resp): opaque request id.
  std::string context;

  // kAppend / kHeartbeat: the voter the leader is handing leadership to
  // (kNoNode = none). A voter honours a transfer's vote request, and a
  // higher term, only from the node its own leader named here.
  NodeId transferee = kNoNode;
};

// The "before" chain value and the entry determine the entry's chain.
ChainHash ComputeChain(const ChainHash& prev, uint64_t term, uint64_t index, EntryType type,
                       std::string_view data);

std::string ChainToHex(const ChainHash& chain);

}  // namespace qbox::raft

#endif  // QBOX_NODE_RAFT_TYPES_H_

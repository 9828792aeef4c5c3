// This node's part in the guard's clockwork (DESIGN.md G2, G4, G5), run on
// its own thread so that applying entries never waits for signing or the
// network:
//  - G2: by THIS node's clock, states when an approved proposal's delay T
//    has passed and when a pending proposal's lifetime ran out
//    (MailboxStateMachine::DueClockStatements), signed with the node's key.
//  - G5: signs the state digest the state machine computed at each
//    checkpoint index together with that entry's chain value, and hands it
//    to the leader; when another node's checkpoint disagrees with ours it
//    raises an alarm carrying both signed checkpoints as evidence.
//  - G2: on the leader, removes from the consensus group the nodes that an
//    executed proposal removed from the charter.
//  - G4: a node rebuilding after losing its storage asks for a checkpoint
//    once it has caught up, and becomes a voter again only when a node of
//    ANOTHER site attested the same digest at an index it computed itself.
// Statements reach the leader through Raft.Submit (or the local runtime
// when this node leads). Every node verifies them again when it applies
// them, so neither the leader nor this agent is trusted with them.
//
// Thread-safety: all public methods may be called from any thread.
#ifndef QBOX_NODE_SERVER_GUARD_AGENT_H_
#define QBOX_NODE_SERVER_GUARD_AGENT_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "node/mailbox/state_machine.h"
#include "node/raft/types.h"
#include "node/server/cluster_config.h"
#include "node/server/mailbox_replica.h"
#include "node/server/peer_directory.h"
#include "node/server/raft_runtime.h"
#include "qbox/v1/charter.pb.h"

namespace qbox::server {

class GuardAgent {
 public:
  struct Options {
    NodeConfig self;
    std::string cluster;           // the charter's cluster name
    // This node's certificate and key at start: sign its statements until
    // ReplaceIdentity swaps them.
    std::string certificate_pem;
    std::string private_key_pem;
    std::shared_ptr<grpc::ChannelCredentials> peer_credentials;  // to reach the leader
    absl::Duration period = absl::Seconds(1);
    // A statement not yet reflected in the replicated state is sent again
    // after this long (the leader may have changed, the entry been lost).
    absl::Duration resend_after = absl::Seconds(10);
    std::function<void(std::string_view)> logger;
  };

  // Every pointer must outlive the agent.
  GuardAgent(Options options, RaftRuntime* runtime, mailbox::MailboxStateMachine* machine,
             const MailboxReplica* replica, const PeerDirectory* peers);
  ~GuardAgent();

  void Start();
  void Stop();

  // Hooks for mailbox::MailboxStateMachine::Options. OnCheckpointCaptured
  // runs on the apply thread inside the checkpoint entry's apply and notes
  // that entry's chain value; OnCheckpoint and OnCheckpointCompared may run
  // on the state machine's checkpoint worker thread, after applying moved
  // on. They queue work for the agent's thread; OnCheckpoint also signs the
  // checkpoint right away (one signature every checkpoint interval), with
  // the chain value noted at capture.
  void OnCheckpointCaptured(uint64_t index);
  void OnCheckpoint(const mailbox::OwnCheckpoint& checkpoint);
  void OnCheckpointCompared(const mailbox::CheckpointComparison& comparison);

  // A re-issued certificate and key (live_tls.h checked them): statements
  // signed from now on use them, since peers verify a statement against the
  // charter's CAs, which may no longer accept the old certificate.
  void ReplaceIdentity(std::string certificate_pem, std::string private_key_pem);
  // Closes the cached channels to peers so the next call makes a new TLS
  // connection with the node's current CAs and certificate.
  void ForgetChannels();

  // A call this node refused because only an approved proposal may do what
  // it asked (G2), e.g. Admin.RemoveNode of a voter: signed and sent for
  // the audit log like an alarm, so that the attempt is visible to every
  // site, not only in this node's log. `what` says who asked what and why
  // it was refused (cut at 1024 bytes).
  void ReportRefusal(std::string what);

  // Active guard alarms as narrative (checkpoint mismatches with evidence,
  // this node's own stored state found changed outside the log).
  std::vector<std::string> Alarms() const;
  uint64_t mismatches() const;
  // How often this node found its own stored records changed outside the
  // log (G5 tamper checks).
  uint64_t stored_state_changes() const;
  // Where a rebuild (G4) stands, empty when not recovering.
  std::string RecoveryNarrative() const;

 private:
  struct PendingStatement {
    std::string key;  // what it says, to avoid repeating it ("clock/<id>/<event>", "cp/<index>")
    v1::NodeStatement statement;
    // Set for checkpoints, which are signed when they are computed: the
    // evidence must exist before any peer's statement for that index can be
    // applied here, and a resend must carry the same signed bytes.
    std::optional<v1::SignedNodeStatement> signed_statement;
    uint64_t checkpoint_index = 0;  // for a checkpoint, its index
  };

  void Loop();
  void Tick();
  // G1/G5/G7 visible to every site: signs a report of each new alarm (the
  // core's, checkpoint mismatches, and what the state machine's tamper
  // checks found) and queues it for the audit log.
  void ReportAlarms();
  // G5: raises an alarm for each difference between this node's stored
  // records and its state digest that the state machine found since the
  // last tick (MailboxStateMachine::FoundStoredStateChanges).
  void NoteStoredStateChangesLocked(const mailbox::MailboxStateMachine::StoredStateChanges& found)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StateDueClocks();
  void CheckRecovery();
  // On the leader: takes nodes an executed proposal removed from the charter
  // out of the consensus group (G2), one at a time.
  void RemoveWhatTheCharterRemoved();
  void Queue(std::string key, v1::NodeStatement statement);
  // Adds `item` to the queue, dropping the oldest item when it is full.
  void QueueLocked(PendingStatement item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushQueue();
  // Whether the replicated state already holds this node's checkpoint
  // statement at `index`. After a crash the node applies its log again from
  // the store's last flush and computes those checkpoints once more; what it
  // signed before the crash must not be sent again, only to be refused
  // ("already signed") and audited on every node.
  bool OwnCheckpointApplied(uint64_t index) const;
  absl::Status SubmitToLeader(const v1::MailboxCommand& command);
  absl::StatusOr<v1::SignedNodeStatement> Sign(v1::NodeStatement statement) const;
  void Log(const std::string& line) const;

  const Options options_;
  RaftRuntime* runtime_;
  mailbox::MailboxStateMachine* machine_;
  const MailboxReplica* replica_;
  const PeerDirectory* peers_;

  mutable absl::Mutex mu_;
  std::deque<PendingStatement> queue_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> sent_ ABSL_GUARDED_BY(mu_);  // key -> last sent
  std::map<uint64_t, v1::SignedNodeStatement> own_signed_ ABSL_GUARDED_BY(mu_);  // recent ones
  // Chain values of checkpoint entries whose digest is not signed yet.
  std::map<uint64_t, raft::ChainHash> captured_chains_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> alarms_ ABSL_GUARDED_BY(mu_);
  // Alarm reports not signed yet (key, report), the keys already reported,
  // and how many of the core's alarms were looked at.
  std::vector<std::pair<std::string, v1::AlarmReport>> unreported_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> reported_alarms_ ABSL_GUARDED_BY(mu_);
  uint64_t alarms_seen_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t no_space_seen_ ABSL_GUARDED_BY(mu_) = 0;  // RuntimeStatus::no_space.raised
  uint64_t refusals_ ABSL_GUARDED_BY(mu_) = 0;  // numbers each refusal's report
  uint64_t mismatches_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t stored_state_changes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t stored_changes_seen_ ABSL_GUARDED_BY(mu_) = 0;  // of the state machine's total
  // G4: the checkpoint index that proved this node's rebuilt state, once seen.
  uint64_t attested_index_ ABSL_GUARDED_BY(mu_) = 0;
  std::string attested_by_ ABSL_GUARDED_BY(mu_);
  std::string recovery_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
  std::string certificate_pem_ ABSL_GUARDED_BY(mu_);  // signs statements
  std::string private_key_pem_ ABSL_GUARDED_BY(mu_);
  absl::Time last_checkpoint_request_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();

  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_GUARD_AGENT_H_

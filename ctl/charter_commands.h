// The guard's commands (DESIGN.md G2, G5): the charter, proposals for
// irreversible actions, their approvals and vetoes, the audit log and the
// checkpoints sites exchange.
//
//   qboxctl charter show                 [-o table|json]
//   qboxctl propose KIND [action flags] --reason TEXT [-o table|json]
//   qboxctl proposals list [--all]       [-o table|json]
//   qboxctl proposals show ID            [-o table|json]
//   qboxctl proposals approve ID [--comment TEXT]  [-o table|json]
//   qboxctl proposals veto ID --comment TEXT       [-o table|json]
//   qboxctl audit verify                 [-o table|json]
//   qboxctl audit log [--from SEQ]       [-o table|json]
//   qboxctl checkpoints [--from INDEX]   [-o table|json]
// (each with the connection flags of connection_flags.h). Everything an
// admin signs is signed with the connection's own certificate and key.
#ifndef QBOX_CTL_CHARTER_COMMANDS_H_
#define QBOX_CTL_CHARTER_COMMANDS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "ctl/command_runner.h"
#include "ctl/connection_flags.h"
#include "ctl/output_format.h"
#include "ctl/proposal_action_flags.h"
#include "ctl/status_commands.h"

namespace CLI {
class App;
}  // namespace CLI

namespace qbox::ctl {

// Registers `charter`, `propose`, `proposals`, `audit` and `checkpoints`.
void AddCharterCommands(CLI::App* root, CommandRunner* runner);

// Sites (with CA fingerprint and subject), nodes, M of N, T, R, the
// proposal lifetime, the checkpoint interval and the charter version, as
// the answering node has applied them.
absl::Status RunCharterShow(const ReadCommandOptions& options);

struct ProposeOptions {
  ConnectionFlags connection;
  ProposeActionFlags action;
  std::string reason;
  OutputFormat format = OutputFormat::kTable;
};
// Builds the proposal (cluster from the charter, a random id, created now),
// signs it and submits it; prints the id, state, approvals and what must
// happen next. INVALID_ARGUMENT naming the flag (BuildProposedAction,
// "--reason: ...") or saying why the charter refuses the action, before
// anything is sent; connection errors as ResolveConnection /
// ExplainCallError.
absl::Status RunPropose(const ProposeOptions& options);

struct ProposalListOptions {
  ReadCommandOptions read;
  bool all = false;  // also closed proposals
};
absl::Status RunProposalList(const ProposalListOptions& options);

struct ProposalShowOptions {
  ReadCommandOptions read;
  std::string id;
};
// NOT_FOUND (from the node) for an unknown id; INVALID_ARGUMENT "ID: ..."
// for one that is not 32 lowercase hex characters.
absl::Status RunProposalShow(const ProposalShowOptions& options);

struct EndorseOptions {
  ConnectionFlags connection;
  std::string id;
  std::string comment;
  bool veto = false;
  OutputFormat format = OutputFormat::kTable;
};
// Fetches the proposal, shows what is being signed, signs an approval or a
// veto bound to the proposal's exact signed bytes and submits it.
// INVALID_ARGUMENT "--comment: ..." for a veto without a comment or a
// comment over 1024 bytes, "ID: ..." for a malformed id (nothing sent).
absl::Status RunEndorse(const EndorseOptions& options);

// Streams the audit log and verifies it (audit_verifier.h). Prints "OK: ..."
// and returns OK, or prints "BROKEN at seq N (log index I): ..." and
// returns DATA_LOSS.
absl::Status RunAuditVerify(const ReadCommandOptions& options);

struct AuditLogOptions {
  ReadCommandOptions read;
  uint64_t from_seq = 0;
};
absl::Status RunAuditLog(const AuditLogOptions& options);

struct CheckpointsOptions {
  ReadCommandOptions read;
  uint64_t min_index = 0;
};
// Per checkpoint index, which node of which site signed which digest;
// digests that differ are flagged (the command still succeeds: it reports).
absl::Status RunCheckpoints(const CheckpointsOptions& options);

}  // namespace qbox::ctl

#endif  // QBOX_CTL_CHARTER_COMMANDS_H_

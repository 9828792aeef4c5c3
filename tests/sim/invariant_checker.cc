#include "tests/sim/invariant_checker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace qbox::sim {
namespace {

std::string Describe(const LogPosition& p) {
  return absl::StrCat("(index ", p.index, ", term ", p.term, ", chain ",
                      raft::ChainToHex(p.chain).substr(0, 12), ")");
}

}  // namespace

LogPosition PositionOf(const Entry& entry) {
  return LogPosition{entry.index, entry.term, entry.chain};
}

void InvariantChecker::ReportViolation(absl::string_view invariant, absl::string_view detail) {
  violations_.push_back(absl::StrCat("[", invariant, "] ", detail));
}

void InvariantChecker::ObserveRole(NodeId node, uint64_t term, Role role) {
  if (role != Role::kLeader) return;
  const uint64_t life = nodes_[node].life;
  auto [it, inserted] = leaders_.emplace(term, std::make_pair(node, life));
  if (!inserted && it->second != std::make_pair(node, life)) {
    ReportViolation(
        "one leader per term",
        absl::StrCat("node ", node, " (life ", life, ") leads term ", term, ", which node ",
                     it->second.first, " (life ", it->second.second, ") already led"));
  }
}

void InvariantChecker::CheckStored(NodeId node, const Entry& entry) {
  auto& by_term = stored_[entry.index];
  auto [it, inserted] =
      by_term.emplace(entry.term, StoredEntry{entry.chain, entry.type, entry.data});
  if (inserted) return;
  const StoredEntry& seen = it->second;
  if (seen.chain != entry.chain || seen.type != entry.type || seen.data != entry.data) {
    ReportViolation(
        "log matching",
        absl::StrCat("node ", node, " stores ", Describe(PositionOf(entry)), " data '", entry.data,
                     "' but another node stored chain ", raft::ChainToHex(seen.chain).substr(0, 12),
                     " data '", seen.data, "' at the same index and term"));
  }
}

void InvariantChecker::ObserveStoredEntries(NodeId node, const LogPosition& prev,
                                            const std::vector<Entry>& entries, uint64_t node_commit,
                                            uint64_t node_term) {
  LogPosition before = prev;
  for (const Entry& entry : entries) {
    if (entry.index != before.index + 1) {
      ReportViolation("hash chain", absl::StrCat("node ", node, " stores index ", entry.index,
                                                 " right after index ", before.index));
      return;
    }
    ChainHash expected =
        raft::ComputeChain(before.chain, entry.term, entry.index, entry.type, entry.data);
    if (expected != entry.chain) {
      ReportViolation("hash chain",
                      absl::StrCat("node ", node, " stores ", Describe(PositionOf(entry)),
                                   " but its predecessor ", Describe(before), " chains to ",
                                   raft::ChainToHex(expected).substr(0, 12)));
      return;
    }
    if (entry.term < before.term) {
      ReportViolation("log matching",
                      absl::StrCat("node ", node, " stores term ", entry.term, " at index ",
                                   entry.index, " after term ", before.term));
    }
    CheckStored(node, entry);
    if (entry.index <= node_commit) CheckCommitted(node, PositionOf(entry), node_term);
    before = PositionOf(entry);
  }
}

void InvariantChecker::ObserveCommitted(NodeId node, const LogPosition& position,
                                        uint64_t node_term) {
  CheckCommitted(node, position, node_term);
}

void InvariantChecker::CheckCommitted(NodeId node, const LogPosition& position,
                                      uint64_t node_term) {
  if (position.index == 0) return;  // the implicit empty snapshot
  auto [it, inserted] = committed_.emplace(position.index, position);
  if (!inserted && (it->second.term != position.term || it->second.chain != position.chain)) {
    ReportViolation("committed entry changed",
                    absl::StrCat("node ", node, " has ", Describe(position), " committed, but ",
                                 Describe(it->second), " was committed there before"));
    return;
  }
  auto [term_it, first] = commit_term_.emplace(position.index, node_term);
  if (first || node_term < term_it->second) {
    term_it->second = node_term;
    uint64_t& highest = highest_committed_in_term_[node_term];
    highest = std::max(highest, position.index);
  }
}

void InvariantChecker::ObserveCommitIndex(NodeId node, uint64_t commit) {
  NodeRecord& record = nodes_[node];
  if (commit < record.commit_seen) {
    ReportViolation(
        "commit decreased",
        absl::StrCat("node ", node, " commit index went from ", record.commit_seen, " to ", commit,
                     " (persisted commit ", record.persisted_commit, ")"));
  }
  record.commit_seen = std::max(record.commit_seen, commit);
}

void InvariantChecker::ObservePersistedCommit(NodeId node, uint64_t commit) {
  NodeRecord& record = nodes_[node];
  if (commit < record.persisted_commit) {
    ReportViolation("commit decreased",
                    absl::StrCat("node ", node, " persisted commit index ", commit,
                                 " after persisting ", record.persisted_commit));
  }
  record.persisted_commit = std::max(record.persisted_commit, commit);
}

void InvariantChecker::ObserveRestart(NodeId node) {
  NodeRecord& record = nodes_[node];
  // In-memory commit beyond the persisted one may be forgotten; the persisted
  // one may not.
  record.commit_seen = record.persisted_commit;
  record.state_machine_started = false;
}

void InvariantChecker::ObserveWipe(NodeId node) {
  NodeRecord& record = nodes_[node];
  record.life++;
  record.commit_seen = 0;
  record.persisted_commit = 0;
  record.state_machine_started = false;
}

void InvariantChecker::ObserveLeaderLog(
    NodeId node, uint64_t term, uint64_t snapshot_index,
    const std::function<std::optional<LogPosition>(uint64_t)>& lookup) {
  // The highest index known committed in a term before `term`: by the hash
  // chain, holding it means holding every committed entry before it too.
  uint64_t required = 0;
  for (const auto& [commit_term, index] : highest_committed_in_term_) {
    if (commit_term >= term) break;
    required = std::max(required, index);
  }
  if (required == 0 || required <= snapshot_index) return;  // the snapshot was checked as committed
  const LogPosition& want = committed_.at(required);
  std::optional<LogPosition> have = lookup(required);
  if (!have.has_value()) {
    ReportViolation("leader completeness",
                    absl::StrCat("node ", node, " leads term ", term, " without index ", required,
                                 ", committed as ", Describe(want)));
  } else if (have->term != want.term || have->chain != want.chain) {
    ReportViolation("leader completeness",
                    absl::StrCat("node ", node, " leads term ", term, " holding ", Describe(*have),
                                 " where ", Describe(want), " was committed"));
  }
}

void InvariantChecker::ObserveStateMachineStart(NodeId node, uint64_t applied_index,
                                                uint64_t digest) {
  NodeRecord& record = nodes_[node];
  record.state_machine_started = true;
  record.applied_index = applied_index;
  if (applied_index == 0) return;
  auto [it, inserted] = digest_at_.emplace(applied_index, digest);
  if (!inserted && it->second != digest) {
    ReportViolation("applied prefix",
                    absl::StrCat("node ", node, " restored state at index ", applied_index,
                                 " with digest ", digest, ", others had ", it->second));
  }
}

void InvariantChecker::ObserveApplied(NodeId node, const LogPosition& position,
                                      uint64_t digest_after) {
  NodeRecord& record = nodes_[node];
  if (!record.state_machine_started) {
    ReportViolation("applied prefix", absl::StrCat("node ", node, " applied index ", position.index,
                                                   " before its state started"));
    return;
  }
  if (position.index != record.applied_index + 1) {
    ReportViolation("applied prefix", absl::StrCat("node ", node, " applied index ", position.index,
                                                   " right after index ", record.applied_index));
  }
  record.applied_index = position.index;
  auto committed = committed_.find(position.index);
  if (committed == committed_.end() || committed->second.term != position.term ||
      committed->second.chain != position.chain) {
    ReportViolation("applied prefix", absl::StrCat("node ", node, " applied ", Describe(position),
                                                   " which is not the committed entry there"));
  }
  auto [it, inserted] = digest_at_.emplace(position.index, digest_after);
  if (!inserted && it->second != digest_after) {
    ReportViolation("applied prefix",
                    absl::StrCat("node ", node, " reached digest ", digest_after, " at index ",
                                 position.index, ", others reached ", it->second));
  }
}

void InvariantChecker::ObserveReadRequested(const std::string& context) {
  reads_[context] = max_committed_index();
}

void InvariantChecker::ObserveReadState(NodeId node, const std::string& context, uint64_t index) {
  auto it = reads_.find(context);
  if (it == reads_.end()) {
    ReportViolation("stale read", absl::StrCat("node ", node, " answered read '", context,
                                               "' that nobody asked"));
    return;
  }
  if (index < it->second) {
    ReportViolation("stale read",
                    absl::StrCat("node ", node, " answered read '", context, "' at index ", index,
                                 " but index ", it->second, " was committed when it was asked"));
  }
}

}  // namespace qbox::sim

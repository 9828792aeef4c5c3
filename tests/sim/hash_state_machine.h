// The simulated application: a small key-value map fed by "key=value"
// commands, plus a digest that accumulates every applied entry in order. Two
// nodes with equal digests at an index applied the same sequence of entries.
// It tracks membership from config entries so that a snapshot can carry the
// membership of its index, and serialises to a few hundred bytes so that
// InstallSnapshot needs several chunks.
#ifndef QBOX_TESTS_SIM_HASH_STATE_MACHINE_H_
#define QBOX_TESTS_SIM_HASH_STATE_MACHINE_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "node/raft/types.h"

namespace qbox::sim {

class HashStateMachine {
 public:
  // Applies the next committed entry (the caller checks the order).
  void Apply(const raft::Entry& entry);

  uint64_t applied_index() const { return applied_index_; }
  uint64_t applied_term() const { return applied_term_; }
  const raft::ChainHash& applied_chain() const { return applied_chain_; }
  uint64_t digest() const { return digest_; }
  const raft::ConfState& conf() const { return conf_; }
  uint64_t normal_entries() const { return normal_entries_; }

  // The state as snapshot data, and the snapshot metadata describing it.
  std::string Serialize() const;
  raft::SnapshotMeta SnapshotMetaFor(absl::string_view data) const;

  // Rebuilds a state machine from Serialize()'s output; INVALID_ARGUMENT
  // naming the bad field otherwise.
  static absl::StatusOr<HashStateMachine> Parse(absl::string_view data);

 private:
  uint64_t applied_index_ = 0;
  uint64_t applied_term_ = 0;
  raft::ChainHash applied_chain_{};
  uint64_t digest_ = 0;
  uint64_t normal_entries_ = 0;
  raft::ConfState conf_;
  std::map<std::string, std::string> values_;
};

}  // namespace qbox::sim

#endif  // QBOX_TESTS_SIM_HASH_STATE_MACHINE_H_

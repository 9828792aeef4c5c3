// The two raft::LogStorage implementations, as the conformance suites
// create them: RocksDbLogStorage on a real RocksDB in a temporary
// directory, and the in-memory MemoryLogStorage the simulation uses.
#ifndef QBOX_TESTS_STORAGE_LOG_STORAGE_FACTORIES_H_
#define QBOX_TESTS_STORAGE_LOG_STORAGE_FACTORIES_H_

#include <memory>
#include <string>
#include <type_traits>

#include "gtest/gtest.h"
#include "node/raft/log_storage.h"
#include "node/raft/memory_log_storage.h"
#include "node/storage/rocksdb_log_storage.h"
#include "tests/storage/temp_dir.h"

namespace qbox::testing {

struct RocksDbFactory {
  // ApproximateEntryBytes is an estimate here.
  static constexpr bool kExactSizes = false;
  TempDir dir;
  // Where a local snapshot file is written before it is handed over: the
  // storage's own file system, as the node's scratch directory is.
  std::string ScratchDir() const { return dir.path(); }
  std::unique_ptr<raft::LogStorage> Create() {
    auto storage = storage::RocksDbLogStorage::Open(dir.path() + "/raft");
    if (!storage.ok()) {
      ADD_FAILURE() << storage.status();
      return nullptr;
    }
    return std::move(*storage);
  }
  // Closes `log` and opens it again, as a node's restart does.
  std::unique_ptr<raft::LogStorage> Restart(std::unique_ptr<raft::LogStorage> log) {
    log.reset();
    return Create();
  }
};

struct MemoryFactory {
  static constexpr bool kExactSizes = true;
  TempDir dir;
  std::string ScratchDir() const { return dir.path(); }
  std::unique_ptr<raft::LogStorage> Create() { return std::make_unique<raft::MemoryLogStorage>(); }
  // The simulation's restart: the same object, standing for what was durable.
  std::unique_ptr<raft::LogStorage> Restart(std::unique_ptr<raft::LogStorage> log) { return log; }
};

using LogStorageImplementations = ::testing::Types<RocksDbFactory, MemoryFactory>;

class LogStorageImplementationNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, RocksDbFactory> ? "RocksDb" : "Memory";
  }
};

}  // namespace qbox::testing

#endif  // QBOX_TESTS_STORAGE_LOG_STORAGE_FACTORIES_H_

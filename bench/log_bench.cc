// Log append benchmark: how fast RocksDbLogStorage makes entries durable with
// group commit (one synced WriteBatch per Persist of --batch entries),
// compared in the same run, on the same disk, with what the disk does raw:
//
//   raw sequential      large write()s and one fdatasync() at the end: the
//                       disk's sequential write bandwidth
//   raw fsync/write     one writer, write()+fdatasync() per entry-sized write:
//                       what a log without batching could reach
//   log append          Persist() of --batch entries at a time, synced
//
// Targets (issue 2): at 64 KiB entries the log reaches >= 50% of the raw
// sequential bandwidth; at 4 KiB entries it appends >= 10x as many entries
// per second as the raw fsync-per-write rate. The table prints both ratios.
// For diagnosis it also prints other raw baselines (fdatasync per batch or
// per 64 MiB, O_DIRECT), bytes written per byte appended, the appending
// thread's CPU share, and with --variants an A/B of RocksDB option sets.
//
// Usage: log_bench [--dir=/path/on/the/disk] [--rounds=3] [--seconds=2]
//                  [--batch=64] [--raw_mib=256] [--log_mib=4096] [--compact_keep_mib=64]
//                  [--variants=recycle4,merge2,...]  (RocksDB option A/B, see Variants())
// Progress goes to stderr, the table to stdout.
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "node/storage/record_codec.h"
#include "node/storage/rocksdb_log_storage.h"
#include "rocksdb/write_batch.h"

ABSL_FLAG(std::string, dir, "/tmp",
          "directory on the disk to measure; the benchmark works in a fresh subdirectory and "
          "removes it afterwards");
ABSL_FLAG(int, rounds, 3, "rounds of all cases; the table shows each case's median round");
ABSL_FLAG(double, seconds, 2.0, "time limit of each fsync-per-write and log-append case");
ABSL_FLAG(int, batch, 64, "entries per Persist call (one synced WriteBatch each)");
ABSL_FLAG(int, raw_mib, 256, "MiB written by the raw sequential case");
ABSL_FLAG(int, compact_keep_mib, 64,
          "also run each log case with snapshots + log compaction that keep the last this many "
          "MiB of entries, as a node does (0: skip)");
ABSL_FLAG(std::string, variants, "",
          "comma-separated RocksDB option variants (see kVariants) to A/B against \"baseline\" "
          "(the options RocksDbLogStorage opens with) at 64 KiB entries, interleaved with the "
          "other cases in every round; empty: none");
ABSL_FLAG(int, log_mib, 4096,
          "most MiB appended by each log-append case; the default lets --seconds decide, so the "
          "log outgrows its memtables and background flushes count (sustained rate)");

namespace {

using Clock = std::chrono::steady_clock;
constexpr double kMiB = 1024.0 * 1024.0;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "log_bench: %s\n", message.c_str());
  std::exit(1);
}

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(size, '\0');
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t word = rng();
    for (size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<char>(word >> (8 * j));
  }
  return out;
}

struct Rate {
  uint64_t ops = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  double OpsPerSecond() const { return ops / seconds; }
  double MiBPerSecond() const { return bytes / kMiB / seconds; }
  // Bytes this process handed to write()/pwrite() during the case (all
  // threads, so RocksDB's WAL and its background flushes and compactions):
  // divided by `bytes` it is the write amplification, which unlike the rate
  // does not depend on how busy the shared disk was.
  uint64_t written = 0;
  double WriteAmplification() const { return static_cast<double>(written) / bytes; }
  // CPU time of the appending thread (checksums, copies, syscalls) and of
  // the whole process (adds RocksDB's background flushes and compactions).
  // The first near `seconds` means the append path is CPU-bound, not
  // waiting for the disk.
  double thread_cpu_seconds = 0;
  double process_cpu_seconds = 0;
};

double CpuSeconds(clockid_t clock) {
  timespec now{};
  ::clock_gettime(clock, &now);
  return static_cast<double>(now.tv_sec) + now.tv_nsec * 1e-9;
}

// Starts the written-bytes and CPU counters of a case; Stop fills them in.
class CaseCounters {
 public:
  CaseCounters()
      : written_(BytesWrittenByProcess()),
        thread_cpu_(CpuSeconds(CLOCK_THREAD_CPUTIME_ID)),
        process_cpu_(CpuSeconds(CLOCK_PROCESS_CPUTIME_ID)) {}
  void Stop(Rate* rate) const {
    rate->written = BytesWrittenByProcess() - written_;
    rate->thread_cpu_seconds = CpuSeconds(CLOCK_THREAD_CPUTIME_ID) - thread_cpu_;
    rate->process_cpu_seconds = CpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - process_cpu_;
  }

 private:
  static uint64_t BytesWrittenByProcess();
  uint64_t written_;
  double thread_cpu_;
  double process_cpu_;
};

// The process's "wchar" from /proc/self/io; 0 where that file is missing.
uint64_t CaseCounters::BytesWrittenByProcess() {
  FILE* file = std::fopen("/proc/self/io", "r");
  if (file == nullptr) return 0;
  char line[128];
  unsigned long long value = 0;
  while (std::fgets(line, sizeof line, file) != nullptr) {
    if (std::sscanf(line, "wchar: %llu", &value) == 1) break;
  }
  std::fclose(file);
  return value;
}

void WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) Die(absl::StrCat("write ", path, ": ", std::strerror(errno)));
    done += static_cast<size_t>(n);
  }
}

// Large sequential writes, one fdatasync at the end (included in the time).
Rate RawSequential(const std::string& dir, uint64_t total_bytes) {
  const std::string path = dir + "/raw-sequential";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  const std::string block = RandomBytes(1 << 20, 1);
  Rate rate;
  const auto start = Clock::now();
  while (rate.bytes < total_bytes) {
    WriteAll(fd, block, path);
    rate.bytes += block.size();
    ++rate.ops;
  }
  if (::fdatasync(fd) != 0) Die(absl::StrCat("fdatasync ", path, ": ", std::strerror(errno)));
  rate.seconds = SecondsSince(start);
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

// Fairer-to-the-log baselines for the bandwidth (printed for information;
// the target keeps "raw sequential" above). One fdatasync at the end of
// 256 MiB lets the kernel write back from the page cache with a deep queue
// while the write() loop runs, and a host-side cache can absorb the tail;
// the log instead syncs every batch. These bound the disk's rate when the
// writer must wait for it more often.
//   sync_every > 0: buffered 1 MiB writes, fdatasync every `sync_every` bytes
//   direct:         O_DIRECT 1 MiB writes (no page cache), fdatasync at the end
Rate RawSequentialVariant(const std::string& dir, uint64_t total_bytes, uint64_t sync_every,
                          bool direct) {
  const std::string path = dir + "/raw-sequential-variant";
  const int fd = ::open(path.c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | (direct ? O_DIRECT : 0), 0600);
  if (fd < 0) Die(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  constexpr size_t kBlock = 1 << 20;
  // O_DIRECT needs an aligned buffer; 4 KiB covers every block size in use.
  void* buffer = nullptr;
  if (::posix_memalign(&buffer, 4096, kBlock) != 0) Die("posix_memalign failed");
  const std::string block = RandomBytes(kBlock, 1);
  std::memcpy(buffer, block.data(), kBlock);
  Rate rate;
  uint64_t unsynced = 0;
  const auto start = Clock::now();
  while (rate.bytes < total_bytes) {
    const ssize_t n = ::write(fd, buffer, kBlock);
    if (n != static_cast<ssize_t>(kBlock)) {
      Die(absl::StrCat("write ", path, ": ", n < 0 ? std::strerror(errno) : "short write"));
    }
    rate.bytes += kBlock;
    unsynced += kBlock;
    ++rate.ops;
    if (sync_every > 0 && unsynced >= sync_every) {
      if (::fdatasync(fd) != 0) Die(absl::StrCat("fdatasync ", path, ": ", std::strerror(errno)));
      unsynced = 0;
    }
  }
  if (::fdatasync(fd) != 0) Die(absl::StrCat("fdatasync ", path, ": ", std::strerror(errno)));
  rate.seconds = SecondsSince(start);
  ::close(fd);
  std::free(buffer);
  std::filesystem::remove(path);
  return rate;
}

// One writer appending `size`-byte records, fdatasync after each.
Rate RawFsyncPerWrite(const std::string& dir, size_t size, double seconds, uint64_t max_bytes) {
  const std::string path = absl::StrCat(dir, "/raw-fsync-", size);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Die(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  const std::string record = RandomBytes(size, 2);
  Rate rate;
  const auto start = Clock::now();
  while (SecondsSince(start) < seconds && rate.bytes < max_bytes) {
    WriteAll(fd, record, path);
    if (::fdatasync(fd) != 0) Die(absl::StrCat("fdatasync ", path, ": ", std::strerror(errno)));
    rate.bytes += size;
    ++rate.ops;
  }
  rate.seconds = SecondsSince(start);
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

// Persist() of `batch` entries of `size` bytes at a time into a fresh log.
// With keep_bytes > 0 it also does what a node does: every time the log holds
// twice `keep_bytes`, it saves a (tiny) snapshot and compacts the log down to
// the last `keep_bytes`, so entries are deleted soon after they are written.
Rate LogAppend(const std::string& dir, size_t size, int batch, double seconds, uint64_t max_bytes,
               uint64_t keep_bytes) {
  const std::string path = absl::StrCat(dir, "/log-", size, "-keep-", keep_bytes);
  auto opened = qbox::storage::RocksDbLogStorage::Open(path);
  if (!opened.ok()) Die(opened.status().ToString());
  std::unique_ptr<qbox::storage::RocksDbLogStorage> log = std::move(*opened);

  // Distinct payloads so nothing downstream can deduplicate or compress them.
  std::vector<std::string> payloads;
  for (int i = 0; i < 16; ++i) payloads.push_back(RandomBytes(size, 100 + i));
  std::vector<qbox::raft::Entry> entries(batch);
  uint64_t next_index = 1;
  Rate rate;
  const CaseCounters counters;
  const auto start = Clock::now();
  while (SecondsSince(start) < seconds && rate.bytes < max_bytes) {
    for (auto& entry : entries) {
      entry.term = 1;
      entry.index = next_index++;
      entry.data = payloads[entry.index % payloads.size()];
      entry.chain[0] = static_cast<uint8_t>(entry.index);  // storage does not check chains
    }
    absl::Status persisted = log->Persist(entries, nullptr);
    if (!persisted.ok()) Die(persisted.ToString());
    rate.ops += entries.size();
    rate.bytes += entries.size() * size;
    const uint64_t keep_entries = keep_bytes / size;
    const uint64_t last = next_index - 1;
    if (keep_bytes > 0 && last - log->FirstIndex() + 1 >= 2 * keep_entries) {
      qbox::raft::SnapshotMeta meta;
      meta.index = last - keep_entries;
      meta.term = 1;
      absl::Status saved = log->SaveSnapshot(meta, "bench state machine");
      if (saved.ok()) saved = log->Compact(meta.index);
      if (!saved.ok()) Die(saved.ToString());
    }
  }
  rate.seconds = SecondsSince(start);
  counters.Stop(&rate);
  log.reset();
  std::filesystem::remove_all(path);
  return rate;
}

// RocksDB option experiments. RocksDbLogStorage::Open takes no options, so a
// variant is measured on a raw RocksDB handle that does what the storage
// does: the same column families and options (MakeDbOptions /
// MakeLogColumnFamilyOptions, then the variant's change), the same keys and
// encoded records, one synced WriteBatch per batch, and for compaction the
// snapshot metadata write plus a synced DeleteRange. Only the snapshot data
// file (a few bytes and its fsyncs) is left out. "baseline" changes nothing,
// so its rate next to the RocksDbLogStorage row shows the emulation is fair.
struct Variant {
  const char* name;
  const char* what;
  std::function<void(rocksdb::DBOptions&, rocksdb::ColumnFamilyOptions&)> apply;
};

constexpr uint64_t kVariantMiB = 1 << 20;

const std::vector<Variant>& Variants() {
  static const auto* variants = new std::vector<Variant>{
      {"baseline", "the options RocksDbLogStorage uses", [](auto&, auto&) {}},
      {"recycle4", "recycle_log_file_num = 4",
       [](rocksdb::DBOptions& db, auto&) { db.recycle_log_file_num = 4; }},
      // Information only: this recovery mode drops acknowledged entries after
      // a corrupt WAL record without an error, which the storage must not do.
      {"pit_recycle4", "NOT ADOPTABLE: kPointInTimeRecovery + recycle_log_file_num = 4",
       [](rocksdb::DBOptions& db, auto&) {
         db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
         db.recycle_log_file_num = 4;
       }},
      {"unmerged", "64 MiB x 4 memtables, each flushed alone (the options before merge3x6)",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) {
         cf.max_write_buffer_number = 4;
         cf.min_write_buffer_number_to_merge = 1;
       }},
      {"merge2", "min_write_buffer_number_to_merge = 2, 64 MiB x 4",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) {
         cf.max_write_buffer_number = 4;
         cf.min_write_buffer_number_to_merge = 2;
       }},
      {"merge3x6", "min_write_buffer_number_to_merge = 3, 64 MiB x 6 (adopted: = baseline)",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) {
         cf.max_write_buffer_number = 6;
         cf.min_write_buffer_number_to_merge = 3;
       }},
      {"wb32x8m4", "32 MiB x 8 memtables, merge 4 (256 MiB, as unmerged)",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) {
         cf.write_buffer_size = 32 * kVariantMiB;
         cf.max_write_buffer_number = 8;
         cf.min_write_buffer_number_to_merge = 4;
       }},
      {"wb32x8m6", "32 MiB x 8 memtables, merge 6 (256 MiB, as unmerged)",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) {
         cf.write_buffer_size = 32 * kVariantMiB;
         cf.max_write_buffer_number = 8;
         cf.min_write_buffer_number_to_merge = 6;
       }},
      {"wb128x4", "128 MiB x 4 memtables, unmerged",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) {
         cf.write_buffer_size = 128 * kVariantMiB;
         cf.max_write_buffer_number = 4;
         cf.min_write_buffer_number_to_merge = 1;
       }},
      {"wb128x2", "128 MiB x 2 memtables, unmerged (fewer flushes)",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) {
         cf.write_buffer_size = 128 * kVariantMiB;
         cf.max_write_buffer_number = 2;
         cf.min_write_buffer_number_to_merge = 1;
       }},
      {"bps1m", "bytes_per_sync = 1 MiB (SST writes synced in the background as they go)",
       [](rocksdb::DBOptions& db, auto&) { db.bytes_per_sync = kVariantMiB; }},
      {"walbps0", "wal_bytes_per_sync = 0 (no background WAL sync)",
       [](rocksdb::DBOptions& db, auto&) { db.wal_bytes_per_sync = 0; }},
      {"walbps8m", "wal_bytes_per_sync = 8 MiB",
       [](rocksdb::DBOptions& db, auto&) { db.wal_bytes_per_sync = 8 * kVariantMiB; }},
      {"wfbuf4m", "writable_file_max_buffer_size = 4 MiB",
       [](rocksdb::DBOptions& db, auto&) { db.writable_file_max_buffer_size = 4 * kVariantMiB; }},
      {"wfbuf256k", "writable_file_max_buffer_size = 256 KiB (write() sooner)",
       [](rocksdb::DBOptions& db, auto&) { db.writable_file_max_buffer_size = 256 * 1024; }},
      {"walbps256k", "wal_bytes_per_sync = 256 KiB (writeback starts sooner)",
       [](rocksdb::DBOptions& db, auto&) { db.wal_bytes_per_sync = 256 * 1024; }},
      {"buf256k", "writable_file_max_buffer_size and wal_bytes_per_sync = 256 KiB",
       [](rocksdb::DBOptions& db, auto&) {
         db.writable_file_max_buffer_size = 256 * 1024;
         db.wal_bytes_per_sync = 256 * 1024;
       }},
      {"merge2x6", "min_write_buffer_number_to_merge = 2, 64 MiB x 6",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) {
         cf.max_write_buffer_number = 6;
         cf.min_write_buffer_number_to_merge = 2;
       }},
      {"noblockio", "avoid_unnecessary_blocking_io = true",
       [](rocksdb::DBOptions& db, auto&) { db.avoid_unnecessary_blocking_io = true; }},
      {"readahead2m", "compaction_readahead_size = 2 MiB",
       [](rocksdb::DBOptions& db, auto&) { db.compaction_readahead_size = 2 * kVariantMiB; }},
      {"bg4", "max_background_jobs = 4",
       [](rocksdb::DBOptions& db, auto&) { db.max_background_jobs = 4; }},
      {"l0trig8", "level0_file_num_compaction_trigger = 8",
       [](auto&, rocksdb::ColumnFamilyOptions& cf) { cf.level0_file_num_compaction_trigger = 8; }},
  };
  return *variants;
}

const Variant* FindVariant(absl::string_view name) {
  for (const Variant& variant : Variants()) {
    if (name == variant.name) return &variant;
  }
  return nullptr;
}

void CheckRocks(const rocksdb::Status& status, const std::string& what) {
  if (!status.ok()) Die(absl::StrCat(what, ": ", status.ToString()));
}

Rate VariantAppend(const std::string& dir, const Variant& variant, size_t size, int batch,
                   double seconds, uint64_t max_bytes, uint64_t keep_bytes) {
  using qbox::storage::RocksDbLogStorage;
  const std::string path = absl::StrCat(dir, "/variant-", variant.name, "-", size, "-", keep_bytes);
  std::filesystem::create_directories(path);
  rocksdb::DBOptions db_options = RocksDbLogStorage::MakeDbOptions();
  rocksdb::ColumnFamilyOptions log_options = RocksDbLogStorage::MakeLogColumnFamilyOptions();
  variant.apply(db_options, log_options);
  rocksdb::ColumnFamilyOptions state_options;
  state_options.write_buffer_size = 4 * kVariantMiB;  // as RocksDbLogStorage::Open
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {RocksDbLogStorage::kLogColumnFamily, log_options},
      {RocksDbLogStorage::kStateColumnFamily, state_options},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  CheckRocks(rocksdb::DB::Open(db_options, path + "/db", families, &handles, &db),
             absl::StrCat("opening ", path));
  if (db_options.recycle_log_file_num > 0) {
    // RocksDB silently turns recycling off in some WAL recovery modes.
    std::fprintf(stderr, "  variant %s: asked recycle_log_file_num=%zu, RocksDB uses %zu\n",
                 variant.name, db_options.recycle_log_file_num,
                 db->GetDBOptions().recycle_log_file_num);
  }
  rocksdb::ColumnFamilyHandle* log_cf = handles[1];
  rocksdb::ColumnFamilyHandle* state_cf = handles[2];
  rocksdb::WriteOptions synced;
  synced.sync = true;

  std::vector<std::string> payloads;
  for (int i = 0; i < 16; ++i) payloads.push_back(RandomBytes(size, 100 + i));
  qbox::raft::Entry entry;
  entry.term = 1;
  uint64_t next_index = 1;
  uint64_t first_index = 1;
  Rate rate;
  const CaseCounters counters;
  const auto start = Clock::now();
  while (SecondsSince(start) < seconds && rate.bytes < max_bytes) {
    rocksdb::WriteBatch write_batch(batch * (size + 96) + 256);
    for (int i = 0; i < batch; ++i) {
      entry.index = next_index++;
      entry.data = payloads[entry.index % payloads.size()];
      entry.chain[0] = static_cast<uint8_t>(entry.index);
      CheckRocks(write_batch.Put(log_cf, qbox::storage::LogKey(entry.index),
                                 qbox::storage::EncodeEntry(entry)),
                 "batching");
    }
    CheckRocks(db->Write(synced, &write_batch), "appending");
    rate.ops += batch;
    rate.bytes += static_cast<uint64_t>(batch) * size;
    const uint64_t keep_entries = keep_bytes / size;
    const uint64_t last = next_index - 1;
    if (keep_bytes > 0 && last - first_index + 1 >= 2 * keep_entries) {
      qbox::raft::SnapshotMeta meta;
      meta.index = last - keep_entries;
      meta.term = 1;
      CheckRocks(db->Put(synced, state_cf, RocksDbLogStorage::kSnapshotMetaKey,
                         qbox::storage::EncodeSnapshotMeta(meta)),
                 "saving snapshot metadata");
      rocksdb::WriteBatch compact;
      CheckRocks(compact.DeleteRange(log_cf, qbox::storage::LogKey(first_index),
                                     qbox::storage::LogKey(meta.index + 1)),
                 "compacting");
      qbox::storage::LogStart log_start{meta.index, 1, {}};
      CheckRocks(compact.Put(state_cf, RocksDbLogStorage::kLogStartKey,
                             qbox::storage::EncodeLogStart(log_start)),
                 "compacting");
      CheckRocks(db->Write(synced, &compact), "compacting");
      first_index = meta.index + 1;
    }
  }
  rate.seconds = SecondsSince(start);
  counters.Stop(&rate);
  for (rocksdb::ColumnFamilyHandle* handle : handles) db->DestroyColumnFamilyHandle(handle);
  db->Close().PermitUncheckedError();
  delete db;
  std::filesystem::remove_all(path);
  return rate;
}

// The sample with the median rate (by operations per second).
Rate Median(std::vector<Rate> rates) {
  std::sort(rates.begin(), rates.end(),
            [](const Rate& a, const Rate& b) { return a.OpsPerSecond() < b.OpsPerSecond(); });
  return rates[rates.size() / 2];
}

void Progress(const std::string& what, const Rate& rate) {
  std::fprintf(stderr, "  %-40s %10.0f ops/s %9.1f MiB/s (%.2f s)", what.c_str(),
               rate.OpsPerSecond(), rate.MiBPerSecond(), rate.seconds);
  if (rate.written > 0) {
    std::fprintf(stderr, "  wrote %.2fx, CPU: appender %.0f%%, process %.0f%%",
                 rate.WriteAmplification(), 100 * rate.thread_cpu_seconds / rate.seconds,
                 100 * rate.process_cpu_seconds / rate.seconds);
  }
  std::fprintf(stderr, "\n");
}

// Median share of wall time the appending thread spent on CPU.
double MedianCpuShare(const std::vector<Rate>& rates) {
  std::vector<double> shares;
  for (const Rate& rate : rates) shares.push_back(rate.thread_cpu_seconds / rate.seconds);
  std::sort(shares.begin(), shares.end());
  return shares[shares.size() / 2];
}

// Median write amplification of a case's rounds.
double MedianWriteAmplification(const std::vector<Rate>& rates) {
  std::vector<double> amplifications;
  for (const Rate& rate : rates) amplifications.push_back(rate.WriteAmplification());
  std::sort(amplifications.begin(), amplifications.end());
  return amplifications[amplifications.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const int batch = absl::GetFlag(FLAGS_batch);
  const uint64_t raw_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_raw_mib)) << 20;
  const uint64_t log_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_log_mib)) << 20;
  if (batch < 1) Die("--batch must be at least 1");
  if (absl::GetFlag(FLAGS_rounds) < 1) Die("--rounds must be at least 1");
  std::vector<const Variant*> variants;
  for (absl::string_view name :
       absl::StrSplit(absl::GetFlag(FLAGS_variants), ',', absl::SkipEmpty())) {
    const Variant* variant = FindVariant(name);
    if (variant == nullptr) {
      std::string known;
      for (const Variant& v : Variants()) absl::StrAppend(&known, " ", v.name);
      Die(absl::StrCat("--variants: unknown variant \"", name, "\"; known:", known));
    }
    variants.push_back(variant);
  }
  if (!variants.empty() && variants.front() != FindVariant("baseline")) {
    variants.insert(variants.begin(), FindVariant("baseline"));
  }

  std::string dir = absl::GetFlag(FLAGS_dir) + "/qbox-log-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    Die(absl::StrCat("cannot create a directory under ", absl::GetFlag(FLAGS_dir), ": ",
                     std::strerror(errno)));
  }
  std::fprintf(stderr, "log_bench: working in %s\n", dir.c_str());

  // Rounds interleave the cases so that a burst of load from a neighbour on
  // a shared machine skews one sample per case, not one whole case; the
  // table reports the median round of each case.
  const int rounds = absl::GetFlag(FLAGS_rounds);
  std::vector<Rate> sequential_samples;
  std::vector<Rate> sequential_sync64_samples;
  std::vector<Rate> sequential_direct_samples;
  std::vector<Rate> sequential_batch_samples;
  const uint64_t batch_bytes_64k = static_cast<uint64_t>(batch) * 65536;
  constexpr size_t kVariantEntry = 65536;
  // variant_samples[v][round], plain and with compaction.
  std::vector<std::vector<Rate>> variant_samples(variants.size());
  std::vector<std::vector<Rate>> variant_compacting_samples(variants.size());
  struct Samples {
    size_t size;
    std::vector<Rate> raw;
    std::vector<Rate> log;
    std::vector<Rate> compacting;
  };
  std::vector<Samples> samples = {{4096, {}, {}, {}}, {65536, {}, {}, {}}};
  const uint64_t keep_bytes = static_cast<uint64_t>(absl::GetFlag(FLAGS_compact_keep_mib)) << 20;
  for (int round = 1; round <= rounds; ++round) {
    std::fprintf(stderr, "round %d of %d\n", round, rounds);
    sequential_samples.push_back(RawSequential(dir, raw_bytes));
    Progress(absl::StrCat("raw sequential ", absl::GetFlag(FLAGS_raw_mib), " MiB"),
             sequential_samples.back());
    sequential_sync64_samples.push_back(RawSequentialVariant(dir, raw_bytes, 64 << 20, false));
    Progress("raw sequential, fdatasync every 64 MiB", sequential_sync64_samples.back());
    sequential_direct_samples.push_back(RawSequentialVariant(dir, raw_bytes, 0, true));
    Progress("raw sequential, O_DIRECT", sequential_direct_samples.back());
    sequential_batch_samples.push_back(
        RawSequentialVariant(dir, raw_bytes, batch_bytes_64k, false));
    Progress(absl::StrCat("raw sequential, fdatasync every ", batch_bytes_64k >> 20, " MiB"),
             sequential_batch_samples.back());
    for (Samples& sample : samples) {
      const size_t kib = sample.size / 1024;
      sample.raw.push_back(RawFsyncPerWrite(dir, sample.size, seconds, log_bytes));
      Progress(absl::StrCat("raw write+fdatasync per ", kib, " KiB"), sample.raw.back());
      sample.log.push_back(LogAppend(dir, sample.size, batch, seconds, log_bytes, 0));
      Progress(absl::StrCat("log append ", kib, " KiB x", batch, " per batch"), sample.log.back());
      if (keep_bytes > 0) {
        sample.compacting.push_back(
            LogAppend(dir, sample.size, batch, seconds, log_bytes, keep_bytes));
        Progress(absl::StrCat("  same, compacting to last ", absl::GetFlag(FLAGS_compact_keep_mib),
                              " MiB"),
                 sample.compacting.back());
      }
    }
    // Variants rotate their starting position each round so that none is
    // always measured right after a case that left the disk busy.
    for (size_t k = 0; k < variants.size(); ++k) {
      const size_t v = (k + round) % variants.size();
      variant_samples[v].push_back(
          VariantAppend(dir, *variants[v], kVariantEntry, batch, seconds, log_bytes, 0));
      Progress(absl::StrCat("variant ", variants[v]->name, " 64 KiB"), variant_samples[v].back());
      if (keep_bytes > 0) {
        variant_compacting_samples[v].push_back(
            VariantAppend(dir, *variants[v], kVariantEntry, batch, seconds, log_bytes, keep_bytes));
        Progress(absl::StrCat("  same, compacting"), variant_compacting_samples[v].back());
      }
    }
  }
  std::filesystem::remove_all(dir);

  const Rate sequential = Median(sequential_samples);
  struct Row {
    size_t size;
    Rate raw;
    Rate log;
  };
  std::vector<Row> rows;
  for (const Samples& sample : samples)
    rows.push_back({sample.size, Median(sample.raw), Median(sample.log)});

  std::printf(
      "disk under %s; each column is the median of %d rounds; raw sequential write: %.1f MiB/s (%d "
      "MiB, one "
      "fdatasync)\n\n",
      absl::GetFlag(FLAGS_dir).c_str(), rounds, sequential.MiBPerSecond(),
      absl::GetFlag(FLAGS_raw_mib));
  std::printf("%-8s | %-26s | %-29s | %-14s | %-16s\n", "entry", "raw write+fdatasync each",
              absl::StrFormat("log append, batch %d", batch).c_str(), "log / raw each",
              "log / raw seq bw");
  std::printf("%-8s | %12s %13s | %12s %16s | %14s | %16s\n", "", "writes/s", "MiB/s", "entries/s",
              "MiB/s", "(entries/s)", "(MiB/s)");
  for (const Row& row : rows) {
    std::printf("%-8s | %12.0f %13.1f | %12.0f %16.1f | %13.1fx | %15.0f%%\n",
                absl::StrCat(row.size / 1024, " KiB").c_str(), row.raw.OpsPerSecond(),
                row.raw.MiBPerSecond(), row.log.OpsPerSecond(), row.log.MiBPerSecond(),
                row.log.OpsPerSecond() / row.raw.OpsPerSecond(),
                100.0 * row.log.MiBPerSecond() / sequential.MiBPerSecond());
  }
  if (keep_bytes > 0) {
    std::printf("\nwith snapshots + log compaction keeping the last %d MiB (as a node runs):\n",
                absl::GetFlag(FLAGS_compact_keep_mib));
    for (const Samples& sample : samples) {
      const Rate rate = Median(sample.compacting);
      std::printf("%-8s | %12.0f entries/s %9.1f MiB/s | %5.1fx raw each | %4.0f%% of raw seq bw\n",
                  absl::StrCat(sample.size / 1024, " KiB").c_str(), rate.OpsPerSecond(),
                  rate.MiBPerSecond(), rate.OpsPerSecond() / Median(sample.raw).OpsPerSecond(),
                  100.0 * rate.MiBPerSecond() / sequential.MiBPerSecond());
    }
  }

  // Median and spread of a per-round ratio.
  auto spread = [&](auto ratio_of_round) {
    std::vector<double> ratios;
    for (int round = 0; round < rounds; ++round) ratios.push_back(ratio_of_round(round));
    std::sort(ratios.begin(), ratios.end());
    return absl::StrFormat("%5.0f%% (%.0f..%.0f%%)", 100 * ratios[ratios.size() / 2],
                           100 * ratios.front(), 100 * ratios.back());
  };
  std::printf(
      "\nwrite amplification of the log at 64 KiB (bytes passed to write() per byte "
      "appended, median round): %.2fx plain",
      MedianWriteAmplification(samples[1].log));
  if (keep_bytes > 0) {
    std::printf(", %.2fx with compaction", MedianWriteAmplification(samples[1].compacting));
  }
  std::printf("\n");
  std::printf(
      "CPU of the appending thread at 64 KiB (share of wall time, median round; near "
      "100%% = CPU-bound, not waiting for the disk): %.0f%% plain",
      100 * MedianCpuShare(samples[1].log));
  if (keep_bytes > 0)
    std::printf(", %.0f%% with compaction", 100 * MedianCpuShare(samples[1].compacting));
  std::printf("\n");
  std::printf(
      "\nother raw sequential baselines (information only; the target uses the row above):\n");
  std::printf("  fdatasync every 64 MiB: %7.1f MiB/s; log 64 KiB / it: %s\n",
              Median(sequential_sync64_samples).MiBPerSecond(),
              spread([&](int r) {
                return samples[1].log[r].MiBPerSecond() /
                       sequential_sync64_samples[r].MiBPerSecond();
              }).c_str());
  std::printf(
      "  fdatasync every %3llu MiB (a 64 KiB batch, the log's sync pattern): %7.1f MiB/s; "
      "log 64 KiB / it: %s\n",
      static_cast<unsigned long long>(batch_bytes_64k >> 20),
      Median(sequential_batch_samples).MiBPerSecond(),
      spread([&](int r) {
        return samples[1].log[r].MiBPerSecond() / sequential_batch_samples[r].MiBPerSecond();
      }).c_str());
  std::printf("  O_DIRECT 1 MiB writes:  %7.1f MiB/s; log 64 KiB / it: %s\n",
              Median(sequential_direct_samples).MiBPerSecond(),
              spread([&](int r) {
                return samples[1].log[r].MiBPerSecond() /
                       sequential_direct_samples[r].MiBPerSecond();
              }).c_str());

  if (!variants.empty()) {
    std::printf(
        "\nRocksDB option variants, 64 KiB entries, raw RocksDB handle emulating the storage; "
        "ratios are per round, median (min..max):\n");
    std::printf("%-12s | %9s %-20s %-18s %5s | %9s %-20s %-18s %5s | %s\n", "variant", "MiB/s",
                "vs baseline", "vs raw seq", "wrote", "compact", "vs baseline", "vs raw seq",
                "wrote", "change");
    for (size_t v = 0; v < variants.size(); ++v) {
      auto vs_baseline = [&](const std::vector<std::vector<Rate>>& all) {
        return spread([&](int r) { return all[v][r].MiBPerSecond() / all[0][r].MiBPerSecond(); });
      };
      auto vs_raw = [&](const std::vector<std::vector<Rate>>& all) {
        return spread(
            [&](int r) { return all[v][r].MiBPerSecond() / sequential_samples[r].MiBPerSecond(); });
      };
      std::string compacting = "-";
      if (keep_bytes > 0) {
        compacting = absl::StrFormat(
            "%9.1f %-20s %-18s %4.2fx", Median(variant_compacting_samples[v]).MiBPerSecond(),
            vs_baseline(variant_compacting_samples), vs_raw(variant_compacting_samples),
            MedianWriteAmplification(variant_compacting_samples[v]));
      }
      std::printf("%-12s | %9.1f %-20s %-18s %4.2fx | %s | %s\n", variants[v]->name,
                  Median(variant_samples[v]).MiBPerSecond(), vs_baseline(variant_samples).c_str(),
                  vs_raw(variant_samples).c_str(), MedianWriteAmplification(variant_samples[v]),
                  compacting.c_str(), variants[v]->what);
    }
    std::printf(
        "(wrote: bytes the process passed to write() per byte appended, median round: WAL + "
        "flushes + compactions that ran during the case)\n");
  }

  // The verdicts use ratios taken within each round (both sides measured
  // minutes apart would compare a quiet disk with a busy one), then the
  // median round; the spread shows how much the machine moved.
  auto verdict = [&](const char* what, double target, bool percent, auto ratio_of_round) {
    std::vector<double> ratios;
    for (int round = 0; round < rounds; ++round) ratios.push_back(ratio_of_round(round));
    std::sort(ratios.begin(), ratios.end());
    const double scale = percent ? 100 : 1;
    const char* unit = percent ? "%" : "x";
    std::printf("%s: median %.1f%s (rounds %.1f%s .. %.1f%s)  %s\n", what,
                scale * ratios[ratios.size() / 2], unit, scale * ratios.front(), unit,
                scale * ratios.back(), unit,
                ratios[ratios.size() / 2] >= target ? "MET" : "MISSED");
  };
  std::printf("\n");
  verdict("target 4 KiB:  log entries/s >= 10x raw write+fdatasync rate", 10, false, [&](int r) {
    return samples[0].log[r].OpsPerSecond() / samples[0].raw[r].OpsPerSecond();
  });
  verdict("target 64 KiB: log MiB/s >= 50% of raw sequential bandwidth", 0.5, true, [&](int r) {
    return samples[1].log[r].MiBPerSecond() / sequential_samples[r].MiBPerSecond();
  });
  if (keep_bytes > 0) {
    verdict("  the same, with compaction (4 KiB)", 10, false, [&](int r) {
      return samples[0].compacting[r].OpsPerSecond() / samples[0].raw[r].OpsPerSecond();
    });
    verdict("  the same, with compaction (64 KiB)", 0.5, true, [&](int r) {
      return samples[1].compacting[r].MiBPerSecond() / sequential_samples[r].MiBPerSecond();
    });
  }
  return 0;
}

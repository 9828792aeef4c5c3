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
//
// Usage: log_bench [--dir=/path/on/the/disk] [--rounds=3] [--seconds=2]
//                  [--batch=64] [--raw_mib=256] [--log_mib=4096] [--compact_keep_mib=64]
// Progress goes to stderr, the table to stdout.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/storage/rocksdb_log_storage.h"

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
};

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
  log.reset();
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
  std::fprintf(stderr, "  %-40s %10.0f ops/s %9.1f MiB/s (%.2f s)\n", what.c_str(),
               rate.OpsPerSecond(), rate.MiBPerSecond(), rate.seconds);
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

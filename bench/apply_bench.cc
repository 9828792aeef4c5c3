// Apply benchmark (a plain program, not a test): the cost of applying
// AppendMessage entries to the mailbox state machine on a real RocksDB
// store, one thread, no network and no consensus. It isolates the part of
// a node's CPU per append that the cluster benchmark cannot separate from
// TLS, gRPC and the raft log, so a change to the apply path can be measured
// A/B on a busy machine.
//
//   apply_bench --dir /path/on/the/disk/under/test [--entries 40000]
//               [--size 4096] [--digest-every 10000] [--batch 8]
//               [--snapshot]
//
// --batch is how many entries go to the state machine in one ApplyBatch,
// as the node's apply thread hands over a raft round's committed entries
// (about 5-10 per round at the cluster benchmark's load); 1 is Apply alone.
//
// Every --digest-every entries it also times one full-store Digest() (the
// pass a G5 checkpoint cost before the digest was kept incrementally) and
// reports it apart, so both ways of paying for checkpoints show.
// With --snapshot it finally times one WriteSnapshot of the whole store
// (what the runtime does before compacting the raft log), in wall time and
// process CPU, RocksDB's flush included.
// Progress goes to stderr, results to stdout.
#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "node/mailbox/state_machine.h"

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

qbox::v1::MailboxCommand CreateAccount(const std::string& account) {
  qbox::v1::MailboxCommand cmd;
  cmd.mutable_create_account()->mutable_request()->set_account(account);
  cmd.mutable_create_account()->set_inbox_uidvalidity(1000);
  return cmd;
}

// An RFC 5322-shaped body of exactly `size` bytes, unique per `seq`, so
// that every append stores a new body as real mail does.
std::string Body(int64_t size, int64_t seq) {
  std::string out = absl::StrFormat(
      "From: a@bench.invalid\r\nMessage-ID: <%016x@bench.invalid>\r\nSubject: apply\r\n\r\n", seq);
  out.resize(size, 'x');
  return out;
}

}  // namespace

double ProcessCpuSeconds() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

int main(int argc, char** argv) {
  CLI::App app{"apply_bench: AppendMessage entries applied to the mailbox state machine"};
  std::string dir;
  int64_t entries = 40000;
  int64_t size = 4096;
  int64_t digest_every = 10000;
  int64_t batch = 8;
  app.add_option("--dir", dir, "Directory for the store (created; must not exist)")->required();
  app.add_option("--entries", entries, "Entries to apply")->check(CLI::Range(1, 10000000));
  app.add_option("--size", size, "Message size in bytes")->check(CLI::Range(200, 64 << 20));
  app.add_option("--digest-every", digest_every, "Time a full Digest() every this many entries (0 = never)")
      ->check(CLI::Range(0, 10000000));
  app.add_option("--batch", batch, "Entries per ApplyBatch (1 = one Apply per entry)")
      ->check(CLI::Range(1, 10000));
  bool snapshot = false;
  app.add_flag("--snapshot", snapshot, "Time one WriteSnapshot of the store at the end");
  CLI11_PARSE(app, argc, argv);
  if (std::filesystem::exists(dir)) {
    std::fprintf(stderr, "apply_bench: --dir: %s already exists; give a new path\n", dir.c_str());
    return 2;
  }

  auto opened = qbox::mailbox::MailboxStateMachine::Open(dir);
  if (!opened.ok()) {
    std::fprintf(stderr, "apply_bench: --dir: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<qbox::mailbox::MailboxStateMachine> sm = std::move(opened).value();
  uint64_t index = sm->applied_index();
  const int64_t leader_time_ms = 1'700'000'000'000;
  {
    qbox::v1::MailboxCommand cmd = CreateAccount("bench");
    cmd.set_leader_time_ms(leader_time_ms);
    auto created = sm->Apply(++index, cmd);
    if (!created.ok() || created->status_code() != 0) {
      std::fprintf(stderr, "apply_bench: creating the account failed\n");
      return 1;
    }
  }

  double apply_seconds = 0;
  double digest_seconds = 0;
  int64_t digests = 0;
  const qbox::v1::MailboxCommand proto = [&] {
    qbox::v1::MailboxCommand cmd;
    auto* request = cmd.mutable_append_message()->mutable_request();
    request->set_account("bench");
    request->set_mailbox("INBOX");
    cmd.mutable_append_message()->set_internal_date_ms(leader_time_ms);
    cmd.set_leader_time_ms(leader_time_ms);
    return cmd;
  }();
  std::vector<qbox::v1::MailboxCommand> commands;
  std::vector<qbox::mailbox::MailboxStateMachine::BatchCommand> pending;
  for (int64_t i = 1; i <= entries; ++i) {
    commands.push_back(proto);
    auto* request = commands.back().mutable_append_message()->mutable_request();
    request->set_body(Body(size, i));
    request->set_idempotency_key(absl::StrFormat("key-%d", i));  // as the client library sends
    if (static_cast<int64_t>(commands.size()) < batch && i < entries) continue;
    pending.clear();
    for (const qbox::v1::MailboxCommand& c : commands) pending.push_back({++index, &c});
    const Clock::time_point start = Clock::now();
    auto applied = sm->ApplyBatch(pending);
    apply_seconds += SecondsSince(start);
    if (!applied.ok()) {
      std::fprintf(stderr, "apply_bench: entries up to %lld failed: %s\n",
                   static_cast<long long>(i), applied.status().ToString().c_str());
      return 1;
    }
    for (const auto& result : *applied) {
      if (!result.ok() || result->status_code() != 0) {
        std::fprintf(stderr, "apply_bench: an entry up to %lld failed: %s\n",
                     static_cast<long long>(i),
                     result.ok() ? result->status_message().c_str()
                                 : result.status().ToString().c_str());
        return 1;
      }
    }
    const int64_t first = i - static_cast<int64_t>(commands.size()) + 1;
    commands.clear();
    if (digest_every > 0 && i / digest_every != (first - 1) / digest_every) {
      const Clock::time_point digest_start = Clock::now();
      if (!sm->Digest().ok()) {
        std::fprintf(stderr, "apply_bench: Digest() failed\n");
        return 1;
      }
      digest_seconds += SecondsSince(digest_start);
      ++digests;
    }
    if (i / 5000 != (first - 1) / 5000) {
      std::fprintf(stderr, "[%lld/%lld] %.1f us per entry so far\n", static_cast<long long>(i),
                   static_cast<long long>(entries), 1e6 * apply_seconds / i);
    }
  }
  std::printf(
      "entries %lld x %lld B, %lld per batch: apply %.1f us/entry (%.0f entries/s on one thread)\n",
      static_cast<long long>(entries), static_cast<long long>(size), static_cast<long long>(batch),
              1e6 * apply_seconds / entries, entries / apply_seconds);
  if (digests > 0) {
    std::printf("full Digest() every %lld entries: %lld passes, %.3f s in all = %.1f us/entry\n",
                static_cast<long long>(digest_every), static_cast<long long>(digests),
                digest_seconds, 1e6 * digest_seconds / entries);
  }
  if (snapshot) {
    const std::string path = dir + "/bench-snapshot";
    std::array<uint8_t, 32> file_sha256{};
    const double cpu_start = ProcessCpuSeconds();
    const Clock::time_point start = Clock::now();
    auto written = sm->WriteSnapshot(path, &file_sha256);
    const double wall = SecondsSince(start);
    const double cpu = ProcessCpuSeconds() - cpu_start;
    if (!written.ok()) {
      std::fprintf(stderr, "apply_bench: WriteSnapshot failed: %s\n",
                   written.status().ToString().c_str());
      return 1;
    }
    const double mib = static_cast<double>(std::filesystem::file_size(path)) / (1 << 20);
    std::printf("WriteSnapshot: %.0f MiB in %.2f s wall, %.2f s CPU (%.1f us/entry, %.0f MiB/s of CPU)\n",
                mib, wall, cpu, 1e6 * cpu / entries, mib / cpu);
  }
  sm.reset();
  std::filesystem::remove_all(dir);
  return 0;
}

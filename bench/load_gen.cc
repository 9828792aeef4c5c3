// qbox-load: a closed-loop load generator for a running cluster (issue 3,
// "Benchmark"). N client threads each send one request at a time, as fast
// as answers come back, for a fixed time or a fixed count:
//
//   --target qbox  AppendMessage of a --size byte message into
//                  --account/--mailbox through the qbox client library
//                  (mutual TLS, leader found by the library's hints);
//   --target etcd  etcd v3 KV.Put of a --size byte value under a fresh key
//                  (bench/etcd_kv.proto): plain gRPC, or mutual TLS with
//                  --etcd-cacert/--etcd-cert/--etcd-key.
//
// Every client has its own client object and so its own channels, as
// independent front ends would. Progress goes to stderr once a second; at
// the end a table (and with --json one JSON line) goes to stdout with
// ops/s, MiB/s of payload, latency percentiles of successful requests, and
// the error count. Only requests that start after the warm-up and finish
// before the end of the measured window count.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/etcd_credentials.h"
#include "etcd_kv.grpc.pb.h"
#include "qbox/admin_client.h"
#include "qbox/client.h"

namespace {

// Command-line options; see AddOptions for what each means.
struct LoadOptions {
  std::string target = "qbox";
  std::string endpoints;
  int clients = 16;
  int64_t size = 4096;
  double duration_s = 10;
  int64_t count = 0;
  double warmup_s = 2;
  double timeout_s = 10;
  std::string cacert, cert, key, admin_cert, admin_key;
  std::string account = "bench";
  std::string mailbox = "INBOX";
  bool etcd_leader_only = true;
  qbox::bench::EtcdTlsFiles etcd_tls;
  std::string label;
  bool json = false;
};

void AddOptions(CLI::App& app, LoadOptions& o) {
  app.add_option("--target", o.target, "What to load: qbox (AppendMessage) or etcd (KV.Put)")
      ->check(CLI::IsMember({"qbox", "etcd"}));
  app.add_option("--endpoints", o.endpoints,
                 "Comma-separated host:port list (qbox: any nodes; etcd: client addresses)")
      ->required();
  app.add_option("--clients", o.clients, "Concurrent clients, one thread and one client each")
      ->check(CLI::Range(1, 10000));
  app.add_option("--size", o.size, "Bytes per message (qbox) or per value (etcd)");
  app.add_option("--duration", o.duration_s, "Seconds to measure (ignored when --count is set)");
  app.add_option("--count", o.count, "Measure exactly this many requests instead of --duration");
  app.add_option("--warmup", o.warmup_s, "Seconds of unmeasured load before measuring");
  app.add_option("--timeout", o.timeout_s,
                 "Per-request deadline in seconds (qbox: covers the library's retries)");
  app.add_option("--cacert", o.cacert, "qbox: CA bundle of every site (PEM)");
  app.add_option("--cert", o.cert, "qbox: front-end certificate (PEM)");
  app.add_option("--key", o.key, "qbox: front-end private key (PEM)");
  app.add_option("--admin-cert", o.admin_cert,
                 "qbox: admin certificate; with --admin-key, creates --account if missing");
  app.add_option("--admin-key", o.admin_key, "qbox: admin private key (PEM)");
  app.add_option("--account", o.account, "qbox: account to append to");
  app.add_option("--mailbox", o.mailbox, "qbox: mailbox to append to");
  app.add_option("--etcd-leader-only", o.etcd_leader_only,
                 "etcd: true = every Put goes to the leader (found with Maintenance.Status); "
                 "false = clients round-robin over --endpoints, followers forward");
  app.add_option("--etcd-cacert", o.etcd_tls.cacert,
                 "etcd: CA of the etcd servers (PEM); with --etcd-cert and --etcd-key, "
                 "connects with mutual TLS instead of plain HTTP");
  app.add_option("--etcd-cert", o.etcd_tls.cert, "etcd: client certificate (PEM)");
  app.add_option("--etcd-key", o.etcd_tls.key, "etcd: client private key (PEM)");
  app.add_option("--label", o.label, "Name of this run in the output (default: --target)");
  app.add_flag("--json", o.json, "Also print one machine-readable JSON line");
}

using Clock = std::chrono::steady_clock;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// One client's connection to the system under test. Used by one thread only.
class Sender {
 public:
  virtual ~Sender() = default;
  // Sends request number `seq` of this client and waits for the answer.
  virtual absl::Status Send(int64_t seq) = 0;
};

// Where the 16 hex digits of the Message-ID start in every payload.
constexpr char kMessageIdPrefix[] = "Message-ID: <";
constexpr size_t kMessageIdDigits = 16;

// An RFC 5322 message of exactly `size` bytes: a few headers, then lines of
// filler. The same bytes are the etcd value, so both systems carry equal
// payloads. qbox senders make the Message-ID unique per request (see
// QboxSender::Send).
absl::StatusOr<std::string> MakePayload(int64_t size) {
  const std::string headers = absl::StrCat(
      "From: load@bench.invalid\r\nTo: bench@bench.invalid\r\n", kMessageIdPrefix,
      std::string(kMessageIdDigits, '0'), "@bench.invalid>\r\nSubject: qbox-load\r\n\r\n");
  if (size < static_cast<int64_t>(headers.size()) + 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("--size: must be at least ", headers.size() + 2, " bytes"));
  }
  std::string out = headers;
  out.reserve(size);
  while (static_cast<int64_t>(out.size()) < size) {
    const int64_t left = size - static_cast<int64_t>(out.size());
    if (left <= 78) {
      out.append(left - 2, 'x');
      out.append("\r\n");
    } else {
      out.append(76, 'x');
      out.append("\r\n");
    }
  }
  return out;
}

class QboxSender : public Sender {
 public:
  QboxSender(std::unique_ptr<qbox::Client> client, qbox::v1::AppendMessageRequest request,
             int client_index, absl::Duration timeout)
      : client_(std::move(client)), request_(std::move(request)), client_index_(client_index) {
    call_options_.timeout = timeout;
    id_offset_ = request_.body().find(kMessageIdPrefix) + sizeof(kMessageIdPrefix) - 1;
  }

  absl::Status Send(int64_t seq) override {
    // A unique body per request, as real mail is: the store keeps bodies
    // by content, and identical bodies would all share one stored copy.
    const std::string id = absl::StrFormat(
        "%016x", (static_cast<uint64_t>(client_index_) << 40) ^ static_cast<uint64_t>(seq));
    request_.mutable_body()->replace(id_offset_, kMessageIdDigits, id);
    // The idempotency key is left empty: the library makes a fresh one per
    // call, as it would for a real front end.
    return client_->AppendMessage(request_, call_options_).status();
  }

 private:
  std::unique_ptr<qbox::Client> client_;
  qbox::v1::AppendMessageRequest request_;
  qbox::CallOptions call_options_;
  int client_index_;
  size_t id_offset_;
};

class EtcdSender : public Sender {
 public:
  EtcdSender(const std::string& endpoint,
             const std::shared_ptr<grpc::ChannelCredentials>& credentials, std::string key_prefix,
             const std::string& value, absl::Duration timeout)
      : key_prefix_(std::move(key_prefix)), timeout_(timeout) {
    grpc::ChannelArguments args;
    // A connection of its own per client, not one shared by every channel
    // to the same address (gRPC's default subchannel pool is global).
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxSendMessageSize(-1);
    stub_ = etcdserverpb::KV::NewStub(grpc::CreateCustomChannel(endpoint, credentials, args));
    request_.set_value(value);
  }

  absl::Status Send(int64_t seq) override {
    request_.set_key(absl::StrCat(key_prefix_, seq));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
    etcdserverpb::PutResponse response;
    grpc::Status status = stub_->Put(&context, request_, &response);
    if (status.ok()) return absl::OkStatus();
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        status.error_message());
  }

 private:
  std::unique_ptr<etcdserverpb::KV::Stub> stub_;
  etcdserverpb::PutRequest request_;
  std::string key_prefix_;
  absl::Duration timeout_;
};

qbox::ClientOptions QboxOptions(const std::vector<std::string>& endpoints,
                                const std::string& cacert, const std::string& cert,
                                const std::string& key) {
  qbox::ClientOptions options;
  options.endpoints = endpoints;
  options.ca_bundle_file = cacert;
  options.certificate_file = cert;
  options.private_key_file = key;
  return options;
}

// Creates the account unless it exists. Without admin credentials the
// account must already exist.
absl::Status EnsureQboxAccount(const LoadOptions& o, const std::vector<std::string>& endpoints) {
  const std::string& admin_cert = o.admin_cert;
  const std::string& admin_key = o.admin_key;
  if (admin_cert.empty() != admin_key.empty()) {
    return absl::InvalidArgumentError("--admin-cert and --admin-key: give both or neither");
  }
  if (admin_cert.empty()) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<qbox::AdminClient>> admin =
      qbox::AdminClient::Open(QboxOptions(endpoints, o.cacert, admin_cert, admin_key));
  if (!admin.ok()) return admin.status();
  qbox::v1::CreateAccountRequest create;
  create.set_account(o.account);
  qbox::CallOptions slow;
  slow.timeout = absl::Seconds(30);  // the cluster may still be electing
  absl::StatusOr<qbox::v1::CreateAccountResponse> created = (*admin)->CreateAccount(create, slow);
  if (created.ok() || absl::IsAlreadyExists(created.status())) return absl::OkStatus();
  return absl::Status(created.status().code(),
                      absl::StrCat("creating account '", create.account(),
                                   "': ", created.status().message()));
}

absl::StatusOr<std::vector<std::unique_ptr<Sender>>> MakeQboxSenders(
    const LoadOptions& o, const std::vector<std::string>& endpoints, const std::string& payload) {
  if (absl::Status s = EnsureQboxAccount(o, endpoints); !s.ok()) return s;
  qbox::v1::AppendMessageRequest request;
  request.set_account(o.account);
  request.set_mailbox(o.mailbox);
  request.set_body(payload);
  const absl::Duration timeout = absl::Seconds(o.timeout_s);
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < o.clients; ++i) {
    absl::StatusOr<std::unique_ptr<qbox::Client>> client = qbox::Client::Open(
        QboxOptions(endpoints, o.cacert, o.cert, o.key));
    if (!client.ok()) return client.status();
    senders.push_back(std::make_unique<QboxSender>(std::move(*client), request, i, timeout));
  }
  return senders;
}

// Asks every endpoint for its status and returns the one that is the
// leader, so that no Put pays a follower's forwarding hop (the setting most
// favourable to etcd, and the one the qbox client reaches via leader hints).
absl::StatusOr<std::string> FindEtcdLeader(
    const std::vector<std::string>& endpoints,
    const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  std::string errors;
  for (const std::string& endpoint : endpoints) {
    auto stub =
        etcdserverpb::Maintenance::NewStub(grpc::CreateChannel(endpoint, credentials));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    etcdserverpb::StatusResponse status;
    grpc::Status rpc = stub->Status(&context, etcdserverpb::StatusRequest(), &status);
    if (!rpc.ok()) {
      absl::StrAppend(&errors, " ", endpoint, ": ", rpc.error_message(), ";");
      continue;
    }
    if (status.leader() != 0 && status.leader() == status.header().member_id()) return endpoint;
  }
  return absl::UnavailableError(
      absl::StrCat("--endpoints: no etcd endpoint reports itself as leader;", errors));
}

absl::StatusOr<std::vector<std::unique_ptr<Sender>>> MakeEtcdSenders(
    const LoadOptions& o, const std::vector<std::string>& endpoints, const std::string& payload) {
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      qbox::bench::EtcdChannelCredentials(o.etcd_tls);
  if (!credentials.ok()) return credentials.status();
  std::vector<std::string> targets = endpoints;
  if (o.etcd_leader_only) {
    absl::StatusOr<std::string> leader = FindEtcdLeader(endpoints, *credentials);
    if (!leader.ok()) return leader.status();
    absl::FPrintF(stderr, "etcd leader: %s (all Puts go there)\n", *leader);
    targets = {*leader};
  }
  // Keys unique per run, so no run overwrites another's keys.
  const std::string run = absl::StrCat(absl::ToUnixMillis(absl::Now()));
  const absl::Duration timeout = absl::Seconds(o.timeout_s);
  std::vector<std::unique_ptr<Sender>> senders;
  for (int i = 0; i < o.clients; ++i) {
    senders.push_back(std::make_unique<EtcdSender>(
        targets[i % targets.size()], *credentials, absl::StrCat("bench/", run, "/", i, "/"),
        payload, timeout));
  }
  return senders;
}

// What one client thread measured.
struct ClientResult {
  std::vector<int64_t> latencies_ns;  // successful, measured requests
  int64_t errors = 0;                 // failed, measured requests
  int64_t last_done_ns = 0;           // when its last measured request ended
  std::map<std::string, int64_t> error_kinds;  // "CODE: message" -> count
};

// Shared between the client threads and the main thread.
struct RunControl {
  std::atomic<bool> stop{false};
  // Requests count if they start at or after `measure_start_ns` and end at
  // or before `measure_end_ns`. Both start at "never".
  std::atomic<int64_t> measure_start_ns{INT64_MAX};
  std::atomic<int64_t> measure_end_ns{INT64_MAX};
  std::atomic<int64_t> remaining{INT64_MAX};  // --count budget, once measuring
  std::atomic<int64_t> completed{0};  // all requests, warm-up included
  std::atomic<int64_t> failed{0};
  std::atomic<int> finished_threads{0};
};

void RunClient(Sender& sender, RunControl& control, bool count_mode, ClientResult& result) {
  int64_t seq = 0;
  while (!control.stop.load(std::memory_order_relaxed)) {
    const int64_t start = NowNanos();
    const bool measuring = start >= control.measure_start_ns.load();
    if (measuring && count_mode && control.remaining.fetch_sub(1) <= 0) break;
    absl::Status status = sender.Send(seq++);
    const int64_t end = NowNanos();
    control.completed.fetch_add(1, std::memory_order_relaxed);
    if (!status.ok()) control.failed.fetch_add(1, std::memory_order_relaxed);
    if (measuring && end <= control.measure_end_ns.load()) {
      if (status.ok()) {
        result.latencies_ns.push_back(end - start);
      } else {
        ++result.errors;
        std::string kind = absl::StrCat(absl::StatusCodeToString(status.code()), ": ",
                                        status.message().substr(0, 200));
        ++result.error_kinds[kind];
      }
      result.last_done_ns = end;
    }
    // A system that fails fast must not turn the benchmark into a spin.
    if (!status.ok()) absl::SleepFor(absl::Milliseconds(10));
  }
  control.finished_threads.fetch_add(1);
}

double PercentileMs(const std::vector<int64_t>& sorted_ns, double q) {
  if (sorted_ns.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * sorted_ns.size()));
  rank = std::clamp<size_t>(rank, 1, sorted_ns.size());
  return sorted_ns[rank - 1] / 1e6;
}

int Main(const LoadOptions& o) {
  const std::string& target = o.target;
  const int clients = o.clients;
  const int64_t size = o.size;
  const int64_t count = o.count;
  const double duration_s = o.duration_s;
  const double warmup_s = o.warmup_s;
  const std::string label = o.label.empty() ? target : o.label;
  std::vector<std::string> endpoints = absl::StrSplit(o.endpoints, ',', absl::SkipWhitespace());

  auto fail = [](const absl::Status& status) {
    absl::FPrintF(stderr, "qbox-load: %s\n", status.ToString());
    return 1;
  };
  if (target != "qbox" && target != "etcd") {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("--target: '", target, "' is not one of qbox, etcd")));
  }
  if (endpoints.empty()) return fail(absl::InvalidArgumentError("--endpoints: none given"));
  if (target != "etcd" &&
      !(o.etcd_tls.cacert.empty() && o.etcd_tls.cert.empty() && o.etcd_tls.key.empty())) {
    return fail(absl::InvalidArgumentError(
        "--etcd-cacert, --etcd-cert, --etcd-key: only for --target etcd"));
  }
  if (clients < 1) return fail(absl::InvalidArgumentError("--clients: must be at least 1"));
  if (count < 0) return fail(absl::InvalidArgumentError("--count: must not be negative"));
  if (count == 0 && !(duration_s > 0)) {
    return fail(absl::InvalidArgumentError("--duration: must be positive (or set --count)"));
  }
  if (!(warmup_s >= 0)) return fail(absl::InvalidArgumentError("--warmup: must not be negative"));
  if (!(o.timeout_s > 0)) {
    return fail(absl::InvalidArgumentError("--timeout: must be positive"));
  }
  absl::StatusOr<std::string> payload = MakePayload(size);
  if (!payload.ok()) return fail(payload.status());

  absl::StatusOr<std::vector<std::unique_ptr<Sender>>> senders =
      target == "qbox" ? MakeQboxSenders(o, endpoints, *payload)
                       : MakeEtcdSenders(o, endpoints, *payload);
  if (!senders.ok()) return fail(senders.status());

  // One request before the clock starts, so a wrong address, credential or
  // account fails at once with its own error instead of as N errors.
  if (absl::Status first = (*senders)[0]->Send(-1); !first.ok()) {
    return fail(absl::Status(first.code(), absl::StrCat("first request: ", first.message())));
  }

  RunControl control;
  const bool count_mode = count > 0;
  if (count_mode) control.remaining = count;
  std::vector<ClientResult> results(clients);
  std::vector<std::thread> threads;
  const int64_t begin_ns = NowNanos();
  const int64_t start_ns = begin_ns + static_cast<int64_t>(warmup_s * 1e9);
  control.measure_start_ns = start_ns;
  if (!count_mode) control.measure_end_ns = start_ns + static_cast<int64_t>(duration_s * 1e9);
  for (int i = 0; i < clients; ++i) {
    threads.emplace_back(RunClient, std::ref(*(*senders)[i]), std::ref(control), count_mode,
                         std::ref(results[i]));
  }

  absl::FPrintF(stderr, "%s: %d clients, %d-byte payloads, warm-up %.0fs, then %s\n", label,
                clients, size, warmup_s,
                count_mode ? absl::StrCat(count, " requests")
                           : absl::StrFormat("%.0fs", duration_s));
  int64_t last_completed = 0, last_failed = 0;
  for (int second = 1;; ++second) {
    absl::SleepFor(absl::Seconds(1));
    const int64_t now = NowNanos();
    const int64_t completed = control.completed.load();
    const int64_t failed = control.failed.load();
    absl::FPrintF(stderr, "[%3ds] %-7s %8d req/s  %6d errors/s\n", second,
                  now - 1'000'000'000 < start_ns ? "warm-up" : "measure", completed - last_completed,
                  failed - last_failed);
    last_completed = completed;
    last_failed = failed;
    if (!count_mode && now >= control.measure_end_ns.load()) break;
    if (control.finished_threads.load() == clients) break;
  }
  control.stop = true;
  for (std::thread& t : threads) t.join();

  std::vector<int64_t> latencies;
  int64_t errors = 0, last_done_ns = start_ns;
  std::map<std::string, int64_t> error_kinds;
  for (ClientResult& r : results) {
    latencies.insert(latencies.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    errors += r.errors;
    last_done_ns = std::max(last_done_ns, r.last_done_ns);
    for (const auto& [kind, n] : r.error_kinds) error_kinds[kind] += n;
  }
  std::sort(latencies.begin(), latencies.end());
  const double seconds =
      (count_mode ? last_done_ns - start_ns : control.measure_end_ns.load() - start_ns) / 1e9;
  const double ops = seconds > 0 ? latencies.size() / seconds : 0;
  const double mib = ops * size / (1024.0 * 1024.0);
  const double p50 = PercentileMs(latencies, 0.50);
  const double p99 = PercentileMs(latencies, 0.99);
  const double p999 = PercentileMs(latencies, 0.999);

  for (const auto& [kind, n] : error_kinds) absl::FPrintF(stderr, "  %d x %s\n", n, kind);
  absl::PrintF("%-12s %7s %7s %9s %7s %10s %8s %9s %9s %9s\n", "run", "size", "clients",
               "requests", "errors", "ops/s", "MiB/s", "p50 ms", "p99 ms", "p999 ms");
  absl::PrintF("%-12s %7d %7d %9d %7d %10.0f %8.1f %9.2f %9.2f %9.2f\n", label, size, clients,
               latencies.size(), errors, ops, mib, p50, p99, p999);
  if (o.json) {
    absl::PrintF(
        "{\"label\":\"%s\",\"target\":\"%s\",\"size\":%d,\"clients\":%d,\"seconds\":%.3f,"
        "\"ok\":%d,\"errors\":%d,\"ops_per_sec\":%.1f,\"mib_per_sec\":%.2f,\"p50_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"all_requests\":%d}\n",
        label, target, size, clients, seconds, latencies.size(), errors, ops, mib, p50, p99, p999,
        control.completed.load() + 1);
  }
  std::fflush(stdout);
  return latencies.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "qbox-load: closed-loop load on a qbox or etcd cluster; prints ops/s, MiB/s and latency "
      "percentiles.\n"
      "  qbox-load --target qbox --endpoints 127.0.0.1:7101,... --cacert CA --cert C --key K\n"
      "  qbox-load --target etcd --endpoints 127.0.0.1:2379,... --clients 64 --size 4096\n"
      "  qbox-load --target etcd --endpoints ... --etcd-cacert CA --etcd-cert C --etcd-key K"};
  LoadOptions options;
  AddOptions(app, options);
  CLI11_PARSE(app, argc, argv);
  // Debian's Abseil is built with its mutex deadlock detection on: every
  // lock, and every mutex the client library creates and destroys per call,
  // went through one global graph (about 2% of the machine's CPU at 2,000
  // requests/s). The generator's cost lands on whichever system is measured,
  // so it is kept as low as qbox-node keeps its own.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return Main(options);
}

#include "node/server/peer_space.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/common/thread_name.h"
#include "qbox/v1/raft.grpc.pb.h"

namespace qbox::server {
namespace {

constexpr auto kProbeTimeout = std::chrono::milliseconds(500);

}  // namespace

PeerSpaceMonitor::PeerSpaceMonitor(Options options) : options_(std::move(options)) {}

PeerSpaceMonitor::~PeerSpaceMonitor() { Stop(); }

void PeerSpaceMonitor::Start() {
  thread_ = std::thread([this] {
    NameThisThread("qbox-peer-space");
    Run();
  });
}

void PeerSpaceMonitor::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

void PeerSpaceMonitor::Run() {
  while (!stop_.WaitForNotificationWithTimeout(options_.every)) AskOnce();
}

void PeerSpaceMonitor::AskOnce() {
  for (raft::NodeId id : options_.voters()) {
    if (id == options_.self) continue;
    std::optional<NodeConfig> peer = options_.peers->Find(id);
    if (!peer.has_value()) continue;
    std::shared_ptr<grpc::Channel>& channel = channels_[id];
    if (channel == nullptr) channel = grpc::CreateChannel(peer->address, options_.credentials());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kProbeTimeout);
    v1::ProbeResponse response;
    grpc::Status s = v1::Raft::NewStub(channel)->Probe(&context, v1::ProbeRequest(), &response);
    if (!s.ok()) {
      channel = nullptr;  // made again, with the credentials of the day, next time
      continue;
    }
    PeerSpace space;
    space.no_space = response.no_space();
    space.free_bytes = response.free_bytes();
    space.resume_free_bytes = response.resume_free_bytes();
    space.when = absl::Now();
    absl::MutexLock lock(&mu_);
    spaces_[id] = space;
  }
}

std::optional<std::string> PeerSpaceMonitor::MajorityOutOfSpace(
    const std::vector<raft::NodeId>& voters, const NoSpaceStatus& self) const {
  auto describe = [](const std::string& name, uint64_t free, uint64_t needed) {
    return absl::StrCat(name, " (", storage::HumanBytes(free), " free, needs ",
                        storage::HumanBytes(needed), ")");
  };
  std::vector<std::string> full;
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (raft::NodeId id : voters) {
    if (id == options_.self) {
      if (self.active) {
        full.push_back(
            describe(options_.self_name, self.volume.free_bytes, self.resume_free_bytes));
      }
      continue;
    }
    auto it = spaces_.find(id);
    if (it == spaces_.end() || !it->second.no_space || now - it->second.when > options_.fresh_for) {
      continue;
    }
    std::optional<NodeConfig> peer = options_.peers->Find(id);
    full.push_back(describe(peer ? peer->QualifiedName() : absl::StrCat("node ", id),
                            it->second.free_bytes, it->second.resume_free_bytes));
  }
  if (voters.empty() || full.size() < voters.size() / 2 + 1) return std::nullopt;
  return absl::StrCat(full.size(), " of ", voters.size(),
                      " voters are out of disk space (NOSPACE): ", absl::StrJoin(full, ", "),
                      "; no write can be made durable until a majority has room again");
}

}  // namespace qbox::server

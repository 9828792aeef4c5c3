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
  const std::vector<raft::NodeId> voters = options_.voters();
  {
    absl::MutexLock lock(&mu_);
    voters_ = voters;
  }
  for (raft::NodeId id : voters) {
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
    space.required_free_bytes = response.required_free_bytes();
    space.when = absl::Now();
    absl::MutexLock lock(&mu_);
    spaces_[id] = space;
  }
}

bool PeerSpaceMonitor::PeerHasNoSpace(raft::NodeId id) const {
  absl::MutexLock lock(&mu_);
  auto it = spaces_.find(id);
  return it != spaces_.end() && it->second.no_space &&
         absl::Now() - it->second.when <= options_.fresh_for;
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

std::optional<std::string> PeerSpaceMonitor::WouldExhaustMajority(const NoSpaceStatus& self,
                                                                  uint64_t bytes) const {
  std::vector<std::string> pushed;  // voters the write would push below
  size_t with_room = 0;             // voters that keep room, or of unknown room
  size_t full = 0;                  // voters in NOSPACE already
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (raft::NodeId id : voters_) {
    uint64_t free = 0;
    uint64_t required = 0;
    std::string name;
    if (id == options_.self) {
      if (self.active) {
        ++full;
        continue;
      }
      if (!self.measured) {
        ++with_room;  // not watched: no reason to refuse
        continue;
      }
      free = self.volume.free_bytes;
      required = self.required_free_bytes;
      name = options_.self_name;
    } else {
      auto it = spaces_.find(id);
      if (it == spaces_.end() || now - it->second.when > options_.fresh_for) {
        ++with_room;  // not heard from lately: counts as having room
        continue;
      }
      if (it->second.no_space) {
        ++full;
        continue;
      }
      if (it->second.required_free_bytes == 0) {
        ++with_room;  // not watched there
        continue;
      }
      free = it->second.free_bytes;
      required = it->second.required_free_bytes;
      std::optional<NodeConfig> peer = options_.peers->Find(id);
      name = peer ? peer->QualifiedName() : absl::StrCat("node ", id);
    }
    if (free >= bytes && free - bytes >= required) {
      ++with_room;
    } else {
      pushed.push_back(absl::StrCat(name, " (", storage::HumanBytes(free), " free, threshold ",
                                    storage::HumanBytes(required), ")"));
    }
  }
  const size_t majority = voters_.size() / 2 + 1;
  // A majority already in NOSPACE: the write fails anyway, and is answered
  // by MajorityOutOfSpace. Only a write that would tip it is refused here.
  if (voters_.empty() || full >= majority || with_room >= majority) return std::nullopt;
  return absl::StrCat("a write of ", storage::HumanBytes(bytes),
                      " would leave fewer than a majority of voters above their NOSPACE "
                      "threshold: it would push ",
                      absl::StrJoin(pushed, ", "), " below it",
                      full > 0 ? absl::StrCat(", with ", full, " voter(s) in NOSPACE already") : "",
                      " (refused before anything is written; smaller writes and deletes go on)");
}

}  // namespace qbox::server

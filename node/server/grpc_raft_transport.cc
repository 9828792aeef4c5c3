#include "node/server/grpc_raft_transport.h"

#include <grpcpp/grpcpp.h>

#include <deque>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/common/thread_name.h"
#include "node/server/raft_proto_convert.h"
#include "qbox/v1/raft.grpc.pb.h"

namespace qbox::server {
namespace {

// Bound what waits for a peer: past this, new messages are dropped until the
// peer drains (Raft retransmits; memory stays bounded when a peer is down).
constexpr uint64_t kMaxQueuedBytes = 256ull << 20;
constexpr uint64_t kMaxBatchBytes = 8ull << 20;

uint64_t ApproxBytes(const raft::Message& m) {
  uint64_t bytes = 128 + m.chunk_data.size() + m.context.size();
  for (const raft::Entry& e : m.entries) bytes += e.ByteSize();
  return bytes;
}

}  // namespace

class GrpcRaftTransport::PeerSender {
 public:
  PeerSender(uint64_t id, std::string address, std::shared_ptr<grpc::ChannelCredentials> creds,
             std::function<void(std::string_view)> logger)
      : id_(id), address_(std::move(address)), creds_(std::move(creds)), logger_(std::move(logger)) {
    thread_ = std::thread([this] {
      NameThisThread(absl::StrCat("qbox-send-", id_));
      Run();
    });
  }

  ~PeerSender() { Stop(); }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
      if (context_) context_->TryCancel();
    }
    if (thread_.joinable()) thread_.join();
  }

  void Enqueue(raft::Message m) {
    absl::MutexLock lock(&mu_);
    uint64_t bytes = ApproxBytes(m);
    if (queued_bytes_ + bytes > kMaxQueuedBytes) {
      ++dropped_;
      return;
    }
    queued_bytes_ += bytes;
    queue_.push_back(std::move(m));
  }

  const std::string& address() const { return address_; }

 private:
  void Log(const std::string& line) {
    if (logger_) logger_(line);
  }

  void Run() {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(256 << 20);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    // Our own connection, not one from gRPC's process-wide pool: otherwise
    // Reconnect's new channel would reuse the old TLS connection and the
    // certificates it was made with.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    auto channel = grpc::CreateCustomChannel(address_, creds_, args);
    auto stub = v1::Raft::NewStub(channel);
    absl::Duration backoff = absl::Milliseconds(50);
    bool was_connected = false;
    while (true) {
      std::unique_ptr<grpc::ClientWriter<v1::RaftBatch>> writer;
      v1::RaftAck ack;
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        context_ = std::make_unique<grpc::ClientContext>();
      }
      writer = stub->Send(context_.get(), &ack);
      bool ok = true;
      while (ok) {
        v1::RaftBatch batch;
        {
          absl::MutexLock lock(&mu_);
          auto has_work = [](PeerSender* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          };
          mu_.AwaitWithTimeout(absl::Condition(+has_work, this), absl::Seconds(1));
          if (stopping_) break;
          uint64_t bytes = 0;
          while (!queue_.empty() && (batch.messages_size() == 0 || bytes < kMaxBatchBytes)) {
            uint64_t b = ApproxBytes(queue_.front());
            bytes += b;
            queued_bytes_ -= b;
            ToProto(queue_.front(), batch.add_messages());
            queue_.pop_front();
          }
        }
        if (batch.messages_size() == 0) continue;
        ok = writer->Write(batch);
        if (ok && !was_connected) {
          Log(absl::StrCat("connected to peer ", id_, " at ", address_));
          was_connected = true;
          backoff = absl::Milliseconds(50);
        }
      }
      writer->WritesDone();
      grpc::Status status = writer->Finish();
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
        // What was queued for a broken stream is stale by the time it
        // reconnects; Raft resends what still matters.
        queue_.clear();
        queued_bytes_ = 0;
      }
      if (was_connected) {
        Log(absl::StrCat("lost the stream to peer ", id_, " at ", address_, ": ",
                         status.error_message(), "; reconnecting"));
        was_connected = false;
      }
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
  }

  const uint64_t id_;
  const std::string address_;
  std::shared_ptr<grpc::ChannelCredentials> creds_;
  std::function<void(std::string_view)> logger_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<raft::Message> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<grpc::ClientContext> context_;  // replaced only by Run, under mu_
  std::thread thread_;
};

GrpcRaftTransport::GrpcRaftTransport(std::shared_ptr<grpc::ChannelCredentials> credentials,
                                     std::function<void(std::string_view)> logger)
    : credentials_(std::move(credentials)), logger_(std::move(logger)) {}

GrpcRaftTransport::~GrpcRaftTransport() { Shutdown(); }

void GrpcRaftTransport::AddPeer(uint64_t id, const std::string& address) {
  absl::MutexLock lock(&mu_);
  auto it = peers_.find(id);
  if (it != peers_.end() && it->second->address() == address) return;
  if (it != peers_.end()) {
    it->second->Stop();
    peers_.erase(it);
  }
  peers_[id] = std::make_unique<PeerSender>(id, address, credentials_, logger_);
}

void GrpcRaftTransport::Send(std::vector<raft::Message> messages) {
  absl::MutexLock lock(&mu_);
  for (raft::Message& m : messages) {
    auto it = peers_.find(m.to);
    if (it != peers_.end()) it->second->Enqueue(std::move(m));
  }
}

void GrpcRaftTransport::Reconnect() {
  std::map<uint64_t, std::unique_ptr<PeerSender>> old;
  {
    absl::MutexLock lock(&mu_);
    if (peers_.empty()) return;
    for (auto& [id, sender] : peers_) {
      auto fresh = std::make_unique<PeerSender>(id, sender->address(), credentials_, logger_);
      old[id] = std::exchange(sender, std::move(fresh));
    }
  }
  // Joined outside the lock: Send must not wait for a stream to close.
  for (auto& [id, sender] : old) sender->Stop();
}

void GrpcRaftTransport::Shutdown() {
  std::map<uint64_t, std::unique_ptr<PeerSender>> peers;
  {
    absl::MutexLock lock(&mu_);
    peers.swap(peers_);
  }
  for (auto& [id, sender] : peers) sender->Stop();
}

}  // namespace qbox::server

// The nodes a client knows about, the channel to each, and which one to
// try first. Shared by every call of one client.
#ifndef QBOX_CLIENT_ENDPOINT_SET_H_
#define QBOX_CLIENT_ENDPOINT_SET_H_

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace qbox::internal {

// Thread-safe. Endpoints form a ring in the order they became known
// (configured ones first); a failed node is left for the next one in the
// ring, a hinted leader jumps the queue by becoming preferred.
class EndpointSet {
 public:
  // Leader hints can add endpoints; a compromised node must not be able to
  // make a client hold an unbounded number of them. Beyond this many, a
  // hinted address is still tried but not remembered.
  static constexpr size_t kMaxEndpoints = 64;

  // `configured` must be non-empty and already checked for syntax.
  EndpointSet(std::vector<std::string> configured,
              std::shared_ptr<grpc::ChannelCredentials> credentials,
              grpc::ChannelArguments channel_arguments);

  // The endpoint a new call starts at.
  std::string Preferred() const ABSL_LOCKS_EXCLUDED(mutex_);

  // Makes `endpoint` the one new calls start at, adding it to the ring if
  // it is new and there is room.
  void Prefer(const std::string& endpoint) ABSL_LOCKS_EXCLUDED(mutex_);

  // The endpoint after `failed` in the ring (the first one if `failed` is
  // not in it). If `failed` was preferred, the returned one becomes
  // preferred, so later calls do not start at a node that just failed.
  std::string MoveOnFrom(const std::string& failed) ABSL_LOCKS_EXCLUDED(mutex_);

  // The channel to `endpoint`, created (not yet connected) on first use and
  // reused after that; gRPC channels are themselves thread-safe.
  std::shared_ptr<grpc::Channel> ChannelFor(const std::string& endpoint)
      ABSL_LOCKS_EXCLUDED(mutex_);

 private:
  // Index of `endpoint` in ring_, or ring_.size() if absent.
  size_t IndexOf(const std::string& endpoint) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const grpc::ChannelArguments channel_arguments_;

  mutable absl::Mutex mutex_;
  std::vector<std::string> ring_ ABSL_GUARDED_BY(mutex_);
  size_t preferred_ ABSL_GUARDED_BY(mutex_) = 0;
  absl::flat_hash_map<std::string, std::shared_ptr<grpc::Channel>> channels_
      ABSL_GUARDED_BY(mutex_);
};

}  // namespace qbox::internal

#endif  // QBOX_CLIENT_ENDPOINT_SET_H_

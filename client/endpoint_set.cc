#include "client/endpoint_set.h"

#include <grpcpp/create_channel.h>

#include <algorithm>
#include <utility>

namespace qbox::internal {

EndpointSet::EndpointSet(std::vector<std::string> configured,
                         std::shared_ptr<grpc::ChannelCredentials> credentials,
                         grpc::ChannelArguments channel_arguments)
    : credentials_(std::move(credentials)), channel_arguments_(std::move(channel_arguments)) {
  for (std::string& endpoint : configured) {
    if (std::find(ring_.begin(), ring_.end(), endpoint) == ring_.end()) {
      ring_.push_back(std::move(endpoint));
    }
  }
}

size_t EndpointSet::IndexOf(const std::string& endpoint) const {
  return std::find(ring_.begin(), ring_.end(), endpoint) - ring_.begin();
}

std::string EndpointSet::Preferred() const {
  absl::MutexLock lock(&mutex_);
  return ring_[preferred_];
}

void EndpointSet::Prefer(const std::string& endpoint) {
  absl::MutexLock lock(&mutex_);
  size_t index = IndexOf(endpoint);
  if (index == ring_.size()) {
    if (ring_.size() >= kMaxEndpoints) return;
    ring_.push_back(endpoint);
  }
  preferred_ = index;
}

std::string EndpointSet::MoveOnFrom(const std::string& failed) {
  absl::MutexLock lock(&mutex_);
  const size_t index = IndexOf(failed);
  const size_t next = index == ring_.size() ? 0 : (index + 1) % ring_.size();
  if (index == preferred_) preferred_ = next;
  return ring_[next];
}

std::shared_ptr<grpc::Channel> EndpointSet::ChannelFor(const std::string& endpoint) {
  absl::MutexLock lock(&mutex_);
  auto it = channels_.find(endpoint);
  if (it != channels_.end()) return it->second;
  // Creating a channel does no I/O; connecting happens on first use.
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(endpoint, credentials_, channel_arguments_);
  if (channels_.size() < kMaxEndpoints || IndexOf(endpoint) != ring_.size()) {
    channels_.emplace(endpoint, channel);
  }
  return channel;
}

}  // namespace qbox::internal

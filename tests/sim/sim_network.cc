#include "tests/sim/sim_network.h"

namespace qbox::sim {

int SimNetwork::Send(uint64_t now_ms, const raft::Message& message) {
  if (IsCut(message.from, message.to) || random_->Chance(faults_.drop)) {
    ++dropped_;
    return 0;
  }
  Enqueue(now_ms, message);
  if (random_->Chance(faults_.duplicate)) {
    Enqueue(now_ms, message);
    return 2;
  }
  return 1;
}

void SimNetwork::Enqueue(uint64_t now_ms, const raft::Message& message) {
  uint64_t delay = random_->Chance(faults_.long_delay)
                       ? random_->Uniform(faults_.max_delay_ms, faults_.long_delay_ms)
                       : random_->Uniform(faults_.min_delay_ms, faults_.max_delay_ms);
  queue_.push(InFlight{now_ms + delay, sequence_++, message});
}

std::optional<raft::Message> SimNetwork::PopDue(uint64_t now_ms) {
  while (!queue_.empty() && queue_.top().deliver_at <= now_ms) {
    // priority_queue::top is const; the copy is the price of std containers.
    raft::Message message = queue_.top().message;
    queue_.pop();
    // A partition that forms while a message is in flight also stops it.
    if (IsCut(message.from, message.to)) {
      ++dropped_;
      continue;
    }
    return message;
  }
  return std::nullopt;
}

std::optional<uint64_t> SimNetwork::NextDeliveryTime() const {
  if (queue_.empty()) return std::nullopt;
  return queue_.top().deliver_at;
}

}  // namespace qbox::sim

#include "node/server/live_trust.h"

#include <utility>

namespace qbox::server {

LiveTrust::LiveTrust(std::shared_ptr<const guard::SiteTrustStore> initial)
    : current_(std::move(initial)) {}

std::shared_ptr<const guard::SiteTrustStore> LiveTrust::Current() const {
  absl::MutexLock lock(&mu_);
  return current_;
}

void LiveTrust::Replace(std::shared_ptr<const guard::SiteTrustStore> next) {
  absl::MutexLock lock(&mu_);
  current_ = std::move(next);
}

std::shared_ptr<const guard::SiteTrustStore> TrustHandle::Current() const {
  if (live_ != nullptr) return live_->Current();
  // Aliasing constructor: points at the fixed store without owning it.
  if (fixed_ != nullptr)
    return std::shared_ptr<const guard::SiteTrustStore>(
        std::shared_ptr<const guard::SiteTrustStore>(), fixed_);
  return nullptr;
}

}  // namespace qbox::server

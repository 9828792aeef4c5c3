// The site CAs a running node trusts, replaceable while it serves.
//
// An executed CA replacement or site addition (issue 5, G2) changes the
// charter's CAs; the node swaps in a new guard::SiteTrustStore built from
// them (live_tls.h), and every call identified from then on uses the new
// one. A caller holds the store it got for the whole call (shared_ptr), so
// a swap never frees a store in use.
#ifndef QBOX_NODE_SERVER_LIVE_TRUST_H_
#define QBOX_NODE_SERVER_LIVE_TRUST_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "node/guard/site_trust_store.h"

namespace qbox::server {

// Thread-safe holder of the current store.
class LiveTrust {
 public:
  explicit LiveTrust(std::shared_ptr<const guard::SiteTrustStore> initial);

  // The store in force now; never null if the initial one was not.
  std::shared_ptr<const guard::SiteTrustStore> Current() const;
  // Calls identified after this returns use `next`.
  void Replace(std::shared_ptr<const guard::SiteTrustStore> next);

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const guard::SiteTrustStore> current_ ABSL_GUARDED_BY(mu_);
};

// What a service reads the trusted CAs through: the node's LiveTrust, or,
// in tests that build services by hand, one fixed store. Copyable; holds
// no ownership (the LiveTrust or store must outlive every copy).
class TrustHandle {
 public:
  TrustHandle() = default;
  // Implicit on purpose: a fixed store is the common case in tests
  // (`context.trust = store.get();`).
  TrustHandle(const guard::SiteTrustStore* fixed) : fixed_(fixed) {}  // NOLINT
  TrustHandle(const LiveTrust* live) : live_(live) {}                 // NOLINT

  // The store to identify one call with; null if the handle is empty.
  std::shared_ptr<const guard::SiteTrustStore> Current() const;
  explicit operator bool() const { return fixed_ != nullptr || live_ != nullptr; }

 private:
  const guard::SiteTrustStore* fixed_ = nullptr;
  const LiveTrust* live_ = nullptr;
};

}  // namespace qbox::server

#endif  // QBOX_NODE_SERVER_LIVE_TRUST_H_

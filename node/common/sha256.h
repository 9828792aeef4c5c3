// SHA-256 through OpenSSL 3 without its per-call algorithm lookup.
//
// EVP_sha256() returns a legacy handle: every EVP_DigestInit_ex or
// EVP_Digest with it fetches the provider's implementation again, under a
// process-wide read-write lock. The apply path hashes every record it
// writes (G5 state digest), every body and every log entry (hash chain);
// there the lookup cost more than the hashing itself (about 260 ns against
// 105 ns for 64 bytes, measured on the benchmark machine) and its lock is
// shared by every thread that hashes. Fetching once removes both.
#ifndef QBOX_NODE_COMMON_SHA256_H_
#define QBOX_NODE_COMMON_SHA256_H_

#include <openssl/evp.h>

namespace qbox {

// The SHA-256 implementation of OpenSSL's default provider, fetched once for
// the process and never freed. Falls back to the legacy handle if the fetch
// fails, so callers always get a usable digest. Thread-safe.
inline const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
  }();
  return md;
}

}  // namespace qbox

#endif  // QBOX_NODE_COMMON_SHA256_H_

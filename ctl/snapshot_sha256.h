// Incremental SHA-256 for the snapshot commands (OpenSSL's EVP interface;
// the SHA256_* calls are deprecated in OpenSSL 3), and hex for printing.
#ifndef QBOX_CTL_SNAPSHOT_SHA256_H_
#define QBOX_CTL_SNAPSHOT_SHA256_H_

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <string>

namespace qbox::ctl {

class Sha256Stream {
 public:
  Sha256Stream() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256Stream() { EVP_MD_CTX_free(ctx_); }
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(const void* data, size_t size) { EVP_DigestUpdate(ctx_, data, size); }
  void Update(const std::string& data) { Update(data.data(), data.size()); }

  // The 32-byte digest as a string of raw bytes. Call once.
  std::string Finish() {
    std::array<uint8_t, 32> out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out.data(), &len);
    return std::string(reinterpret_cast<const char*>(out.data()), out.size());
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Lower-case hex of raw bytes.
inline std::string ToHex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

}  // namespace qbox::ctl

#endif  // QBOX_CTL_SNAPSHOT_SHA256_H_

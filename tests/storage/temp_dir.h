// A fresh directory under $TMPDIR (or /tmp) for one test, removed with
// everything in it when the object goes away. Tests stay hermetic and can run
// in parallel.
#ifndef QBOX_TESTS_STORAGE_TEMP_DIR_H_
#define QBOX_TESTS_STORAGE_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace qbox::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/qbox-storage-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace qbox::testing

#endif  // QBOX_TESTS_STORAGE_TEMP_DIR_H_

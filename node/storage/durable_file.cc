#include "node/storage/durable_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"
#include "node/common/sha256.h"

namespace qbox::storage {
namespace {

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  const int error = errno;
  return absl::ErrnoToStatus(error, absl::StrCat(what, " ", path));
}

// Closes the descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }
  // Closes now so that a close error (possible on some file systems after a
  // write) is reported instead of lost in the destructor.
  absl::Status Close(const std::string& path) {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return ErrnoError("close", path);
    return absl::OkStatus();
  }

 private:
  int fd_;
};

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status WriteAll(int fd, uint64_t offset, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status SyncDirectory(const std::string& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok()) return ErrnoError("open directory", dir);
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync directory", dir);
  return fd.Close(dir);
}

absl::Status WriteFileDurably(const std::string& path, std::string_view data) {
  const std::string temp = path + ".tmp";
  {
    FileDescriptor fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.ok()) return ErrnoError("create", temp);
    absl::Status written = WriteAll(fd.get(), 0, data, temp);
    if (!written.ok()) return written;
    if (::fsync(fd.get()) != 0) return ErrnoError("fsync", temp);
    absl::Status closed = fd.Close(temp);
    if (!closed.ok()) return closed;
  }
  return RenameDurably(temp, path);
}

absl::Status WriteChunkDurably(const std::string& path, uint64_t offset, std::string_view data) {
  const int flags = O_WRONLY | O_CLOEXEC | (offset == 0 ? O_CREAT | O_TRUNC : 0);
  FileDescriptor fd(::open(path.c_str(), flags, 0600));
  if (!fd.ok()) {
    if (errno == ENOENT) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot chunk at offset ", offset,
                                                     " has no staging file ", path, " to extend"));
    }
    return ErrnoError("open", path);
  }
  if (offset != 0) {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoError("stat", path);
    if (static_cast<uint64_t>(st.st_size) != offset) {
      return absl::InvalidArgumentError(absl::StrCat("snapshot chunk at offset ", offset,
                                                     " does not continue staging file ", path,
                                                     " of ", st.st_size, " bytes"));
    }
  }
  absl::Status written = WriteAll(fd.get(), offset, data, path);
  if (written.ok() && ::fdatasync(fd.get()) != 0) written = ErrnoError("fdatasync", path);
  if (!written.ok()) {
    // Take back what the failed write left (a full disk stops it part way),
    // so that the same chunk can be written again once there is room.
    (void)::ftruncate(fd.get(), static_cast<off_t>(offset));
    return written;
  }
  absl::Status closed = fd.Close(path);
  if (!closed.ok()) return closed;
  // A new file's name must be durable too, or the staged bytes are unreachable.
  if (offset == 0) return SyncDirectory(DirectoryOf(path));
  return absl::OkStatus();
}

absl::Status RenameDurably(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoError(absl::StrCat("rename ", from, " to"), to);
  }
  return SyncDirectory(DirectoryOf(to));
}

absl::StatusOr<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat", path);
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<raft::ChainHash> FileSha256(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return ErrnoError("open", path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (ctx == nullptr || EVP_DigestInit_ex(ctx.get(), qbox::Sha256Md(), nullptr) != 1) {
    return absl::InternalError("cannot initialise SHA-256");
  }
  std::string buffer(1 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path);
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(n));
  }
  raft::ChainHash digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest.data(), &length) != 1 || length != digest.size()) {
    return absl::InternalError("cannot finish SHA-256");
  }
  return digest;
}

absl::StatusOr<std::string> ReadFileRange(const std::string& path, uint64_t offset,
                                          uint64_t max_len) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return ErrnoError("open", path);
  std::string out(max_len, '\0');
  size_t filled = 0;
  while (filled < out.size()) {
    const ssize_t n = ::pread(fd.get(), out.data() + filled, out.size() - filled,
                              static_cast<off_t>(offset + filled));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path);
    }
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  out.resize(filled);
  return out;
}

absl::Status RemoveFileIfExists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("remove", path);
  return absl::OkStatus();
}

}  // namespace qbox::storage

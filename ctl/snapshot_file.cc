#include "ctl/snapshot_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "ctl/snapshot_manifest.h"
#include "node/common/status_macros.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;

constexpr size_t kCopyBytes = 1 << 20;
constexpr uint64_t kTrailerBytes = 32;
// The manifest is a few hundred bytes; a length beyond this is damage, not
// a manifest, and must not make verify allocate gigabytes.
constexpr uint32_t kMaxManifestBytes = 16 << 20;

std::string BigEndian(uint64_t value, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

uint64_t ReadBigEndian(const std::string& bytes) {
  uint64_t value = 0;
  for (unsigned char c : bytes) value = (value << 8) | c;
  return value;
}

absl::Status ErrnoStatus(absl::string_view what, const std::string& path) {
  const int err = errno;
  std::string message = absl::StrCat(path, ": ", what, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::UnavailableError(message);
}

absl::Status SyncDirectoryOf(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return ErrnoStatus("cannot open its directory to sync it", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return ErrnoStatus("cannot sync its directory", path);
  return absl::OkStatus();
}

// Reads exactly `size` bytes at the stream's position, or says the file is
// shorter than its fields claim.
absl::Status ReadExactly(std::ifstream& in, uint64_t size, std::string* out,
                         const std::string& path, uint64_t offset) {
  out->resize(size);
  in.read(out->data(), static_cast<std::streamsize>(size));
  if (static_cast<uint64_t>(in.gcount()) != size) {
    return absl::DataLossError(
        absl::StrCat(path, ": byte ", offset, ": the file ends early (truncated?)"));
  }
  return absl::OkStatus();
}

}  // namespace

// ---- writing ----

absl::StatusOr<std::unique_ptr<SnapshotFileWriter>> SnapshotFileWriter::Create(
    const std::string& path, bool overwrite) {
  std::error_code ec;
  if (!overwrite && fs::exists(path, ec)) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, " already exists; choose another FILE or pass --force to replace it"));
  }
  if (fs::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory; FILE must be a file"));
  }
  const std::string temp = path + ".tmp";
  std::FILE* file = std::fopen(temp.c_str(), "wb");
  if (file == nullptr) return ErrnoStatus("cannot create the file", temp);
  std::unique_ptr<SnapshotFileWriter> writer(new SnapshotFileWriter(path, file));
  // D is not known until the stream ends; Finish writes it in place.
  std::string header = absl::StrCat(kSnapshotMagic, BigEndian(kSnapshotFormatVersion, 4),
                                    kSnapshotKind, BigEndian(0, 8));
  RETURN_IF_ERROR(writer->WriteAll(header));
  return writer;
}

SnapshotFileWriter::~SnapshotFileWriter() {
  if (file_ != nullptr) std::fclose(file_);
  if (!finished_) std::remove(TempPath().c_str());
}

absl::Status SnapshotFileWriter::WriteAll(const std::string& bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return ErrnoStatus("cannot write (disk full?)", TempPath());
  }
  return absl::OkStatus();
}

absl::Status SnapshotFileWriter::AppendData(const std::string& data) {
  data_hash_.Update(data);
  data_bytes_ += data.size();
  return WriteAll(data);
}

absl::Status SnapshotFileWriter::Finish(const v1::SnapshotManifest& manifest) {
  const std::string temp = TempPath();
  if (manifest.data_bytes() != data_bytes_) {
    return absl::DataLossError(absl::StrCat("received ", data_bytes_,
                                            " bytes of data, the node's manifest says ",
                                            manifest.data_bytes()));
  }
  if (data_hash_.Finish() != manifest.data_sha256()) {
    return absl::DataLossError(
        "the data received does not match the SHA-256 in the node's manifest");
  }
  const std::string manifest_text = ManifestToJson(manifest).dump();
  RETURN_IF_ERROR(WriteAll(BigEndian(manifest_text.size(), 4)));
  RETURN_IF_ERROR(WriteAll(manifest_text));
  if (std::fflush(file_) != 0) return ErrnoStatus("cannot write (disk full?)", temp);
  // Now that D is known, put it in the header, then checksum the whole file
  // as it is on disk: the trailer vouches for the bytes a reader will see.
  const int fd = ::fileno(file_);
  const std::string length = BigEndian(data_bytes_, 8);
  if (::pwrite(fd, length.data(), length.size(), 16) != static_cast<ssize_t>(length.size())) {
    return ErrnoStatus("cannot write the data length", temp);
  }
  Sha256Stream whole;
  {
    std::ifstream in(temp, std::ios::binary);
    std::string buffer(kCopyBytes, '\0');
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
      whole.Update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) return ErrnoStatus("cannot read back", temp);
  }
  RETURN_IF_ERROR(WriteAll(whole.Finish()));
  if (std::fflush(file_) != 0) return ErrnoStatus("cannot write (disk full?)", temp);
  if (::fsync(fd) != 0) return ErrnoStatus("cannot sync", temp);
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(temp.c_str(), path_.c_str()) != 0) {
    return ErrnoStatus(absl::StrCat("cannot rename it to ", path_), temp);
  }
  finished_ = true;
  return SyncDirectoryOf(path_);
}

// ---- reading ----

absl::StatusOr<SnapshotFileInfo> ReadSnapshotFile(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a snapshot file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus("cannot open", path);
  const uint64_t size = fs::file_size(path, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat(path, ": cannot read its size: ", ec.message()));
  auto damaged = [&path](uint64_t offset, absl::string_view what) {
    return absl::DataLossError(absl::StrCat(path, ": byte ", offset, ": ", what));
  };

  SnapshotFileInfo info;
  info.path = path;
  info.file_bytes = size;
  std::string field;
  if (size < 8) return damaged(0, "not a qboxctl snapshot (too short to hold the magic)");
  RETURN_IF_ERROR(ReadExactly(in, 8, &field, path, 0));
  if (field != kSnapshotMagic) {
    return damaged(0, "not a qboxctl snapshot (the magic \"QBOXSNAP\" is missing)");
  }
  if (size < kSnapshotHeaderBytes) return damaged(8, "the header is cut short (truncated?)");
  RETURN_IF_ERROR(ReadExactly(in, 4, &field, path, 8));
  const uint64_t version = ReadBigEndian(field);
  if (version != kSnapshotFormatVersion) {
    return damaged(8, absl::StrCat("format version ", version,
                                   " is not supported (this qboxctl "
                                   "reads version ",
                                   kSnapshotFormatVersion, ")"));
  }
  RETURN_IF_ERROR(ReadExactly(in, 4, &field, path, 12));
  if (field != kSnapshotKind) {
    return damaged(12,
                   "not a backup made by 'qboxctl snapshot save' (kind \"BKUP\" missing; a "
                   "node's bare state machine snapshot starts with the same magic)");
  }
  RETURN_IF_ERROR(ReadExactly(in, 8, &field, path, 16));
  info.data_bytes = ReadBigEndian(field);
  const uint64_t fixed = kSnapshotHeaderBytes + 4 + kTrailerBytes;
  if (size < fixed || info.data_bytes > size - fixed) {
    return damaged(16, absl::StrCat("data length ", info.data_bytes, " does not fit in a file of ",
                                    size, " bytes (damaged length, or truncated file)"));
  }
  const uint64_t manifest_length_at = kSnapshotDataOffset + info.data_bytes;
  in.seekg(static_cast<std::streamoff>(manifest_length_at));
  RETURN_IF_ERROR(ReadExactly(in, 4, &field, path, manifest_length_at));
  const uint64_t manifest_bytes = ReadBigEndian(field);
  if (manifest_bytes != size - fixed - info.data_bytes) {
    return damaged(manifest_length_at,
                   absl::StrCat("manifest length ", manifest_bytes,
                                " does not match the file: ", size - fixed - info.data_bytes,
                                " bytes lie between it and the checksum"));
  }
  if (manifest_bytes > kMaxManifestBytes) {
    return damaged(manifest_length_at,
                   absl::StrCat("manifest length ", manifest_bytes, " is implausibly large"));
  }

  // The trailer covers everything, so it is checked before anything inside
  // is believed.
  const uint64_t trailer_at = size - kTrailerBytes;
  Sha256Stream whole;
  in.seekg(0);
  {
    std::string buffer(kCopyBytes, '\0');
    uint64_t left = trailer_at;
    while (left > 0) {
      const uint64_t n = std::min<uint64_t>(left, buffer.size());
      RETURN_IF_ERROR(ReadExactly(in, n, &buffer, path, trailer_at - left));
      whole.Update(buffer.data(), n);
      left -= n;
    }
  }
  std::string trailer;
  RETURN_IF_ERROR(ReadExactly(in, kTrailerBytes, &trailer, path, trailer_at));
  if (whole.Finish() != trailer) {
    return damaged(trailer_at,
                   absl::StrCat("checksum mismatch: the SHA-256 there does not match the ",
                                trailer_at, " bytes before it (the file is damaged)"));
  }

  const uint64_t manifest_at = manifest_length_at + 4;
  std::string manifest_text;
  in.seekg(static_cast<std::streamoff>(manifest_at));
  RETURN_IF_ERROR(ReadExactly(in, manifest_bytes, &manifest_text, path, manifest_at));
  absl::StatusOr<v1::SnapshotManifest> manifest = ManifestFromJson(manifest_text);
  if (!manifest.ok()) return damaged(manifest_at, manifest.status().message());
  info.manifest = std::move(*manifest);
  if (info.manifest.data_bytes() != info.data_bytes) {
    return damaged(16, absl::StrCat("data length ", info.data_bytes,
                                    " differs from the manifest's ", info.manifest.data_bytes()));
  }
  Sha256Stream data;
  in.seekg(static_cast<std::streamoff>(kSnapshotDataOffset));
  {
    std::string buffer(kCopyBytes, '\0');
    uint64_t left = info.data_bytes;
    while (left > 0) {
      const uint64_t n = std::min<uint64_t>(left, buffer.size());
      RETURN_IF_ERROR(ReadExactly(in, n, &buffer, path, manifest_length_at - left));
      data.Update(buffer.data(), n);
      left -= n;
    }
  }
  if (data.Finish() != info.manifest.data_sha256()) {
    return damaged(kSnapshotDataOffset,
                   "checksum mismatch: the data's SHA-256 differs from the manifest's");
  }
  return info;
}

absl::Status ExtractSnapshotData(const SnapshotFileInfo& info, const std::string& out_path) {
  std::ifstream in(info.path, std::ios::binary);
  if (!in) return ErrnoStatus("cannot open", info.path);
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return ErrnoStatus("cannot create", out_path);
  in.seekg(static_cast<std::streamoff>(info.data_offset));
  Sha256Stream hash;
  std::string buffer(kCopyBytes, '\0');
  uint64_t left = info.data_bytes;
  while (left > 0) {
    const uint64_t n = std::min<uint64_t>(left, buffer.size());
    RETURN_IF_ERROR(
        ReadExactly(in, n, &buffer, info.path, info.data_offset + info.data_bytes - left));
    hash.Update(buffer.data(), n);
    out.write(buffer.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
  out.flush();
  if (!out) return ErrnoStatus("cannot write (disk full?)", out_path);
  if (hash.Finish() != info.manifest.data_sha256()) {
    return absl::DataLossError(
        absl::StrCat(info.path, ": the data changed while it was being read; verify it again"));
  }
  return absl::OkStatus();
}

}  // namespace qbox::ctl

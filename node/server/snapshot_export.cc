#include "node/server/snapshot_export.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "node/common/sha256.h"
#include "node/common/status_macros.h"

namespace qbox::server {
namespace {

namespace fs = std::filesystem;
using StateDigest = std::array<uint8_t, 32>;

// Writes between reading the digest and writing the snapshot make the two
// disagree; after this many tries the digest is taken from the file itself.
constexpr int kConsistentAttempts = 5;

std::string HashBytes(const StateDigest& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

std::string UniqueScratchName(const std::string& dir) {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat(dir, "/admin-snapshot-", ::getpid(), "-", counter.fetch_add(1), ".tmp");
}

// The digest of exactly the state in the snapshot file: restored into a
// throwaway state machine next to it. Costs a full restore, so only used
// when writes kept racing the cheap path.
absl::StatusOr<StateDigest> DigestOfFile(const std::string& path) {
  const std::string dir = path + ".digest";
  std::error_code ec;
  fs::remove_all(dir, ec);
  absl::StatusOr<StateDigest> digest;
  {
    auto machine = mailbox::MailboxStateMachine::Open(dir);
    if (!machine.ok()) {
      digest = machine.status();
    } else {
      absl::Status restored = (*machine)->RestoreSnapshot(path);
      digest = restored.ok() ? (*machine)->Digest() : restored;
    }
  }
  fs::remove_all(dir, ec);
  return digest;
}

// Incremental SHA-256 (OpenSSL EVP; the SHA256_* calls are deprecated).
class Sha256Stream {
 public:
  Sha256Stream() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, qbox::Sha256Md(), nullptr); }
  ~Sha256Stream() { EVP_MD_CTX_free(ctx_); }
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(const std::string& data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
  StateDigest Finish() {
    StateDigest out{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out.data(), &len);
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

std::string SnapshotScratchDir(const ServiceContext& ctx) {
  fs::path parent = fs::path(ctx.mailbox->dir()).parent_path();
  return parent.empty() ? "." : parent.string();
}

absl::StatusOr<std::unique_ptr<ExportedSnapshot>> ExportedSnapshot::Write(
    const ServiceContext& ctx, const std::string& scratch_dir, absl::Time deadline) {
  const std::string path = UniqueScratchName(scratch_dir);
  // Removes the file on every early return.
  struct Cleanup {
    const std::string& path;
    bool keep = false;
    ~Cleanup() {
      if (!keep) std::remove(path.c_str());
    }
  } cleanup{path};

  // The digest and the file must describe the same state. The applied index
  // moves with every replicated change, so if it is the same before the
  // digest and after the snapshot, and the snapshot is at that index,
  // nothing was applied in between.
  uint64_t index = 0;
  std::optional<StateDigest> digest;
  for (int attempt = 0; attempt < kConsistentAttempts && !digest; ++attempt) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError("the snapshot was not written before the deadline");
    }
    const uint64_t before = ctx.mailbox->applied_index();
    ASSIGN_OR_RETURN(StateDigest candidate, ctx.mailbox->Digest());
    ASSIGN_OR_RETURN(index, ctx.mailbox->WriteSnapshot(path));
    if (before == index && ctx.mailbox->applied_index() == index) digest = candidate;
  }
  if (!digest) {
    ASSIGN_OR_RETURN(StateDigest from_file, DigestOfFile(path));
    digest = from_file;
  }
  if (index == 0) {
    return absl::FailedPreconditionError(
        "this node has applied nothing yet: there is no state to back up");
  }

  absl::StatusOr<uint64_t> term = ctx.log->Term(index);
  absl::StatusOr<raft::ChainHash> chain = ctx.log->Chain(index);
  if (!term.ok() || !chain.ok()) {
    const absl::Status& why = term.ok() ? chain.status() : term.status();
    if (absl::IsOutOfRange(why)) {
      return absl::UnavailableError(absl::StrCat(
          "the raft log no longer holds entry ", index,
          " (a snapshot from the leader replaced it meanwhile); retry: ", why.message()));
    }
    return why;
  }
  ASSIGN_OR_RETURN(raft::ConfState conf, ctx.runtime->ConfStateAt(index, deadline));

  v1::SnapshotManifest manifest;
  manifest.set_cluster(ctx.cluster_name);
  manifest.set_log_index(index);
  manifest.set_log_term(*term);
  manifest.set_chain(HashBytes(*chain));
  auto add_member = [&](raft::NodeId id, bool voter) {
    v1::SnapshotMember* member = manifest.add_members();
    member->set_id(id);
    member->set_voter(voter);
    std::optional<NodeConfig> node = ctx.peers ? ctx.peers->Find(id) : std::nullopt;
    if (id == ctx.self.id) node = ctx.self;
    if (node) member->set_name(node->QualifiedName());
  };
  for (raft::NodeId id : conf.voters) add_member(id, true);
  for (raft::NodeId id : conf.learners) add_member(id, false);
  manifest.set_state_digest(HashBytes(*digest));
  manifest.set_node(ctx.self.QualifiedName());
  manifest.set_created_at_ms(absl::ToUnixMillis(absl::Now()));
  cleanup.keep = true;
  return std::unique_ptr<ExportedSnapshot>(new ExportedSnapshot(path, std::move(manifest)));
}

ExportedSnapshot::~ExportedSnapshot() { std::remove(path_.c_str()); }

absl::StatusOr<v1::SnapshotManifest> ExportedSnapshot::Stream(
    size_t chunk_bytes, const std::function<bool(std::string)>& send) const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    return absl::DataLossError(
        absl::StrCat("cannot open the snapshot ", path_, ": ", std::strerror(errno)));
  }
  Sha256Stream hash;
  uint64_t total = 0;
  while (true) {
    std::string chunk(chunk_bytes, '\0');
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    chunk.resize(static_cast<size_t>(in.gcount()));
    if (chunk.empty()) break;
    hash.Update(chunk);
    total += chunk.size();
    if (!send(std::move(chunk))) {
      return absl::CancelledError("the receiver of the snapshot went away");
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("reading the snapshot ", path_, " failed"));
  v1::SnapshotManifest manifest = manifest_;
  manifest.set_data_bytes(total);
  manifest.set_data_sha256(HashBytes(hash.Finish()));
  return manifest;
}

}  // namespace qbox::server

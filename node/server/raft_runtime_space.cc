// The runtime's NOSPACE handling (no_space.h): watching the data volume,
// degrading when it fills, and resuming by itself once space is back.
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "node/server/raft_runtime.h"
#include "node/storage/volume_space.h"

namespace qbox::server {
namespace {

// How often a node that stays in NOSPACE says again where it stands.
constexpr absl::Duration kNarrateEvery = absl::Seconds(30);

}  // namespace

NoSpaceStatus RaftRuntime::NoSpace() const {
  absl::MutexLock lock(&mu_);
  return status_.no_space;
}

absl::Status RaftRuntime::NoSpaceRefusal() const {
  NoSpaceStatus status;
  {
    absl::MutexLock lock(&mu_);
    status = status_.no_space;
  }
  // UNAVAILABLE: another node may well have room, and the service layer
  // adds the leader hint (a frozen leader reports none).
  return absl::UnavailableError(
      absl::StrCat("this node is out of disk space and paused: ", NoSpaceNarrative(status)));
}

void RaftRuntime::RaiseNoSpace(const std::string& cause, bool freeze) {
  std::string narrative;
  {
    absl::MutexLock lock(&mu_);
    NoSpaceStatus& ns = status_.no_space;
    if (freeze) frozen_ = true;
    if (ns.active && ns.cause == cause) return;
    if (!ns.active) {
      ns.active = true;
      ns.since = absl::Now();
      ++ns.raised;
    }
    ns.cause = cause;
    no_space_raised_ = true;
    narrative = NoSpaceNarrative(ns);
  }
  Log(absl::StrCat(narrative,
                   freeze ? " (consensus paused: this node acknowledges and proposes nothing "
                            "until space is freed)"
                          : ""));
}

void RaftRuntime::ClearNoSpace() {
  std::string line;
  {
    absl::MutexLock lock(&mu_);
    NoSpaceStatus& ns = status_.no_space;
    line =
        absl::StrCat("NOSPACE cleared after ", absl::FormatDuration(absl::Now() - ns.since),
                     ns.measured ? absl::StrCat(": ", storage::HumanBytes(ns.volume.free_bytes),
                                                " free under ", options_.no_space.volume_path)
                                 : "",
                     "; storage resumed, consensus running again (catching up before it is ready)");
    ns.active = false;
    ns.cause.clear();
    no_space_raised_ = false;
    frozen_ = false;
  }
  freeze_at_ = absl::InfiniteFuture();
  Log(line);
}

void RaftRuntime::HandLeadershipOn(raft::Raft& raft) {
  // The most caught-up voter, preferring one heard from lately (the flag
  // is reset every election timeout, so none may have it just now), and
  // never one known to be out of space too.
  const raft::RaftStatus status = raft.Status();
  raft::NodeId best = raft::kNoNode;
  std::pair<bool, uint64_t> best_rank;
  for (const auto& [id, progress] : status.progress) {
    if (id == status.id || !status.conf.IsVoter(id) || progress.recovering) continue;
    if (options_.no_space.peer_has_no_space && options_.no_space.peer_has_no_space(id)) continue;
    const std::pair<bool, uint64_t> rank{progress.recent_active, progress.match};
    if (best == raft::kNoNode || rank > best_rank) {
      best = id;
      best_rank = rank;
    }
  }
  if (best == raft::kNoNode) {
    Log("NOSPACE as leader: no voter with room to hand leadership to; pausing, the others elect "
        "a leader once their election timeout passes");
    return;
  }
  absl::Status s = raft.TransferLeadership(best);
  Log(s.ok()
          ? absl::StrCat("NOSPACE as leader: handing leadership to node ", best, " before pausing")
          : absl::StrCat("NOSPACE as leader: could not hand leadership to node ", best, ": ",
                         s.message(), "; pausing"));
}

void RaftRuntime::FreezeOnceNotLeading(const raft::Raft& raft, absl::Time now) {
  const bool leading = raft.Status().role == raft::Role::kLeader;
  if (leading && now < freeze_at_) return;
  frozen_ = true;
  if (leading) {
    Log("NOSPACE: consensus paused; leadership was not handed on in time, the others elect a "
        "leader once their election timeout passes");
  } else {
    Log(freeze_at_ == absl::InfiniteFuture() ? "NOSPACE: consensus paused"
                                             : "NOSPACE: consensus paused after handing "
                                               "leadership on");
  }
}

void RaftRuntime::WatchSpace(raft::Raft& raft, absl::Time now) {
  const NoSpaceOptions& options = options_.no_space;
  bool measured = false;
  uint64_t free = 0;
  uint64_t required = 0;
  uint64_t resume_at = 0;
  if (!options.volume_path.empty()) {
    absl::StatusOr<storage::VolumeSpace> space = storage::MeasureVolumeSpace(options.volume_path);
    absl::MutexLock lock(&mu_);
    NoSpaceStatus& ns = status_.no_space;
    ns.measured = space.ok();
    if (space.ok()) {
      ns.volume = *space;
      ns.required_free_bytes = RequiredFreeBytes(options, space->total_bytes);
      ns.resume_free_bytes = ResumeFreeBytes(options, space->total_bytes);
      measured = true;
      free = space->free_bytes;
      required = ns.required_free_bytes;
      resume_at = ns.resume_free_bytes;
    }
  }
  if (!no_space_raised_) {
    if (!measured || free >= required) return;
    RaiseNoSpace(
        absl::StrCat("free space fell below the threshold of ", storage::HumanBytes(required),
                     " (--min-free-bytes, ", "--min-free-percent)"),
        /*freeze=*/false);
    resume_logged_ = now;
    // A follower freezes right away, a leader once it handed leadership
    // on (the loop's FreezeOnceNotLeading).
    if (raft.Status().role == raft::Role::kLeader) {
      HandLeadershipOn(raft);
      freeze_at_ = now + options_.tick * options_.raft.election_ticks;
    } else {
      FreezeOnceNotLeading(raft, now);
    }
    return;
  }
  if (!frozen_) FreezeOnceNotLeading(raft, now);
  if (measured && free < resume_at) {
    if (now - resume_logged_ >= kNarrateEvery) {
      std::string narrative;
      {
        absl::MutexLock lock(&mu_);
        narrative = NoSpaceNarrative(status_.no_space);
      }
      Log(narrative);
      resume_logged_ = now;
    }
    return;
  }
  // Space is back (or the volume is not watched: try anyway).
  if (options.resume_writes) {
    absl::Status resumed = options.resume_writes();
    if (!resumed.ok()) {
      if (now - resume_logged_ >= kNarrateEvery) {
        Log(absl::StrCat("NOSPACE: free space is back but the storage does not resume yet: ",
                         resumed.message()));
        resume_logged_ = now;
      }
      return;
    }
  }
  if (held_ready_.has_value() && !FinishHeldReady(raft)) return;  // still no room
  ClearNoSpace();
}

bool RaftRuntime::WaitOutNoSpace(const std::string& what, const absl::Status& status) {
  RaiseNoSpace(absl::StrCat(what, " failed: ", status.message()), /*freeze=*/true);
  absl::MutexLock lock(&mu_);
  auto cleared = [](RaftRuntime* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
    return self->stopping_ || !self->status_.no_space.active;
  };
  mu_.Await(absl::Condition(+cleared, this));
  return !stopping_;
}

}  // namespace qbox::server

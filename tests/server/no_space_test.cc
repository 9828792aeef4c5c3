// The NOSPACE threshold, when a node resumes, and what it says
// (node/server/no_space.h); recognising and measuring a full volume
// (node/storage/volume_space.h).
#include "node/server/no_space.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "node/storage/volume_space.h"

namespace qbox::server {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kGiB = uint64_t{1} << 30;

TEST(NoSpaceThreshold, IsTheLargerOfTheBytesAndTheShare) {
  NoSpaceOptions options;
  options.min_free_bytes = 512 * kMiB;
  options.min_free_percent = 2;
  EXPECT_EQ(RequiredFreeBytes(options, 10 * kGiB), 512 * kMiB);  // 2% is 205 MiB
  EXPECT_EQ(RequiredFreeBytes(options, 100 * kGiB), 2 * kGiB);   // 2% of 100 GiB
  options.min_free_percent = 0;
  EXPECT_EQ(RequiredFreeBytes(options, 100 * kGiB), 512 * kMiB);
  options.min_free_bytes = 0;
  EXPECT_EQ(RequiredFreeBytes(options, 100 * kGiB), 0u);
}

TEST(NoSpaceThreshold, ANodeResumesAnEighthAboveItAndWithAtLeast64MiB) {
  NoSpaceOptions options;
  options.min_free_bytes = 512 * kMiB;
  options.min_free_percent = 0;
  EXPECT_EQ(ResumeFreeBytes(options, 10 * kGiB), 576 * kMiB);
  options.min_free_bytes = 0;  // only failed writes raise it
  EXPECT_EQ(ResumeFreeBytes(options, 10 * kGiB), kMinResumeFreeBytes);
}

TEST(NoSpaceNarrative, SaysHowMuchIsFreeAndHowMuchMoreItNeeds) {
  NoSpaceStatus status;
  status.active = true;
  status.cause = "persisting the raft log failed: No space left on device";
  status.volume_path = "/data";
  status.measured = true;
  status.volume.free_bytes = 3 * kMiB;
  status.volume.total_bytes = 64 * kMiB;
  status.resume_free_bytes = 9 * kMiB;
  status.since = absl::UnixEpoch();
  const std::string line = NoSpaceNarrative(status);
  EXPECT_TRUE(absl::StartsWith(line, "NOSPACE: 3.0 MiB free of 64 MiB under /data")) << line;
  EXPECT_TRUE(absl::StrContains(line, "needs 9.0 MiB (6.0 MiB more) to resume")) << line;
  EXPECT_TRUE(absl::StrContains(line, "since 1970-01-01T00:00:00Z")) << line;
  EXPECT_TRUE(absl::StrContains(line, status.cause)) << line;
  status.measured = false;
  EXPECT_TRUE(absl::StrContains(NoSpaceNarrative(status), "the data volume is full"));
}

TEST(VolumeSpace, RecognisesOutOfSpaceErrorsByTheirWording) {
  EXPECT_TRUE(storage::IsNoSpace(absl::UnavailableError(
      "writing mailbox store /d: IO error: No space left on device: While appending to file")));
  EXPECT_TRUE(storage::IsNoSpace(absl::ResourceExhaustedError("write /d/x: Disk quota exceeded")));
  EXPECT_FALSE(storage::IsNoSpace(absl::ResourceExhaustedError("quota of account alice")));
  EXPECT_FALSE(storage::IsNoSpace(absl::DataLossError("corrupt record at index 7 in /d")));
  EXPECT_FALSE(storage::IsNoSpace(absl::OkStatus()));
}

TEST(VolumeSpace, MeasuresAVolumeAndNamesAPathItCannot) {
  absl::StatusOr<storage::VolumeSpace> root = storage::MeasureVolumeSpace("/");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_GT(root->total_bytes, 0u);
  EXPECT_LE(root->free_bytes, root->total_bytes);
  absl::StatusOr<storage::VolumeSpace> missing = storage::MeasureVolumeSpace("/no/such/dir");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "/no/such/dir"));
}

TEST(VolumeSpace, HumanBytes) {
  EXPECT_EQ(storage::HumanBytes(17), "17 B");
  EXPECT_EQ(storage::HumanBytes(812 * 1024), "812 KiB");
  EXPECT_EQ(storage::HumanBytes(3 * kMiB + kMiB / 5), "3.2 MiB");
  EXPECT_EQ(storage::HumanBytes(20 * kGiB), "20 GiB");
}

}  // namespace
}  // namespace qbox::server

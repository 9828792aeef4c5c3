// Issue 5, G4: "qboxctl status shows it as recovering, with progress". A
// node whose data directory was wiped rejoins as a non-voter; while no
// other site can attest its rebuilt state (the third site is down, so
// nothing can commit), qboxctl status must show it as recovering and say
// what it waits for, with the index it has applied; once the third site is
// back, it must be verified and show as a voter again.
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ctl/local_cluster.h"
#include "tests/ctl/qboxctl_runner.h"

namespace qbox::ctl {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using ::testing::HasSubstr;
using testing::LocalCluster;
using testing::WaitFor;
using json = nlohmann::json;

constexpr auto kDeadline = std::chrono::seconds(60);

class QboxctlRecoveryStatusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "/qboxctl-recovery-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    io_ = root_ + "/io";
    fs::create_directory(io_);
    ASSERT_EQ(cluster_.Create(root_ + "/cluster"), "");
    ASSERT_TRUE(cluster_.StartAll());
  }
  void TearDown() override {
    if (HasFailure()) {
      for (int i = 0; i < cluster_.size(); ++i) {
        std::string log = cluster_.Log(i);
        if (log.size() > 4000) log = log.substr(log.size() - 4000);
        std::cerr << "---- " << cluster_.node(i).QualifiedName() << " ----\n" << log << "\n";
      }
    }
    for (int i = 0; i < cluster_.size(); ++i) cluster_.Stop(i);
    fs::remove_all(root_);
  }

  // `qboxctl status` as site `asker`'s admin, asked of every endpoint.
  CommandResult Status(int asker, bool as_json) {
    std::vector<std::string> args = {"status"};
    if (as_json) args.insert(args.end(), {"-o", "json"});
    std::vector<std::string> flags = cluster_.AdminFlags(asker, "3s");
    args.insert(args.end(), flags.begin(), flags.end());
    return testing::RunQboxctl(args, io_);
  }

  // Node i's row in `qboxctl status -o json`, or null if it has none.
  json RowOf(int asker, int i) {
    CommandResult r = Status(asker, true);
    last_status_ = r.out + r.err;
    json view = json::parse(r.out, nullptr, false);
    if (!view.is_object()) return json();
    for (const json& row : view["nodes"]) {
      if (row["site"] == cluster_.node(i).site && row["answered"] == true) return row;
    }
    return json();
  }

  std::string Leader(int asker) {
    json view = json::parse(Status(asker, true).out, nullptr, false);
    return view.is_object() && view["leader"].is_string() ? view["leader"].get<std::string>() : "";
  }

  // True when every node answers as a voter (leader or follower) with no
  // recovery under way.
  bool AllVoters(int asker) {
    CommandResult r = Status(asker, true);
    last_status_ = r.out + r.err;
    json view = json::parse(r.out, nullptr, false);
    if (!view.is_object() || view["nodes"].size() != static_cast<size_t>(cluster_.size())) {
      return false;
    }
    for (const json& row : view["nodes"]) {
      if (row["answered"] != true || (row["role"] != "follower" && row["role"] != "leader") ||
          row["recovery"] != "") {
        return false;
      }
    }
    return true;
  }

  std::string root_, io_, last_status_;
  LocalCluster cluster_;
};

TEST_F(QboxctlRecoveryStatusTest, AWipedNodeShowsAsRecoveringWithProgressThenAsAVoter) {
  // All three must be voters before one is wiped: a genesis voter that
  // starts a little late finds the others already past genesis, cannot
  // tell that from a lost disk, and rejoins as a recovering non-voter until
  // another site attests its state (G4). Wiping a follower while another is
  // still recovering would leave no quorum at all.
  ASSERT_TRUE(WaitFor([&] { return AllVoters(1); }, kDeadline))
      << "the cluster never had three voters; last status:\n"
      << last_status_;
  std::string leader;
  ASSERT_TRUE(WaitFor(
      [&] {
        leader = Leader(1);
        return !leader.empty();
      },
      kDeadline));
  // Wipe a follower and stop the other one. The leader alone is no quorum
  // (the wiped node does not count until it is verified), so it steps down
  // and the wiped node stays recovering until the third site is back.
  std::vector<int> followers;
  for (int i = 0; i < cluster_.size(); ++i) {
    if (cluster_.node(i).QualifiedName() != leader) followers.push_back(i);
  }
  ASSERT_EQ(followers.size(), 2u) << leader;
  const int wiped = followers[0];
  const int stopped = followers[1];
  int asker = -1;
  for (int i = 0; i < cluster_.size(); ++i) {
    if (i != wiped && i != stopped) asker = i;
  }
  cluster_.Stop(stopped);
  cluster_.Kill(wiped);
  fs::remove_all(cluster_.node(wiped).data_dir);
  fs::create_directories(cluster_.node(wiped).data_dir);
  ASSERT_TRUE(cluster_.Start(wiped));

  // While no leader can be elected (site-b alone, the wiped node refusing
  // to vote), the wiped node answers as "recovering" and says what it waits
  // for.
  std::vector<std::string> narratives;
  auto observe = [&]() -> json {
    json row = RowOf(asker, wiped);
    if (row.is_object() && row["role"] == "recovering") {
      const std::string recovery = row["recovery"].get<std::string>();
      if (narratives.empty() || narratives.back() != recovery) narratives.push_back(recovery);
    }
    return row;
  };
  ASSERT_TRUE(WaitFor([&] { return !observe().is_null() && !narratives.empty(); }, kDeadline))
      << "the wiped node never showed as recovering; last status:\n"
      << last_status_;
  EXPECT_NE(narratives.back(), "");
  // Its progress: the index it has applied (the log it rebuilt so far).
  json recovering = RowOf(asker, wiped);
  ASSERT_TRUE(recovering.is_object()) << last_status_;
  EXPECT_EQ(recovering["role"], "recovering") << recovering.dump();
  EXPECT_TRUE(recovering["applied_index"].is_number()) << recovering.dump();
  EXPECT_TRUE(recovering["commit_index"].is_number()) << recovering.dump();
  // The table says so too, in the ROLE column: "recovering (<narrative>)".
  CommandResult table = Status(asker, false);
  EXPECT_THAT(table.out, HasSubstr("recovering (" + narratives.back() + ")"))
      << table.out << table.err;

  // With the third site back, a leader confirms the commit index, the node
  // catches up, another site attests its digest, and it votes again.
  ASSERT_TRUE(cluster_.Start(stopped));
  const bool voter = WaitFor(
      [&] {
        json row = observe();
        return row.is_object() && (row["role"] == "follower" || row["role"] == "leader") &&
               row["recovery"] == "";
      },
      kDeadline);
  std::string seen;
  for (const std::string& n : narratives) seen += "\n  " + n;
  EXPECT_TRUE(voter) << "the wiped node did not become a voter again; last status:\n"
                     << last_status_ << "\nnarratives seen:" << seen;
  CommandResult after = Status(asker, false);
  EXPECT_THAT(after.out, ::testing::Not(HasSubstr("recovering"))) << after.out;
}

}  // namespace
}  // namespace qbox::ctl

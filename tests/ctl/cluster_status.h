// Reading `qboxctl status -o json` in the ctl tests that run a live cluster.
#ifndef QBOX_TESTS_CTL_CLUSTER_STATUS_H_
#define QBOX_TESTS_CTL_CLUSTER_STATUS_H_

#include <nlohmann/json.hpp>

namespace qbox::ctl::testing {

// One leader, and all `nodes` answer as voters. A genesis voter that starts
// a little late finds the others past genesis and rejoins as a recovering
// non-voter until another site attests it (G4); a test that then stops or
// wipes a node would leave no quorum, so "one leader" alone is not enough.
inline bool OneLeaderAndAllVoters(const nlohmann::json& status, int nodes) {
  if (!status.is_object() || !status.contains("nodes")) return false;
  int leaders = 0, voters = 0;
  for (const nlohmann::json& n : status["nodes"]) {
    if (n.value("role", "") == "leader") ++leaders;
    if (n.value("answered", false) &&
        (n.value("role", "") == "leader" || n.value("role", "") == "follower") &&
        n.value("recovery", "") == "") {
      ++voters;
    }
  }
  return leaders == 1 && voters == nodes && !status.value("leader", "").empty();
}

}  // namespace qbox::ctl::testing

#endif  // QBOX_TESTS_CTL_CLUSTER_STATUS_H_

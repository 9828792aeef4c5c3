// VerifyNodeStatement (proposal_rules.h): a node speaks only for itself.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/guard/proposal_rules.h"
#include "tests/guard/charter_fixtures.h"

namespace qbox::guard {
namespace {

using ::testing::HasSubstr;
using testing::Issue;
using testing::SignNodeStatement;

class NodeStatementTest : public ::testing::Test {
 protected:
  static v1::NodeStatement Statement(uint64_t node_id) {
    v1::NodeStatement statement;
    statement.set_cluster(testing::kCluster);
    statement.set_node_id(node_id);
    statement.set_signed_at_ms(testing::NowMs());
    *statement.mutable_proposal_clock() = testing::Clock(v1::ProposalClock::EVENT_DELAY_ELAPSED);
    return statement;
  }
  absl::StatusOr<VerifiedNodeStatement> Verify(const v1::SignedNodeStatement& signed_statement) {
    return VerifyNodeStatement(world_.charter, world_.trust, signed_statement);
  }
  void ExpectRefused(const v1::SignedNodeStatement& signed_statement, absl::StatusCode code,
                     const std::string& text) {
    absl::StatusOr<VerifiedNodeStatement> verified = Verify(signed_statement);
    EXPECT_EQ(verified.status().code(), code) << verified.status();
    EXPECT_THAT(verified.status().message(), HasSubstr(text));
  }

  testing::CharterWorld world_;
};

TEST_F(NodeStatementTest, AcceptsANodeSpeakingForItself) {
  absl::StatusOr<VerifiedNodeStatement> verified =
      Verify(SignNodeStatement(world_.node_b, Statement(2)));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->signer, (PeerIdentity{"site-b", "node", "n1"}));
  EXPECT_EQ(verified->statement.node_id(), 2u);
  EXPECT_EQ(verified->statement.proposal_clock().event(), v1::ProposalClock::EVENT_DELAY_ELAPSED);
}

TEST_F(NodeStatementTest, RefusesStatementsInAnotherNodesName) {
  // site-b's node claiming to be site-a's node 1.
  ExpectRefused(SignNodeStatement(world_.node_b, Statement(1)), absl::StatusCode::kPermissionDenied,
                "node 1 is site-a/n1 but the statement is signed by site-b/node/n1");
  // Another node of the right site.
  ExpectRefused(SignNodeStatement(Issue(world_.sites.a, "site-a", "node", "n2"), Statement(1)),
                absl::StatusCode::kPermissionDenied, "signed by site-a/node/n2");
  // An admin is not a node.
  ExpectRefused(SignNodeStatement(world_.alice, Statement(1)), absl::StatusCode::kPermissionDenied,
                "admin");
  ExpectRefused(SignNodeStatement(world_.node_a, Statement(77)),
                absl::StatusCode::kPermissionDenied, "statement.node_id: 77 is not a node");
}

TEST_F(NodeStatementTest, RefusesRemovedNodesOtherClustersAndGarbage) {
  world_.charter.mutable_nodes(0)->set_removed(true);
  ExpectRefused(SignNodeStatement(world_.node_a, Statement(1)), absl::StatusCode::kPermissionDenied,
                "was removed");

  v1::NodeStatement elsewhere = Statement(2);
  elsewhere.set_cluster("other");
  ExpectRefused(SignNodeStatement(world_.node_b, elsewhere), absl::StatusCode::kInvalidArgument,
                "statement.cluster");

  v1::NodeStatement empty = Statement(2);
  empty.clear_proposal_clock();
  ExpectRefused(SignNodeStatement(world_.node_b, empty), absl::StatusCode::kInvalidArgument,
                "statement: unknown kind");

  v1::SignedNodeStatement garbage = SignNodeStatement(world_.node_b, Statement(2));
  garbage.set_statement("\xff\xff");
  ExpectRefused(garbage, absl::StatusCode::kInvalidArgument, "statement: does not parse");

  v1::SignedNodeStatement tampered = SignNodeStatement(world_.node_b, Statement(2));
  v1::NodeStatement changed = Statement(2);
  changed.mutable_proposal_clock()->set_event(v1::ProposalClock::EVENT_EXPIRED);
  tampered.set_statement(changed.SerializeAsString());
  ExpectRefused(tampered, absl::StatusCode::kUnauthenticated, "does not verify over these bytes");
}

}  // namespace
}  // namespace qbox::guard

#include "ctl/status_gathering.h"

#include "absl/strings/str_cat.h"
#include "ctl/admin_connection.h"

namespace qbox::ctl {

absl::StatusOr<ClusterView> GatherClusterView(const Connection& connection,
                                              absl::string_view action) {
  std::vector<EndpointAnswer> answers = AskEveryEndpoint(connection);
  for (const EndpointAnswer& a : answers) {
    if (a.response.ok()) return MergeAnswers(answers, connection.cluster);
  }
  const absl::Status& first = answers.front().response.status();
  absl::Status none(first.code(),
                    absl::StrCat("none of the ", answers.size(), " endpoints answered; ",
                                 answers.front().endpoint, ": ", first.message()));
  return ExplainCallError(none, action, connection.endpoints, connection);
}

}  // namespace qbox::ctl

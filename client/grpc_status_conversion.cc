#include "client/grpc_status_conversion.h"

#include "client/endpoint_syntax.h"

namespace qbox::internal {

absl::Status ToAbslStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::optional<v1::LeaderHint> LeaderHintOf(const grpc::Status& status) {
  if (status.error_details().empty()) return std::nullopt;
  v1::LeaderHint hint;
  if (!hint.ParseFromString(status.error_details())) return std::nullopt;
  // Bytes that happen to parse (e.g. some other detail message) must not
  // send the client to a made-up address: keep the hint, drop the address.
  if (!hint.leader_address().empty() && !CheckEndpointSyntax(hint.leader_address()).ok()) {
    hint.clear_leader_address();
  }
  return hint;
}

}  // namespace qbox::internal

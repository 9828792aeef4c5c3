#include "ctl/cluster_view.h"

#include <algorithm>
#include <map>
#include <thread>

#include "ctl/admin_connection.h"

namespace qbox::ctl {
namespace {

std::string Qualified(const v1::NodeStatus& s) { return s.site() + "/" + s.node_id(); }

// The node that answered: the entry whose address is the endpoint asked.
// The service lists itself first, which is the fallback when the endpoint
// was spelled differently (localhost vs 127.0.0.1).
const v1::NodeStatus* SelfOf(const v1::GetClusterStatusResponse& response,
                             const std::string& endpoint) {
  // The answer names its reporter; older nodes did not, so fall back to
  // matching the address asked.
  for (const v1::NodeStatus& s : response.nodes()) {
    if (!response.reporter().empty() && s.site() + "/" + s.node_id() == response.reporter()) {
      return &s;
    }
  }
  for (const v1::NodeStatus& s : response.nodes()) {
    if (s.address() == endpoint) return &s;
  }
  return response.nodes().empty() ? nullptr : &response.nodes(0);
}

}  // namespace

std::string RoleName(v1::NodeRole role) {
  switch (role) {
    case v1::NODE_ROLE_LEADER:
      return "leader";
    case v1::NODE_ROLE_FOLLOWER:
      return "follower";
    case v1::NODE_ROLE_CANDIDATE:
      return "candidate";
    case v1::NODE_ROLE_LEARNER:
      return "learner";
    case v1::NODE_ROLE_RECOVERING:
      return "recovering";
    default:
      return "unknown";
  }
}

std::vector<EndpointAnswer> AskEveryEndpoint(const Connection& connection) {
  std::vector<EndpointAnswer> answers(connection.endpoints.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < connection.endpoints.size(); ++i) {
    answers[i].endpoint = connection.endpoints[i];
    answers[i].response = absl::UnknownError("not asked");
    // Each answer slot belongs to one thread alone; joined below.
    threads.emplace_back([&connection, &answer = answers[i]] {
      absl::StatusOr<std::unique_ptr<AdminClient>> client =
          OpenAdminClient(connection, {answer.endpoint});
      if (!client.ok()) {
        answer.response = client.status();
        return;
      }
      answer.response = (*client)->GetClusterStatus({}, CallOptionsFor(connection));
    });
  }
  for (std::thread& t : threads) t.join();
  return answers;
}

ClusterView MergeAnswers(const std::vector<EndpointAnswer>& answers,
                         const std::optional<server::ClusterConfig>& cluster) {
  ClusterView view;
  view.endpoints_asked = static_cast<int>(answers.size());
  std::map<std::string, NodeRow> rows;
  std::map<std::string, std::string> name_at;  // address -> site/node
  if (cluster) {
    for (const server::NodeConfig& n : cluster->nodes) name_at[n.address] = n.QualifiedName();
  }
  auto row_for = [&rows](const v1::NodeStatus& s) -> NodeRow& {
    NodeRow& row = rows[Qualified(s)];
    row.site = s.site();
    row.node = s.node_id();
    if (row.address.empty()) row.address = s.address();
    return row;
  };

  // Every member any node knows, and which answer speaks for the leader.
  const EndpointAnswer* leader_answer = nullptr;
  for (const EndpointAnswer& a : answers) {
    if (!a.response.ok()) continue;
    ++view.endpoints_answered;
    for (const v1::NodeStatus& s : a.response->nodes()) {
      row_for(s);
      if (!s.address().empty()) name_at[s.address()] = Qualified(s);
    }
    if (a.response->term() >= view.term) {
      view.term = a.response->term();
      if (!a.response->leader().empty()) view.leader = a.response->leader();
    }
    const v1::NodeStatus* self = SelfOf(*a.response, a.endpoint);
    if (self != nullptr && self->role() == v1::NODE_ROLE_LEADER &&
        (leader_answer == nullptr || a.response->term() > leader_answer->response->term())) {
      leader_answer = &a;
    }
  }

  // Each node's word about itself.
  for (const EndpointAnswer& a : answers) {
    if (!a.response.ok()) continue;
    const v1::NodeStatus* self = SelfOf(*a.response, a.endpoint);
    if (self == nullptr) continue;
    NodeRow& row = row_for(*self);
    row.endpoint = a.endpoint;
    row.answered = true;
    row.role = RoleName(self->role());
    row.term = self->term();
    row.commit_index = self->commit_index();
    row.applied_index = self->applied_index();
    row.alarms.assign(self->alarms().begin(), self->alarms().end());
    row.recovery = self->recovery();
    row.last_contact_ms_ago = 0;
  }

  // The freshest word anyone has of each node.
  for (const EndpointAnswer& a : answers) {
    if (!a.response.ok()) continue;
    for (const v1::NodeStatus& s : a.response->nodes()) {
      if (s.last_contact_ms_ago() <= 0) continue;
      NodeRow& row = row_for(s);
      if (!row.last_contact_ms_ago || s.last_contact_ms_ago() < *row.last_contact_ms_ago) {
        row.last_contact_ms_ago = s.last_contact_ms_ago();
      }
    }
  }

  // The leader's word about the others: lag, and what it knows of nodes
  // nobody asked.
  if (leader_answer != nullptr) {
    const v1::NodeStatus* leader_self = SelfOf(*leader_answer->response, leader_answer->endpoint);
    for (const v1::NodeStatus& s : leader_answer->response->nodes()) {
      NodeRow& row = row_for(s);
      const bool is_self = &s == leader_self;
      row.lag_entries = is_self ? 0 : s.lag_entries();
      row.leader_sees_reachable = is_self ? true : s.reachable();
      if (!row.answered) {
        row.role = RoleName(s.role());
        if (s.term() != 0) row.term = s.term();
      }
    }
  } else {
    // Without a leader, a follower at least knows who it follows.
    for (const EndpointAnswer& a : answers) {
      if (!a.response.ok()) continue;
      for (const v1::NodeStatus& s : a.response->nodes()) {
        NodeRow& row = row_for(s);
        if (!row.answered && s.role() != v1::NODE_ROLE_UNSPECIFIED) row.role = RoleName(s.role());
      }
    }
  }

  // Endpoints that did not answer: shown on their node's row if the address
  // is known, otherwise on a row of their own.
  std::vector<NodeRow> unknown;
  for (const EndpointAnswer& a : answers) {
    if (a.response.ok()) continue;
    NodeRow* row = nullptr;
    auto named = name_at.find(a.endpoint);
    if (named != name_at.end()) {
      row = &rows[named->second];
      if (row->site.empty() && cluster) {
        size_t slash = named->second.find('/');
        row->site = named->second.substr(0, slash);
        row->node = named->second.substr(slash + 1);
        row->address = a.endpoint;
      }
      if (row->answered) continue;  // also reached under another spelling
    } else {
      unknown.emplace_back();
      row = &unknown.back();
      row->address = a.endpoint;
    }
    row->endpoint = a.endpoint;
    row->error = std::string(a.response.status().message());
  }

  for (auto& [name, row] : rows) {
    if (row.role.empty()) row.role = "unknown";
    view.nodes.push_back(std::move(row));
  }
  for (NodeRow& row : unknown) {
    row.role = "unknown";
    view.nodes.push_back(std::move(row));
  }
  return view;
}

}  // namespace qbox::ctl
